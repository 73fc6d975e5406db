//! `/api/products/categories`: the category tree with product counts (public) and its changes
//! (admins).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::Admin;
use microshop_domain::Id;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::catalog::CategoryNode;
use crate::db::categories::CategoryRow;
use crate::domain::category::{
    CategoryDraft, MAX_CATEGORY_NAME_CHARS, MAX_SLUG_CHARS, SLUG_PATTERN,
};
use crate::{Error, categories};

/// The category routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_categories, create_category))
        .routes(routes!(update_category, delete_category))
}

/// Body of `POST /api/products/categories` and `PUT /api/products/categories/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// 1 to 100 characters.
    #[schema(example = "Home office", schema_with = name_schema)]
    name: String,
    /// Lower-case words joined by hyphens; made from the name when left out.
    #[schema(example = "home-office", schema_with = slug_schema)]
    slug: Option<String>,
    /// The category it sits in; top level when left out or null.
    #[serde(default, deserialize_with = "microshop_domain::number::whole_or_null")]
    #[schema(minimum = 1, example = 1)]
    parent_id: Option<i64>,
}

fn name_schema() -> Object {
    microshop_web::schema::required_text(MAX_CATEGORY_NAME_CHARS)
}

fn slug_schema() -> Object {
    microshop_web::schema::text_or_null(SLUG_PATTERN, 1, MAX_SLUG_CHARS)
}

impl CategoryRequest {
    fn parse(&self) -> Result<CategoryDraft, Error> {
        Ok(CategoryDraft::parse(
            &self.name,
            self.slug.as_deref(),
            self.parent_id,
        )?)
    }
}

/// A category as a write returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryResponse {
    /// Primary key.
    id: i64,
    /// URL name.
    slug: String,
    /// Display name.
    name: String,
    /// The category it sits in.
    parent_id: Option<i64>,
    /// When it was added (RFC 3339).
    created_at: DateTime<Utc>,
    /// Last change (RFC 3339).
    updated_at: DateTime<Utc>,
}

impl From<CategoryRow> for CategoryResponse {
    fn from(row: CategoryRow) -> Self {
        Self {
            id: row.id,
            slug: row.slug,
            name: row.name,
            parent_id: row.parent_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The category tree, top-level categories first, each with its product count.
#[utoipa::path(get, path = "/api/products/categories", tag = "categories",
    responses((status = 200, body = Vec<CategoryNode>)))]
pub async fn list_categories(
    State(state): State<AppState>,
) -> Result<Json<Vec<CategoryNode>>, Error> {
    Ok(Json(Arc::unwrap_or_clone(
        state.catalog.category_tree().await?,
    )))
}

/// Adds a category (admins only).
#[utoipa::path(post, path = "/api/products/categories", tag = "categories",
    request_body = CategoryRequest, security(("bearer" = [])),
    responses(
        (status = 201, description = "Added", body = CategoryResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "A field breaks a rule, or the parent does not exist", body = ErrorBody),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    _admin: Admin,
    Json(request): Json<CategoryRequest>,
) -> Result<(StatusCode, Json<CategoryResponse>), Error> {
    let draft = request.parse()?;
    let row = categories::add(&state.catalog, &draft).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// Renames, re-slugs or moves a category (admins only).
#[utoipa::path(put, path = "/api/products/categories/{id}", tag = "categories",
    params(("id" = Id, Path, description = "Category id")),
    request_body = CategoryRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = CategoryResponse),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        (status = 422, description = "A field breaks a rule, the parent does not exist or lies below the category", body = ErrorBody),
    ))]
pub async fn update_category(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
    Json(request): Json<CategoryRequest>,
) -> Result<Json<CategoryResponse>, Error> {
    let draft = request.parse()?;
    let row = categories::change(&state.catalog, id.get(), &draft).await?;
    Ok(Json(row.into()))
}

/// Deletes an empty category (admins only).
#[utoipa::path(delete, path = "/api/products/categories/{id}", tag = "categories",
    params(("id" = Id, Path, description = "Category id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Not a valid id", body = ErrorBody),
        (status = 401, description = "No valid access token", body = ErrorBody),
        (status = 403, description = "The caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 409, description = "Products or sub-categories are still in it", body = ErrorBody),
    ))]
pub async fn delete_category(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<Id>,
) -> Result<StatusCode, Error> {
    categories::remove(&state.catalog, id.get()).await?;
    Ok(StatusCode::NO_CONTENT)
}
