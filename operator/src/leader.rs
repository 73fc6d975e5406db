//! Leader election on a `coordination.k8s.io` Lease, the way client-go does it: the holder
//! renews the Lease every third of its duration; a candidate takes it over only after it has
//! seen the same record, unrenewed, for a whole duration on its own clock (so clock skew
//! between nodes does not matter); every write carries the resource version it read, so of two
//! candidates exactly one wins.
//!
//! Hand-written rather than a crate: the crates for kube 5 renew with unconditional patches and
//! rely on server-side-apply conflicts for mutual exclusion; the compare-and-swap on the
//! resource version is the whole algorithm here and is tested against the fake API server.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

use crate::metrics::Metrics;

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
    metrics: Metrics,
    /// The last Lease record seen and when it was first seen.
    observed: Option<(Record, Instant)>,
}

/// What identifies a version of the Lease for a candidate: its holder and renew time.
type Record = (Option<String>, Option<Timestamp>);

impl Elector {
    /// Competes for the Lease `namespace/name` as `identity`, holding it for `duration`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
        metrics: Metrics,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration,
            metrics,
            observed: None,
        }
    }

    /// This replica's identity (the Lease's holder while it leads).
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Waits until this replica holds the Lease.
    pub async fn acquire(&mut self) {
        let mut waiting_for = None;
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.metrics.set_leader(true);
                    tracing::info!(lease = %self.name, identity = %self.identity, "leading: this replica reconciles");
                    return;
                }
                Ok(false) => {
                    let holder = self.holder();
                    if holder != waiting_for {
                        tracing::info!(lease = %self.name, holder = holder.as_deref().unwrap_or("?"), "standing by: another replica leads");
                        waiting_for = holder;
                    }
                }
                Err(error) => {
                    tracing::warn!(lease = %self.name, %error, "could not read or take the leader Lease; retrying");
                }
            }
            tokio::time::sleep(self.retry_period()).await;
        }
    }

    /// Renews the Lease until that fails; returns why leadership is lost (another replica took
    /// the Lease, or no renewal succeeded for two thirds of its duration).
    pub async fn hold(&mut self) -> String {
        let deadline = self.duration * 2 / 3;
        let mut renewed = Instant::now();
        let mut wait = self.duration / 3;
        loop {
            tokio::time::sleep(wait).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    renewed = Instant::now();
                    wait = self.duration / 3;
                }
                Ok(false) => {
                    self.metrics.set_leader(false);
                    return format!(
                        "replica {} holds the leader Lease now",
                        self.holder().unwrap_or_default()
                    );
                }
                Err(error) => {
                    if renewed.elapsed() >= deadline {
                        self.metrics.set_leader(false);
                        return format!(
                            "the leader Lease could not be renewed for {} s: {error}",
                            renewed.elapsed().as_secs()
                        );
                    }
                    tracing::warn!(lease = %self.name, %error, "could not renew the leader Lease; retrying");
                    wait = self.retry_period();
                }
            }
        }
    }

    /// Gives the Lease up (on shutdown), so another replica takes over at once instead of
    /// after a whole duration.
    pub async fn release(&mut self) {
        self.metrics.set_leader(false);
        let result = async {
            let Some(mut lease) = self.api.get_opt(&self.name).await? else {
                return Ok(());
            };
            let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
            if spec.holder_identity.as_deref() != Some(&self.identity) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await
                .map(drop)
        }
        .await;
        match result {
            Ok(()) => tracing::info!(lease = %self.name, "released the leader Lease"),
            Err(error) => {
                tracing::warn!(lease = %self.name, %error, "could not release the leader Lease; another replica takes over when it expires");
            }
        }
    }

    /// Whether this replica holds the Lease after one attempt to take or renew it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(self.duration_seconds()),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return self.write(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        self.observe(holder.as_ref(), spec.renew_time.as_ref());
        let ours = holder.as_deref() == Some(self.identity.as_str());
        if holder.is_some() && !ours {
            let held_for = spec
                .lease_duration_seconds
                .and_then(|seconds| u64::try_from(seconds).ok())
                .map_or(self.duration, Duration::from_secs);
            let unchanged_for = self
                .observed
                .as_ref()
                .map_or(Duration::ZERO, |(_, at)| at.elapsed());
            if unchanged_for < held_for {
                return Ok(false);
            }
            tracing::info!(lease = %self.name, previous = holder.as_deref().unwrap_or_default(), "the leader Lease expired; taking it over");
        }
        if !ours {
            spec.acquire_time = Some(MicroTime(now));
            let transitions = spec.lease_transitions.unwrap_or(0);
            spec.lease_transitions = Some(if holder.is_some() {
                transitions.saturating_add(1)
            } else {
                transitions
            });
            spec.holder_identity = Some(self.identity.clone());
        }
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(self.duration_seconds());
        // `lease` carries the resource version it was read at: a write in between is a 409.
        self.write(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }

    /// The holder of the last record seen.
    fn holder(&self) -> Option<String> {
        self.observed
            .as_ref()
            .and_then(|((holder, _), _)| holder.clone())
    }

    /// Notes the record `(holder, renew_time)`, restarting the clock when it changed.
    fn observe(&mut self, holder: Option<&String>, renewed: Option<&MicroTime>) {
        let record = (holder.cloned(), renewed.map(|time| time.0));
        if self
            .observed
            .as_ref()
            .is_none_or(|(seen, _)| *seen != record)
        {
            self.observed = Some((record, Instant::now()));
        }
    }

    /// The outcome of a create or replace: written (we hold it), lost the race, or failed.
    fn write(&mut self, result: Result<Lease, kube::Error>) -> Result<bool, kube::Error> {
        match result {
            Ok(lease) => {
                let spec = lease.spec.unwrap_or_default();
                self.observe(spec.holder_identity.as_ref(), spec.renew_time.as_ref());
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn duration_seconds(&self) -> i32 {
        i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// How often a follower looks at the Lease, and a failed renewal is retried.
    fn retry_period(&self) -> Duration {
        (self.duration / 7).max(Duration::from_millis(500))
    }
}

/// A name for this replica when it has no pod name: the host name and a random suffix.
pub fn identity(pod_name: Option<&str>) -> String {
    pod_name.map_or_else(
        || {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "operator".to_owned());
            format!("{host}-{:08x}", rand::random::<u32>())
        },
        str::to_owned,
    )
}
