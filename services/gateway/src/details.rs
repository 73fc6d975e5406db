//! `GET /api/v1/orders/{id}/details`: one answer for an order page — the order, the product of
//! each line, its payment and its timeline, fetched concurrently from their services with the
//! caller's own token (so each service applies the caller's rights). A part that fails or is too
//! slow is `null` and named in `degraded`, and the answer is still 200: a page can show what it
//! has. Only the order service saying the order is not the caller's (404), or the caller's token
//! being refused, ends the request with that answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::join_all;
use microshop_http_client::UpstreamError;
use microshop_web::ApiError;
use microshop_web::error::ErrorBody;
use microshop_web::extract::Path;
use serde::Serialize;
use serde_json::Value;
use tokio::time::timeout;
use utoipa::ToSchema;

use crate::routing::Upstream;
use crate::upstreams::Upstreams;

/// The aggregation's state: the services and how long each part may take.
#[derive(Clone)]
pub struct Details {
    upstreams: Arc<Upstreams>,
    part_timeout: Duration,
}

impl Details {
    /// Parts from `upstreams`, each given at most `part_timeout`.
    pub fn new(upstreams: Arc<Upstreams>, part_timeout: Duration) -> Self {
        Self {
            upstreams,
            part_timeout,
        }
    }
}

/// An order with everything its page shows.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetails {
    /// The order (as `GET /api/orders/{id}` answers it); `null` when the order service could
    /// not answer.
    #[schema(value_type = Option<Object>)]
    order: Option<Value>,
    /// The product of each of the order's lines, in the lines' order (as `GET
    /// /api/products/{id}` answers it); an entry is `null` when its product could not be
    /// fetched or is no longer sold. `null` when the order itself is missing.
    #[schema(value_type = Option<Vec<Object>>)]
    products: Option<Vec<Option<Value>>>,
    /// The order's payment (the successful one, else the newest); `null` when it has none or
    /// the payment service could not answer (then `payment` is in `degraded`).
    #[schema(value_type = Option<Object>)]
    payment: Option<Value>,
    /// What happened to the order, oldest first; `null` when it could not be fetched.
    #[schema(value_type = Option<Vec<Object>>)]
    timeline: Option<Value>,
    /// The parts that could not be fetched in time: `order`, `products`, `payment`, `timeline`.
    degraded: Vec<&'static str>,
}

/// The caller's `Authorization`, relayed to each service.
fn relayed(headers: &HeaderMap) -> HeaderMap {
    let mut relayed = HeaderMap::new();
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let mut value = value.clone();
        value.set_sensitive(true);
        relayed.insert(header::AUTHORIZATION, value);
    }
    relayed
}

/// An order, its products, payment and timeline in one answer.
#[utoipa::path(get, path = "/api/v1/orders/{id}/details", tag = "gateway",
    params(("id" = i64, Path, minimum = 1, description = "The order's id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order's parts; those that could not be fetched are null and named in `degraded`", body = OrderDetails),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 404, description = "No such order of the caller's", body = ErrorBody),
        (status = 429, description = "Too many requests from this caller; see Retry-After", body = ErrorBody),
    ))]
pub async fn details(
    State(details): State<Details>,
    Path(id): Path<microshop_domain::Id>,
    headers: HeaderMap,
) -> Response {
    let id = id.get();
    let auth = relayed(&headers);
    let orders = details.upstreams.get(Upstream::Orders);
    let payments = details.upstreams.get(Upstream::Payments);
    let within = details.part_timeout;
    let order_path = format!("/api/orders/{id}");
    let timeline_path = format!("/api/orders/{id}/timeline");
    let payments_path = format!("/api/payments?order_id={id}");
    let (order, timeline, paid) = tokio::join!(
        timeout(within, orders.get_json_with::<Value>(&order_path, &auth)),
        timeout(within, orders.get_json_with::<Value>(&timeline_path, &auth)),
        timeout(
            within,
            payments.get_json_with::<Vec<Value>>(&payments_path, &auth)
        ),
    );
    let mut degraded = Vec::new();
    let order = match order {
        Ok(Ok(order)) => Some(order),
        // The order service's own verdict on the caller's request ends it.
        Ok(Err(UpstreamError::NotFound { .. })) => {
            return ApiError::not_found("order_not_found", format!("no order {id} of yours"))
                .into_response();
        }
        Ok(Err(UpstreamError::Unauthenticated { message, .. })) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", message)
                .into_response();
        }
        Ok(Err(UpstreamError::Refused {
            status,
            code,
            message,
            ..
        })) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            return ApiError::new(status, code, message).into_response();
        }
        Ok(Err(error)) => part_failed(&mut degraded, "order", &error),
        Err(_) => part_slow(&mut degraded, "order"),
    };
    let timeline = match timeline {
        Ok(Ok(timeline)) => Some(timeline),
        Ok(Err(error)) => part_failed(&mut degraded, "timeline", &error),
        Err(_) => part_slow(&mut degraded, "timeline"),
    };
    let payment = match paid {
        Ok(Ok(payments)) => chosen_payment(payments),
        Ok(Err(error)) => part_failed(&mut degraded, "payment", &error),
        Err(_) => part_slow(&mut degraded, "payment"),
    };
    let products = if let Some(order) = &order {
        Some(products(&details, order, &mut degraded).await)
    } else {
        degraded.push("products");
        None
    };
    let mut response = Json(OrderDetails {
        order,
        products,
        payment,
        timeline,
        degraded,
    })
    .into_response();
    // Personal data: never stored by a shared cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// The product of each line, fetched concurrently; `products` degraded when any could not be
/// fetched (a product no longer sold is `null` without degrading).
async fn products(
    details: &Details,
    order: &Value,
    degraded: &mut Vec<&'static str>,
) -> Vec<Option<Value>> {
    let ids: Vec<i64> = order["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item["product_id"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    let products = details.upstreams.get(Upstream::Products);
    let fetches = ids.iter().map(|id| {
        let path = format!("/api/products/{id}");
        async move { timeout(details.part_timeout, products.get_json::<Value>(&path)).await }
    });
    let mut failed = false;
    let answers = join_all(fetches).await;
    let products = answers
        .into_iter()
        .map(|answer| match answer {
            Ok(Ok(product)) => Some(product),
            Ok(Err(UpstreamError::NotFound { .. })) => None,
            Ok(Err(error)) => {
                tracing::warn!(%error, "order details without a product");
                failed = true;
                None
            }
            Err(_) => {
                failed = true;
                None
            }
        })
        .collect();
    if failed {
        degraded.push("products");
    }
    products
}

/// The payment that paid the order, else the newest.
fn chosen_payment(payments: Vec<Value>) -> Option<Value> {
    let succeeded = payments
        .iter()
        .position(|payment| payment["status"] == "SUCCEEDED");
    let mut payments = payments;
    match succeeded {
        Some(index) => Some(payments.swap_remove(index)),
        None => payments
            .into_iter()
            .max_by_key(|payment| payment["id"].as_i64().unwrap_or(0)),
    }
}

fn part_failed<T>(
    degraded: &mut Vec<&'static str>,
    part: &'static str,
    error: &UpstreamError,
) -> Option<T> {
    tracing::warn!(part, %error, "order details degraded");
    degraded.push(part);
    None
}

fn part_slow<T>(degraded: &mut Vec<&'static str>, part: &'static str) -> Option<T> {
    tracing::warn!(part, "order details degraded: no answer in time");
    degraded.push(part);
    None
}
