//! A response cache for the public reads the services let anyone keep: a `GET` without
//! credentials (no `Authorization`, no conditional or range headers) whose `200` answer says
//! `Cache-Control: public, max-age=N` is kept in memory for N seconds, at most
//! `RESPONSE_CACHE_MAX_AGE` (1 s by default; 0 turns the cache off), and served from there
//! meanwhile with an `Age` header. A product page then costs the product service one request a
//! second however many browsers ask (nginx's "microcaching"). What a service does not mark public
//! (everything personal, every write) always goes through, and so does anything signed in.
//! Each replica has its own cache: a copy is never older than its `max-age`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use prometheus::{IntCounterVec, Opts, Registry};

/// The largest answer kept.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// The cache's settings.
#[derive(Debug, Clone, clap::Args)]
pub struct ResponseCacheConfig {
    /// Longest a public read is kept, whatever its `max-age` says (`0s`: no cache).
    #[arg(long, env = "RESPONSE_CACHE_MAX_AGE", default_value = "1s", value_parser = humantime::parse_duration)]
    pub response_cache_max_age: Duration,
    /// Most answers kept.
    #[arg(long, env = "RESPONSE_CACHE_ENTRIES", default_value_t = 10_000)]
    pub response_cache_entries: u64,
}

/// An answer kept.
struct Kept {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    stored: Instant,
    max_age: Duration,
}

/// The cache, shared by the proxy's requests.
#[derive(Clone)]
pub struct ResponseCache {
    entries: Option<moka::sync::Cache<String, Arc<Kept>>>,
    max_age: Duration,
    requests: IntCounterVec,
}

impl ResponseCache {
    /// A cache as `config` says, counting `cache_requests_total{cache="gateway"}` on `registry`.
    pub fn new(
        config: &ResponseCacheConfig,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let requests = IntCounterVec::new(
            Opts::new(
                "cache_requests_total",
                "Reads by cache and outcome: hit (answered from the gateway's memory), miss \
                 (asked the service), bypass (not cacheable: signed in, conditional, not public).",
            ),
            &["cache", "outcome"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        for outcome in ["hit", "miss", "bypass"] {
            requests.with_label_values(&["gateway", outcome]);
        }
        let max_age = config.response_cache_max_age;
        let entries = (!max_age.is_zero()).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(config.response_cache_entries)
                .time_to_live(max_age)
                .build()
        });
        Ok(Self {
            entries,
            max_age,
            requests,
        })
    }

    fn count(&self, outcome: &str) {
        self.requests.with_label_values(&["gateway", outcome]).inc();
    }

    /// The key of a request that may be answered from the cache, `None` for one that may not.
    pub fn key(&self, method: &Method, target: &str, headers: &HeaderMap) -> Option<String> {
        self.entries.as_ref()?;
        let personal = [
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::IF_MATCH,
            header::RANGE,
        ]
        .iter()
        .any(|name| headers.contains_key(name));
        if method != Method::GET || personal {
            self.count("bypass");
            return None;
        }
        Some(target.to_owned())
    }

    /// The kept answer of `key`, if still fresh.
    pub fn get(&self, key: &str) -> Option<Response> {
        let kept = self.entries.as_ref()?.get(key)?;
        let age = kept.stored.elapsed();
        if age >= kept.max_age {
            self.count("miss");
            return None;
        }
        self.count("hit");
        let mut response = Response::new(Body::from(kept.body.clone()));
        *response.status_mut() = kept.status;
        *response.headers_mut() = kept.headers.clone();
        response
            .headers_mut()
            .insert(header::AGE, HeaderValue::from(age.as_secs()));
        Some(response)
    }

    /// How long an answer with `status` and `headers` may be kept; `None` when not at all.
    pub fn keepable(&self, status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
        if status != StatusCode::OK
            || headers.contains_key(header::SET_COOKIE)
            || headers.contains_key(header::VARY)
        {
            return None;
        }
        let length: usize = headers
            .get(header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()?;
        if length > MAX_BODY_BYTES {
            return None;
        }
        let max_age = public_max_age(headers)?;
        Some(max_age.min(self.max_age))
    }

    /// Keeps an answer for `max_age`.
    pub fn put(
        &self,
        key: String,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
        max_age: Duration,
    ) {
        self.count("miss");
        if let Some(entries) = &self.entries {
            let kept = Kept {
                status,
                headers,
                body,
                stored: Instant::now(),
                max_age,
            };
            entries.insert(key, Arc::new(kept));
        }
    }

    /// A request that could have been kept was answered by the service but not keepable.
    pub fn not_kept(&self) {
        self.count("bypass");
    }
}

/// `max-age` of a `Cache-Control: public, max-age=N` (N > 0) without `no-store`, `no-cache` or
/// `private`.
fn public_max_age(headers: &HeaderMap) -> Option<Duration> {
    let mut public = false;
    let mut max_age = None;
    for directive in headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
    {
        let directive = directive.trim().to_ascii_lowercase();
        match directive.split_once('=') {
            Some(("max-age", seconds)) => max_age = seconds.trim().parse::<u64>().ok(),
            None if directive == "public" => public = true,
            None if ["no-store", "no-cache", "private"].contains(&directive.as_str()) => {
                return None;
            }
            _ => {}
        }
    }
    let seconds = max_age.filter(|seconds| *seconds > 0)?;
    public.then(|| Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cache_control: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_str(cache_control).unwrap(),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("10"));
        headers
    }

    #[test]
    fn only_public_answers_with_a_max_age_are_kept_and_never_longer_than_allowed() {
        let config = ResponseCacheConfig {
            response_cache_max_age: Duration::from_secs(1),
            response_cache_entries: 10,
        };
        let cache = ResponseCache::new(&config, &Registry::new()).unwrap();
        let ok = StatusCode::OK;
        assert_eq!(
            cache.keepable(ok, &headers("public, max-age=1")),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            cache.keepable(ok, &headers("Public, Max-Age=60")),
            Some(Duration::from_secs(1))
        );
        for refused in [
            "max-age=1",
            "public",
            "public, max-age=0",
            "public, max-age=1, no-store",
            "private, max-age=5",
            "public, no-cache, max-age=5",
        ] {
            assert_eq!(cache.keepable(ok, &headers(refused)), None, "{refused}");
        }
        assert_eq!(
            cache.keepable(StatusCode::NOT_FOUND, &headers("public, max-age=1")),
            None
        );
        let mut cookie = headers("public, max-age=1");
        cookie.insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
        assert_eq!(cache.keepable(ok, &cookie), None);
        let mut big = headers("public, max-age=1");
        big.insert(header::CONTENT_LENGTH, HeaderValue::from_static("1000000"));
        assert_eq!(cache.keepable(ok, &big), None);
    }

    #[test]
    fn signed_in_and_conditional_reads_and_writes_are_never_answered_from_the_cache() {
        let config = ResponseCacheConfig {
            response_cache_max_age: Duration::from_secs(1),
            response_cache_entries: 10,
        };
        let cache = ResponseCache::new(&config, &Registry::new()).unwrap();
        let none = HeaderMap::new();
        assert!(cache.key(&Method::GET, "/api/products/1", &none).is_some());
        assert!(cache.key(&Method::POST, "/api/products/1", &none).is_none());
        for name in [header::AUTHORIZATION, header::IF_NONE_MATCH, header::RANGE] {
            let mut headers = HeaderMap::new();
            headers.insert(name.clone(), HeaderValue::from_static("x"));
            assert!(
                cache
                    .key(&Method::GET, "/api/products/1", &headers)
                    .is_none(),
                "{name}"
            );
        }
        let off = ResponseCache::new(
            &ResponseCacheConfig {
                response_cache_max_age: Duration::ZERO,
                response_cache_entries: 10,
            },
            &Registry::new(),
        )
        .unwrap();
        assert!(off.key(&Method::GET, "/api/products/1", &none).is_none());
    }
}
