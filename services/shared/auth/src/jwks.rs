//! Public keys fetched from the issuer's JWKS (`JWT_JWKS_URL`), for services that should follow
//! key rotations without a redeploy: fetched at start, again every `JWT_JWKS_REFRESH`, and at
//! once (at most every [`MIN_REFETCH`]) when a token names a key id not yet known.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use crate::keys::{JwkSet, KeyError, PublicKey};
use crate::token::Verifier;

/// Least time between two fetches caused by unknown key ids, so that forged `kid`s cannot make
/// a service hammer the issuer.
pub const MIN_REFETCH: Duration = Duration::from_secs(10);

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the keys come from, and when they were last asked for.
#[derive(Debug)]
pub struct JwksSource {
    url: String,
    client: reqwest::Client,
    /// The last fetch a token naming an unknown key caused.
    last_refetch: Mutex<Option<Instant>>,
}

impl JwksSource {
    /// Keys from `url` (`http://user-service:8001/.well-known/jwks.json`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client: reqwest::Client::builder()
                .timeout(FETCH_TIMEOUT)
                .build()
                .expect("an HTTP client builds"),
            last_refetch: Mutex::new(None),
        }
    }

    /// The Ed25519 keys the JWKS holds now.
    pub async fn fetch(&self) -> Result<Vec<PublicKey>, KeyError> {
        let unavailable = |reason: String| KeyError::JwksUnavailable {
            url: self.url.clone(),
            reason,
        };
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(e.to_string()))?;
        let text = response
            .text()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        JwkSet::parse(&text, &self.url)
    }

    /// Fetches the keys into `verifier`; logs and keeps the old keys when it cannot.
    pub async fn refresh(&self, verifier: &Verifier) -> bool {
        match self.fetch().await {
            Ok(keys) => {
                verifier.replace_keys(&keys);
                tracing::debug!(url = %self.url, keys = keys.len(), "token keys fetched");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "token keys could not be fetched; the ones known stay in use");
                false
            }
        }
    }

    /// Whether a token naming an unknown key may cause a fetch now (no other did in the last
    /// [`MIN_REFETCH`]); claims the slot when it may.
    pub fn claim_refetch(&self) -> bool {
        let mut last = self
            .last_refetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < MIN_REFETCH) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }

    /// Refreshes `verifier` every `every` for as long as it lives.
    pub fn spawn_refresh(self: &Arc<Self>, verifier: Weak<Verifier>, every: Duration) {
        let source = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(verifier) = verifier.upgrade() else {
                    return;
                };
                source.refresh(&verifier).await;
            }
        });
    }
}
