//! Service-to-service keys (DESIGN §7): a calling service sends its own key in `X-Service-Key`
//! (`SERVICE_KEY`); a called service accepts the keys of its callers, one per caller
//! (`SERVICE_KEYS`, `name=key` pairs), compared in constant time. Internal routes take the
//! [`Internal`] extractor: 401 `service_key_invalid` without a valid key.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::AuthError;
use crate::keys::KeyError;
use crate::principal::Auth;

/// The header a service key travels in.
pub const SERVICE_KEY_HEADER: &str = "x-service-key";

/// Shortest key accepted: 32 characters (`openssl rand -hex 32` makes 64).
pub const MIN_KEY_CHARS: usize = 32;

/// The callers a service accepts on its internal routes, each with its key (kept as SHA-256
/// digests, so that comparing takes the same time whatever the lengths).
#[derive(Default)]
pub struct ServiceKeys {
    callers: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.callers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ServiceKeys")
            .field("callers", &names)
            .finish()
    }
}

impl ServiceKeys {
    /// `name=key` pairs separated by commas or new lines (`order-service=3f9a...`).
    pub fn parse(text: &SecretString) -> Result<Self, KeyError> {
        let mut callers = Vec::new();
        for pair in text
            .expose_secret()
            .split([',', '\n'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, key) = pair.split_once('=').ok_or_else(|| {
                KeyError::InvalidServiceKeys(
                    "each entry must be <calling service>=<key>, e.g. order-service=<openssl rand -hex 32>"
                        .to_owned(),
                )
            })?;
            let (name, key) = (name.trim(), key.trim());
            if name.is_empty() || key.chars().count() < MIN_KEY_CHARS {
                return Err(KeyError::InvalidServiceKeys(format!(
                    "the key of {name:?} must have at least {MIN_KEY_CHARS} characters"
                )));
            }
            callers.push((name.to_owned(), digest(key.as_bytes())));
        }
        Ok(Self { callers })
    }

    /// The callers' names.
    pub fn callers(&self) -> impl Iterator<Item = &str> {
        self.callers.iter().map(|(name, _)| name.as_str())
    }

    /// The caller whose key `presented` is. Every key is compared, in constant time, whether or
    /// not an earlier one matched.
    pub fn caller(&self, presented: &[u8]) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, key) in &self.callers {
            if bool::from(key.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The header a calling service sends with every call, from its `SERVICE_KEY`.
pub fn header(key: &SecretString) -> Result<(HeaderName, HeaderValue), KeyError> {
    let key = key.expose_secret().trim();
    if key.chars().count() < MIN_KEY_CHARS {
        return Err(KeyError::InvalidServiceKeys(format!(
            "SERVICE_KEY must have at least {MIN_KEY_CHARS} characters"
        )));
    }
    let mut value = HeaderValue::from_str(key).map_err(|_| {
        KeyError::InvalidServiceKeys("SERVICE_KEY must be printable ASCII".to_owned())
    })?;
    value.set_sensitive(true);
    Ok((HeaderName::from_static(SERVICE_KEY_HEADER), value))
}

/// A call from another service of the shop, on an internal route.
#[derive(Debug, Clone)]
pub struct Internal {
    /// The calling service (the name its key is registered under).
    pub caller: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Internal {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let auth = parts.extensions.get::<Auth>().cloned().expect(
            "the router has no Auth extension: add .layer(Extension(auth)) where it is built",
        );
        let presented = parts
            .headers
            .get(SERVICE_KEY_HEADER)
            .map(HeaderValue::as_bytes);
        let Some(caller) = presented.and_then(|key| auth.service_keys().caller(key)) else {
            auth.refused(AuthError::ServiceKey);
            return Err(AuthError::ServiceKey);
        };
        Ok(Self {
            caller: caller.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER_KEY: &str = "0123456789abcdef0123456789abcdef";
    const PAYMENT_KEY: &str = "fedcba9876543210fedcba9876543210";

    fn keys() -> ServiceKeys {
        ServiceKeys::parse(&SecretString::from(format!(
            "order-service={ORDER_KEY}, payment-service={PAYMENT_KEY}\n"
        )))
        .unwrap()
    }

    #[test]
    fn each_caller_is_known_by_its_own_key() {
        let keys = keys();
        assert_eq!(keys.caller(ORDER_KEY.as_bytes()), Some("order-service"));
        assert_eq!(keys.caller(PAYMENT_KEY.as_bytes()), Some("payment-service"));
        assert_eq!(keys.caller(b""), None);
        assert_eq!(keys.caller(&ORDER_KEY.as_bytes()[..31]), None);
        assert_eq!(keys.caller(format!("{ORDER_KEY}x").as_bytes()), None);
        assert_eq!(ServiceKeys::default().caller(ORDER_KEY.as_bytes()), None);
    }

    #[test]
    fn short_or_nameless_keys_are_refused_with_a_hint() {
        for text in [
            "order-service=short",
            "=0123456789abcdef0123456789abcdef",
            "no-equals",
        ] {
            let error = ServiceKeys::parse(&SecretString::from(text)).unwrap_err();
            assert!(error.to_string().contains("key"), "{error}");
        }
        assert!(header(&SecretString::from("short")).is_err());
        let (name, value) = header(&SecretString::from(ORDER_KEY)).unwrap();
        assert_eq!(name, SERVICE_KEY_HEADER);
        assert!(value.is_sensitive());
    }

    #[test]
    fn the_debug_form_names_callers_never_keys() {
        let shown = format!("{:?}", keys());
        assert!(
            shown.contains("order-service") && !shown.contains(ORDER_KEY),
            "{shown}"
        );
    }
}
