//! The session cookie `microshop_session`. Its value is the session as compact JSON, base64url,
//! then `.` and an HMAC-SHA256 of it, so that it cannot be edited (a role changed, say); it
//! stays below 2 KB. The cookie is `HttpOnly` (no script reads the tokens), `SameSite=Lax` (not
//! sent with cross-site posts), `Path=/`, and `Secure` when the shop is served over https.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::session::{Session, now};

type HmacSha256 = Hmac<Sha256>;

/// The cookie's name.
pub const COOKIE: &str = "microshop_session";

/// Longest cookie value read: anything longer is not ours.
const MAX_VALUE_LEN: usize = 4096;

/// Encodes, signs and reads session cookies.
pub struct Cookies {
    key: Vec<u8>,
    secure: bool,
}

impl Cookies {
    /// Cookies signed with a key derived from `secret` (not the CSRF key itself), `Secure` when
    /// `secure`.
    pub fn new(secret: &[u8], secure: bool) -> Self {
        let mut derive =
            HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
        derive.update(b"microshop storefront session cookie");
        Self {
            key: derive.finalize().into_bytes().to_vec(),
            secure,
        }
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac =
            HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// The cookie value of `session`.
    pub fn encode(&self, session: &Session) -> String {
        let json = serde_json::to_vec(session).expect("a session serializes");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let signature = hex::encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The session in a cookie value, if it is one of ours, unchanged.
    pub fn decode(&self, value: &str) -> Option<Session> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let (payload, signature) = value.split_once('.')?;
        let signature = hex::decode(signature).ok()?;
        self.mac(payload).verify_slice(&signature).ok()?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// The session of a request's `Cookie` headers: the first valid `microshop_session`.
    pub fn read(&self, headers: &HeaderMap) -> Option<Session> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE)
            .find_map(|(_, value)| self.decode(value.trim_matches('"')))
    }

    /// `Set-Cookie` storing `session`: for the browser's session when anonymous, until the
    /// refresh token expires when signed in.
    pub fn set(&self, session: &Session) -> HeaderValue {
        let lifetime = session
            .auth
            .as_ref()
            .map(|auth| format!("; Max-Age={}", auth.until.saturating_sub(now())))
            .unwrap_or_default();
        self.header(&format!("{COOKIE}={}{lifetime}", self.encode(session)))
    }

    /// `Set-Cookie` deleting the session.
    pub fn clear(&self) -> HeaderValue {
        self.header(&format!("{COOKIE}=; Max-Age=0"))
    }

    fn header(&self, start: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!("{start}; Path=/; HttpOnly; SameSite=Lax{secure}"))
            .expect("base64url, hex and digits are valid in a header")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storefront::session::{MAX_NAME_CHARS, SignedIn, User, new_nonce};

    fn signed_in() -> Session {
        Session {
            nonce: new_nonce(),
            auth: Some(SignedIn::issued(
                "a".repeat(700),
                "r".repeat(64),
                900,
                86_400,
                User::new(7, &"N".repeat(300), "customer".to_owned()),
            )),
        }
    }

    #[test]
    fn a_session_comes_back_as_it_was_stored() {
        let cookies = Cookies::new(b"a secret of sixteen bytes or more", false);
        let session = signed_in();
        let value = cookies.encode(&session);
        assert!(value.len() < 2048, "{}", value.len());
        let read = cookies.decode(&value).unwrap();
        assert_eq!(read.nonce, session.nonce);
        let auth = read.auth.unwrap();
        assert_eq!(auth.user.id, 7);
        assert_eq!(auth.user.name.chars().count(), MAX_NAME_CHARS);
        assert!(!auth.needs_refresh());
    }

    #[test]
    fn an_edited_or_foreign_cookie_is_not_a_session() {
        let cookies = Cookies::new(b"a secret of sixteen bytes or more", false);
        let value = cookies.encode(&signed_in());
        let (payload, signature) = value.split_once('.').unwrap();
        let edited = format!("{}A.{signature}", &payload[..payload.len() - 1]);
        assert!(cookies.decode(&edited).is_none());
        assert!(cookies.decode(payload).is_none());
        let other = Cookies::new(b"another secret of sixteen bytes", false);
        assert!(other.decode(&value).is_none());
    }

    #[test]
    fn the_cookie_is_http_only_lax_and_secure_when_asked() {
        let session = Session::anonymous();
        let plain = Cookies::new(b"a secret of sixteen bytes or more", false).set(&session);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("microshop_session="), "{plain}");
        assert!(plain.contains("; HttpOnly") && plain.contains("; SameSite=Lax"));
        assert!(plain.contains("; Path=/") && !plain.contains("Secure"));
        assert!(
            !plain.contains("Max-Age"),
            "anonymous: a browser-session cookie"
        );
        let secure = Cookies::new(b"a secret of sixteen bytes or more", true);
        assert!(secure.clear().to_str().unwrap().contains("Max-Age=0"));
        assert!(secure.set(&session).to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let cookies = Cookies::new(b"a secret of sixteen bytes or more", false);
        let session = Session::anonymous();
        let mut headers = HeaderMap::new();
        let value = format!(
            "a=b; {COOKIE}=garbage; {COOKIE}={}",
            cookies.encode(&session)
        );
        headers.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(cookies.read(&headers).unwrap().nonce, session.nonce);
    }
}
