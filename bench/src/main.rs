//! `microshop-bench`: the parts of `make bench` that wrk and pgbench cannot do.
//!
//! - `open`: requests at a fixed rate whatever the answers, latency measured from each request's
//!   scheduled start, so queueing is not hidden (no coordinated omission);
//! - `closed`: clients that each send their next iteration when the last is answered, for
//!   scenarios of several requests (a checkout: fill the cart, check out);
//! - `drain`: the product service's consumer alone, working through a queue of events;
//! - `hello`: a hello-world axum server, the reference ceiling for HTTP on this machine;
//! - `seed`: buyers and products to run against (the 100,000-product catalogue of the search
//!   runs is `bench/fixtures/catalog.sql`, written with psql).
//!
//! Every measurement prints one JSON object on stdout; `scripts/bench.sh` gathers them.

mod catalog;
mod drain;
mod load;
mod seed;
mod target;

use std::time::Duration;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::drain::DrainArgs;
use crate::target::Target;

#[derive(Debug, Parser)]
#[command(
    name = "microshop-bench",
    about = "Load generator for Microshop's benchmarks (make bench)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Closed loop: `connections` clients, each starting its next iteration when the last
    /// one is answered.
    Closed {
        #[command(flatten)]
        target: Target,
        /// Concurrent clients.
        #[arg(long)]
        connections: u32,
        /// Seconds to run.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// Queue order events, start a fresh product service, time how fast it answers them all.
    Drain(DrainArgs),
    /// Serve `GET /` → "hello" on `port` (the HTTP reference ceiling).
    Hello {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 18080)]
        port: u16,
    },
    /// Register `buyers` users (signed in, each with an address) and, as the admin, create
    /// `count` products (stock `stock` each); prints the first product's id as JSON.
    Seed {
        /// The admin's e-mail (`make up` writes it to `.run/admin.env`).
        #[arg(long, env = "ADMIN_EMAIL")]
        admin_email: String,
        /// The admin's password.
        #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
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
        /// Buyers to register and sign in.
        #[arg(long, default_value_t = 64)]
        buyers: u32,
        /// Where to write the buyers (`<user id> <access token> <address id>` lines; secrets:
        /// keep it private).
        #[arg(long)]
        buyers_file: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Open {
            target,
            rate,
            seconds,
        } => print(&load::open_loop(&target, rate, Duration::from_secs(seconds)).await?),
        Command::Closed {
            target,
            connections,
            seconds,
        } => print(&load::closed_loop(&target, connections, Duration::from_secs(seconds)).await?),
        Command::Drain(args) => print(&drain::run(&args).await?),
        Command::Hello { port } => target::serve_hello(port).await?,
        Command::Seed {
            admin_email,
            admin_password,
            users,
            products,
            count,
            stock,
            buyers,
            buyers_file,
        } => print(
            &seed::seed(&seed::Seed {
                users: &users,
                products: &products,
                admin: (&admin_email, &admin_password),
                count,
                stock,
                buyers,
                buyers_file: &buyers_file,
            })
            .await?,
        ),
    }
    Ok(())
}

fn print(report: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string(report).expect("a report serializes")
    );
}
