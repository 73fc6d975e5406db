//! CSRF tokens: every form of a page carries `csrf` = hex HMAC-SHA256(secret, the session's
//! nonce). A cross-site page can make a browser post a form with the session cookie, but cannot
//! read the token out of our pages, and cannot compute it without the secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Makes and checks the tokens of one secret.
pub struct Csrf {
    secret: Vec<u8>,
}

impl Csrf {
    /// Tokens signed with `secret`.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    fn mac(&self, nonce: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.secret).expect("HMAC takes a key of any length");
        mac.update(nonce.as_bytes());
        mac
    }

    /// The token of the session with `nonce`.
    pub fn token(&self, nonce: &str) -> String {
        hex::encode(self.mac(nonce).finalize().into_bytes())
    }

    /// Whether `presented` is the token of `nonce`, compared in constant time.
    pub fn verify(&self, nonce: &str, presented: &str) -> bool {
        let Ok(presented) = hex::decode(presented.trim()) else {
            return false;
        };
        !nonce.is_empty() && self.mac(nonce).verify_slice(&presented).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_of_the_same_nonce_and_secret_passes() {
        let csrf = Csrf::new(b"a secret of sixteen bytes or more");
        let token = csrf.token("nonce-1");
        assert_eq!(token.len(), 64);
        assert!(csrf.verify("nonce-1", &token));
        assert!(!csrf.verify("nonce-2", &token));
        assert!(!csrf.verify("nonce-1", ""));
        assert!(!csrf.verify("nonce-1", "not hex"));
        assert!(!csrf.verify("nonce-1", &token[..62]));
        assert!(!Csrf::new(b"another secret of sixteen bytes").verify("nonce-1", &token));
        assert!(!csrf.verify("", &csrf.token("")));
    }
}
