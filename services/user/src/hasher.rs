//! Runs argon2id off the async runtime, with a bound on how many hashes run at once so that a
//! burst of registrations cannot exhaust memory (each hash holds 19 MiB), and a bound on how many
//! may wait, so that a log-in flood is refused at once (503 `overloaded`) instead of holding the
//! server's in-flight slots that `GET` routes need.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use secrecy::SecretString;
use tokio::sync::Semaphore;

use crate::Error;
use crate::domain::{Password, password};

/// Hashes and verifies passwords on blocking threads.
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Hashes running or waiting.
    admitted: Arc<AtomicUsize>,
    /// Most hashes running or waiting.
    budget: usize,
}

/// One admitted hash: counted until it is done (or its request goes away while waiting).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hasher {
    /// At most `concurrency` hashes at once (at least one), and `queue` more waiting.
    pub fn new(concurrency: usize, queue: usize) -> Self {
        let concurrency = concurrency.max(1);
        Self {
            permits: Arc::new(Semaphore::new(concurrency)),
            admitted: Arc::default(),
            budget: concurrency + queue,
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
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.budget {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::HashingBusy);
        }
        let admission = Admission(Arc::clone(&self.admitted));
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            drop(admission);
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
        let hasher = Hasher::new(1, 0);
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

    #[tokio::test]
    async fn beyond_the_running_and_waiting_budget_hashes_are_refused_at_once() {
        let hasher = Hasher::new(1, 1);
        let password = || Password::parse("correct horse battery".to_owned()).expect("valid");
        let (first, second) = (hasher.clone(), hasher.clone());
        let running = tokio::spawn(async move { first.hash(password()).await });
        let waiting = tokio::spawn(async move { second.hash(password()).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        // One runs, one waits: a third is over budget, now.
        let started = std::time::Instant::now();
        let refused = hasher.hash(password()).await;
        assert!(matches!(refused, Err(Error::HashingBusy)), "{refused:?}");
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "refused without waiting"
        );
        assert!(running.await.expect("joins").is_ok());
        assert!(waiting.await.expect("joins").is_ok());
        // Both done: the budget is whole again.
        assert!(hasher.hash(password()).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_that_gives_up_while_waiting_returns_its_place() {
        let hasher = Hasher::new(1, 1);
        let password = || Password::parse("correct horse battery".to_owned()).expect("valid");
        let first = hasher.clone();
        let running = tokio::spawn(async move { first.hash(password()).await });
        tokio::time::sleep(Duration::from_millis(5)).await;
        // This one waits for the permit, and its client goes away.
        let gave_up = tokio::time::timeout(Duration::from_millis(5), hasher.hash(password())).await;
        assert!(gave_up.is_err());
        // Its place in the queue is free again: the next one may wait.
        let next = hasher.hash(password()).await;
        assert!(next.is_ok(), "{next:?}");
        assert!(running.await.expect("joins").is_ok());
    }
}
