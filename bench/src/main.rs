//! `microshop-bench`: the load generator behind `make bench`.
//!
//! - `closed`: N connections, each sends its next request when the previous answered;
//! - `open`: requests at a fixed rate whatever the answers, latency measured from each request's
//!   scheduled start, so queueing is not hidden (no coordinated omission);
//! - `hello`: a hello-world axum server, the reference ceiling for HTTP on this machine;
//! - `seed`: users and products to run against.
//!
//! Every run prints one JSON object (rps, percentiles in ms, status counts) on stdout.

mod load;
mod target;

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::load::{Report, closed_loop, open_loop};
use crate::target::Target;

#[derive(Debug, Parser)]
#[command(
    name = "microshop-bench",
    about = "Load generator for Microshop's benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed loop: `connections` workers, each waiting for its answer before the next request.
    Closed {
        #[command(flatten)]
        target: Target,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds to run.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Open loop: `rate` requests per second at constant arrival.
    Open {
        #[command(flatten)]
        target: Target,
        /// Requests per second.
        #[arg(long)]
        rate: u32,
        /// Seconds to run.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Serve `GET /` → "hello" on `port` (the HTTP reference ceiling).
    Hello {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 18080)]
        port: u16,
    },
    /// Create `products` products (stock `stock` each) and one user; prints their ids as JSON.
    Seed {
        /// User service base URL.
        #[arg(long, default_value = "http://127.0.0.1:8001")]
        users: String,
        /// Product service base URL.
        #[arg(long, default_value = "http://127.0.0.1:8002")]
        products: String,
        /// How many products.
        #[arg(long, default_value_t = 1000)]
        count: u32,
        /// Stock of each product.
        #[arg(long, default_value_t = 1_000_000)]
        stock: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Closed {
            target,
            connections,
            seconds,
        } => print(&closed_loop(&target, connections, Duration::from_secs(seconds)).await?),
        Command::Open {
            target,
            rate,
            seconds,
        } => print(&open_loop(&target, rate, Duration::from_secs(seconds)).await?),
        Command::Hello { port } => target::serve_hello(port).await?,
        Command::Seed {
            users,
            products,
            count,
            stock,
        } => println!("{}", target::seed(&users, &products, count, stock).await?),
    }
    Ok(())
}

fn print(report: &Report) {
    println!(
        "{}",
        serde_json::to_string(report).expect("a report serializes")
    );
}
