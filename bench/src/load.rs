//! Open-loop load with HdrHistogram latencies: requests leave at a fixed rate whatever the
//! answers, and each latency is measured from the request's scheduled start, so a server that
//! falls behind shows its queueing (no coordinated omission). Closed loops of one request use
//! wrk; [`closed_loop`] is for scenarios of several requests per iteration (a checkout), which
//! wrk cannot sequence per connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::target::{Inputs, Scenario, Target};

/// Most requests an open loop keeps in flight before it stops issuing (the target is drowning).
const MAX_IN_FLIGHT: usize = 20_000;

/// One run's result.
#[derive(Debug, Serialize)]
pub struct Report {
    scenario: Scenario,
    /// Iterations per second asked for (open loop; 0 for a closed loop).
    rate: u64,
    /// Concurrent clients (closed loop; 0 for an open loop).
    connections: u64,
    seconds: f64,
    requests: u64,
    rps: f64,
    non_2xx: u64,
    errors: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Default)]
struct Tally {
    requests: u64,
    non_2xx: u64,
    errors: u64,
}

impl Tally {
    /// Counts `other`'s requests in with these.
    fn add(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.non_2xx += other.non_2xx;
        self.errors += other.errors;
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static bounds are valid")
}

fn client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn send(client: &reqwest::Client, target: &Target, inputs: &Inputs, tally: &mut Tally) {
    tally.requests += 1;
    match target.iteration(client, inputs).await {
        Ok(true) => {}
        Ok(false) => tally.non_2xx += 1,
        Err(_) => tally.errors += 1,
    }
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// `rate` requests per second at constant arrival for `duration`; each latency is measured from
/// the request's scheduled start.
pub async fn open_loop(target: &Target, rate: u32, duration: Duration) -> anyhow::Result<Report> {
    let client = client(256)?;
    let inputs = Arc::new(Inputs::load(target, &client).await?);
    let latencies = Arc::new(Mutex::new(histogram()));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let interval = Duration::from_secs(1) / rate.max(1);
    let total = u64::from(rate) * duration.as_secs();
    let started = tokio::time::Instant::now();
    let mut in_flight = JoinSet::new();
    for i in 0..total {
        let scheduled = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled).await;
        while in_flight.try_join_next().is_some() {}
        if in_flight.len() >= MAX_IN_FLIGHT {
            anyhow::bail!(
                "{MAX_IN_FLIGHT} requests in flight: the target cannot keep up with {rate}/s"
            );
        }
        let (client, target, inputs) = (client.clone(), target.clone(), Arc::clone(&inputs));
        let (latencies, tally) = (Arc::clone(&latencies), Arc::clone(&tally));
        in_flight.spawn(async move {
            let mut own = Tally::default();
            send(&client, &target, &inputs, &mut own).await;
            let latency = micros(scheduled.elapsed());
            latencies
                .lock()
                .expect("histogram lock")
                .saturating_record(latency);
            tally.lock().expect("tally lock").add(&own);
        });
    }
    while in_flight.join_next().await.is_some() {}
    let latencies = latencies.lock().expect("histogram lock");
    let tally = tally.lock().expect("tally lock");
    Ok(report(
        target,
        (u64::from(rate), 0),
        started.elapsed(),
        &latencies,
        &tally,
    ))
}

/// `connections` clients, each starting its next iteration when the last one is answered, for
/// `duration`; each latency is one whole iteration.
pub async fn closed_loop(
    target: &Target,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<Report> {
    let client = client(connections as usize)?;
    let inputs = Arc::new(Inputs::load(target, &client).await?);
    let started = tokio::time::Instant::now();
    let until = started + duration;
    let mut clients = JoinSet::new();
    for _ in 0..connections.max(1) {
        let (client, target, inputs) = (client.clone(), target.clone(), Arc::clone(&inputs));
        clients.spawn(async move {
            let (mut latencies, mut tally) = (histogram(), Tally::default());
            while tokio::time::Instant::now() < until {
                let began = tokio::time::Instant::now();
                send(&client, &target, &inputs, &mut tally).await;
                latencies.saturating_record(micros(began.elapsed()));
            }
            (latencies, tally)
        });
    }
    let (mut latencies, mut tally) = (histogram(), Tally::default());
    while let Some(done) = clients.join_next().await {
        let (own, counts) = done?;
        latencies
            .add(own)
            .expect("histograms of the same bounds add up");
        tally.add(&counts);
    }
    Ok(report(
        target,
        (0, u64::from(connections)),
        started.elapsed(),
        &latencies,
        &tally,
    ))
}

#[allow(clippy::cast_precision_loss)] // counts and microseconds far below 2^52
fn report(
    target: &Target,
    (rate, connections): (u64, u64),
    elapsed: Duration,
    latencies: &Histogram<u64>,
    tally: &Tally,
) -> Report {
    let ms = |quantile: f64| latencies.value_at_quantile(quantile) as f64 / 1000.0;
    let seconds = elapsed.as_secs_f64();
    Report {
        scenario: target.scenario,
        rate,
        connections,
        seconds,
        requests: tally.requests,
        rps: tally.requests as f64 / seconds,
        non_2xx: tally.non_2xx,
        errors: tally.errors,
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: latencies.max() as f64 / 1000.0,
    }
}
