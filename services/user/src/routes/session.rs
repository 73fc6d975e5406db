//! Sign-in: `POST /api/users/login`, `/refresh`, `/logout`, and `GET /.well-known/jwks.json`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use microshop_auth::{JwkSet, Principal};
use microshop_web::ClientAddress;
use microshop_web::Json;
use microshop_web::error::ErrorBody;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::users::{UserResponse, email_schema};
use crate::Error;
use crate::db::users::UserRow;
use crate::session::{self, Tokens};

/// Body of `POST /api/users/login`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The address the account was registered with.
    #[schema(example = "ann@example.com", schema_with = email_schema)]
    email: String,
    /// The account's password.
    #[schema(example = "correct horse battery", max_length = 1024)]
    password: String,
}

/// Body of `POST /api/users/refresh`, and optionally of `POST /api/users/logout`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last log-in or refresh.
    #[schema(min_length = 1, max_length = 256)]
    refresh_token: String,
}

/// Body of `POST /api/users/logout`: without a refresh token every session of the user ends.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// End only the session of this refresh token.
    #[schema(min_length = 1, max_length = 256)]
    refresh_token: Option<String>,
}

/// What a log-in or a refresh answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// The JWT to send as `Authorization: Bearer ...`.
    access_token: String,
    /// `Bearer`.
    #[schema(example = "Bearer")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    expires_in: u64,
    /// Exchange it at `POST /api/users/refresh` for new tokens; it works once.
    refresh_token: String,
    /// Seconds until the refresh token expires.
    refresh_expires_in: u64,
    /// The signed-in user.
    user: UserResponse,
}

impl SessionResponse {
    fn new(user: UserRow, tokens: Tokens) -> Self {
        Self {
            access_token: tokens.access.token,
            token_type: "Bearer",
            expires_in: tokens.access.expires_in,
            refresh_token: tokens.refresh.expose_secret().to_owned(),
            refresh_expires_in: tokens.refresh_expires_in,
            user: user.into(),
        }
    }
}

/// Signs in: an access token and a refresh token.
#[utoipa::path(post, path = "/api/users/login", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
        (status = 429, description = "Too many failed log-ins for the account or from the address; see Retry-After", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(from): ClientAddress,
    Json(request): Json<LoginRequest>,
) -> Result<impl IntoResponse, Error> {
    let attempt = session::Attempt {
        email: &request.email,
        password: SecretString::from(request.password),
        from,
    };
    let (user, tokens) = session::log_in(
        &state.db,
        &state.hasher,
        &state.sessions,
        &state.login_limits,
        attempt,
    )
    .await?;
    Ok(no_store(Json(SessionResponse::new(user, tokens))))
}

/// Exchanges a refresh token for new tokens (the old one is spent; using it again ends the
/// session).
#[utoipa::path(post, path = "/api/users/refresh", tag = "session", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = SessionResponse),
        (status = 401, description = "Unknown, expired, revoked or already used refresh token", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<impl IntoResponse, Error> {
    let presented = SecretString::from(request.refresh_token);
    let (user, tokens) = session::refresh(&state.db, &state.sessions, &presented).await?;
    Ok(no_store(Json(SessionResponse::new(user, tokens))))
}

/// Signs out: ends the session of the given refresh token, or every session of the user.
/// Access tokens already issued stay valid until they expire (at most 15 minutes).
#[utoipa::path(post, path = "/api/users/logout", tag = "session", request_body(content = Option<LogoutRequest>, description = "Optional: without it every session of the user ends"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No valid access token, or a refresh token not of this user", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    principal: Principal,
    body: Option<Json<Option<LogoutRequest>>>,
) -> Result<StatusCode, Error> {
    // No body, `null` and `{}` all mean every session.
    let request = body.and_then(|Json(request)| request).unwrap_or_default();
    let presented = request.refresh_token.map(SecretString::from);
    session::log_out(&state.db, &principal, presented.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public keys access tokens are signed with (RFC 7517); services verify tokens with them.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "session",
    responses((status = 200, description = "The key set, the current key first", body = JwkSet)))]
pub async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.jwks.as_ref().clone()),
    )
}

/// Tokens must not be cached by anything between the service and the client.
fn no_store<T: IntoResponse>(body: T) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], body)
}
