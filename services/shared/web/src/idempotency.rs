//! The HTTP side of idempotency keys (DESIGN §6): the `Idempotency-Key` header, its OpenAPI
//! schema, and the `Idempotent-Replayed: true` mark of an answer given again.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use microshop_domain::ValidationError;
use microshop_domain::idempotency::{
    IDEMPOTENCY_KEY_PATTERN, IdempotencyKey, MAX_IDEMPOTENCY_KEY_CHARS,
};
use utoipa::ToSchema;
use utoipa::openapi::Object;

/// The request header naming a client-chosen key that makes retries of a write safe.
pub const HEADER: &str = "idempotency-key";

/// The answer header saying the answer is the one stored for the key.
pub const REPLAYED: &str = "idempotent-replayed";

/// The key's rule, for an OpenAPI string field.
pub fn key_schema() -> Object {
    crate::schema::text(IDEMPOTENCY_KEY_PATTERN, 1, MAX_IDEMPOTENCY_KEY_CHARS)
}

/// The key's rule for an optional field (`null` allowed).
pub fn key_or_null_schema() -> Object {
    crate::schema::text_or_null(IDEMPOTENCY_KEY_PATTERN, 1, MAX_IDEMPOTENCY_KEY_CHARS)
}

/// The `Idempotency-Key` header's rule, for `params(("Idempotency-Key" =
/// inline(Option<IdempotencyKeyHeader>), Header, ...))`.
pub struct IdempotencyKeyHeader;

impl utoipa::PartialSchema for IdempotencyKeyHeader {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        key_schema().into()
    }
}

impl ToSchema for IdempotencyKeyHeader {}

/// The key from the `Idempotency-Key` header, else `in_body` (for clients that cannot set
/// headers); each must be valid when sent.
pub fn key(
    headers: &HeaderMap,
    in_body: Option<&str>,
) -> Result<Option<IdempotencyKey>, ValidationError> {
    let header = headers
        .get(HEADER)
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or("\u{0}")))
        .transpose()?;
    let body = in_body.map(IdempotencyKey::parse).transpose()?;
    Ok(header.or(body))
}

/// Marks `response` as the stored answer of a retried request.
pub fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
}
