//! `/api/...` routes of inventory.

use utoipa_axum::router::OpenApiRouter;

use super::AppState;

/// The inventory routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
