//! `/api/users`: register, look up, list, and set roles.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_domain::{Id, ValidationError};
use microshop_web::error::ErrorBody;
use microshop_web::{Json, PageQuery, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;

use super::AppState;
use crate::db::users::{self, UserRow};
use crate::domain::{EMAIL_PATTERN, MAX_EMAIL_CHARS, MAX_NAME_CHARS, NewUser};
use crate::{Error, register, roles};
use microshop_auth::{Admin, Principal, Role};

/// Body of `POST /api/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique, case-insensitive; at most 254 characters, 64 before the `@`.
    #[schema(example = "ann@example.com", schema_with = email_schema)]
    email: String,
    /// Display name, 1 to 200 characters.
    #[schema(example = "Ann Example", schema_with = name_schema)]
    name: String,
    /// 8 to 128 characters; stored only as an argon2id hash.
    #[schema(example = "correct horse battery", min_length = 8, max_length = 128)]
    password: String,
}

/// The schema of an e-mail address field.
pub fn email_schema() -> Object {
    microshop_web::schema::text(EMAIL_PATTERN, 3, MAX_EMAIL_CHARS)
}

/// The schema of a display name field.
pub fn name_schema() -> Object {
    microshop_web::schema::required_text(MAX_NAME_CHARS)
}

/// A user as the API shows it: never the password or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Primary key.
    id: i64,
    /// Lower-cased address.
    email: String,
    /// Display name.
    name: String,
    /// `customer` or `admin`.
    #[schema(value_type = Role)]
    role: String,
    /// When the account was created (RFC 3339).
    created_at: DateTime<Utc>,
}

impl From<UserRow> for UserResponse {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            role: row.role,
            created_at: row.created_at,
        }
    }
}

/// Body of `PUT /api/users/{id}/role`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// The role the user has from their next log-in or refresh on. (A string here, so that any
    /// value that is not a role, `null` included, is answered `422 validation_failed`.)
    #[schema(value_type = Role)]
    role: String,
}

/// Registers a user, always as a customer (the body cannot name a role).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Registered", body = UserResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "E-mail already registered", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    Json(request): Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserResponse>), Error> {
    let user = NewUser::parse(&request.email, &request.name, request.password)?;
    let row = register::user(&state.outbox, &state.hasher, user).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Registers a user: the same as `POST /api/users`, at the path the seed's clients use.
#[utoipa::path(post, path = "/api/users/register", tag = "users", request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Registered", body = UserResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 409, description = "E-mail already registered", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn register_user(
    state: State<AppState>,
    request: Json<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserResponse>), Error> {
    create_user(state, request).await
}

/// Looks a user up by id: one's own account, or any as an admin.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = Id, Path, description = "User id")),
    responses(
        (status = 200, body = UserResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such user, or another user's account (for a customer)", body = ErrorBody),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
) -> Result<Json<UserResponse>, Error> {
    if !principal.may_access(id.get()) {
        return Err(Error::UserNotFound(id));
    }
    let row = state
        .users
        .get(id.get())
        .await?
        .ok_or(Error::UserNotFound(id))?;
    Ok(Json(row.into()))
}

/// Lists users, oldest first (admins only).
#[utoipa::path(get, path = "/api/users", tag = "users", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, body = Vec<UserResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<UserResponse>>, Error> {
    let rows = users::list(&state.db, query.page()?).await?;
    Ok(Json(rows.into_iter().map(UserResponse::from).collect()))
}

/// Gives a user a role (admins only); the last admin cannot be made a customer.
#[utoipa::path(put, path = "/api/users/{id}/role", tag = "users", security(("bearer" = [])),
    params(("id" = Id, Path, description = "User id")),
    request_body = RoleRequest,
    responses(
        (status = 200, description = "The user with the role", body = UserResponse),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The user is the only admin (`last_admin`)", body = ErrorBody),
        (status = 422, description = "Not a role: `customer` or `admin`", body = ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
    Json(request): Json<RoleRequest>,
) -> Result<Json<UserResponse>, Error> {
    let role = Role::parse(&request.role)
        .ok_or_else(|| ValidationError::new("role", "must be `customer` or `admin`"))?;
    let row = roles::change(&state.outbox, id, role).await?;
    Ok(Json(row.into()))
}
