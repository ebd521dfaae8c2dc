//! Logs and metrics: `tracing` to stderr (JSON or pretty), and the Prometheus recorder behind
//! `GET /metrics`.
//!
//! Owns: the log subscriber and the metrics recorder. May not: name any other module of the
//! crate, or import `clap` (the command line's values for [`LogFormat`] are in `config`).

use std::sync::OnceLock;

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
