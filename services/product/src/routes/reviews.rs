//! `/api/...` routes of reviews.

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// The reviews routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
