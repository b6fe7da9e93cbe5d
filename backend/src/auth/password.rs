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
    mpsc, Arc, Mutex,
};

use tokio::sync::oneshot;

use crate::AppError;

/// How many sign-ins may wait per core for a hashing thread before the next is told to retry.
pub const QUEUE_PER_CORE: usize = 8;
/// What a refused sign-in is told: try again in this many seconds.
pub const RETRY_AFTER_SECS: u64 = 2;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

type Job = Box<dyn FnOnce() + Send>;

/// A server's password-hashing threads and their line (one per server, in its `AppState`;
/// the threads end when the server's state is dropped).
#[derive(Debug)]
pub struct Hashing {
    queue: Mutex<mpsc::Sender<Job>>,
    /// Sign-ins waiting for, or holding, a hashing thread.
    in_line: Arc<AtomicUsize>,
    limit: usize,
}

impl Default for Hashing {
    fn default() -> Self {
        Self::new(cores())
    }
}

impl Hashing {
    /// `threads` hashing threads, started now.
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
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
                        // Every sender is gone: the server's state was dropped.
                        Err(_) => return,
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a hashing thread");
            }
        }
        Self {
            queue: Mutex::new(tx),
            in_line: Arc::new(AtomicUsize::new(0)),
            limit: threads.max(1) * (QUEUE_PER_CORE + 1),
        }
    }

    /// Runs `work` on a hashing thread once one is free; `Busy` if the line is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        if self.in_line.fetch_add(1, Ordering::SeqCst) >= self.limit {
            self.in_line.fetch_sub(1, Ordering::SeqCst);
            return Err(AppError::Busy {
                retry_after_secs: RETRY_AFTER_SECS,
            });
        }
        let in_line = InLine(self.in_line.clone());
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // Leaves the line when the hash is done, even if nobody waits for it any more.
            let _in_line = in_line;
            let _ = done.send(work());
        });
        self.queue
            .lock()
            .map_err(|_| AppError::Internal("hashing queue poisoned".into()))?
            .send(job)
            .map_err(|_| AppError::Internal("no hashing thread".into()))?;
        result
            .await
            .map_err(|_| AppError::Internal("hash task ended without an answer".into()))
    }
}

/// Leaves the line when dropped, however the wait ends.
struct InLine(Arc<AtomicUsize>);

impl Drop for InLine {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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

/// A new hash, on the blocking pool (accounts made at start-up: the demo data).
pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|err| AppError::Internal(format!("hash task: {err}")))?
}

/// Whether `password` matches `phc`, checked in the server's bounded hashing line.
pub async fn verify(hashing: &Hashing, password: String, phc: String) -> Result<bool, AppError> {
    hashing.run(move || verify_blocking(&password, &phc)).await
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
