//! Password hashes: argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's minimum for argon2id). Hashing
//! takes tens of milliseconds of CPU, so it runs on the blocking pool, never on the executor.
//!
//! Hashing is bounded (issue 16): it runs on one dedicated thread per core, so at most one
//! hash per core runs at a time, and at most [`QUEUE_PER_CORE`] per core wait for their turn;
//! beyond that a sign-in answers 503 with `Retry-After` at once instead of queueing. Dedicated
//! threads, not the blocking pool: each hash allocates 19 MiB, and every pool thread that ever
//! hashed kept that much in its own malloc arena (a rush of 200 left the server at 380 MB).
//! A rush of 200 sign-ins (or of 200 unknown names, whose decoy hash takes the same line) then
//! costs at most cores × 19 MiB.

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    mpsc, Mutex, OnceLock,
};

use tokio::sync::oneshot;

use crate::AppError;

/// How many sign-ins may wait per core for a hashing slot before the next is told to retry.
pub const QUEUE_PER_CORE: usize = 8;
/// What a refused sign-in is told: try again in this many seconds.
pub const RETRY_AFTER_SECS: u64 = 2;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads' queue; the threads start with the first hash and live as long as the
/// process.
fn hashers() -> &'static Mutex<mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for n in 0..cores() {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{n}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a hashing thread");
            }
        }
        Mutex::new(tx)
    })
}

/// Sign-ins waiting for, or holding, a hashing slot.
static IN_LINE: AtomicUsize = AtomicUsize::new(0);

/// Leaves the line when dropped, however the wait ends (a client gone is a dropped future).
struct InLine;

impl Drop for InLine {
    fn drop(&mut self) {
        IN_LINE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `work` on a hashing thread once one is free; `Busy` if the line is full.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let limit = cores() * (QUEUE_PER_CORE + 1);
    if IN_LINE.fetch_add(1, Ordering::SeqCst) >= limit {
        IN_LINE.fetch_sub(1, Ordering::SeqCst);
        return Err(AppError::Busy {
            retry_after_secs: RETRY_AFTER_SECS,
        });
    }
    let in_line = InLine;
    let (done, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        // Leaves the line when the hash is done, even if nobody waits for it any more.
        let _in_line = in_line;
        let _ = done.send(work());
    });
    hashers()
        .lock()
        .map_err(|_| AppError::Internal("hashing queue poisoned".into()))?
        .send(job)
        .map_err(|_| AppError::Internal("no hashing thread".into()))?;
    result
        .await
        .map_err(|_| AppError::Internal("hash task ended without an answer".into()))
}

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
    bounded(move || hash_blocking(&password)).await?
}

pub async fn verify(password: String, phc: String) -> Result<bool, AppError> {
    bounded(move || verify_blocking(&password, &phc)).await
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
