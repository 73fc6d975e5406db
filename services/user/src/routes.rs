//! The user service's HTTP API and its OpenAPI document.

mod addresses;
mod profile;
mod session;
mod users;

use std::sync::Arc;

use axum::routing::post;
use microshop_auth::JwkSet;
use microshop_db::{Db, Lookup};
use microshop_messaging::outbox::Outbox;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::users::UserRow;
use crate::hasher::Hasher;
use crate::login_limits::LoginLimits;
use crate::session::Sessions;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// `users_db`, for reads and writes without events.
    pub db: Db,
    /// Its outbox: account changes and their events go through its transactions.
    pub outbox: Outbox,
    /// Reads of single users, coalesced (the order service asks for one per order).
    pub users: Lookup<UserRow>,
    /// Bounded argon2id worker.
    pub hasher: Hasher,
    /// Issues tokens.
    pub sessions: Sessions,
    /// The public keys, as `/.well-known/jwks.json` serves them.
    pub jwks: Arc<JwkSet>,
    /// Failed log-ins per account and address.
    pub login_limits: LoginLimits,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop user service", description = "Accounts, sign-in, roles, profiles and addresses."),
    tags(
        (name = "users", description = "Registration, look-up and roles"),
        (name = "session", description = "Sign-in: access and refresh tokens, the token keys"),
        (name = "profile", description = "The signed-in user's own account"),
        (name = "addresses", description = "The signed-in user's postal addresses"),
    )
)]
struct ApiDoc;

/// `/api/users...`, documented. The fixed paths (`/api/users/profile`, `/addresses`, `/login`,
/// ...) win over `/api/users/{id}` whatever the order here: the router prefers a static segment
/// to a parameter.
pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::register_user))
        .routes(routes!(users::get_user))
        .routes(routes!(users::set_role))
        .routes(routes!(session::login))
        .routes(routes!(session::refresh))
        .routes(routes!(session::logout))
        .routes(routes!(session::jwks))
        .routes(routes!(profile::get_profile, profile::update_profile))
        .routes(routes!(profile::change_password))
        .routes(routes!(
            addresses::list_addresses,
            addresses::create_address
        ))
        .routes(routes!(
            addresses::get_address,
            addresses::update_address,
            addresses::delete_address
        ))
        // The seed's clients also post to the collection with a trailing slash.
        .route(
            "/api/users/",
            post(users::create_user).get(users::list_users),
        )
        .with_state(state)
}
