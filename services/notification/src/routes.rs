//! The notification service's HTTP API and its OpenAPI document.

mod notifications;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop notification service", description = "E-mail and text messages: the shop's own (from its events) and an admin's; their history; users' preferences."),
    tags((name = "notifications", description = "Sending, history and preferences")),
)]
struct ApiDoc;

/// `/api/notifications...`, documented.
pub fn router(app: App) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(notifications::send_email))
        .routes(routes!(notifications::send_sms))
        .routes(routes!(notifications::list))
        .routes(routes!(notifications::history))
        .routes(routes!(
            notifications::preferences,
            notifications::set_preferences
        ))
        .with_state(app)
}
