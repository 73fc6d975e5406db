//! The storefront's settings.

use secrecy::{ExposeSecret, SecretString};

/// Session and form settings of the storefront.
#[derive(Debug, Clone, clap::Args)]
pub struct StorefrontConfig {
    /// Signs the CSRF tokens of the pages' forms and the session cookie: the same for every
    /// gateway replica (a file path or the value). Without one, each process makes its own at
    /// start (fine for one process, not for several behind a load balancer).
    #[arg(long, env = "STOREFRONT_SECRET", hide_env_values = true)]
    pub storefront_secret: Option<SecretString>,
    /// Mark the session cookie `Secure` (the shop is served over https).
    #[arg(long, env = "STOREFRONT_SECURE_COOKIES", default_value_t = false, action = clap::ArgAction::Set)]
    pub storefront_secure_cookies: bool,
}

/// Shortest secret taken: shorter ones are guessable offline from one CSRF token.
const MIN_SECRET_BYTES: usize = 16;

impl StorefrontConfig {
    /// The secret's bytes: `STOREFRONT_SECRET` (or the file it names), else 32 random bytes with
    /// a warning (every process then has its own, and its forms and sessions are its own).
    pub fn secret(&self) -> anyhow::Result<Vec<u8>> {
        let Some(configured) = &self.storefront_secret else {
            tracing::warn!(
                "STOREFRONT_SECRET is not set: this process signs forms and sessions with a \
                 random secret of its own, so they do not survive a restart and another replica \
                 refuses them"
            );
            return Ok(rand::random::<[u8; 32]>().to_vec());
        };
        let secret = microshop_auth::secret_or_file(configured, "STOREFRONT_SECRET")?;
        let bytes = secret.expose_secret().as_bytes().to_vec();
        anyhow::ensure!(
            bytes.len() >= MIN_SECRET_BYTES,
            "STOREFRONT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
        );
        Ok(bytes)
    }
}
