//! Access tokens: JWTs signed with `EdDSA` (Ed25519), issued by the user service and verified by
//! every service with the public keys alone.
//!
//! Verification pins the algorithm: the header must say `EdDSA` and name a known key (`kid`);
//! `none`, HMAC with the public key as secret and RSA/ECDSA tokens are refused before any
//! signature check. Issuer, audience, expiry (30 s leeway) and every claim are required.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::AuthError;
use crate::keys::{PublicKey, SigningKey};
use crate::principal::Principal;
use crate::role::Role;

/// Clock skew tolerated on `exp`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Who issued it (`JWT_ISSUER`).
    pub iss: String,
    /// Who it is for (`JWT_AUDIENCE`).
    pub aud: String,
    /// The user's id, as a string (RFC 7519).
    pub sub: String,
    /// The user's role when the token was issued.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
    /// The token's own id.
    pub jti: String,
}

/// Issuer and audience every token carries and every verifier requires.
#[derive(Debug, Clone)]
pub struct Audience {
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
}

/// A freshly issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The compact JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

/// Signs access tokens (the user service).
pub struct Issuer {
    key: EncodingKey,
    kid: String,
    audience: Audience,
    ttl: Duration,
}

impl Issuer {
    /// Tokens signed with `key`, for `audience`, valid for `ttl`.
    pub fn new(key: &SigningKey, audience: Audience, ttl: Duration) -> Self {
        Self {
            key: EncodingKey::from_ed_der(&key.to_der()),
            kid: key.public().kid().to_owned(),
            audience,
            ttl,
        }
    }

    /// A token for `user_id` acting as `role`.
    pub fn issue(&self, user_id: i64, role: Role) -> AccessToken {
        let claims = self.claims(user_id, role);
        AccessToken {
            token: self.sign(&claims),
            expires_in: self.ttl.as_secs(),
        }
    }

    /// The claims [`Issuer::issue`] would sign now (tests change them before [`Issuer::sign`]).
    pub fn claims(&self, user_id: i64, role: Role) -> Claims {
        let now = now();
        Claims {
            iss: self.audience.issuer.clone(),
            aud: self.audience.audience.clone(),
            sub: user_id.to_string(),
            role,
            iat: now,
            exp: now + self.ttl.as_secs(),
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    /// `claims` signed with this issuer's key, as a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key)
            .expect("signing with a valid Ed25519 key cannot fail")
    }
}

/// Verifies access tokens against the public keys (every service).
pub struct Verifier {
    /// By key id; replaced whole when a JWKS is fetched again.
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    validation: Validation,
}

impl Verifier {
    /// Accepts tokens signed by any of `keys` (several during a key rotation) for `audience`.
    pub fn new(keys: &[PublicKey], audience: &Audience) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[&audience.issuer]);
        validation.set_audience(&[&audience.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            keys: RwLock::new(Arc::new(decoding_keys(keys))),
            validation,
        }
    }

    /// Trusts exactly `keys` from now on (a JWKS fetched again after a rotation).
    pub fn replace_keys(&self, keys: &[PublicKey]) {
        let keys = Arc::new(decoding_keys(keys));
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// How many keys it trusts.
    pub fn key_count(&self) -> usize {
        self.current_keys().len()
    }

    fn current_keys(&self) -> Arc<HashMap<String, DecodingKey>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Who `token` says the caller is, or why it does not count.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::Algorithm);
        }
        let keys = self.current_keys();
        let key = match &header.kid {
            Some(kid) => keys.get(kid).ok_or(AuthError::UnknownKey)?,
            None => return Err(AuthError::UnknownKey),
        };
        let data =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidAudience => AuthError::Audience,
                    ErrorKind::InvalidIssuer => AuthError::Issuer,
                    ErrorKind::InvalidSignature => AuthError::Signature,
                    ErrorKind::InvalidAlgorithm => AuthError::Algorithm,
                    _ => AuthError::Malformed,
                }
            })?;
        let claims = data.claims;
        let user_id = claims
            .sub
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or(AuthError::Malformed)?;
        Ok(Principal {
            user_id,
            role: claims.role,
            token_id: claims.jti,
            expires_at: claims.exp,
        })
    }
}

fn decoding_keys(keys: &[PublicKey]) -> HashMap<String, DecodingKey> {
    keys.iter()
        .map(|key| {
            let decoding =
                DecodingKey::from_ed_components(&key.x()).expect("a public key's own x decodes");
            (key.kid().to_owned(), decoding)
        })
        .collect()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn audience() -> Audience {
        Audience {
            issuer: "microshop".into(),
            audience: "microshop".into(),
        }
    }

    fn pair() -> (SigningKey, Issuer, Verifier) {
        let key = SigningKey::generate();
        let issuer = Issuer::new(&key, audience(), Duration::from_secs(900));
        let verifier = Verifier::new(&[key.public().clone()], &audience());
        (key, issuer, verifier)
    }

    /// A token with this header and these claims, signed by nothing valid.
    fn forged(header: &serde_json::Value, claims: &serde_json::Value, signature: &[u8]) -> String {
        let part = |value: &serde_json::Value| URL_SAFE_NO_PAD.encode(value.to_string());
        format!(
            "{}.{}.{}",
            part(header),
            part(claims),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    fn claims(exp: u64) -> serde_json::Value {
        serde_json::json!({"iss": "microshop", "aud": "microshop", "sub": "7", "role": "admin",
            "iat": now(), "exp": exp, "jti": "x"})
    }

    #[test]
    fn an_issued_token_verifies_as_its_user_and_role() {
        let (_, issuer, verifier) = pair();
        let token = issuer.issue(42, Role::Admin);
        assert_eq!(token.expires_in, 900);
        let principal = verifier.verify(&token.token).expect("valid");
        assert_eq!((principal.user_id, principal.role), (42, Role::Admin));
    }

    #[test]
    fn tokens_of_another_key_audience_or_issuer_are_refused() {
        let (_, issuer, _) = pair();
        let (_, _, other) = pair();
        let token = issuer.issue(1, Role::Customer).token;
        assert_eq!(other.verify(&token).err(), Some(AuthError::UnknownKey));
        // Same key id, another key: a wrong signature.
        let (key, _, verifier) = pair();
        let impostor = SigningKey::generate();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.public().kid().to_owned());
        let claims: Claims = serde_json::from_value(claims(now() + 60)).expect("claims");
        let token = jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ed_der(&impostor.to_der()),
        )
        .expect("signs");
        assert_eq!(verifier.verify(&token).err(), Some(AuthError::Signature));
        let elsewhere = Issuer::new(
            &key,
            Audience {
                issuer: "microshop".into(),
                audience: "another-shop".into(),
            },
            Duration::from_secs(60),
        );
        assert_eq!(
            verifier
                .verify(&elsewhere.issue(1, Role::Customer).token)
                .err(),
            Some(AuthError::Audience)
        );
    }

    #[test]
    fn expired_none_hmac_and_tampered_tokens_are_refused() {
        let (key, issuer, verifier) = pair();
        let kid = key.public().kid();
        let expired = Issuer::new(&key, audience(), Duration::ZERO);
        let old = expired.issue(1, Role::Customer).token;
        // exp = now: still inside the leeway; a token an hour old is not.
        assert!(verifier.verify(&old).is_ok());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.to_owned());
        let stale: Claims = serde_json::from_value(claims(now() - 3600)).expect("claims");
        let token = jsonwebtoken::encode(&header, &stale, &EncodingKey::from_ed_der(&key.to_der()))
            .expect("signs");
        assert_eq!(verifier.verify(&token).err(), Some(AuthError::Expired));

        let none = forged(
            &serde_json::json!({"alg": "none", "typ": "JWT", "kid": kid}),
            &claims(now() + 60),
            b"",
        );
        assert_eq!(verifier.verify(&none).err(), Some(AuthError::Malformed));
        // HS256 keyed with the public key (the classic confusion).
        let hmac = jsonwebtoken::encode(
            &{
                let mut h = Header::new(Algorithm::HS256);
                h.kid = Some(kid.to_owned());
                h
            },
            &serde_json::from_value::<Claims>(claims(now() + 60)).expect("claims"),
            &EncodingKey::from_secret(key.public().to_pem().as_bytes()).expect("an HMAC key"),
        )
        .expect("signs");
        assert_eq!(verifier.verify(&hmac).err(), Some(AuthError::Algorithm));
        let rs = forged(
            &serde_json::json!({"alg": "RS256", "kid": kid}),
            &claims(now() + 60),
            &[0; 256],
        );
        assert_eq!(verifier.verify(&rs).err(), Some(AuthError::Algorithm));

        // The payload changed after signing: the signature no longer matches.
        let good = issuer.issue(7, Role::Customer).token;
        let parts: Vec<&str> = good.split('.').collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
        payload["role"] = serde_json::json!("admin");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            parts[2]
        );
        assert_eq!(verifier.verify(&tampered).err(), Some(AuthError::Signature));
        assert_eq!(
            verifier.verify("not a token").err(),
            Some(AuthError::Malformed)
        );
    }

    #[test]
    fn during_a_rotation_tokens_of_both_keys_verify() {
        let (old, new) = (SigningKey::generate(), SigningKey::generate());
        let verifier = Verifier::new(&[new.public().clone(), old.public().clone()], &audience());
        for key in [&old, &new] {
            let token =
                Issuer::new(key, audience(), Duration::from_secs(60)).issue(3, Role::Customer);
            assert!(verifier.verify(&token.token).is_ok());
        }
    }
}
