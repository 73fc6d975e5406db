//! The user service (sign-in, accounts) and the notification service.

use std::net::IpAddr;

use axum::http::HeaderValue;
use microshop_http_client::{Upstream as Client, UpstreamError};
use serde::{Deserialize, Serialize};

use super::{Api, query};
use crate::routing::Upstream;
use crate::storefront::session::{SignedIn, User};

/// What a log-in or a refresh answers.
#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
    /// Absent from older user services: a day, then.
    #[serde(default = "a_day")]
    refresh_expires_in: u64,
    user: Account,
}

fn a_day() -> u64 {
    86_400
}

impl From<Tokens> for SignedIn {
    fn from(tokens: Tokens) -> Self {
        let user = User::new(tokens.user.id, &tokens.user.name, tokens.user.role);
        SignedIn::issued(
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            tokens.refresh_expires_in,
            user,
        )
    }
}

/// An account as the user service shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// Its id.
    pub id: i64,
    /// Its e-mail address.
    #[serde(default)]
    pub email: String,
    /// Its display name.
    pub name: String,
    /// `customer` or `admin`.
    pub role: String,
}

/// A notification sent to the user.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    /// `email` or `sms`.
    pub channel: String,
    /// What kind (`order_confirmed`, ...).
    #[serde(default)]
    pub template: String,
    /// Its subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// Its text.
    #[serde(default)]
    pub text: String,
    /// `QUEUED`, `SENDING`, `SENT` or `FAILED`.
    pub status: String,
    /// When (RFC 3339).
    pub created_at: String,
}

#[derive(Serialize)]
struct Credentials<'a> {
    email: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Registration<'a> {
    email: &'a str,
    name: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct RefreshToken<'a> {
    refresh_token: &'a str,
}

/// Exchanges `refresh_token` for new tokens (it is spent).
pub async fn refresh(users: &Client, refresh_token: &str) -> Result<SignedIn, UpstreamError> {
    let tokens: Tokens = users
        .post_json_with(
            "/api/users/refresh",
            &RefreshToken { refresh_token },
            &axum::http::HeaderMap::new(),
        )
        .await?;
    Ok(tokens.into())
}

impl Api {
    /// Headers naming the browser's address, which the user service throttles log-ins by.
    fn with_client_address(&self, from: IpAddr) -> axum::http::HeaderMap {
        let address = HeaderValue::from_str(&from.to_string())
            .expect("an IP address is a valid header value");
        self.headers_with([("x-forwarded-for", address)])
    }

    /// Signs in with `email` and `password` from the browser at `from`.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<SignedIn, UpstreamError> {
        let tokens: Tokens = self
            .client(Upstream::Users)
            .post_json_with(
                "/api/users/login",
                &Credentials { email, password },
                &self.with_client_address(from),
            )
            .await?;
        Ok(tokens.into())
    }

    /// Registers an account (a customer).
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        password: &str,
        from: IpAddr,
    ) -> Result<(), UpstreamError> {
        let _: Account = self
            .client(Upstream::Users)
            .post_json_with(
                "/api/users/register",
                &Registration {
                    email,
                    name,
                    password,
                },
                &self.with_client_address(from),
            )
            .await?;
        Ok(())
    }

    /// Ends the session of `refresh_token`.
    pub async fn log_out(&self, refresh_token: &str) -> Result<(), UpstreamError> {
        self.client(Upstream::Users)
            .post_json_with(
                "/api/users/logout",
                &RefreshToken { refresh_token },
                &self.headers,
            )
            .await
    }

    /// The caller's account.
    pub async fn profile(&self) -> Result<Account, UpstreamError> {
        self.client(Upstream::Users)
            .get_json_with("/api/users/profile", &self.headers)
            .await
    }

    /// The newest notifications of user `user_id` (the caller).
    pub async fn notifications(&self, user_id: i64) -> Result<Vec<Notification>, UpstreamError> {
        let path = format!(
            "/api/notifications{}",
            query(&[
                ("user_id", Some(user_id.to_string())),
                ("limit", Some("50".to_owned())),
            ])
        );
        self.client(Upstream::Notifications)
            .get_json_with(&path, &self.headers)
            .await
    }
}
