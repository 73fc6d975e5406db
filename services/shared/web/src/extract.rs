//! Extractors that answer every malformed request with the standard error body instead of axum's
//! plain-text rejections:
//!
//! | problem                                   | status | code                     |
//! |-------------------------------------------|--------|--------------------------|
//! | body is not JSON / empty                  | 400    | `malformed_json`         |
//! | JSON of the wrong shape, unknown field    | 422    | `invalid_body`           |
//! | no `Content-Type: application/json`       | 415    | `unsupported_media_type` |
//! | body over the limit                       | 413    | `payload_too_large`      |
//! | path segment that does not parse          | 400    | `invalid_path`           |
//! | query string that does not parse          | 400    | `invalid_query`          |

use axum::extract::path::ErrorKind;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use microshop_domain::NotAnId;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON request body or response. Request rejections become [`ApiError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

/// `Option<Json<T>>`: no body (no `Content-Type`) is `None`; a body is parsed as above.
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        match <axum::Json<T> as OptionalFromRequest<S>>::from_request(req, state).await {
            Ok(value) => Ok(value.map(|axum::Json(value)| Self(value))),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(error) => ApiError::unprocessable(
            "invalid_body",
            format!(
                "request body does not match the expected fields and types: {}",
                cause(error)
            ),
        ),
        JsonRejection::JsonSyntaxError(error) => ApiError::bad_request(
            "malformed_json",
            format!("request body is not valid JSON: {}", cause(error)),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with the header `Content-Type: application/json`",
        ),
        JsonRejection::BytesRejection(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "request body is larger than the limit of {} KiB",
                    crate::server::BODY_LIMIT_BYTES / 1024
                ),
            )
        }
        other => ApiError::bad_request(
            "unreadable_body",
            format!("request body could not be read: {}", other.body_text()),
        ),
    }
}

/// A typed path. Rejections become `400 invalid_path` naming the bad segment.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                let message = match error.kind() {
                    // Our own types (e.g. `Id`) already say what is wrong with the value.
                    ErrorKind::DeserializeError { message, .. } | ErrorKind::Message(message) => {
                        message.clone()
                    }
                    // Every integer in our paths is an id: say what an id looks like.
                    ErrorKind::ParseErrorAtKey {
                        value,
                        expected_type,
                        ..
                    }
                    | ErrorKind::ParseErrorAtIndex {
                        value,
                        expected_type,
                        ..
                    }
                    | ErrorKind::ParseError {
                        value,
                        expected_type,
                    } if expected_type.starts_with('i') || expected_type.starts_with('u') => {
                        NotAnId(value.clone()).to_string()
                    }
                    other => other.to_string(),
                };
                Err(ApiError::bad_request("invalid_path", message))
            }
            Err(other) => Err(ApiError::bad_request("invalid_path", other.body_text())),
        }
    }
}

/// A typed query string. Rejections become `400 invalid_query`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(error)) => {
                Err(ApiError::bad_request(
                    "invalid_query",
                    format!("invalid query string: {}", cause(&error)),
                ))
            }
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}

/// The innermost useful message of a rejection: serde's own words, with the field path.
fn cause(error: &dyn std::error::Error) -> String {
    error
        .source()
        .map_or_else(|| error.to_string(), ToString::to_string)
}
