//! Signing in and staying signed in: log-in issues an access token (a JWT, short-lived) and a
//! refresh token (opaque, stored hashed); a refresh spends its token and issues the next one of
//! the same family; a spent token presented again revokes the whole family (it was copied);
//! log-out revokes a family, or every family of the user.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use microshop_auth::{AccessToken, Issuer, Principal, Role};
use microshop_db::Db;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::Error;
use crate::db::refresh_tokens;
use crate::db::users::{self, UserRow};
use crate::domain::Email;
use crate::domain::password::MAX_PASSWORD_CHARS;
use crate::hasher::Hasher;
use crate::login_limits::LoginLimits;

/// What issuing tokens needs.
#[derive(Clone)]
pub struct Sessions {
    /// Signs access tokens.
    pub issuer: Arc<Issuer>,
    /// How long a refresh token is accepted.
    pub refresh_ttl: Duration,
}

/// The tokens a log-in or a refresh hands out.
pub struct Tokens {
    /// The access token.
    pub access: AccessToken,
    /// The refresh token, shown once.
    pub refresh: SecretString,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
}

/// Checks `email` and `password`; the user and their first tokens.
/// Who is trying to log in, and from where.
pub struct Attempt<'a> {
    /// The e-mail address given.
    pub email: &'a str,
    /// The password given.
    pub password: SecretString,
    /// The client's address, for throttling.
    pub from: IpAddr,
}

/// Checks the attempt's e-mail and password, unless its account or address is throttled; the
/// user and their first tokens.
pub async fn log_in(
    db: &Db,
    hasher: &Hasher,
    sessions: &Sessions,
    limits: &LoginLimits,
    attempt: Attempt<'_>,
) -> Result<(UserRow, Tokens), Error> {
    let email = Email::parse(attempt.email)?;
    // Before the password is even looked at: a throttled account is refused, right or wrong.
    limits.check(&email, attempt.from).await?;
    let password = attempt.password;
    let row = if password.expose_secret().chars().count() > MAX_PASSWORD_CHARS {
        None
    } else {
        let row = users::find_by_email(db, email.as_str()).await?;
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let matches = hasher.verify(password, stored).await?;
        row.filter(|_| matches)
    };
    let Some(user) = row else {
        limits.failed(&email, attempt.from).await;
        return Err(Error::InvalidCredentials);
    };
    limits.succeeded(&email).await;
    let refresh = new_refresh_token();
    let family = Uuid::now_v7();
    refresh_tokens::insert(
        db,
        user.id,
        family,
        &digest(&refresh),
        expiry(sessions.refresh_ttl),
    )
    .await?;
    let tokens = tokens(sessions, &user, refresh);
    tracing::debug!(user.id = user.id, "logged in");
    Ok((user, tokens))
}

/// Exchanges the refresh token `presented` for new tokens.
pub async fn refresh(
    db: &Db,
    sessions: &Sessions,
    presented: &SecretString,
) -> Result<(UserRow, Tokens), Error> {
    let hash = digest(presented);
    let mut tx = db.begin().await?;
    let Some(row) = refresh_tokens::find_for_update(&mut *tx, &hash).await? else {
        return Err(Error::RefreshTokenInvalid);
    };
    if row.revoked_at.is_some() {
        return Err(Error::RefreshTokenInvalid);
    }
    if row.spent_at.is_some() {
        let revoked = refresh_tokens::revoke_family(&mut *tx, row.family).await?;
        tx.commit().await?;
        tracing::warn!(user.id = row.user_id, family = %row.family, revoked, "a spent refresh token was presented again: its family is revoked (the token was copied, or a client retried a refresh)");
        return Err(Error::RefreshTokenReused);
    }
    if row.expires_at <= Utc::now() {
        return Err(Error::RefreshTokenExpired);
    }
    let user = users::find(&mut *tx, row.user_id)
        .await?
        .ok_or(Error::RefreshTokenInvalid)?;
    refresh_tokens::spend(&mut *tx, row.id).await?;
    let next = new_refresh_token();
    refresh_tokens::insert(
        &mut *tx,
        user.id,
        row.family,
        &digest(&next),
        expiry(sessions.refresh_ttl),
    )
    .await?;
    tx.commit().await?;
    Ok((user.clone(), tokens(sessions, &user, next)))
}

/// Ends sessions of `principal`: the family of `presented` (which must be theirs), or every one.
pub async fn log_out(
    db: &Db,
    principal: &Principal,
    presented: Option<&SecretString>,
) -> Result<u64, Error> {
    let Some(presented) = presented else {
        return Ok(refresh_tokens::revoke_user(db, principal.user_id).await?);
    };
    match refresh_tokens::find(db, &digest(presented)).await? {
        Some(row) if row.user_id == principal.user_id => {
            Ok(refresh_tokens::revoke_family(db, row.family).await?)
        }
        _ => Err(Error::RefreshTokenInvalid),
    }
}

fn tokens(sessions: &Sessions, user: &UserRow, refresh: SecretString) -> Tokens {
    let role = Role::parse(&user.role).unwrap_or_default();
    Tokens {
        access: sessions.issuer.issue(user.id, role),
        refresh,
        refresh_expires_in: sessions.refresh_ttl.as_secs(),
    }
}

/// 32 random bytes, base64url: what the client keeps.
fn new_refresh_token() -> SecretString {
    SecretString::from(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

/// What the database keeps of a refresh token.
fn digest(token: &SecretString) -> Vec<u8> {
    Sha256::digest(token.expose_secret().as_bytes()).to_vec()
}

fn expiry(ttl: Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::days(30))
}
