//! What the front door adds to every answer and refuses of every request, beyond what every
//! service's server already does (head size, header-read time-out against slowloris, request
//! time-out, connection cap, load shedding: `microshop-web`):
//!
//! - security headers on every answer: a Content-Security-Policy that lets pages load only the
//!   shop's own styles and images and no one frame them, `X-Content-Type-Options`,
//!   `Referrer-Policy`, `X-Frame-Options` for older browsers, `Cross-Origin-Opener-Policy`;
//! - CORS for the origins of `CORS_ALLOWED_ORIGINS` only (none by default: the storefront is
//!   same-origin and needs none);
//! - a cap on request bodies, streamed ones included (413), and on request headers (431), so
//!   nothing oversized is passed on to a service.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use microshop_web::ApiError;
use tower::layer::util::Stack;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of every page: only the shop's own resources, no plugins, no `<base>` tricks, no
/// framing (clickjacking). The storefront has no inline script or style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Most bytes of request headers (names and values) the gateway passes on: 32 KiB, what common
/// proxies accept (nginx's `large_client_header_buffers` is 4 × 8 KiB).
pub const HEADERS_LIMIT_BYTES: usize = 32 * 1024;

/// Refuses a request whose headers are larger than [`HEADERS_LIMIT_BYTES`] with 431.
pub async fn limit_headers(request: Request, next: Next) -> Response {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if size > HEADERS_LIMIT_BYTES {
        return ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the request's headers are {size} bytes; at most {HEADERS_LIMIT_BYTES} are accepted"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// The security headers, each set unless the answer has its own: one layer.
pub fn security_headers() -> SecurityHeadersLayer {
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Stack::new(
        header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        Stack::new(
            header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            Stack::new(
                header(header::REFERRER_POLICY, "strict-origin-when-cross-origin"),
                Stack::new(
                    header(header::X_FRAME_OPTIONS, "DENY"),
                    header(
                        HeaderName::from_static("cross-origin-opener-policy"),
                        "same-origin",
                    ),
                ),
            ),
        ),
    )
}

type Header = SetResponseHeaderLayer<HeaderValue>;

/// The five header layers as one.
pub type SecurityHeadersLayer = Stack<Header, Stack<Header, Stack<Header, Stack<Header, Header>>>>;

/// CORS for `origins` (exact origins such as `https://admin.example.com`); `None` when the
/// list is empty. Origins that are not valid header values are refused at start-up.
pub fn cors(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .map(|origin| origin.trim())
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            if origin == "*" {
                anyhow::bail!("CORS_ALLOWED_ORIGINS must list origins; `*` would let any site call the API with a user's token");
            }
            HeaderValue::from_str(origin.trim_end_matches('/'))
                .map_err(|_| anyhow::anyhow!("CORS_ALLOWED_ORIGINS: {origin:?} is not an origin"))
        })
        .collect::<anyhow::Result<_>>()?;
    if origins.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                HeaderName::from_static("ratelimit"),
                HeaderName::from_static("ratelimit-policy"),
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    ))
}
