//! Settings of the payment sandbox, read once from the environment at start-up, and the two
//! secrets (API key, webhook secret) resolved from their values or the files they name.

use std::time::Duration;

use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::{ExposeSecret, SecretString};

/// Shortest API key accepted (`openssl rand -hex 32` makes 64 characters).
pub const MIN_API_KEY_CHARS: usize = 32;

/// Everything the sandbox needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "payment-sandbox",
    version,
    about = "Microshop payment sandbox: a stand-in card provider (docs/payments.md)"
)]
pub struct Config {
    /// Port for the provider API, the hosted card page, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8090)]
    pub http_port: u16,
    /// Base URL under which buyers' browsers reach this sandbox: checkout URLs are
    /// `<PUBLIC_URL>/checkout/<session id>`.
    #[arg(long, env = "PUBLIC_URL", default_value = "http://127.0.0.1:8090", value_parser = http_url)]
    pub public_url: String,
    /// Where webhooks are delivered: the payment service's callback.
    #[arg(
        long,
        env = "WEBHOOK_URL",
        default_value = "http://127.0.0.1:8004/api/payments/callback",
        value_parser = http_url
    )]
    pub webhook_url: String,
    /// The secret webhooks are signed with (HMAC-SHA256, shared with the payment service), or
    /// the path of a file holding it.
    #[arg(long, env = "WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: SecretString,
    /// The key callers of the provider API present as `Authorization: Bearer <key>` (at least
    /// 32 characters), or the path of a file holding it.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: SecretString,
    /// Attempts per webhook delivery before it is given up.
    #[arg(long, env = "WEBHOOK_MAX_ATTEMPTS", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub webhook_max_attempts: u32,
    /// How long one delivery attempt may wait for its answer, in milliseconds.
    #[arg(long, env = "WEBHOOK_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub webhook_timeout_ms: u64,
    /// Wait before the first retry of a delivery, in milliseconds; it doubles at each further
    /// attempt (each wait jittered by ±25 %).
    #[arg(long, env = "WEBHOOK_RETRY_BASE_MS", default_value_t = 500,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub webhook_retry_base_ms: u64,
    /// Longest wait between two attempts of a delivery, in milliseconds.
    #[arg(long, env = "WEBHOOK_RETRY_MAX_MS", default_value_t = 60_000,
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub webhook_retry_max_ms: u64,
    /// Most checkout sessions kept in memory; beyond it the oldest closed ones (else the
    /// oldest) are forgotten. As many webhook events are kept for `GET /v1/test/deliveries`.
    #[arg(long, env = "MAX_SESSIONS", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub max_sessions: u64,
    /// HTTP server settings.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}

impl Config {
    /// The webhook retry timing.
    pub fn retry(&self) -> crate::webhooks::Retry {
        crate::webhooks::Retry {
            base: Duration::from_millis(self.webhook_retry_base_ms),
            max: Duration::from_millis(self.webhook_retry_max_ms.max(self.webhook_retry_base_ms)),
            max_attempts: self.webhook_max_attempts,
        }
    }

    /// `PUBLIC_URL` without a trailing slash.
    pub fn public_base(&self) -> String {
        self.public_url.trim_end_matches('/').to_owned()
    }

    /// How many sessions (and events) are kept.
    pub fn capacity(&self) -> usize {
        usize::try_from(self.max_sessions).unwrap_or(usize::MAX)
    }

    /// The API key and the webhook secret, read from the files they name where they do.
    pub fn secrets(&self) -> Result<Secrets, SecretError> {
        let api_key = secret_or_file(&self.api_key, "API_KEY")?;
        let chars = api_key.expose_secret().chars().count();
        if chars < MIN_API_KEY_CHARS {
            return Err(SecretError::TooShort {
                what: "API_KEY",
                min: MIN_API_KEY_CHARS,
                chars,
            });
        }
        let webhook_secret = secret_or_file(&self.webhook_secret, "WEBHOOK_SECRET")?;
        if webhook_secret.expose_secret().is_empty() {
            return Err(SecretError::TooShort {
                what: "WEBHOOK_SECRET",
                min: 1,
                chars: 0,
            });
        }
        Ok(Secrets {
            api_key,
            webhook_secret,
        })
    }
}

/// The resolved secrets.
pub struct Secrets {
    /// What callers of the provider API present.
    pub api_key: SecretString,
    /// What webhooks are signed with.
    pub webhook_secret: SecretString,
}

/// Why a secret cannot be used. Never shows the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The value names a file that cannot be read.
    #[error("{what}: cannot read the file {path:?}: {source}")]
    Unreadable {
        /// The setting.
        what: &'static str,
        /// The file it names.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The secret is shorter than allowed.
    #[error("{what} must have at least {min} characters, got {chars}")]
    TooShort {
        /// The setting.
        what: &'static str,
        /// The least allowed.
        min: usize,
        /// What it has.
        chars: usize,
    },
}

/// `value` itself, trimmed, unless it is a path (absolute, `./…`, or an existing file): then the
/// trimmed contents of that file (how Kubernetes mounts Secrets and `make up` passes `.run/`).
fn secret_or_file(value: &SecretString, what: &'static str) -> Result<SecretString, SecretError> {
    let text = value.expose_secret().trim();
    let path = std::path::Path::new(text);
    if text.starts_with('/') || text.starts_with("./") || path.is_file() {
        return std::fs::read_to_string(path)
            .map(|contents| SecretString::from(contents.trim().to_owned()))
            .map_err(|source| SecretError::Unreadable {
                what,
                path: text.to_owned(),
                source,
            });
    }
    Ok(SecretString::from(text.to_owned()))
}

/// An absolute `http` or `https` URL.
fn http_url(text: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".to_owned());
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn parse(extra: &[&str]) -> Config {
        let mut args = vec!["payment-sandbox"];
        args.extend_from_slice(extra);
        Config::try_parse_from(args).unwrap()
    }

    #[test]
    fn a_secret_is_taken_as_is_or_read_from_the_file_it_names() {
        let dir = std::env::temp_dir().join(format!("sandbox-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, format!("{}\n", "k".repeat(40))).unwrap();
        let config = parse(&[
            "--api-key",
            file.to_str().unwrap(),
            "--webhook-secret",
            "whsec_local",
        ]);
        let secrets = config.secrets().unwrap();
        assert_eq!(secrets.api_key.expose_secret(), "k".repeat(40));
        assert_eq!(secrets.webhook_secret.expose_secret(), "whsec_local");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_short_api_key_or_an_unreadable_file_is_refused_without_showing_it() {
        let short = parse(&["--api-key", "short-key", "--webhook-secret", "s"]);
        let error = short.secrets().err().unwrap().to_string();
        assert!(error.contains("at least 32"), "{error}");
        assert!(!error.contains("short-key"), "{error}");
        let missing = parse(&["--api-key", "/no/such/file", "--webhook-secret", "s"]);
        assert!(matches!(
            missing.secrets(),
            Err(SecretError::Unreadable { .. })
        ));
    }

    #[test]
    fn urls_must_be_http() {
        assert!(http_url("http://127.0.0.1:8004/api/payments/callback").is_ok());
        assert!(http_url("ftp://example.com").is_err());
        assert!(http_url("not a url").is_err());
    }
}
