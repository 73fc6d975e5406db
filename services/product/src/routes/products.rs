//! `/api/products` and `/api/products/{id}`: read and manage single products. Listings and search
//! are in [`super::listing`].

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use microshop_auth::Admin;
use microshop_domain::{Id, Money};
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;

use super::AppState;
use crate::Error;
use crate::db::products::ProductRow;
use crate::domain::product::ProductEdit;
use crate::domain::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, NewProduct};
use crate::manage::{self, Expected};

/// Body of `POST /api/products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    /// 1 to 200 characters.
    #[schema(example = "Laptop", schema_with = name_schema)]
    name: String,
    /// Up to 5,000 characters; empty when left out.
    #[serde(default)]
    #[schema(example = "14-inch, 16 GB", schema_with = description_schema)]
    description: String,
    /// 0.01 to 1,000,000 with at most two decimal places.
    #[schema(
        example = 12999.0,
        minimum = 0.01,
        maximum = 1_000_000,
        multiple_of = 0.01
    )]
    price: f64,
    /// Units available, 0 to 1,000,000,000.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(example = 50, minimum = 0, maximum = 1_000_000_000)]
    stock: i64,
    /// Its category; none when left out or null.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(example = 3, minimum = 1)]
    category_id: Option<i64>,
}

/// Body of `PUT /api/products/{id}`: every field but stock, which is left alone unless sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// 1 to 200 characters.
    #[schema(example = "Laptop", schema_with = name_schema)]
    name: String,
    /// Up to 5,000 characters; empty when left out.
    #[serde(default)]
    #[schema(example = "14-inch, 16 GB", schema_with = description_schema)]
    description: String,
    /// 0.01 to 1,000,000 with at most two decimal places.
    #[schema(
        example = 12999.0,
        minimum = 0.01,
        maximum = 1_000_000,
        multiple_of = 0.01
    )]
    price: f64,
    /// Units available, 0 to 1,000,000,000: sets the stock as `PUT /api/inventory/{id}` does;
    /// left out or null, the stock stays as it is.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(example = 50, minimum = 0, maximum = 1_000_000_000)]
    stock: Option<i64>,
    /// Its category; none when left out or null.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(example = 3, minimum = 1)]
    category_id: Option<i64>,
}

/// Body of `PATCH /api/products/{id}`: only the fields sent change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    /// 1 to 200 characters.
    #[serde(default, deserialize_with = "given")]
    #[schema(schema_with = name_schema)]
    name: Option<String>,
    /// Up to 5,000 characters.
    #[serde(default, deserialize_with = "given")]
    #[schema(schema_with = description_schema)]
    description: Option<String>,
    /// 0.01 to 1,000,000 with at most two decimal places.
    #[serde(default, deserialize_with = "given")]
    #[schema(
        minimum = 0.01,
        maximum = 1_000_000,
        multiple_of = 0.01,
        nullable = false
    )]
    price: Option<f64>,
    /// Units available, 0 to 1,000,000,000 (left out or null: as it is).
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    stock: Option<i64>,
    /// Its category; `null` takes it out of its category.
    #[allow(clippy::option_option)] // left out, null, or a category: three cases
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    category_id: Option<Option<i64>>,
}

/// A field that, when sent, must hold a value (`null` is refused, not read as "left out").
fn given<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A field that is present, possibly `null` (`Some(None)`), as opposed to left out (`None`).
#[allow(clippy::option_option)]
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    microshop_domain::number::whole_or_null(d).map(Some)
}

fn name_schema() -> Object {
    microshop_web::schema::required_text(MAX_NAME_CHARS)
}

fn description_schema() -> Object {
    microshop_web::schema::bounded_text(MAX_DESCRIPTION_CHARS)
}

/// A product as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    /// Primary key.
    id: i64,
    /// Name.
    name: String,
    /// Description, possibly empty.
    description: String,
    /// Exact price, e.g. `12999.0` or `19.99`.
    #[schema(value_type = f64, example = 12999.0)]
    price: Money,
    /// Units available.
    stock: i64,
    /// Its category.
    category_id: Option<i64>,
    /// Mean rating of its reviews (1 to 5, two decimals); null before the first review.
    rating_average: Option<f64>,
    /// Number of reviews.
    rating_count: i64,
    /// Whether it left the catalogue (still readable by id, no longer sold).
    archived: bool,
    /// Its version, also its `ETag`; bumped by every admin edit.
    version: i64,
    /// When it was added (RFC 3339).
    created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    updated_at: DateTime<Utc>,
}

impl From<ProductRow> for ProductResponse {
    fn from(row: ProductRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            description: row.description,
            price: Money::from_cents(row.price_cents),
            stock: row.stock,
            category_id: row.category_id,
            rating_average: row.rating_average,
            rating_count: row.rating_count,
            archived: row.archived_at.is_some(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A product with its `ETag`.
struct Tagged(StatusCode, ProductRow);

impl IntoResponse for Tagged {
    fn into_response(self) -> Response {
        let Tagged(status, row) = self;
        let etag = HeaderValue::from_str(&format!("\"{}\"", row.version))
            .expect("a number in quotes is a valid header value");
        (
            status,
            [(header::ETAG, etag)],
            Json(ProductResponse::from(row)),
        )
            .into_response()
    }
}

/// The versions `If-Match` accepts: none or `*` is any; weak or unknown tags never match.
fn expected(headers: &HeaderMap) -> Expected {
    let values: Vec<&str> = headers
        .get_all(header::IF_MATCH)
        .iter()
        .map(|v| v.to_str().unwrap_or(""))
        .collect();
    if values.is_empty() || values.iter().any(|v| v.trim() == "*") {
        return Expected::Any;
    }
    Expected::OneOf(
        values
            .iter()
            .flat_map(|v| v.split(','))
            .filter_map(|tag| {
                tag.trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')?
                    .parse()
                    .ok()
            })
            .collect(),
    )
}

/// Adds a product (admins only).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = CreateProductRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = ProductResponse,
            headers(("ETag" = String, description = "The product's version"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 422, description = "A field breaks a rule or the category does not exist", body = ErrorBody),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    _admin: Admin,
    Json(request): Json<CreateProductRequest>,
) -> Result<impl IntoResponse, Error> {
    let product = NewProduct::parse(
        &request.name,
        &request.description,
        request.price,
        request.stock,
    )?
    .in_category(request.category_id);
    let row = manage::add(&state.catalog, &product).await?;
    Ok(Tagged(StatusCode::CREATED, row))
}

/// Looks a product up by id (archived ones too).
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    params(("id" = Id, Path, description = "Product id")),
    responses(
        (status = 200, body = ProductResponse,
            headers(
                ("ETag" = String, description = "The product's version, for If-Match"),
                ("Cache-Control" = String, description = "`public, max-age=1`: a copy may be kept for a second"),
            )),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<Id>,
) -> Result<impl IntoResponse, Error> {
    let row = state
        .catalog
        .product(id.get())
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    // Anyone may keep it for a second (the gateway's response cache, a browser): a product page
    // at most a second old, while every order checks the stock itself.
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static(PUBLIC_READ))],
        Tagged(StatusCode::OK, Arc::unwrap_or_clone(row)),
    ))
}

/// `Cache-Control` of the catalogue's public reads.
pub const PUBLIC_READ: &str = "public, max-age=1";

/// Replaces a product's fields (admins only); `If-Match` guards against lost updates.
#[utoipa::path(put, path = "/api/products/{id}", tag = "products", request_body = ProductRequest,
    params(
        ("id" = Id, Path, description = "Product id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; another version gives 412"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = ProductResponse,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 412, description = "The product changed since the ETag in If-Match", body = ErrorBody),
        (status = 422, description = "A field breaks a rule or the category does not exist", body = ErrorBody),
    ))]
pub async fn replace_product(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
    headers: HeaderMap,
    Json(request): Json<ProductRequest>,
) -> Result<impl IntoResponse, Error> {
    let edit = ProductEdit::parse(
        &request.name,
        &request.description,
        request.price,
        request.category_id,
    )?;
    let change = |_: &ProductRow| Ok(edit);
    let row = manage::edit(
        &state.catalog,
        id,
        expected(&headers),
        change,
        request.stock,
    )
    .await?;
    Ok(Tagged(StatusCode::OK, row))
}

/// Changes some of a product's fields (admins only); `If-Match` guards against lost updates.
#[utoipa::path(patch, path = "/api/products/{id}", tag = "products", request_body = ProductPatch,
    params(
        ("id" = Id, Path, description = "Product id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; another version gives 412"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = ProductResponse,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 412, description = "The product changed since the ETag in If-Match", body = ErrorBody),
        (status = 422, description = "A field breaks a rule or the category does not exist", body = ErrorBody),
    ))]
pub async fn patch_product(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
    headers: HeaderMap,
    Json(patch): Json<ProductPatch>,
) -> Result<impl IntoResponse, Error> {
    // The fields sent are checked before anything else (a bad price is 422 whatever the
    // version); those left out keep their values, read under the edit's lock.
    ProductEdit::parse(
        patch.name.as_deref().unwrap_or("unchanged"),
        patch.description.as_deref().unwrap_or_default(),
        patch.price.unwrap_or(1.0),
        patch.category_id.flatten(),
    )?;
    let change = |current: &ProductRow| {
        ProductEdit::parse(
            patch.name.as_deref().unwrap_or(&current.name),
            patch.description.as_deref().unwrap_or(&current.description),
            patch
                .price
                .unwrap_or_else(|| Money::from_cents(current.price_cents).as_decimal()),
            patch.category_id.unwrap_or(current.category_id),
        )
    };
    let row = manage::edit(&state.catalog, id, expected(&headers), change, patch.stock).await?;
    Ok(Tagged(StatusCode::OK, row))
}

/// Archives a product (admins only): it leaves the catalogue and can no longer be ordered, but
/// stays readable by id for the orders that have it.
#[utoipa::path(delete, path = "/api/products/{id}", tag = "products",
    params(
        ("id" = Id, Path, description = "Product id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; another version gives 412"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Archived (or already archived)"),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 412, description = "The product changed since the ETag in If-Match", body = ErrorBody),
    ))]
pub async fn delete_product(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
    headers: HeaderMap,
) -> Result<StatusCode, Error> {
    manage::archive(&state.catalog, id, expected(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}
