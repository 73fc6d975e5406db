//! Reading what a browser sends: a form (`application/x-www-form-urlencoded`) whose `csrf`
//! field is checked before anything else is read, and a query string read leniently (a page
//! never fails for a strange query: unknown or repeated parameters are ignored).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::visit::Visit;

/// A posted form with the right CSRF token for the session, else a 403 page (the handler does
/// not run, so nothing changes). Fields the form lacks read as their default.
pub struct Form<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Form<T> {
    type Rejection = PageError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let visit = request
            .extensions()
            .get::<Visit>()
            .cloned()
            .ok_or(PageError::Internal)?;
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| PageError::BadRequest("The form could not be read.".to_owned()))?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let presented = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map_or("", |(_, value)| value.as_str());
        visit.check_csrf(presented)?;
        serde_urlencoded::from_bytes(&body).map(Form).map_err(|_| {
            PageError::BadRequest("The form was not filled in as expected.".to_owned())
        })
    }
}

/// The query string's parameters, the first of each name.
pub struct Params(HashMap<String, String>);

impl Params {
    /// The value of `name`, if given and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs: Vec<(String, String)> = parts
            .uri
            .query()
            .and_then(|query| serde_urlencoded::from_str(query).ok())
            .unwrap_or_default();
        let mut params = HashMap::new();
        for (name, value) in pairs {
            params.entry(name).or_insert(value);
        }
        Ok(Self(params))
    }
}
