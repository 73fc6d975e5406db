//! W3C trace context (`traceparent`), carried from an HTTP request through the calls it makes
//! and the events it causes, so one order's whole saga is one trace and every log line of it
//! carries the same `trace_id`.
//!
//! The context of the work at hand lives in a task-local ([`scope`], [`current`]): the HTTP
//! server sets it per request, the consumer per event, and the HTTP client and the outbox read
//! it. With `OTEL_EXPORTER_OTLP_ENDPOINT` set, request and event spans are also exported
//! ([`crate::otlp`]); [`link`] makes the exported span and these ids the same span.

use std::fmt;
use std::future::Future;

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// The header (and AMQP header) carrying the context.
pub const TRACEPARENT: &str = "traceparent";

/// A position in a trace: the trace, and the span of the work at hand.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: u128,
    span_id: u64,
    sampled: bool,
}

impl TraceContext {
    /// A new trace (nobody upstream sent one).
    pub fn root() -> Self {
        Self {
            trace_id: non_zero(rand::random()),
            span_id: non_zero(rand::random()),
            sampled: true,
        }
    }

    /// A span of the same trace, for work this one starts (a call, an event, a request).
    #[must_use]
    pub fn child(&self) -> Self {
        Self {
            span_id: non_zero(rand::random()),
            ..*self
        }
    }

    /// Parses a `traceparent` value (version 00, or a later version read as 00); `None` for
    /// anything malformed, all-zero ids included, as the W3C spec asks.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let span = parts.next()?;
        let flags = parts.next()?;
        let hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        };
        if !hex(version, 2)
            || version == "ff"
            || !hex(trace, 32)
            || !hex(span, 16)
            || !hex(flags, 2)
        {
            return None;
        }
        if version == "00" && parts.next().is_some() {
            return None;
        }
        let trace_id = u128::from_str_radix(trace, 16).ok().filter(|id| *id != 0)?;
        let span_id = u64::from_str_radix(span, 16).ok().filter(|id| *id != 0)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        Some(Self {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
        })
    }

    /// The `traceparent` value naming this span.
    pub fn header(&self) -> String {
        format!(
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }

    /// The trace id as 32 hex digits, as log lines carry it.
    pub fn trace_id(&self) -> String {
        format!("{:032x}", self.trace_id)
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

fn non_zero<T: PartialEq + From<u8>>(id: T) -> T {
    if id == T::from(0) { T::from(1) } else { id }
}

/// Runs `work` with `context` as the current trace context.
pub async fn scope<F: Future>(context: TraceContext, work: F) -> F::Output {
    CURRENT.scope(context, work).await
}

/// The trace context of the work at hand, if any.
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(|context| *context).ok()
}

/// The `traceparent` to send with a call or event made now: the current span (the request or
/// event at hand) as the parent, or a new trace.
pub fn outgoing() -> String {
    current().unwrap_or_else(TraceContext::root).header()
}

/// Makes the span of a piece of work whose caller is `parent` with `make`, and returns it with its
/// context. `make` gets the trace id to put in the span's `trace_id` field when it is known
/// before the span exists (export off), which costs a log formatter less than recording it
/// afterwards; with export on the exported span decides it, so `make` gets `None` and the id is
/// recorded once the span is linked (see [`link`]).
pub fn start(
    parent: Option<&TraceContext>,
    make: impl FnOnce(Option<&str>) -> tracing::Span,
) -> (tracing::Span, TraceContext) {
    if !crate::otlp::is_exporting() {
        let context = parent.map_or_else(TraceContext::root, TraceContext::child);
        return (make(Some(&context.trace_id())), context);
    }
    let span = make(None);
    let context = link(&span, parent);
    span.record("trace_id", context.trace_id());
    (span, context)
}

/// Makes `span` (not yet entered) the span of a piece of work whose caller is `parent`, and
/// returns its context. With span export on, the exported span becomes a child of `parent` and
/// its own ids are returned, so what is logged and what is exported agree; without it, a new
/// span id under `parent`'s trace (or a new trace).
pub fn link(span: &tracing::Span, parent: Option<&TraceContext>) -> TraceContext {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    if !crate::otlp::is_exporting() {
        return parent.map_or_else(TraceContext::root, TraceContext::child);
    }
    if let Some(parent) = parent {
        let flags = if parent.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let remote = SpanContext::new(
            TraceId::from(parent.trace_id),
            SpanId::from(parent.span_id),
            flags,
            true,
            TraceState::default(),
        );
        // Fails only when export is off (no layer) or the span already started: both harmless.
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
    let exported = span.context().span().span_context().clone();
    if exported.is_valid() {
        return TraceContext {
            trace_id: u128::from_be_bytes(exported.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(exported.span_id().to_bytes()),
            sampled: exported.is_sampled(),
        };
    }
    parent.map_or_else(TraceContext::root, TraceContext::child)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_header_round_trips() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = TraceContext::parse(value).expect("valid");
        assert_eq!(context.header(), value);
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let child = context.child();
        assert_eq!(child.trace_id(), context.trace_id());
        assert_ne!(child.header(), context.header());
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(TraceContext::parse(bad).is_none(), "{bad:?} accepted");
        }
        assert!(
            TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")
                .is_some(),
            "a later version is read as 00"
        );
    }

    #[tokio::test]
    async fn the_scope_sets_the_current_context() {
        assert!(current().is_none());
        let context = TraceContext::root();
        let seen = scope(context, async { current() }).await;
        assert_eq!(seen, Some(context));
        let outgoing = scope(context, async { outgoing() }).await;
        assert_eq!(outgoing, context.header(), "the work at hand is the parent");
    }
}
