//! Settings of the notification service, read once from the environment at start-up.

use std::time::Duration;

use microshop_auth::VerifyConfig;
use microshop_db::DbConfig;
use microshop_messaging::AmqpConfig;
use microshop_telemetry::LogConfig;
use microshop_web::ServerConfig;
use secrecy::SecretString;

/// How e-mail leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MailTransport {
    /// To the SMTP server of `SMTP_URL`.
    Smtp,
    /// Nowhere: stored and logged (a shop without a mail server).
    Log,
}

/// How text messages leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmsProvider {
    /// Nowhere: stored and logged (development).
    Log,
    /// A signed POST to `SMS_WEBHOOK_URL`, in the shape of common SMS APIs.
    Webhook,
}

/// Everything the notification service needs to run. Defaults suit a local `make up`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "notification-service",
    version,
    about = "Microshop notification service"
)]
pub struct Config {
    /// Port for the HTTP API, health and metrics.
    #[arg(long, env = "HTTP_PORT", default_value_t = 8005)]
    pub http_port: u16,
    /// This service's own database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres:postgres@127.0.0.1:5432/notifications_db?sslmode=disable",
        hide_env_values = true
    )]
    pub database_url: SecretString,
    /// `smtp` sends e-mail to `SMTP_URL`; `log` only stores and logs it.
    #[arg(long, env = "MAIL_TRANSPORT", value_enum, default_value = "smtp")]
    pub mail_transport: MailTransport,
    /// The SMTP server: `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host:465` (TLS); or the path of a file holding it.
    #[arg(
        long,
        env = "SMTP_URL",
        default_value = "smtp://127.0.0.1:8025",
        hide_env_values = true
    )]
    pub smtp_url: SecretString,
    /// The sender of every e-mail.
    #[arg(long, env = "MAIL_FROM", default_value = "Microshop <shop@localhost>")]
    pub mail_from: String,
    /// `log` stores text messages without sending them; `webhook` posts them to
    /// `SMS_WEBHOOK_URL`.
    #[arg(long, env = "SMS_PROVIDER", value_enum, default_value = "log")]
    pub sms_provider: SmsProvider,
    /// Where `webhook` posts text messages.
    #[arg(long, env = "SMS_WEBHOOK_URL")]
    pub sms_webhook_url: Option<String>,
    /// The secret `webhook` signs text messages with (`Microshop-Signature`), or a file path.
    #[arg(long, env = "SMS_WEBHOOK_SECRET", hide_env_values = true)]
    pub sms_webhook_secret: Option<SecretString>,
    /// The shop's address as customers reach it (links in mails).
    #[arg(long, env = "SHOP_URL", default_value = "http://127.0.0.1:8000")]
    pub shop_url: String,
    /// Attempts to send one notification before it is given up (`FAILED`, dead-lettered).
    #[arg(long, env = "NOTIFICATION_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(i32).range(1..=1_000))]
    pub notification_max_attempts: i32,
    /// Wait after the first failed attempt; each next wait doubles (`1s`).
    #[arg(long, env = "NOTIFICATION_RETRY_BASE", default_value = "1s", value_parser = humantime::parse_duration)]
    pub notification_retry_base: Duration,
    /// Longest wait between two attempts (`60s`).
    #[arg(long, env = "NOTIFICATION_RETRY_MAX", default_value = "60s", value_parser = humantime::parse_duration)]
    pub notification_retry_max: Duration,
    /// Longest one SMTP or SMS delivery may take.
    #[arg(long, env = "NOTIFICATION_SEND_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub notification_send_timeout: Duration,
    /// Access-token verification.
    #[command(flatten)]
    pub auth: VerifyConfig,
    /// RabbitMQ settings.
    #[command(flatten)]
    pub amqp: AmqpConfig,
    /// HTTP server settings.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Connection pool settings.
    #[command(flatten)]
    pub db: DbConfig,
    /// Logging settings.
    #[command(flatten)]
    pub log: LogConfig,
}
