//! `/api/...` routes of categories.

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// The categories routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
