//! The provider API's authentication: `Authorization: Bearer <API_KEY>`, else 401.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::Error;
use crate::app::App;

/// A caller that presented the sandbox's API key.
#[derive(Debug, Clone, Copy)]
pub struct Provider;

impl FromRequestParts<App> for Provider {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key.trim());
        match presented {
            Some(key) if app.api_key.matches(key) => Ok(Self),
            _ => Err(Error::ApiKey),
        }
    }
}
