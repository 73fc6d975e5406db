//! `?limit=&offset=` paging for list endpoints: the query string of [`microshop_domain::Page`].

use microshop_domain::Page;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::ApiError;

/// The query string of a plain list endpoint. Endpoints with filters declare their own struct
/// with these two fields (serde's `flatten` breaks number parsing in query strings) and call
/// [`page`].
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to return, 1 to 100 (default 20).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Items to skip, 0 to 10,000 (default 0).
    #[serde(
        default,
        deserialize_with = "microshop_domain::number::whole_text_option"
    )]
    #[param(minimum = 0, maximum = 10_000)]
    pub offset: Option<i64>,
}

impl PageQuery {
    /// The validated page.
    pub fn page(&self) -> Result<Page, ApiError> {
        page(self.limit, self.offset)
    }
}

/// Checks `limit` and `offset` from a query string: out of range is `422 invalid_query`.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<Page, ApiError> {
    Page::new(limit, offset)
        .map_err(|error| ApiError::unprocessable("invalid_query", error.to_string()))
}
