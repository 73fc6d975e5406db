//! Rate limits at the front door (GCRA in Redis, `microshop_limits::RateLimiter`; in-process
//! while Redis does not answer). Every request of the shop counts against its caller: the user
//! when it carries a valid access token, its client address otherwise. Signing in, signing up
//! and paying have their own, much smaller allowance per caller (guessing passwords, creating
//! accounts and trying cards are what abusers do). A refused request is a 429 with
//! `Retry-After`; every limited answer says where its caller stands in `RateLimit-Policy` and
//! `RateLimit` (draft-ietf-httpapi-ratelimit-headers).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use microshop_auth::Principal;
use microshop_limits::{Decision, Rate, RateLimiter};
use microshop_web::{ApiError, ClientAddress};
use prometheus::{IntCounterVec, Opts, Registry};

use crate::routing;

/// The rate limits' settings.
#[derive(Debug, Clone, clap::Args)]
pub struct RateLimitConfig {
    /// Requests per second each caller may make once its burst is spent (fractions allowed:
    /// 0.5 is one every two seconds).
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 50.0, value_parser = positive)]
    pub rate_limit_per_second: f64,
    /// Requests each caller may make at once.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,
    /// Sign-ins, sign-ups and payments per minute each caller may make once its burst is spent.
    #[arg(long, env = "RATE_LIMIT_SENSITIVE_PER_MINUTE", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_sensitive_per_minute: u32,
    /// Sign-ins, sign-ups and payments each caller may make at once.
    #[arg(long, env = "RATE_LIMIT_SENSITIVE_BURST", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_sensitive_burst: u32,
}

/// A number of requests per second above zero.
fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a rate above zero (requests per second, e.g. 50 or 0.5)"
        )),
    }
}

/// What a request is limited as: its name in headers, keys and `rate_limited_total{route}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// Signing in (the API's and the storefront's).
    Login,
    /// Creating an account.
    Register,
    /// Starting a payment.
    Payment,
    /// Any other API request.
    Api,
    /// A storefront page.
    Page,
}

impl RouteClass {
    /// Every class.
    pub const ALL: [Self; 5] = [
        Self::Login,
        Self::Register,
        Self::Payment,
        Self::Api,
        Self::Page,
    ];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Register => "register",
            Self::Payment => "payment",
            Self::Api => "api",
            Self::Page => "page",
        }
    }

    /// Whether it has the small allowance.
    fn sensitive(self) -> bool {
        matches!(self, Self::Login | Self::Register | Self::Payment)
    }

    /// The class of `method path` (seed paths judged once rewritten).
    pub fn of(method: &Method, path: &str) -> Self {
        let api = path.starts_with("/api/");
        let path = routing::rewrite(path);
        if method == Method::POST {
            match &*path {
                "/api/users/login" | "/login" => return Self::Login,
                "/api/users/register" | "/api/users" | "/register" => return Self::Register,
                "/api/payments" => return Self::Payment,
                _ => {}
            }
            let segments: Vec<&str> = path.split('/').collect();
            // `/api/orders/{id}/pay` and the storefront's `/orders/{id}/pay`.
            if matches!(
                segments.as_slice(),
                ["", "api", "orders", _, "pay"] | ["", "orders", _, "pay"]
            ) {
                return Self::Payment;
            }
        }
        if api { Self::Api } else { Self::Page }
    }
}

/// The limiter and its settings, the middleware's state.
#[derive(Clone)]
pub struct Limits(Arc<Parts>);

struct Parts {
    limiter: RateLimiter,
    general: Rate,
    sensitive: Rate,
    refused: IntCounterVec,
}

impl Limits {
    /// Limits as `config` says on `limiter`, counting refusals on `registry`.
    pub fn new(
        config: &RateLimitConfig,
        limiter: RateLimiter,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let refused = IntCounterVec::new(
            Opts::new(
                "rate_limited_total",
                "Requests refused with 429 by the gateway's rate limits, by route class \
                 (login, register, payment, api, page).",
            ),
            &["route"],
        )?;
        registry.register(Box::new(refused.clone()))?;
        for class in RouteClass::ALL {
            refused.with_label_values(&[class.name()]);
        }
        Ok(Self(Arc::new(Parts {
            limiter,
            general: Rate::per_second(config.rate_limit_per_second, config.rate_limit_burst),
            sensitive: Rate::per_minute(
                config.rate_limit_sensitive_per_minute,
                config.rate_limit_sensitive_burst,
            ),
            refused,
        })))
    }
}

/// The middleware (inside the edge authentication, which names the caller).
pub async fn limit(
    State(limits): State<Limits>,
    ClientAddress(address): ClientAddress,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/static/") {
        return next.run(request).await;
    }
    let class = RouteClass::of(request.method(), path);
    let api = path.starts_with("/api/") || path.starts_with("/.well-known/");
    let caller = request.extensions().get::<Principal>().map_or_else(
        || format!("ip:{address}"),
        |principal| format!("user:{}", principal.user_id),
    );
    let (rate, bucket) = if class.sensitive() {
        (limits.0.sensitive, class.name())
    } else {
        // One allowance for all of a caller's other requests, pages and API alike.
        (limits.0.general, "all")
    };
    let decision = limits
        .0
        .limiter
        .check(&format!("ratelimit:{bucket}:{caller}"), rate)
        .await;
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        limits.0.refused.with_label_values(&[class.name()]).inc();
        tracing::info!(route = class.name(), %caller, "rate limited");
        refusal(api, &decision)
    };
    add_headers(&mut response, bucket, rate, &decision);
    response
}

/// Seconds, rounded up (a `Retry-After` of 0 would invite an immediate retry).
fn whole_seconds(duration: std::time::Duration) -> u64 {
    duration
        .as_millis()
        .div_ceil(1000)
        .try_into()
        .unwrap_or(u64::MAX)
}

/// A 429: the JSON error for the API, a short page for a browser on the storefront.
fn refusal(api: bool, decision: &Decision) -> Response {
    let wait = u32::try_from(whole_seconds(decision.retry_after))
        .unwrap_or(u32::MAX)
        .max(1);
    let message = format!("too many requests; try again in {wait} s");
    if api {
        return ApiError::too_many_requests("rate_limited", message, wait).into_response();
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, HeaderValue::from(wait))],
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many requests · Microshop</title></head><body><main><h1>Too many requests</h1><p>{message}.</p><p><a href=\"/\">Back to the shop</a></p></main></body></html>"
        )),
    )
        .into_response()
}

fn add_headers(response: &mut Response, bucket: &str, rate: Rate, decision: &Decision) {
    let policy = format!(
        "\"{bucket}\";q={};w={}",
        rate.burst,
        whole_seconds(rate.window()).max(1)
    );
    let state = format!(
        "\"{bucket}\";r={};t={}",
        decision.remaining,
        whole_seconds(decision.reset)
    );
    let headers = response.headers_mut();
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", state)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_sign_up_and_paying_are_their_own_classes() {
        let post = Method::POST;
        assert_eq!(RouteClass::of(&post, "/api/users/login"), RouteClass::Login);
        assert_eq!(RouteClass::of(&post, "/api/v1/login"), RouteClass::Login);
        assert_eq!(RouteClass::of(&post, "/login"), RouteClass::Login);
        assert_eq!(RouteClass::of(&post, "/api/users"), RouteClass::Register);
        assert_eq!(
            RouteClass::of(&post, "/api/v1/register"),
            RouteClass::Register
        );
        assert_eq!(RouteClass::of(&post, "/register"), RouteClass::Register);
        assert_eq!(RouteClass::of(&post, "/api/payments"), RouteClass::Payment);
        assert_eq!(
            RouteClass::of(&post, "/api/orders/7/pay"),
            RouteClass::Payment
        );
        assert_eq!(
            RouteClass::of(&post, "/api/v1/orders/7/pay"),
            RouteClass::Payment
        );
        assert_eq!(RouteClass::of(&post, "/orders/7/pay"), RouteClass::Payment);
        // The provider's webhook and everything else: the general allowance.
        assert_eq!(
            RouteClass::of(&post, "/api/payments/callback"),
            RouteClass::Api
        );
        assert_eq!(
            RouteClass::of(&Method::GET, "/api/users/login"),
            RouteClass::Api
        );
        assert_eq!(RouteClass::of(&post, "/api/orders"), RouteClass::Api);
        assert_eq!(
            RouteClass::of(&Method::GET, "/products/3"),
            RouteClass::Page
        );
        assert_eq!(RouteClass::of(&post, "/cart/items"), RouteClass::Page);
    }
}
