//! The user service's HTTP API and its OpenAPI document.

mod users;

use axum::routing::post;
use microshop_db::{Db, Lookup};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::users::UserRow;
use crate::hasher::Hasher;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// `users_db`.
    pub db: Db,
    /// Reads of single users, coalesced (the order service asks for one per order).
    pub users: Lookup<UserRow>,
    /// Bounded argon2id worker.
    pub hasher: Hasher,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop user service", description = "Accounts and log-in."),
    tags((name = "users", description = "Registration, look-up and log-in"))
)]
struct ApiDoc;

/// `/api/users...`, documented.
pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::get_user))
        .routes(routes!(users::login))
        // The seed's clients also post to the collection with a trailing slash.
        .route(
            "/api/users/",
            post(users::create_user).get(users::list_users),
        )
        .with_state(state)
}
