//! Logging for every Microshop binary: one call at start-up installs a `tracing` subscriber that
//! writes either human-friendly lines (local development) or one JSON object per line (containers).
//!
//! Request spans (see `microshop-web`) carry the service name, route, request id and trace id,
//! and event spans (see `microshop-messaging`) the event and trace id, so lines from several
//! services can be merged, and one order's saga followed across them by its `trace_id` ([`trace`]).
//!
//! Lines are formatted on the thread that logs and written by a background thread in bursts
//! ([`writer`]): synchronous line-by-line writes cost a quarter of the order service's
//! throughput (docs/performance.md).

pub mod trace;
mod writer;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Coloured, human-readable lines, for a terminal.
    Pretty,
}

/// Logging settings, read from the environment by each service's `Config`.
#[derive(Debug, Clone, clap::Args)]
pub struct LogConfig {
    /// Filter directives such as `info` or `info,sqlx=warn,user_service=debug`.
    #[arg(
        long = "log-filter",
        env = "RUST_LOG",
        default_value = "info,sqlx=warn"
    )]
    pub filter: String,
    /// `json` for containers, `pretty` for a terminal.
    #[arg(long = "log-format", env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub format: LogFormat,
}

/// Keeps the log writer running; dropping it (at the end of `main`) writes what is still
/// buffered.
#[must_use = "logs written after the guard is dropped are lost"]
pub struct LogGuard {
    _writer: writer::WriterGuard,
}

/// Installs the global subscriber for `service`, writing to standard output.
///
/// Returns an error when a subscriber is already installed or the filter does not parse, so a
/// typo in `RUST_LOG` stops the service at start-up instead of silently logging nothing.
pub fn init(service: &'static str, config: &LogConfig) -> Result<LogGuard, InitError> {
    let filter = EnvFilter::try_new(&config.filter).map_err(|source| InitError::Filter {
        filter: config.filter.clone(),
        source,
    })?;
    let dropped_line = match config.format {
        LogFormat::Json => dropped_json,
        LogFormat::Pretty => dropped_text,
    };
    let (writer, guard) = writer::spawn(dropped_line).map_err(InitError::Writer)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    let result = match config.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            // Every enclosing span: a line deep inside a request or an event still carries the
            // request's or the event's trace id.
            .with_span_list(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    result.map_err(InitError::AlreadyInstalled)?;
    tracing::info!(service, "logging initialised");
    Ok(LogGuard { _writer: guard })
}

fn dropped_json(count: u64) -> String {
    format!(
        "{{\"level\":\"WARN\",\"message\":\"{count} log lines were dropped: the log output could not keep up\"}}\n"
    )
}

fn dropped_text(count: u64) -> String {
    format!("WARN {count} log lines were dropped: the log output could not keep up\n")
}

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// `RUST_LOG` is not a valid filter.
    #[error("RUST_LOG={filter:?} is not a valid log filter: {source}")]
    Filter {
        /// The rejected filter text.
        filter: String,
        /// What the parser said.
        source: tracing_subscriber::filter::ParseError,
    },
    /// The writer thread could not be started.
    #[error("cannot start the log writer thread: {0}")]
    Writer(#[source] std::io::Error),
    /// Another subscriber was installed first.
    #[error("a global log subscriber is already installed: {0}")]
    AlreadyInstalled(Box<dyn std::error::Error + Send + Sync>),
}
