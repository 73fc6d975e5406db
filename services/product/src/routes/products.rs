//! `/api/products`: add, look up, list.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::Admin;
use microshop_domain::{Id, Money};
use microshop_web::error::ErrorBody;
use microshop_web::{Json, PageQuery, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;

use super::AppState;
use crate::db::products::{self, ProductRow};
use crate::domain::{MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, NewProduct};
use crate::{Error, catalog};

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
    /// Units on hand, 0 to 1,000,000,000.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(example = 50, minimum = 0, maximum = 1_000_000_000)]
    stock: i64,
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
    /// Units on hand.
    stock: i64,
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
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Adds a product (admins only).
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = CreateProductRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = ProductResponse),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn create_product(
    State(state): State<AppState>,
    _admin: Admin,
    Json(request): Json<CreateProductRequest>,
) -> Result<(StatusCode, Json<ProductResponse>), Error> {
    let product = NewProduct::parse(
        &request.name,
        &request.description,
        request.price,
        request.stock,
    )?;
    let row = catalog::add(&state.db, &product).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Looks a product up by id.
#[utoipa::path(get, path = "/api/products/{id}", tag = "products",
    params(("id" = Id, Path, description = "Product id")),
    responses(
        (status = 200, body = ProductResponse),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn get_product(
    State(state): State<AppState>,
    Path(id): Path<Id>,
) -> Result<Json<ProductResponse>, Error> {
    let row = state
        .products
        .get(id.get())
        .await?
        .ok_or(Error::ProductNotFound(id))?;
    Ok(Json(row.into()))
}

/// Lists products, oldest first.
#[utoipa::path(get, path = "/api/products", tag = "products", params(PageQuery),
    responses(
        (status = 200, body = Vec<ProductResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<ProductResponse>>, Error> {
    let rows = products::list(&state.db, query.page()?).await?;
    Ok(Json(rows.into_iter().map(ProductResponse::from).collect()))
}
