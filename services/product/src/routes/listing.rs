//! `GET /api/products` and `GET /api/products/search`: the catalogue, filtered, ordered and
//! paged (public).

use axum::extract::State;
use microshop_web::error::ErrorBody;
use microshop_web::{Json, Query};
use serde::Deserialize;
use utoipa::IntoParams;

use super::AppState;
use super::products::ProductResponse;
use crate::Error;
use crate::domain::search::{RawSearch, Search};

/// The query string of a catalogue listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find in names and descriptions (stemmed; typos in names are forgiven), up to
    /// 200 characters without control characters (tab and newline aside); blank: none.
    #[param(
        max_length = 200,
        example = "laptop",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    q: Option<String>,
    /// A category id or slug; products of its sub-categories match too (no control characters).
    #[param(
        max_length = 100,
        example = "computers",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    category: Option<String>,
    /// Cheapest price shown (0 for none).
    #[param(minimum = 0, maximum = 1_000_000, multiple_of = 0.01)]
    min_price: Option<f64>,
    /// Dearest price shown (0 for none).
    #[param(minimum = 0, maximum = 1_000_000, multiple_of = 0.01)]
    max_price: Option<f64>,
    /// `true`: only products in stock; `false`: only sold-out ones.
    in_stock: Option<bool>,
    /// `relevance` (the default with `q`; without `q` it is `oldest`), `price`, `-price`,
    /// `name`, `newest`, `rating`, `oldest` (the default without `q`).
    #[param(pattern = "^(relevance|price|-price|name|newest|rating|oldest)$")]
    sort: Option<String>,
    /// Items to return, 1 to 100 (default 20).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// Items to skip, 0 to 10,000 (default 0).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 0, maximum = 10_000)]
    offset: Option<i64>,
}

impl SearchQuery {
    fn parse(&self) -> Result<Search, Error> {
        let page = microshop_web::pagination::page(self.limit, self.offset)?;
        let raw = RawSearch {
            q: self.q.as_deref(),
            category: self.category.as_deref(),
            min_price: self.min_price,
            max_price: self.max_price,
            in_stock: self.in_stock,
            sort: self.sort.as_deref(),
        };
        Ok(Search::parse(&raw, page)?)
    }
}

/// Lists the catalogue: oldest first unless `sort` or `q` says otherwise; archived products
/// never appear.
#[utoipa::path(get, path = "/api/products", tag = "products", params(SearchQuery),
    responses(
        (status = 200, body = Vec<ProductResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 422, description = "A filter, the order or the page is out of range", body = ErrorBody),
    ))]
pub async fn list_products(
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<ProductResponse>>, Error> {
    let rows = state.catalog.search(&query.parse()?).await?;
    Ok(Json(
        rows.iter().cloned().map(ProductResponse::from).collect(),
    ))
}

/// Searches the catalogue for `q`, best match first unless `sort` says otherwise (without `q`,
/// the same as `GET /api/products`).
#[utoipa::path(get, path = "/api/products/search", tag = "products", params(SearchQuery),
    responses(
        (status = 200, body = Vec<ProductResponse>),
        (status = 400, description = "Malformed query", body = ErrorBody),
        (status = 404, description = "No such category", body = ErrorBody),
        (status = 422, description = "A filter, the order or the page is out of range", body = ErrorBody),
    ))]
pub async fn search_products(
    state: State<AppState>,
    query: Query<SearchQuery>,
) -> Result<Json<Vec<ProductResponse>>, Error> {
    // One catalogue query: the two paths differ only in how they are spelled.
    list_products(state, query).await
}
