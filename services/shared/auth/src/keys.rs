//! Ed25519 keys: the user service's signing key (PKCS#8 PEM), the public keys every service
//! verifies with (SPKI PEM, or a JWKS), and their key ids (RFC 7638 thumbprints).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not a PEM-encoded Ed25519 key of the expected kind.
    #[error(
        "{what} is not a PEM-encoded Ed25519 {kind} ({reason}); generate one with `openssl genpkey -algorithm ed25519`"
    )]
    InvalidPem {
        /// Which setting or file.
        what: String,
        /// `private key (PKCS#8)` or `public key (SPKI)`.
        kind: &'static str,
        /// The parser's complaint.
        reason: String,
    },
    /// A JWKS document that is not one.
    #[error("the JWKS is not valid: {0}")]
    InvalidJwks(String),
    /// Nothing usable.
    #[error("{0} holds no Ed25519 public key")]
    NoKeys(String),
    /// The JWKS could not be fetched.
    #[error("the token keys could not be fetched from {url}: {reason}")]
    JwksUnavailable {
        /// `JWT_JWKS_URL`.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// `SERVICE_KEYS` or `SERVICE_KEY` is malformed.
    #[error("service keys: {0}")]
    InvalidServiceKeys(String),
    /// Neither `JWT_PUBLIC_KEYS` nor `JWT_JWKS_URL` is set.
    #[error(
        "no token keys configured: set JWT_PUBLIC_KEYS (PEM, or a file) or JWT_JWKS_URL (the user service's /.well-known/jwks.json)"
    )]
    NotConfigured,
}

/// The user service's token-signing key.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self::from_key(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
    }

    /// The key in `pem` (PKCS#8, as `openssl genpkey -algorithm ed25519` writes it); `what`
    /// names its source in errors.
    pub fn from_pem(pem: &SecretString, what: &str) -> Result<Self, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.expose_secret().trim())
            .map(Self::from_key)
            .map_err(|error| KeyError::InvalidPem {
                what: what.to_owned(),
                kind: "private key (PKCS#8)",
                reason: error.to_string(),
            })
    }

    fn from_key(key: ed25519_dalek::SigningKey) -> Self {
        let public = PublicKey::from_key(key.verifying_key());
        Self { key, public }
    }

    /// The key as PKCS#8 PEM (to store in a Secret or a file).
    pub fn to_pem(&self) -> SecretString {
        let pem = self
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes as PKCS#8");
        SecretString::from(pem.as_str().to_owned())
    }

    /// The key as PKCS#8 DER, what `jsonwebtoken` signs with.
    pub(crate) fn to_der(&self) -> Vec<u8> {
        self.key
            .to_pkcs8_der()
            .expect("an Ed25519 key always encodes as PKCS#8")
            .as_bytes()
            .to_vec()
    }

    /// Its public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// A public key tokens are verified with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: ed25519_dalek::VerifyingKey,
    kid: String,
}

impl PublicKey {
    fn from_key(key: ed25519_dalek::VerifyingKey) -> Self {
        let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
        // RFC 7638: SHA-256 over the required members, in lexicographic order, no spaces.
        let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
        Self { key, kid }
    }

    /// Every public key in `text`: one or more SPKI PEM blocks (`-----BEGIN PUBLIC KEY-----`);
    /// `what` names the source in errors.
    pub fn parse_pem_bundle(text: &str, what: &str) -> Result<Vec<Self>, KeyError> {
        const END: &str = "-----END PUBLIC KEY-----";
        let mut keys = Vec::new();
        for block in text.split_inclusive(END) {
            let block = block.trim();
            if !block.contains("-----BEGIN") {
                continue;
            }
            let key = ed25519_dalek::VerifyingKey::from_public_key_pem(block).map_err(|error| {
                KeyError::InvalidPem {
                    what: what.to_owned(),
                    kind: "public key (SPKI)",
                    reason: error.to_string(),
                }
            })?;
            keys.push(Self::from_key(key));
        }
        if keys.is_empty() {
            return Err(KeyError::NoKeys(what.to_owned()));
        }
        Ok(keys)
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 key always encodes as SPKI")
    }

    /// Its key id: the RFC 7638 thumbprint of its JWK.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key's `x`: its 32 bytes, base64url.
    pub(crate) fn x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.as_bytes())
    }

    /// The key as a JWK.
    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".to_owned(),
            crv: "Ed25519".to_owned(),
            x: self.x(),
            kid: self.kid.clone(),
            alg: "EdDSA".to_owned(),
            key_use: "sig".to_owned(),
        }
    }
}

/// One public key as JSON Web Key (RFC 8037: an `OKP` key on `Ed25519`).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Jwk {
    /// `OKP`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    /// The key id tokens name in their header (RFC 7638 thumbprint).
    pub kid: String,
    /// `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

/// A JSON Web Key Set: `GET /.well-known/jwks.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct JwkSet {
    /// The keys tokens may be signed with, the current one first.
    pub keys: Vec<Jwk>,
}

impl JwkSet {
    /// The set of `keys`.
    pub fn of(keys: &[PublicKey]) -> Self {
        Self {
            keys: keys.iter().map(PublicKey::jwk).collect(),
        }
    }

    /// The Ed25519 keys of a JWKS document; keys of other kinds are skipped.
    pub fn parse(json: &str, what: &str) -> Result<Vec<PublicKey>, KeyError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_str(json).map_err(|e| KeyError::InvalidJwks(e.to_string()))?;
        let mut keys = Vec::new();
        for key in document.keys {
            if key["kty"] != "OKP" || key["crv"] != "Ed25519" {
                continue;
            }
            let x = key["x"]
                .as_str()
                .ok_or_else(|| KeyError::InvalidJwks("an Ed25519 key without x".into()))?;
            let bytes: [u8; 32] = URL_SAFE_NO_PAD
                .decode(x)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| KeyError::InvalidJwks(format!("x {x:?} is not 32 bytes")))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map_err(|e| KeyError::InvalidJwks(e.to_string()))?;
            keys.push(PublicKey::from_key(key));
        }
        if keys.is_empty() {
            return Err(KeyError::NoKeys(what.to_owned()));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_through_pem_and_keeps_its_id() {
        let key = SigningKey::generate();
        let again = SigningKey::from_pem(&key.to_pem(), "test").expect("parses");
        assert_eq!(key.public(), again.public());
        let public = PublicKey::parse_pem_bundle(&key.public().to_pem(), "test").expect("parses");
        assert_eq!(public, [key.public().clone()]);
        assert_eq!(key.public().kid().len(), 43, "a base64url SHA-256");
    }

    #[test]
    fn a_bundle_holds_several_keys_and_a_jwks_round_trips() {
        let (a, b) = (SigningKey::generate(), SigningKey::generate());
        let bundle = format!("{}\n{}", a.public().to_pem(), b.public().to_pem());
        let keys = PublicKey::parse_pem_bundle(&bundle, "test").expect("parses");
        assert_eq!(keys, [a.public().clone(), b.public().clone()]);
        let jwks = serde_json::to_string(&JwkSet::of(&keys)).expect("serialises");
        assert_eq!(JwkSet::parse(&jwks, "test").expect("parses"), keys);
    }

    #[test]
    fn garbage_is_refused_with_a_hint() {
        let error = SigningKey::from_pem(&SecretString::from("nope"), "JWT_SIGNING_KEY")
            .expect_err("refused");
        assert!(
            error.to_string().contains("JWT_SIGNING_KEY") && error.to_string().contains("openssl")
        );
        assert!(PublicKey::parse_pem_bundle("", "JWT_PUBLIC_KEYS").is_err());
    }

    #[test]
    fn the_key_id_is_the_rfc_8037_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example key.
        let x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
        let bytes: [u8; 32] = URL_SAFE_NO_PAD
            .decode(x)
            .expect("base64")
            .try_into()
            .expect("32");
        let key =
            PublicKey::from_key(ed25519_dalek::VerifyingKey::from_bytes(&bytes).expect("key"));
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
}
