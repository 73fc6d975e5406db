//! Logging for every Microshop binary: one call at start-up installs a `tracing` subscriber that
//! writes either human-friendly lines (local development) or one JSON object per line (containers).
//!
//! Request spans (see `microshop-web`) carry the service name, route and request id, so lines from
//! several services can be merged and still be read at 3 a.m.
//!
//! Lines are formatted on the thread that logs and written by a background thread through a
//! buffer, one `write` per burst instead of one per line: synchronous line-by-line writes cost
//! a quarter of the order service's throughput (docs/benchmarks.md).

use std::io::BufWriter;

use clap::ValueEnum;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Bytes the log writer gathers before it writes; it also writes whenever it runs out of lines.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

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
    _writer: WorkerGuard,
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
    let (writer, guard) = tracing_appender::non_blocking(BufWriter::with_capacity(
        WRITE_BUFFER_BYTES,
        std::io::stdout(),
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    let result = match config.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
    result.map_err(InitError::AlreadyInstalled)?;
    tracing::info!(service, "logging initialised");
    Ok(LogGuard { _writer: guard })
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
    /// Another subscriber was installed first.
    #[error("a global log subscriber is already installed: {0}")]
    AlreadyInstalled(Box<dyn std::error::Error + Send + Sync>),
}
