//! The services as the pages call them: typed requests and answers over the gateway's shared
//! upstream clients (deadlines, breakers, metrics), with the signed-in user's access token
//! relayed as `Authorization: Bearer`. Answers are read leniently (only the fields shown), so
//! a service may add fields freely.

pub mod account;
pub mod addresses;
pub mod catalog;
pub mod orders;
pub mod shopping;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use microshop_http_client::Upstream as Client;

use crate::routing::Upstream;
use crate::upstreams::Upstreams;

/// The services, called anonymously or as one user.
pub struct Api {
    upstreams: Arc<Upstreams>,
    headers: HeaderMap,
}

impl Api {
    /// Calls without a token (the catalogue, signing in).
    pub fn anonymous(upstreams: Arc<Upstreams>) -> Self {
        Self {
            upstreams,
            headers: HeaderMap::new(),
        }
    }

    /// Calls as the holder of `access_token`.
    pub fn as_user(upstreams: Arc<Upstreams>, access_token: &str) -> Self {
        let mut headers = HeaderMap::new();
        if let Ok(mut bearer) = HeaderValue::from_str(&format!("Bearer {access_token}")) {
            bearer.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, bearer);
        }
        Self { upstreams, headers }
    }

    fn client(&self, upstream: Upstream) -> &Client {
        self.upstreams.get(upstream)
    }

    /// The caller's headers and `extra` ones.
    fn headers_with(&self, extra: [(&'static str, HeaderValue); 1]) -> HeaderMap {
        let mut headers = self.headers.clone();
        for (name, value) in extra {
            headers.insert(name, value);
        }
        headers
    }
}

/// `?a=1&b=x` of the `Some` pairs of `pairs`, URL-encoded; empty when there are none.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let present: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (*name, value)))
        .collect();
    if present.is_empty() {
        return String::new();
    }
    format!(
        "?{}",
        serde_urlencoded::to_string(present).expect("pairs of strings encode")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_holds_only_the_given_pairs_encoded() {
        assert_eq!(query(&[("q", None)]), "");
        assert_eq!(
            query(&[
                ("q", Some("tea & cake".to_owned())),
                ("category", None),
                ("limit", Some("13".to_owned())),
            ]),
            "?q=tea+%26+cake&limit=13"
        );
    }
}
