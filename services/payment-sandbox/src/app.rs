//! What the routes and use cases share: the sessions, the deliverer, the test settings, the
//! metrics and the API key.

use std::sync::{Arc, Mutex, PoisonError};

use secrecy::{ExposeSecret, SecretString};

use crate::domain::Settings;
use crate::metrics::SandboxMetrics;
use crate::store::Store;
use crate::webhooks::{Policy, Webhooks};

/// The sandbox's handles; cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The checkout sessions.
    pub store: Arc<Store>,
    /// Webhook delivery.
    pub webhooks: Webhooks,
    /// `sandbox_*` metrics.
    pub metrics: SandboxMetrics,
    /// The provider API's key.
    pub api_key: Arc<ApiKey>,
    /// `PUBLIC_URL` without a trailing slash.
    pub public_url: Arc<str>,
    settings: Arc<Mutex<Settings>>,
}

impl App {
    /// The sandbox's handles, with the default test settings.
    pub fn new(
        store: Store,
        webhooks: Webhooks,
        metrics: SandboxMetrics,
        api_key: ApiKey,
        public_url: &str,
    ) -> Self {
        Self {
            store: Arc::new(store),
            webhooks,
            metrics,
            api_key: Arc::new(api_key),
            public_url: public_url.into(),
            settings: Arc::new(Mutex::new(Settings::default())),
        }
    }

    /// The test settings now.
    pub fn settings(&self) -> Settings {
        self.settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the test settings.
    pub fn set_settings(&self, settings: Settings) {
        *self.settings.lock().unwrap_or_else(PoisonError::into_inner) = settings;
    }

    /// How an event raised now is delivered.
    pub fn policy(&self) -> Policy {
        let settings = self.settings();
        Policy {
            copies: settings.duplicates,
            hold: settings.hold,
        }
    }

    /// Where a buyer pays the session `id`.
    pub fn checkout_url(&self, id: &str) -> String {
        format!("{}/checkout/{id}", self.public_url)
    }
}

/// The API key, kept as a keyed digest: a presented key is digested the same way and the two
/// digests compared in constant time, so neither the key's content nor its length shows in
/// the time an answer takes.
pub struct ApiKey {
    salt: SecretString,
    digest: String,
}

impl ApiKey {
    /// Keeps `key`'s digest under a random per-process salt.
    pub fn new(key: &SecretString) -> Self {
        let salt = SecretString::from(uuid::Uuid::new_v4().simple().to_string());
        let digest = Self::digest_with(&salt, key.expose_secret().as_bytes());
        Self { salt, digest }
    }

    fn digest_with(salt: &SecretString, bytes: &[u8]) -> String {
        // HMAC-SHA256 under the salt (the webhook signature's primitive, time fixed at 0).
        microshop_webhook::sign(salt, 0, bytes)
    }

    /// Whether `presented` is the key.
    pub fn matches(&self, presented: &str) -> bool {
        let digest = Self::digest_with(&self.salt, presented.as_bytes());
        digest.len() == self.digest.len()
            && digest
                .bytes()
                .zip(self.digest.bytes())
                .fold(0u8, |differs, (a, b)| differs | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_key_itself_matches() {
        let key = ApiKey::new(&SecretString::from("k".repeat(32)));
        assert!(key.matches(&"k".repeat(32)));
        assert!(!key.matches(&"k".repeat(31)));
        assert!(!key.matches(""));
    }
}
