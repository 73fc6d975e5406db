//! The payment service's HTTP API and its OpenAPI document.

mod callback;
mod payments;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

#[derive(OpenApi)]
#[openapi(
    info(title = "Microshop payment service", description = "Payments of orders through a card provider, its signed webhooks, and refunds. The provider contract: docs/payments.md."),
    tags(
        (name = "payments", description = "Paying an order and following its payment"),
        (name = "provider", description = "What the card provider calls"),
    )
)]
struct ApiDoc;

/// `/api/payments...`, documented.
pub fn router(app: App) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(payments::create_payment, payments::list_payments))
        .routes(routes!(payments::get_payment))
        .routes(routes!(payments::refund_payment))
        .routes(routes!(callback::callback))
        .with_state(app)
}
