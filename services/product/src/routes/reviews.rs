//! `/api/products/{id}/reviews...` and `/api/reviews/{review_id}`: customers' reviews. Anyone
//! reads them; a signed-in user (customer or admin) posts one per product and edits or deletes
//! their own; an admin deletes anyone's. Another user's review is not found.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use microshop_auth::Principal;
use microshop_domain::Id;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, PageQuery, Path, Query};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::Object;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use crate::Error;
use crate::db::reviews::ReviewRow;
use crate::domain::review::{MAX_TEXT_CHARS, ReviewContent};
use crate::reviews::{self, Target};

/// The reviews routes, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reviews, post_review))
        .routes(routes!(edit_my_review, delete_my_review))
        .routes(routes!(edit_review, delete_review))
}

/// Body of `POST /api/products/{id}/reviews` and of the `PUT`s: the whole review.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Stars, a whole number from 1 to 5.
    #[serde(deserialize_with = "microshop_domain::number::whole")]
    #[schema(example = 5, minimum = 1, maximum = 5)]
    rating: i64,
    /// Up to 2,000 characters (counted as sent, then trimmed); empty when left out. Returned as
    /// sent: whoever shows it in HTML escapes it.
    #[serde(default)]
    #[schema(example = "Fast, quiet, and the battery lasts all day.", schema_with = text_schema)]
    text: String,
}

impl ReviewRequest {
    fn parse(&self) -> Result<ReviewContent, Error> {
        Ok(ReviewContent::parse(self.rating, &self.text)?)
    }
}

fn text_schema() -> Object {
    microshop_web::schema::bounded_text(MAX_TEXT_CHARS)
}

/// A review as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    /// Primary key.
    id: i64,
    /// The product reviewed.
    product_id: i64,
    /// The author.
    user_id: i64,
    /// Stars, 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    rating: i16,
    /// The text, as data (JSON-escaped, not HTML-escaped).
    text: String,
    /// Whether the shop delivered the product to the author (at any time, before or after the
    /// review).
    verified_purchase: bool,
    /// When it was posted (RFC 3339).
    created_at: DateTime<Utc>,
    /// When it was last edited (RFC 3339).
    updated_at: DateTime<Utc>,
}

impl From<ReviewRow> for ReviewResponse {
    fn from(row: ReviewRow) -> Self {
        Self {
            id: row.id,
            product_id: row.product_id,
            user_id: row.user_id,
            rating: row.rating,
            text: row.text,
            verified_purchase: row.verified_purchase,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A product's reviews, newest first (archived products' too).
#[utoipa::path(get, path = "/api/products/{id}/reviews", tag = "reviews",
    params(("id" = Id, Path, description = "Product id"), PageQuery),
    responses(
        (status = 200, body = Vec<ReviewResponse>),
        (status = 400, description = "Not a valid id, or a malformed query", body = ErrorBody),
        (status = 404, description = "No such product (`product_not_found`)", body = ErrorBody),
        (status = 422, description = "limit or offset out of range", body = ErrorBody),
    ))]
pub async fn list_reviews(
    State(state): State<AppState>,
    Path(id): Path<Id>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<ReviewResponse>>, Error> {
    let rows = reviews::list(state.catalog.db(), id, query.page()?).await?;
    Ok(Json(rows.into_iter().map(ReviewResponse::from).collect()))
}

/// Posts the caller's review of a product: one per user and product.
#[utoipa::path(post, path = "/api/products/{id}/reviews", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Id, Path, description = "Product id")),
    request_body = ReviewRequest,
    responses(
        (status = 201, description = "Posted", body = ReviewResponse),
        (status = 404, description = "No such product (`product_not_found`)", body = ErrorBody),
        (status = 409, description = "The caller reviewed it already (`review_exists`), or it is archived (`product_archived`)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn post_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
    Json(request): Json<ReviewRequest>,
) -> Result<(StatusCode, Json<ReviewResponse>), Error> {
    let content = request.parse()?;
    let written = reviews::post(&state.catalog, &principal, id, &content).await?;
    Ok((StatusCode::CREATED, Json(written.review.into())))
}

/// Replaces the caller's review of a product.
#[utoipa::path(put, path = "/api/products/{id}/reviews/mine", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Id, Path, description = "Product id")),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "Changed", body = ReviewResponse),
        (status = 404, description = "No such product (`product_not_found`), or the caller has not reviewed it (`review_not_found`)", body = ErrorBody),
        (status = 409, description = "The product is archived (`product_archived`)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn edit_my_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
    Json(request): Json<ReviewRequest>,
) -> Result<Json<ReviewResponse>, Error> {
    let content = request.parse()?;
    let written = reviews::edit(&state.catalog, &principal, Target::MineOf(id), &content).await?;
    Ok(Json(written.review.into()))
}

/// Deletes the caller's review of a product.
#[utoipa::path(delete, path = "/api/products/{id}/reviews/mine", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Id, Path, description = "Product id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such product (`product_not_found`), or the caller has not reviewed it (`review_not_found`)", body = ErrorBody),
    ))]
pub async fn delete_my_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Id>,
) -> Result<StatusCode, Error> {
    reviews::delete(&state.catalog, &principal, Target::MineOf(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces one of the caller's reviews (admins too may edit only their own).
#[utoipa::path(put, path = "/api/reviews/{review_id}", tag = "reviews",
    security(("bearer" = [])),
    params(("review_id" = Id, Path, description = "Review id")),
    request_body = ReviewRequest,
    responses(
        (status = 200, description = "Changed", body = ReviewResponse),
        (status = 404, description = "No such review of the caller (`review_not_found`)", body = ErrorBody),
        (status = 409, description = "The product is archived (`product_archived`)", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub async fn edit_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(review_id): Path<Id>,
    Json(request): Json<ReviewRequest>,
) -> Result<Json<ReviewResponse>, Error> {
    let content = request.parse()?;
    let target = Target::Review(review_id);
    let written = reviews::edit(&state.catalog, &principal, target, &content).await?;
    Ok(Json(written.review.into()))
}

/// Deletes a review: the caller's own, or anyone's for an admin (moderation).
#[utoipa::path(delete, path = "/api/reviews/{review_id}", tag = "reviews",
    security(("bearer" = [])),
    params(("review_id" = Id, Path, description = "Review id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such review, or (for a customer) not theirs (`review_not_found`)", body = ErrorBody),
    ))]
pub async fn delete_review(
    State(state): State<AppState>,
    principal: Principal,
    Path(review_id): Path<Id>,
) -> Result<StatusCode, Error> {
    reviews::delete(&state.catalog, &principal, Target::Review(review_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
