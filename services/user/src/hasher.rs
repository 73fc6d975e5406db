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

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| Error::Other(anyhow::anyhow!("password hashing task failed: {e}")))
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
