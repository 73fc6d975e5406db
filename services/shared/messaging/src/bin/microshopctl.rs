//! `microshopctl`: operator commands for a running shop's RabbitMQ.
//!
//! ```text
//! microshopctl dlq list                     depth of every dead-letter queue
//! microshopctl dlq replay <queue> [--limit N]
//!                                           move <queue>.dlq's messages back into <queue>
//! ```

use clap::{Parser, Subcommand};
use microshop_messaging::{AmqpConfig, Broker, dlq, queue_depth};

#[derive(Debug, Parser)]
#[command(
    name = "microshopctl",
    version,
    about = "Operate a running Microshop's RabbitMQ"
)]
struct Cli {
    #[command(flatten)]
    amqp: AmqpConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dead-letter queues.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Show how many messages wait in each dead-letter queue.
    List,
    /// Move a dead-letter queue's messages back into its work queue, e.g.
    /// `microshopctl dlq replay product.order-events`.
    Replay {
        /// The work queue (its DLQ is `<queue>.dlq`).
        queue: String,
        /// Move at most this many.
        #[arg(long, default_value_t = usize::MAX)]
        limit: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let broker = Broker::new(cli.amqp.url.clone(), "microshopctl");
    let topology = cli.amqp.topology();
    match cli.command {
        Command::Dlq(DlqCommand::List) => {
            let channel = broker.channel().await?;
            for queue in topology
                .queues()
                .into_iter()
                .filter(|q| q.dead_letter_exchange.is_none())
            {
                println!(
                    "{:<40} {}",
                    queue.name,
                    queue_depth(&channel, &queue.name).await?
                );
            }
        }
        Command::Dlq(DlqCommand::Replay { queue, limit }) => {
            let moved = dlq::replay(&broker, &queue, limit).await?;
            println!("moved {moved} message(s) from {queue}.dlq back to {queue}");
        }
    }
    broker.close().await;
    Ok(())
}
