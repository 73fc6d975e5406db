//! `gateway`: the shop's front door. Configuration comes from the environment; see `Config` or
//! run with `--help`.

use clap::Parser;
use gateway::{Config, SERVICE, startup};

/// jemalloc, which gives the memory of a burst back to the OS (`microshop-alloc`).
#[global_allocator]
static ALLOCATOR: microshop_alloc::Allocator = microshop_alloc::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _logs = microshop_telemetry::init(SERVICE, &config.log)?;
    let server = startup::build(&config).await?;
    microshop_web::shutdown::cancel_on_signal(server.shutdown_token());
    server.run().await?;
    Ok(())
}
