//! `payment-sandbox`: the shop's stand-in card provider (`docs/payments.md`). Configuration
//! comes from the environment; see `Config` or run with `--help`.

use clap::Parser;
use payment_sandbox::{Config, SERVICE, startup};

/// jemalloc, which gives the memory of a burst back to the OS (`microshop-alloc`).
#[global_allocator]
static ALLOCATOR: microshop_alloc::Allocator = microshop_alloc::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let _logs = microshop_telemetry::init(SERVICE, &config.log)?;
    let server = startup::build(config).await?;
    microshop_web::shutdown::cancel_on_signal(server.shutdown_token());
    server.run().await?;
    Ok(())
}
