//! `partner-access serve`: run the sidecar.

use std::process::ExitCode;
use std::sync::Arc;

use crate::app::{App, AppSettings, ImportMode};
use crate::config::{Listen, ServeArgs, ServeConfig};
use crate::domain::StateDocument;
use crate::http::{Auth, ConnectionLimits, HttpOptions, Listener, UnixSocket};
use crate::{server, telemetry};

/// The bundled demo state that `--demo` loads into an empty store.
pub const DEMO_STATE: &str = include_str!("../../examples/demo-state.json");

pub fn run(args: &ServeArgs) -> ExitCode {
    let config = match args.resolve(|key| std::env::var(key).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Before the runtime: the trace exporter's HTTP client is a blocking one.
    let traces = telemetry::init_logs_and_traces(config.log_format);
    telemetry::init_metrics();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            traces.shutdown();
            return ExitCode::FAILURE;
        }
    };
    let log_format = config.log_format;
    let served = runtime.block_on(serve(config));
    // Outside the runtime, after the server stopped: the last spans are exported before exit.
    traces.shutdown();
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // Said once: as a log event where logs are JSON for a pipeline, else as the
            // command line's own `error:` line.
            match log_format {
                telemetry::LogFormat::Json if tracing::enabled!(tracing::Level::ERROR) => {
                    tracing::error!("{message}");
                }
                // On a terminal, or when RUST_LOG turns error events off: never silent.
                _ => eprintln!("error: {message}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: ServeConfig) -> Result<(), String> {
    let store =
        crate::store::open(config.store.as_deref(), &config.data).map_err(|e| e.to_string())?;
    let open = if config.policies_from_store {
        App::new_from_store
    } else {
        App::new
    };
    let app = open(
        AppSettings {
            policies_dir: config.policies.clone(),
            schema_dir: config.schema.clone(),
            cache_capacity: config.cache_capacity,
            cache_ttl: config.cache_ttl,
            follow: crate::app::FollowSettings {
                max_staleness: config.max_staleness,
                interval: config.follow_interval,
                ..Default::default()
            },
        },
        store.clone(),
    )
    .map_err(|e| e.to_string())?
    .with_idempotency_ttl(config.idempotency_ttl)
    .with_activity_flush(config.activity_flush);
    if config.demo {
        load_demo(&app)?;
    }
    if let Some(log) = config.decision_log.clone() {
        let sink = format!("{:?}", log.sink);
        app.enable_decision_log(log)
            .map_err(|e| format!("cannot open the decision log {sink}: {e}"))?;
    }
    let open_files = server::raise_open_file_limit();
    let cannot = |e: std::io::Error| format!("cannot listen on {}: {e}", config.listen);
    let listener = match &config.listen {
        Listen::Tcp(address) => Listener::Tcp(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(cannot)?,
        ),
        Listen::Unix(path) => {
            Listener::Unix(UnixSocket::bind(path, config.socket_mode).map_err(cannot)?)
        }
    };
    let auth = Auth::from_sources(config.token_sources.clone()).map_err(|e| e.to_string())?;
    if !auth.enabled() {
        tracing::warn!("no tokens configured: every route is open (loopback only)");
    }
    tracing::info!(
        listen = %config.listen,
        store = if config.store.is_some() { "postgres (shared)" } else { "redb" },
        data = %config.data.display(),
        policies = app.engine().policies().len(),
        policy_version = %app.policy_version(),
        policies_from = if app.serves_stored_policies() { "store" } else { "directory" },
        revision = app.revision(),
        max_connections = config.max_connections,
        open_files = open_files.unwrap_or_default(),
        "partner-access ready"
    );
    let options = HttpOptions {
        auth: Arc::new(auth),
        body_limit: config.body_limit,
        request_timeout: config.request_timeout,
        playground: config.playground,
        allowed_hosts: config.allowed_hosts.clone(),
        connections: ConnectionLimits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
        },
    };
    server::run(listener, Arc::new(app), options, server::shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    tracing::info!("stopped; the store is closed");
    Ok(())
}

/// Loads the demo state when the store is empty; leaves a store with data alone.
fn load_demo(app: &App) -> Result<(), String> {
    let (current, _) = app.export().map_err(|e| e.to_string())?;
    if !current.partners.is_empty() || !current.clients.is_empty() {
        tracing::info!("--demo: the store already holds data; the demo state was not loaded");
        return Ok(());
    }
    let doc = StateDocument::from_json_str(DEMO_STATE).map_err(|e| e.to_string())?;
    let revision = app
        .import(&doc, ImportMode::Replace, "serve --demo")
        .map_err(|e| format!("the demo state does not load: {e}"))?;
    tracing::info!(revision, "--demo: loaded the demo state");
    Ok(())
}
