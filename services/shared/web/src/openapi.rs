//! Makes a service's OpenAPI document a true contract in the ways every route shares, so no
//! route can forget them:
//!
//! - the error answers the shared middleware and extractors give on any route are declared on
//!   every operation: `400` (a path, query or body that cannot be read), `413` and `415` (bodies
//!   too large or not JSON), `422` (a query or body breaking a rule) and `503` (overloaded, past
//!   its deadline, a dependency away), each with the standard error body;
//! - the schemas of the shared domain values that operations refer to ([`Id`], [`Money`]) are
//!   in `components`, so every `$ref` resolves.

use microshop_domain::{Id, Money};
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ErrorBody;

/// Completes `doc` in place (see the module docs).
pub fn complete(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in [
        ("Id", Id::schema()),
        ("Money", Money::schema()),
        ("ErrorBody", ErrorBody::schema()),
    ] {
        components.schemas.entry(name.to_owned()).or_insert(schema);
    }
    let mut nested = Vec::new();
    ErrorBody::schemas(&mut nested);
    for (name, schema) in nested {
        components.schemas.entry(name).or_insert(schema);
    }
    // Routes that name the `bearer` scheme take `Authorization: Bearer <access token>`.
    components
        .security_schemes
        .entry("bearer".to_owned())
        .or_insert_with(|| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from POST /api/users/login (EdDSA, 15 minutes)",
                    ))
                    .build(),
            )
        });
    // Internal routes take another service's key in `X-Service-Key`.
    components
        .security_schemes
        .entry("serviceKey".to_owned())
        .or_insert_with(|| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Service-Key",
                "The calling service's key (SERVICE_KEY), one of this service's SERVICE_KEYS",
            )))
        });
    for item in doc.paths.paths.values_mut() {
        for operation in operations(item) {
            declare_shared_errors(operation);
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn declare_shared_errors(operation: &mut Operation) {
    let has_body = operation.request_body.is_some();
    let has_parameters = operation
        .parameters
        .as_ref()
        .is_some_and(|parameters| !parameters.is_empty());
    let mut shared = vec![(
        "503",
        "Overloaded, past its deadline, or a dependency is unavailable; see Retry-After",
    )];
    if has_body || has_parameters {
        shared.push(("400", "The path, query string or body cannot be read"));
        shared.push(("422", "A value breaks a rule; the message names it"));
    }
    if has_body {
        shared.push(("413", "The body is larger than 64 KiB"));
        shared.push(("415", "The body is not sent as application/json"));
    }
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    if secured {
        shared.push((
            "401",
            "No valid credentials: an access token that is missing, expired, malformed or not signed by the shop (or, on internal routes, no valid service key)",
        ));
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}
