//! The sandbox's HTTP API and its OpenAPI document: the provider API (`/v1/checkout/sessions`,
//! `/v1/refunds`), the hosted card page (`/checkout/{session}`) and the test controls
//! (`/v1/test/...`).

mod api_key;
mod checkout;
mod controls;
mod refunds;
mod sessions;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;

pub use api_key::Provider;

/// The name of the API key's security scheme in the OpenAPI document.
pub const API_KEY_SCHEME: &str = "providerApiKey";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Microshop payment sandbox",
        description = "A stand-in card provider: checkout sessions, a hosted card page, refunds, \
                       signed webhooks and test controls (docs/payments.md)."
    ),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "sessions", description = "Checkout sessions (server to server, with the API key)"),
        (name = "refunds", description = "Refunds of paid sessions (server to server, with the API key)"),
        (name = "checkout", description = "The hosted card page a buyer's browser opens"),
        (name = "test", description = "Test controls of the sandbox (with the API key)"),
    )
)]
struct ApiDoc;

/// Declares the API key's security scheme.
struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The sandbox's API key (API_KEY; the payment service's PROVIDER_API_KEY)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every route, documented.
pub fn router(app: App) -> OpenApiRouter {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::create_session))
        .routes(routes!(sessions::get_session))
        .routes(routes!(refunds::create_refund))
        .routes(routes!(checkout::show_checkout, checkout::submit_checkout))
        .routes(routes!(controls::put_settings))
        .routes(routes!(controls::release))
        .routes(routes!(controls::list_deliveries))
        .with_state(app)
}
