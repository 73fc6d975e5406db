//! An HTTP client bound to one service under test.

use reqwest::{Response, header};
use serde_json::Value;

/// Sends requests to `base_url`.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the service at `base_url` (no trailing slash).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            http: reqwest::Client::new(),
        }
    }

    /// A client for the same service as the holder of `token`: every request carries
    /// `Authorization: Bearer <token>` unless it sets its own. For the shared checks and
    /// scenarios on routes that need a token.
    #[must_use]
    pub fn authorized(&self, token: &str) -> Self {
        let mut headers = header::HeaderMap::new();
        let mut value = header::HeaderValue::from_str(&format!("Bearer {token}"))
            .expect("an access token is a valid header value");
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
        Self {
            base_url: self.base_url.clone(),
            http: reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .expect("an HTTP client builds"),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The underlying client, for requests the helpers do not cover.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("service under test answers")
    }

    /// `POST path` with `body` as JSON.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("service under test answers")
    }

    /// `POST path` with a raw body and content type, for malformed-input tests.
    pub async fn post_raw(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
        content_type: &str,
    ) -> Response {
        self.http
            .post(self.url(path))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("service under test answers")
    }

    /// `method path` as the holder of `token` (none: anonymous), with `body` as JSON if given.
    pub async fn send_as(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("service under test answers")
    }

    /// `GET path` with `Authorization: Bearer token`.
    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.send_as(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// `POST path` with `body` as JSON and `Authorization: Bearer token`.
    pub async fn post_json_as(&self, path: &str, body: &Value, token: &str) -> Response {
        self.send_as(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    /// `PUT path` with `body` as JSON and `Authorization: Bearer token`.
    pub async fn put_json_as(&self, path: &str, body: &Value, token: &str) -> Response {
        self.send_as(reqwest::Method::PUT, path, Some(token), Some(body))
            .await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// Reads a response as JSON, naming the status when it is not.
pub async fn json(response: Response) -> Value {
    let status = response.status();
    let text = response.text().await.expect("response body arrives");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("expected JSON from a {status} response, got {text:?}: {e}"))
}
