//! `?limit=&offset=` paging for list endpoints: at most 100 items a page, 20 by default.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::ApiError;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Items to return, `1..=100`.
    pub limit: i64,
    /// Items to skip, `>= 0`.
    pub offset: i64,
}

impl Page {
    /// Largest page a client may ask for.
    pub const MAX_LIMIT: i64 = 100;
    /// Page size when the client does not say.
    pub const DEFAULT_LIMIT: i64 = 20;

    /// Checks the raw query values; `None` means the default.
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        let offset = offset.unwrap_or(0);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(ApiError::unprocessable(
                "invalid_query",
                format!(
                    "limit must be between 1 and {}, got {limit}",
                    Self::MAX_LIMIT
                ),
            ));
        }
        if offset < 0 {
            return Err(ApiError::unprocessable(
                "invalid_query",
                format!("offset must not be negative, got {offset}"),
            ));
        }
        Ok(Self { limit, offset })
    }
}

/// The query string of a plain list endpoint. Endpoints with filters declare their own struct
/// with these two fields (serde's `flatten` breaks number parsing in query strings).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to return, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

impl PageQuery {
    /// The validated page.
    pub fn page(&self) -> Result<Page, ApiError> {
        Page::new(self.limit, self.offset)
    }
}
