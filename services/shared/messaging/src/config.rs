//! RabbitMQ settings, read from the environment by each service's `Config`.

use secrecy::SecretString;

/// Where the broker is and how the service uses it.
#[derive(Debug, Clone, clap::Args)]
pub struct AmqpConfig {
    /// Broker URL; the vhost is the path, URL-encoded (`%2f` is `/`).
    #[arg(
        long = "amqp-url",
        env = "AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f",
        hide_env_values = true
    )]
    pub url: SecretString,
    /// Unacknowledged deliveries a consumer holds at once.
    #[arg(long = "amqp-prefetch", env = "AMQP_PREFETCH", default_value_t = 64)]
    pub prefetch: u16,
    /// Prefix of every exchange and queue name; empty in production, unique per test.
    #[arg(
        long = "amqp-topology-prefix",
        env = "AMQP_TOPOLOGY_PREFIX",
        default_value = ""
    )]
    pub topology_prefix: String,
}
