//! Logs, traces and metrics: `tracing` to stderr (JSON or pretty); OpenTelemetry traces over
//! OTLP/HTTP (protobuf) when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (off otherwise); and the Prometheus recorder
//! behind `GET /metrics`.
//!
//! Owns: the log subscriber, the trace exporter, the metrics recorder, and the only imports of
//! `tracing_subscriber` and the OpenTelemetry crates. May not: name any other module of the
//! crate, or import `clap` (the command line's values for [`LogFormat`] are in `config`).
//!
//! Traces: each request is a span (`request`, with `method`, `path`, `request_id`); a check's
//! and a command's carry `decision`, `policy_ids` (the policies that decided, comma-separated)
//! and `store_us` (time in the store), and a command's its `command` name. With no endpoint
//! set, the subscriber is exactly the log subscriber, and the check path's span stays a debug
//! span that costs nothing unless debug logging is on.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log pipelines.
    Json,
    /// Human-readable lines, for terminals.
    #[default]
    Pretty,
}

/// Installs the log subscriber (`RUST_LOG` filters; default `info`). Safe to call twice.
pub fn init_logs(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

/// Whether spans are exported (set once, by [`init_logs_and_traces`]). The check path reads
/// it to decide whether its span is worth making and filling.
static TRACES: AtomicBool = AtomicBool::new(false);

/// Whether OpenTelemetry traces are exported: an endpoint was set when the sidecar started.
#[inline]
pub fn traces_enabled() -> bool {
    TRACES.load(Ordering::Relaxed)
}

/// The trace exporter, while one runs: [`Traces::shutdown`] flushes it.
#[must_use = "shut the exporter down at exit, or the last spans are lost"]
pub struct Traces {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Traces {
    /// Exports what is buffered and stops the exporter (waiting for the export). Call it
    /// outside the async runtime, after the server stopped.
    pub fn shutdown(mut self) {
        if let Some(provider) = self.provider.take() {
            TRACES.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown() {
                tracing::warn!(error = %e, "the trace exporter did not flush at shutdown");
            }
        }
    }
}

/// The OTLP endpoint the environment names, if any (the standard variables; an empty value
/// is unset).
fn otlp_endpoint(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .into_iter()
    .find_map(|key| env(key).filter(|v| !v.trim().is_empty()))
}

/// Installs the log subscriber as [`init_logs`] does and, when `OTEL_EXPORTER_OTLP_ENDPOINT`
/// or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, an OpenTelemetry layer exporting the
/// sidecar's spans (at `info` and above, of this crate) over OTLP/HTTP with protobuf, in
/// batches, as service `partner-access` (or `OTEL_SERVICE_NAME`). The exporter reads the
/// standard variables itself (endpoint, headers, timeout). A trace exporter that cannot be
/// built is logged, and the sidecar runs without traces.
pub fn init_logs_and_traces(format: LogFormat) -> Traces {
    let getenv = |key: &str| std::env::var(key).ok();
    let Some(endpoint) = otlp_endpoint(&getenv) else {
        init_logs(format);
        return Traces { provider: None };
    };
    match trace_provider(getenv("OTEL_SERVICE_NAME").is_none()) {
        Ok(provider) => {
            install_with_traces(format, &provider);
            TRACES.store(true, Ordering::Relaxed);
            tracing::info!(%endpoint, "exporting traces over OTLP/HTTP");
            Traces {
                provider: Some(provider),
            }
        }
        Err(e) => {
            init_logs(format);
            tracing::error!(%endpoint, error = %e, "cannot build the trace exporter; no traces");
            Traces { provider: None }
        }
    }
}

fn trace_provider(
    default_name: bool,
) -> Result<opentelemetry_sdk::trace::SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    // The builder reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; the name is ours only
    // when the environment gives none.
    let mut resource = opentelemetry_sdk::Resource::builder();
    if default_name {
        resource = resource.with_service_name("partner-access");
    }
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The log layer under `RUST_LOG` and the trace layer under its own filter (this crate's spans
/// at `info` and above, whatever `RUST_LOG` says), on one registry.
fn install_with_traces(format: LogFormat, provider: &opentelemetry_sdk::trace::SdkTracerProvider) {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Pretty => fmt.boxed(),
    };
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("partner-access"))
        .with_filter(Targets::new().with_target("partner_access", LevelFilter::INFO));
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(traces)
        .try_init();
}

static METRICS: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide Prometheus recorder once; later calls reuse it.
pub fn init_metrics() {
    METRICS.get_or_init(|| {
        let buckets = [
            0.000_02, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.05,
            0.25, 1.0,
        ];
        PrometheusBuilder::new()
            .set_buckets(&buckets)
            .ok()
            .and_then(|b| b.install_recorder().ok())
    });
}

/// Drains the recorder's pending histogram samples into their buckets. Without it every
/// recorded sample stays in memory until the next scrape; the server calls it every few
/// seconds.
pub fn metrics_upkeep() {
    if let Some(Some(handle)) = METRICS.get() {
        handle.run_upkeep();
    }
}

/// The metrics in Prometheus text format.
pub fn render_metrics() -> String {
    init_metrics();
    METRICS
        .get()
        .and_then(Option::as_ref)
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::otlp_endpoint;

    #[test]
    fn the_signal_s_own_endpoint_wins_and_an_empty_one_is_unset() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(otlp_endpoint(&env(&[])), None);
        assert_eq!(
            otlp_endpoint(&env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])),
            None
        );
        assert_eq!(
            otlp_endpoint(&env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")])).as_deref(),
            Some("http://c:4318")
        );
        assert_eq!(
            otlp_endpoint(&env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                    "http://t:4318/v1/traces"
                ),
            ]))
            .as_deref(),
            Some("http://t:4318/v1/traces")
        );
    }
}
