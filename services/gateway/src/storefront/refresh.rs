//! Refreshing a session's tokens once however many requests need it at the same moment. A
//! refresh token works once (the user service rotates it, and treats a second use as theft,
//! ending the session): two tabs whose access token expired together would otherwise sign the
//! user out. Requests presenting the same refresh token share one call, and its outcome is
//! kept for a minute for the stragglers. The call runs in a task of its own, so a browser that
//! gives up waiting cannot leave a spent token with no result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use microshop_http_client::UpstreamError;
use sha2::{Digest, Sha256};

use super::api::account;
use super::error::PageError;
use super::session::SignedIn;
use crate::routing::Upstream;
use crate::upstreams::Upstreams;

/// How long a refresh's outcome is kept for other requests with the same token.
const KEEP: Duration = Duration::from_secs(60);

/// Why a refresh gave no tokens.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The token is spent, revoked or expired: the user is signed out.
    Refused,
    /// The user service cannot answer now.
    Unavailable {
        /// When to try again.
        retry_after_secs: u32,
    },
    /// Anything else.
    Unexpected,
}

impl From<Failure> for PageError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused => Self::SignedOut { next: None },
            Failure::Unavailable { retry_after_secs } => Self::Unavailable {
                service: Upstream::Users.name(),
                retry_after_secs,
            },
            Failure::Unexpected => Self::BadGateway,
        }
    }
}

type Flight = Shared<BoxFuture<'static, Result<SignedIn, Failure>>>;

/// The refreshes under way or just done, by the SHA-256 of their refresh token.
#[derive(Default)]
pub struct Refresher {
    flights: Mutex<HashMap<[u8; 32], (Instant, Flight)>>,
}

impl Refresher {
    /// New tokens for `refresh_token`.
    pub async fn refresh(
        &self,
        upstreams: &Arc<Upstreams>,
        refresh_token: &str,
    ) -> Result<SignedIn, Failure> {
        let key: [u8; 32] = Sha256::digest(refresh_token.as_bytes()).into();
        let flight = {
            let mut flights = self
                .flights
                .lock()
                .expect("the lock is never held across a panic");
            flights.retain(|_, (started, _)| started.elapsed() < KEEP);
            flights
                .entry(key)
                .or_insert_with(|| (Instant::now(), start(upstreams, refresh_token)))
                .1
                .clone()
        };
        let outcome = flight.await;
        if matches!(
            outcome,
            Err(Failure::Unavailable { .. } | Failure::Unexpected)
        ) {
            // Only a final outcome is kept: the next request tries again.
            let mut flights = self
                .flights
                .lock()
                .expect("the lock is never held across a panic");
            flights.remove(&key);
        }
        outcome
    }
}

/// The refresh call, in a task of its own.
fn start(upstreams: &Arc<Upstreams>, refresh_token: &str) -> Flight {
    let upstreams = Arc::clone(upstreams);
    let token = refresh_token.to_owned();
    let task = tokio::spawn(async move {
        account::refresh(upstreams.get(Upstream::Users), &token)
            .await
            .map_err(|error| match error {
                UpstreamError::Unauthenticated { .. }
                | UpstreamError::Refused { .. }
                | UpstreamError::NotFound { .. } => Failure::Refused,
                UpstreamError::Unavailable {
                    retry_after_secs, ..
                } => Failure::Unavailable { retry_after_secs },
                error @ UpstreamError::Unexpected { .. } => {
                    tracing::error!(%error, "refreshing a storefront session failed");
                    Failure::Unexpected
                }
            })
    });
    async move { task.await.unwrap_or(Err(Failure::Unexpected)) }
        .boxed()
        .shared()
}
