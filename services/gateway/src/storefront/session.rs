//! A visitor's session: a random nonce (the CSRF tokens' seed) and, once signed in, the
//! user's access and refresh tokens and who they are. It lives in the cookie
//! ([`super::cookie`]).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Longest name kept for the header; the account page shows the whole one.
pub const MAX_NAME_CHARS: usize = 60;

/// A visitor's session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Random hex; the CSRF tokens of the session's forms are its HMAC.
    #[serde(rename = "n")]
    pub nonce: String,
    /// The signed-in user's tokens, if any.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SignedIn>,
}

impl Session {
    /// A new anonymous session with a fresh nonce.
    pub fn anonymous() -> Self {
        Self {
            nonce: new_nonce(),
            auth: None,
        }
    }
}

/// 128 random bits, hex.
pub fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A signed-in user's tokens and identity.
#[derive(Clone, Serialize, Deserialize)]
pub struct SignedIn {
    /// The access token, relayed as `Authorization: Bearer`.
    #[serde(rename = "t")]
    pub access_token: String,
    /// Exchanged for new tokens when the access token expires.
    #[serde(rename = "r")]
    pub refresh_token: String,
    /// When the access token is to be refreshed (seconds since the epoch; a little before it
    /// expires).
    #[serde(rename = "e")]
    pub refresh_at: u64,
    /// When the refresh token expires (seconds since the epoch): the cookie's lifetime.
    #[serde(rename = "x")]
    pub until: u64,
    /// Who is signed in.
    #[serde(rename = "u")]
    pub user: User,
}

impl SignedIn {
    /// Tokens issued now: the access token valid `expires_in` seconds, the refresh token
    /// `refresh_expires_in` seconds.
    pub fn issued(
        access_token: String,
        refresh_token: String,
        expires_in: u64,
        refresh_expires_in: u64,
        user: User,
    ) -> Self {
        let now = now();
        // Refreshed half a minute early: a token that expires on its way to a service is no use.
        let margin = 30.min(expires_in / 2);
        Self {
            access_token,
            refresh_token,
            refresh_at: now + expires_in - margin,
            until: now + refresh_expires_in,
            user,
        }
    }

    /// Whether the access token is (nearly) expired.
    pub fn needs_refresh(&self) -> bool {
        now() >= self.refresh_at
    }
}

impl fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedIn")
            .field("user", &self.user)
            .field("refresh_at", &self.refresh_at)
            .finish_non_exhaustive()
    }
}

/// Who is signed in, as the user service said at sign-in or the last refresh.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    #[serde(rename = "i")]
    pub id: i64,
    /// Display name (shortened).
    #[serde(rename = "m")]
    pub name: String,
    /// `customer` or `admin`.
    #[serde(rename = "o")]
    pub role: String,
}

impl User {
    /// A user, the name shortened for the cookie.
    pub fn new(id: i64, name: &str, role: String) -> Self {
        Self {
            id,
            name: name.chars().take(MAX_NAME_CHARS).collect(),
            role,
        }
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
