//! Span export over OTLP/HTTP (protobuf), on only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set:
//! without it no layer is installed and spans cost what they cost before.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use crate::InitError;

/// Whether this process installed the export layer; without it [`crate::trace::link`] skips
/// the span-extension lookups on every request and event.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans are being exported.
pub fn is_exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The exporting pipeline; dropping it flushes what is still buffered.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("spans not exported at shutdown: {error}");
        }
    }
}

/// A layer exporting `service`'s spans to the collector at `endpoint` (its base URL, as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` gives it; `/v1/traces` is appended).
pub fn layer<S>(
    service: &'static str,
    endpoint: &str,
) -> Result<(impl Layer<S> + Send + Sync + 'static, Exporter), InitError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(url.clone())
        .build()
        .map_err(|error| InitError::Otlp {
            endpoint: url,
            reason: error.to_string(),
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build();
    let tracer = provider.tracer(service);
    let layer = tracing_opentelemetry::layer().with_tracer(tracer);
    EXPORTING.store(true, Ordering::Relaxed);
    Ok((layer, Exporter { provider }))
}
