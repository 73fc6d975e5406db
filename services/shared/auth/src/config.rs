//! Key and token settings, from the environment. A PEM setting holds the PEM text itself or the
//! path of a file holding it (how Kubernetes mounts Secrets, and how `make up` passes `.run/`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use axum::http::{HeaderName, HeaderValue};

use crate::keys::{KeyError, PublicKey, SigningKey};
use crate::service_key::{self, ServiceKeys};
use crate::token::{Audience, Issuer, Verifier};

/// What every service needs to verify access tokens.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyConfig {
    /// The public keys access tokens may be signed with: SPKI PEM blocks (several during a key
    /// rotation), or the path of a file holding them. Either this or `JWT_JWKS_URL`.
    #[arg(
        long,
        env = "JWT_PUBLIC_KEYS",
        required_unless_present = "jwt_jwks_url"
    )]
    pub jwt_public_keys: Option<String>,
    /// The issuer's JWKS (`http://<user service>/.well-known/jwks.json`), fetched at start,
    /// every `JWT_JWKS_REFRESH`, and when a token names a key not yet known. With
    /// `JWT_PUBLIC_KEYS` too, those are the keys until the first fetch succeeds.
    #[arg(long, env = "JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// How often the JWKS is fetched again.
    #[arg(long, env = "JWT_JWKS_REFRESH", default_value = "5m", value_parser = humantime::parse_duration)]
    pub jwt_jwks_refresh: Duration,
    /// The `iss` tokens must carry.
    #[arg(long, env = "JWT_ISSUER", default_value = "microshop")]
    pub jwt_issuer: String,
    /// The `aud` tokens must carry.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "microshop")]
    pub jwt_audience: String,
    /// The services whose calls this one's internal routes accept, each with its key:
    /// `order-service=<key>,...` (or the path of a file holding them). Unset: internal routes
    /// refuse every call.
    #[arg(long, env = "SERVICE_KEYS", hide_env_values = true)]
    pub service_keys: Option<SecretString>,
}

impl VerifyConfig {
    /// The callers accepted on internal routes.
    pub fn service_keys(&self) -> Result<ServiceKeys, KeyError> {
        match &self.service_keys {
            Some(value) => {
                let text = secret_or_file(value, "SERVICE_KEYS")?;
                ServiceKeys::parse(&text)
            }
            None => Ok(ServiceKeys::default()),
        }
    }

    /// The verifier these settings describe, or what is wrong with them.
    /// The verifier of the configured PEM keys (none yet when only a JWKS URL is set: see
    /// [`Auth::from_config`](crate::Auth::from_config), which fetches it).
    pub fn verifier(&self) -> Result<Verifier, KeyError> {
        let keys = match self
            .jwt_public_keys
            .as_deref()
            .filter(|k| !k.trim().is_empty())
        {
            Some(value) => {
                let text = pem_or_file(value, "JWT_PUBLIC_KEYS")?;
                PublicKey::parse_pem_bundle(&text, "JWT_PUBLIC_KEYS")?
            }
            None if self.jwt_jwks_url.is_some() => Vec::new(),
            None => return Err(KeyError::NotConfigured),
        };
        Ok(Verifier::new(&keys, &self.audience()))
    }

    /// Issuer and audience.
    pub fn audience(&self) -> Audience {
        Audience {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
        }
    }
}

/// What the user service needs to issue access tokens (and verify its own).
#[derive(Debug, Clone, clap::Args)]
pub struct IssueConfig {
    /// The Ed25519 private key tokens are signed with (PKCS#8 PEM, or the path of a file
    /// holding it): `openssl genpkey -algorithm ed25519`.
    #[arg(long, env = "JWT_SIGNING_KEY", hide_env_values = true)]
    pub jwt_signing_key: SecretString,
    /// Public keys of earlier signing keys whose tokens are still accepted and published in the
    /// JWKS, during a rotation (SPKI PEM blocks, or a file path).
    #[arg(long, env = "JWT_PREVIOUS_PUBLIC_KEYS")]
    pub jwt_previous_public_keys: Option<String>,
    /// How long an access token is valid (`15m`, `900s`).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = humantime::parse_duration)]
    pub access_token_ttl: Duration,
    /// The `iss` of the tokens.
    #[arg(long, env = "JWT_ISSUER", default_value = "microshop")]
    pub jwt_issuer: String,
    /// The `aud` of the tokens.
    #[arg(long, env = "JWT_AUDIENCE", default_value = "microshop")]
    pub jwt_audience: String,
}

/// The keys of an issuing service: the signing key, and every public key it accepts and
/// publishes (its own first).
pub struct IssuerKeys {
    /// Signs.
    pub issuer: Issuer,
    /// Verifies this service's own tokens.
    pub verifier: Verifier,
    /// What `/.well-known/jwks.json` publishes.
    pub public: Vec<PublicKey>,
}

impl IssueConfig {
    /// The keys these settings describe, or what is wrong with them.
    pub fn keys(&self) -> Result<IssuerKeys, KeyError> {
        let pem = pem_or_file(self.jwt_signing_key.expose_secret(), "JWT_SIGNING_KEY")?;
        let signing = SigningKey::from_pem(&SecretString::from(pem), "JWT_SIGNING_KEY")?;
        let mut public = vec![signing.public().clone()];
        if let Some(previous) = self
            .jwt_previous_public_keys
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            let text = pem_or_file(previous, "JWT_PREVIOUS_PUBLIC_KEYS")?;
            for key in PublicKey::parse_pem_bundle(&text, "JWT_PREVIOUS_PUBLIC_KEYS")? {
                if !public.contains(&key) {
                    public.push(key);
                }
            }
        }
        let audience = Audience {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
        };
        Ok(IssuerKeys {
            issuer: Issuer::new(&signing, audience.clone(), self.access_token_ttl),
            verifier: Verifier::new(&public, &audience),
            public,
        })
    }
}

/// This service's own key for its calls to other services (`X-Service-Key`).
#[derive(Debug, Clone, clap::Args)]
pub struct CallerConfig {
    /// The key this service sends to the services it calls (one of their `SERVICE_KEYS`), or
    /// the path of a file holding it.
    #[arg(long, env = "SERVICE_KEY", hide_env_values = true)]
    pub service_key: SecretString,
}

impl CallerConfig {
    /// The header to send with every call.
    pub fn header(&self) -> Result<(HeaderName, HeaderValue), KeyError> {
        service_key::header(&secret_or_file(&self.service_key, "SERVICE_KEY")?)
    }
}

/// `value` itself when it holds `=` pairs or a key (or any other secret), else the contents of
/// the file it names
/// (how Kubernetes mounts Secrets). `what` names the setting in the error.
pub fn secret_or_file(value: &SecretString, what: &str) -> Result<SecretString, KeyError> {
    let text = value.expose_secret().trim();
    let path = std::path::Path::new(text);
    if text.starts_with('/') || text.starts_with("./") || path.is_file() {
        return std::fs::read_to_string(path)
            .map(|contents| SecretString::from(contents.trim().to_owned()))
            .map_err(|error| {
                KeyError::InvalidServiceKeys(format!("{what}: cannot read {text:?}: {error}"))
            });
    }
    Ok(value.clone())
}

/// `value` when it is PEM text, else the contents of the file it names.
fn pem_or_file(value: &str, what: &str) -> Result<String, KeyError> {
    if value.contains("-----BEGIN") {
        return Ok(value.to_owned());
    }
    let path = value.trim();
    std::fs::read_to_string(path).map_err(|error| KeyError::InvalidPem {
        what: what.to_owned(),
        kind: "key or key file",
        reason: format!("it is neither PEM text nor a readable file ({path:?}: {error})"),
    })
}
