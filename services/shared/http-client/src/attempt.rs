//! One attempt of a call: the request with its own time-out (sent along as the upstream's budget),
//! the answer read and classified, and whether another attempt could help.

use std::time::Duration;

use microshop_telemetry::{deadline, trace};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::UpstreamError;

/// How much of an error answer is read to look for the load-shedding code: our error bodies are
/// a few hundred bytes, and a stranger's big error page must not be buffered whole.
const ERROR_BODY_LIMIT: usize = 4096;

/// Why an attempt did not give an answer.
pub(crate) enum Failure {
    /// Another attempt may succeed: a connect error, a time-out, 502, 503, 504 or 429.
    Transient {
        /// What happened, for logs.
        reason: String,
        /// The upstream's `Retry-After`, in seconds.
        retry_after: Option<u32>,
        /// The attempt ran out of time (rather than being answered or refused).
        timed_out: bool,
    },
    /// Another attempt would get the same answer, or would feed an overload.
    Final(UpstreamError),
}

/// The `{"error":{"code":...}}` body every Microshop service answers errors with.
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorCode,
}

#[derive(Deserialize)]
struct ErrorCode {
    code: String,
    #[serde(default)]
    message: Option<String>,
}

/// One request to an upstream: what every attempt sends.
pub(crate) struct Request<'a> {
    /// The method; a JSON body goes with `POST` and `PUT`.
    pub method: reqwest::Method,
    /// The whole URL.
    pub url: &'a str,
    /// The path alone, for errors.
    pub path: &'a str,
    /// Besides the client's own.
    pub headers: &'a HeaderMap,
    /// The JSON body, already encoded.
    pub body: Option<&'a [u8]>,
}

/// Sends `request` within `timeout`; the answer decoded from JSON.
pub(crate) async fn send<T: DeserializeOwned>(
    client: &reqwest::Client,
    upstream: &'static str,
    request: &Request<'_>,
    timeout: Duration,
) -> Result<T, Failure> {
    // Reading the body is inside the time-out too: a slow body is as late as a slow answer.
    tokio::time::timeout(timeout, exchange(client, upstream, request, timeout))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Transient {
                reason: format!("no answer within {} ms", timeout.as_millis()),
                retry_after: None,
                timed_out: true,
            })
        })
}

async fn exchange<T: DeserializeOwned>(
    client: &reqwest::Client,
    upstream: &'static str,
    request: &Request<'_>,
    timeout: Duration,
) -> Result<T, Failure> {
    let transient = |error: reqwest::Error| Failure::Transient {
        timed_out: error.is_timeout(),
        reason: error.to_string(),
        retry_after: None,
    };
    let mut builder = client
        .request(request.method.clone(), request.url)
        .headers(request.headers.clone());
    if let Some(body) = request.body {
        builder = builder
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec());
    }
    let response = builder
        // The caller's trace continues in the upstream (W3C trace context).
        .header(trace::TRACEPARENT, trace::outgoing())
        // This attempt's own time-out, so the upstream stops work we will no longer wait for.
        .header(deadline::HEADER, deadline::header_value(timeout))
        .send()
        .await
        .map_err(transient)?;
    let status = response.status();
    match status {
        status if status.is_success() => {
            let body = response.bytes().await.map_err(transient)?;
            // A 204 (or any empty answer) reads as JSON `null`: `()` or an `Option` take it.
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            serde_json::from_slice(body).map_err(|error| {
                Failure::Final(UpstreamError::Unexpected {
                    upstream,
                    reason: format!("undecodable body: {error}"),
                })
            })
        }
        StatusCode::NOT_FOUND => Err(Failure::Final(UpstreamError::NotFound {
            upstream,
            path: request.path.to_owned(),
        })),
        StatusCode::UNAUTHORIZED => {
            let message = match refused(upstream, response).await {
                UpstreamError::Refused { message, .. } => message,
                _ => String::new(),
            };
            Err(Failure::Final(UpstreamError::Unauthenticated {
                upstream,
                message,
            }))
        }
        StatusCode::BAD_REQUEST
        | StatusCode::CONFLICT
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::FORBIDDEN => Err(Failure::Final(refused(upstream, response).await)),
        StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT
        | StatusCode::TOO_MANY_REQUESTS => {
            let retry_after = retry_after(response.headers());
            if is_shedding_load(response).await {
                // The upstream refuses work to survive: a retry would only add to the overload.
                return Err(Failure::Final(UpstreamError::unavailable(
                    upstream,
                    format!("answered {status}: overloaded"),
                    retry_after,
                )));
            }
            Err(Failure::Transient {
                reason: format!("answered {status}"),
                retry_after,
                timed_out: false,
            })
        }
        status if status.is_server_error() => Err(Failure::Final(UpstreamError::unavailable(
            upstream,
            format!("answered {status}"),
            None,
        ))),
        status => Err(Failure::Final(UpstreamError::Unexpected {
            upstream,
            reason: format!("answered {status}"),
        })),
    }
}

/// A 400, 403, 409 or 422 answer: the upstream's own code and message when it sent our error
/// body, so the caller can pass the refusal on.
async fn refused(upstream: &'static str, mut response: reqwest::Response) -> UpstreamError {
    let status = response.status().as_u16();
    let body = read_error_body(&mut response).await;
    match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(body) => UpstreamError::Refused {
            upstream,
            status,
            code: body.error.code,
            message: body.error.message.unwrap_or_default(),
        },
        Err(_) => UpstreamError::Unexpected {
            upstream,
            reason: format!("answered {status}"),
        },
    }
}

/// At most [`ERROR_BODY_LIMIT`] bytes of an error answer.
async fn read_error_body(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// `Retry-After` in seconds. The HTTP-date form is ignored: our services send seconds, and a
/// date would need the two clocks to agree.
fn retry_after(headers: &HeaderMap) -> Option<u32> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// Whether the answer is our services' load shedding (`{"error":{"code":"overloaded"}}`).
async fn is_shedding_load(mut response: reqwest::Response) -> bool {
    let body = read_error_body(&mut response).await;
    serde_json::from_slice::<ErrorBody>(&body).is_ok_and(|body| body.error.code == "overloaded")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        let parse = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
            retry_after(&headers)
        };
        assert_eq!(parse("2"), Some(2));
        assert_eq!(parse(" 30 "), Some(30));
        assert_eq!(parse("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("99999999999"), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
