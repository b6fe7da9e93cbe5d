//! Password hashes: argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's minimum for argon2id). Hashing
//! takes tens of milliseconds of CPU, so it runs on the blocking pool, never on the executor.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::AppError;

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Result<Argon2<'static>, AppError> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .map_err(|err| AppError::Internal(format!("argon2 params: {err}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) of `password` with a fresh salt.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AppError::Internal(format!("argon2 hash: {err}")))
}

/// Whether `password` matches the stored PHC string. A malformed stored hash is a failed
/// match (and logged), never a panic.
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        tracing::error!("stored password hash does not parse");
        return false;
    };
    hasher()
        .map(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|err| AppError::Internal(format!("hash task: {err}")))?
}

pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, &phc))
        .await
        .map_err(|err| AppError::Internal(format!("verify task: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_our_cost_and_verify_only_the_right_password() {
        let phc = hash_blocking("zapato-26.5").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("zapato-26.5", &phc));
        assert!(!verify_blocking("zapato-26", &phc));
        assert_ne!(phc, hash_blocking("zapato-26.5").unwrap(), "salted");
    }

    #[test]
    fn a_corrupt_stored_hash_never_matches() {
        assert!(!verify_blocking("x", "not a hash"));
    }
}
