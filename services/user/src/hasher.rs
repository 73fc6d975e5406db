//! Runs argon2id off the async runtime, with a bound on how many hashes run at once so that a
//! burst of registrations cannot exhaust memory (each hash holds 19 MiB) or starve other requests.

use std::sync::{Arc, OnceLock};

use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::Error;
use crate::domain::{Password, password};

/// Hashes and verifies passwords on blocking threads.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    /// At most `concurrency` hashes at once (at least one).
    pub fn new(concurrency: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// The PHC string to store for `password`.
    pub async fn hash(&self, password: Password) -> Result<String, Error> {
        self.run(move || password.hash().map_err(Error::Hashing))
            .await?
    }

    /// Whether `candidate` matches `stored`. With no stored hash (unknown e-mail) a dummy hash is
    /// checked anyway, so the answer takes as long and reveals nothing about which accounts exist.
    pub async fn verify(
        &self,
        candidate: SecretString,
        stored: Option<String>,
    ) -> Result<bool, Error> {
        self.run(move || {
            if let Some(hash) = stored {
                password::verify(&candidate, &hash)
            } else {
                password::verify(&candidate, dummy_hash());
                false
            }
        })
        .await
    }

    /// Runs `work` on a blocking thread once a permit is free. The permit moves into the
    /// blocking task and is released when the hash is done, not when the request goes away: a
    /// client that gives up (or a deadline that cancels the request) cannot start more hashes
    /// than the bound while abandoned ones still run.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| Error::Other(anyhow::anyhow!("password hashing task failed: {e}")))
    }

    /// Hashes that may start now without waiting (for tests and metrics).
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// A real argon2id hash of a random password, computed once per process.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Password::parse("dummy password for timing".to_owned())
            .expect("a 25-character password passes the rules")
            .hash()
            .expect("hashing a fixed password with default parameters works")
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_permit_until_it_is_done() {
        let hasher = Hasher::new(1);
        let password = Password::parse("correct horse battery".to_owned()).expect("valid");
        // The request gives up (a client hang-up, a deadline) while its hash runs.
        let abandoned = tokio::time::timeout(Duration::from_millis(1), hasher.hash(password)).await;
        assert!(
            abandoned.is_err(),
            "argon2id takes longer than a millisecond"
        );
        assert_eq!(
            hasher.available(),
            0,
            "the running hash still holds the only permit"
        );
        let freed = tokio::time::timeout(Duration::from_secs(30), async {
            while hasher.available() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(freed.is_ok(), "the permit comes back when the hash is done");
    }
}
