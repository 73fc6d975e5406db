//! The signed-in user's own account: `GET|PUT /api/users/profile`, `PUT /api/users/password`.

use axum::extract::State;
use axum::http::StatusCode;
use microshop_auth::Principal;
use microshop_domain::validation::required_text;
use microshop_web::Json;
use microshop_web::error::ErrorBody;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::users::{UserResponse, email_schema, name_schema};
use crate::domain::{Email, MAX_NAME_CHARS, Password};
use crate::{Error, profile};

/// Body of `PUT /api/users/profile`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    /// The address to sign in with from now on (unique).
    #[schema(example = "ann@example.com", schema_with = email_schema)]
    email: String,
    /// Display name, 1 to 200 characters.
    #[schema(example = "Ann Example", schema_with = name_schema)]
    name: String,
}

/// Body of `PUT /api/users/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    /// The password now.
    #[schema(max_length = 1024)]
    current_password: String,
    /// The new password, 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// The caller's account.
#[utoipa::path(get, path = "/api/users/profile", tag = "profile", security(("bearer" = [])),
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = "No valid access token", body = ErrorBody),
    ))]
pub async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<UserResponse>, Error> {
    let row = state
        .users
        .get(principal.user_id)
        .await?
        .ok_or(Error::AccountGone)?;
    Ok(Json(row.into()))
}

/// Changes the caller's name and e-mail address.
#[utoipa::path(put, path = "/api/users/profile", tag = "profile", security(("bearer" = [])),
    request_body = ProfileRequest,
    responses(
        (status = 200, body = UserResponse),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 409, description = "The address belongs to another account", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn update_profile(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<ProfileRequest>,
) -> Result<Json<UserResponse>, Error> {
    let email = Email::parse(&request.email)?;
    let name = required_text("name", &request.name, MAX_NAME_CHARS)?;
    let row = profile::update(&state.outbox, &principal, &email, &name).await?;
    Ok(Json(row.into()))
}

/// Changes the caller's password; every session (refresh token) ends.
#[utoipa::path(put, path = "/api/users/password", tag = "profile", security(("bearer" = [])),
    request_body = PasswordRequest,
    responses(
        (status = 204, description = "Changed; log in again on other devices"),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The current password is wrong", body = ErrorBody),
        (status = 422, description = "The new password breaks a rule", body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    Json(request): Json<PasswordRequest>,
) -> Result<StatusCode, Error> {
    let new = Password::parse(request.new_password)?;
    profile::change_password(
        &state.db,
        &state.hasher,
        &principal,
        SecretString::from(request.current_password),
        new,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
