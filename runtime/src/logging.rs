//! Logging in the shape `flux logs` parses.
//!
//! Flux controllers log one JSON object per line with controller-runtime's keys (`ts`, `level`,
//! `msg`, `controllerKind`, `name`, `namespace`, …). Eddy emits the same keys: the fields of every
//! enclosing tracing span are flattened into the line, so a reconcile span carrying
//! `controllerKind`, `name` and `namespace` tags every message logged inside it.

use std::{fmt, io};

use serde_json::{Map, Value};
use tracing::{
    Event, Level, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Id, Record},
};
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, format::Writer},
    layer::Context,
    prelude::*,
    registry::LookupSpan,
};

use crate::cli::{LogEncoding, LogLevel};

/// Installs the global logger for a controller binary.
pub fn init(level: LogLevel, encoding: LogEncoding) {
    let directive = match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Error => "error",
    };
    // Dependencies are noisy at debug; keep them at warn unless RUST_LOG says otherwise.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,{}", crate_directives(directive))));
    let registry = tracing_subscriber::registry().with(filter);
    let result = match encoding {
        LogEncoding::Json => registry
            .with(SpanFieldsLayer)
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(JsonLines)
                    .with_writer(io::stderr),
            )
            .try_init(),
        LogEncoding::Console => registry
            .with(tracing_subscriber::fmt::layer().with_writer(io::stderr))
            .try_init(),
    };
    // A logger installed earlier (tests) is fine; keep it.
    let _ = result;
}

fn crate_directives(level: &str) -> String {
    [
        "eddy",
        "source_controller",
        "kustomize_controller",
        "helm_controller",
        "notification_controller",
        "eddy_runtime",
        "eddy_image_automation",
        "image_reflector_controller",
        "image_automation_controller",
    ]
    .iter()
    .map(|target| format!("{target}={level}"))
    .collect::<Vec<_>>()
    .join(",")
}

/// Span fields kept as JSON so each log line can include them.
struct SpanFields(Map<String, Value>);

/// Records every span's fields as JSON in the span's extensions.
struct SpanFieldsLayer;

impl<S> Layer<S> for SpanFieldsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = JsonVisitor::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields.0));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(map)) = extensions.get_mut::<SpanFields>() {
            let mut fields = JsonVisitor(std::mem::take(map));
            values.record(&mut fields);
            *map = fields.0;
        }
    }
}

#[derive(Default)]
struct JsonVisitor(Map<String, Value>);

impl JsonVisitor {
    fn key(field: &Field) -> String {
        match field.name() {
            "message" => "msg".to_owned(),
            name => name.to_owned(),
        }
    }
}

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(Self::key(field), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(Self::key(field), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(Self::key(field), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(Self::key(field), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(Self::key(field), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(Self::key(field), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let key = if field.name() == "error" {
            "error".to_owned()
        } else {
            Self::key(field)
        };
        self.0.insert(key, Value::String(value.to_string()));
    }
}

/// Formats each event as one JSON line with controller-runtime's key names.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        line.insert(
            "level".into(),
            Value::String(level_name(event.metadata().level()).into()),
        );
        line.insert("ts".into(), Value::String(jiff_like_now()));
        line.insert(
            "logger".into(),
            Value::String(event.metadata().target().into()),
        );
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.clone());
                }
            }
        }
        let mut fields = JsonVisitor::default();
        event.record(&mut fields);
        line.extend(fields.0);
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "info",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

/// RFC 3339 UTC timestamp with millisecond precision, as zap's ISO8601 encoder writes it.
fn jiff_like_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    k8s_openapi::jiff::Timestamp::from_millisecond(now.as_millis() as i64)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_carry_controller_runtime_keys_and_span_fields() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::registry().with(SpanFieldsLayer).with(
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(move || sink.clone()),
        );
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "reconcile",
                controllerKind = "GitRepository",
                name = "podinfo",
                namespace = "flux-system"
            );
            let _entered = span.enter();
            tracing::info!(revision = "main@sha1:abc", "stored artifact");
        });
        let bytes = captured.0.lock().unwrap().clone();
        let line: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(line["msg"], "stored artifact");
        assert_eq!(line["level"], "info");
        assert_eq!(line["controllerKind"], "GitRepository");
        assert_eq!(line["name"], "podinfo");
        assert_eq!(line["namespace"], "flux-system");
        assert_eq!(line["revision"], "main@sha1:abc");
        assert!(line["ts"].as_str().unwrap().ends_with('Z'));
    }
}
