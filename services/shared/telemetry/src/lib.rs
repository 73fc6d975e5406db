//! Logging for every Microshop binary: one call at start-up installs a `tracing` subscriber that
//! writes either human-friendly lines (local development) or one JSON object per line (containers).
//!
//! Request spans (see `microshop-web`) carry the service name, route, request id and trace id,
//! and event spans (see `microshop-messaging`) the event and trace id, so lines from several
//! services can be merged, and one order's saga followed across them by its `trace_id` ([`trace`]).
//! The request's deadline travels the same way ([`deadline`]), so upstreams stop work that nobody
//! waits for any more.
//!
//! Lines are formatted on the thread that logs and written by a background thread in bursts
//! ([`writer`]): synchronous line-by-line writes cost a quarter of the order service's
//! throughput (docs/performance.md).

pub mod deadline;
pub mod otlp;
pub mod signal;
pub mod trace;
mod writer;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// An error and its causes on one line, `outer: inner: …` ("error sending request: connection
/// refused"), for logs and reasons: most errors' own message leaves the cause out.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

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
    /// An `OpenTelemetry` collector's OTLP/HTTP base URL (e.g. `http://otel-collector:4318`):
    /// request and event spans are exported there. Unset: nothing is exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// Keeps the log writer running; dropping it (at the end of `main`) writes what is still
/// buffered.
#[must_use = "logs written after the guard is dropped are lost"]
pub struct LogGuard {
    // Dropped first: the last spans are exported while the writer still runs.
    _exporter: Option<otlp::Exporter>,
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
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_span_events(FmtSpan::NONE);
    let fmt = match config.format {
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            // Every enclosing span: a line deep inside a request or an event still carries the
            // request's or the event's trace id.
            .with_span_list(true)
            .boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let (export, exporter) = match config.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        Some(endpoint) => {
            let (layer, exporter) = otlp::layer(service, endpoint)?;
            (Some(layer), Some(exporter))
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(export)
        .try_init()
        .map_err(|error| InitError::AlreadyInstalled(Box::new(error)))?;
    tracing::info!(service, "logging initialised");
    Ok(LogGuard {
        _exporter: exporter,
        _writer: guard,
    })
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
    /// The OTLP exporter could not be built.
    #[error("cannot export spans to {endpoint}: {reason}")]
    Otlp {
        /// The traces URL.
        endpoint: String,
        /// What the exporter said.
        reason: String,
    },
    /// Another subscriber was installed first.
    #[error("a global log subscriber is already installed: {0}")]
    AlreadyInstalled(Box<dyn std::error::Error + Send + Sync>),
}
