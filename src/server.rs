//! Running the sidecar: serve on an already bound listener until a shutdown future resolves.
//!
//! Taking the listener and the shutdown signal as arguments (as mini-redis does) lets tests
//! bind port 0 and decide when to stop. On shutdown in-flight requests finish, then the
//! function returns and the store is dropped (closed cleanly). SIGHUP reloads the policies and
//! re-reads the token files.
//!
//! Connections are accepted here rather than by `axum::serve`, to bound what clients that
//! send nothing can hold: at most `max_connections` are served at once (a permit each), and
//! one more is answered at once with a 503 in the API's error shape and closed, so a flood of
//! sockets costs the sidecar a write each, never its memory or its file descriptors; a
//! connection that does not finish its request headers within `header_timeout` (or sits idle
//! between requests that long, or sends nothing at all) is closed. HTTP/1.1 only: hyper's
//! HTTP/2 server has no bound on an idle connection that answers pings, and hosts on the same
//! machine gain nothing from it. The soft limit on open files is raised to the hard limit at
//! startup (see [`raise_open_file_limit`]). On shutdown, requests in flight get
//! [`DRAIN_TIMEOUT`] to finish.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::app::App;
use crate::http::{ConnectionLimits, HttpOptions, router};

/// Serves `app` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let reload = tokio::spawn(reload_on_sighup(app.clone(), options.auth.clone()));
    let maintenance = tokio::spawn(maintain(app.clone()));
    let follower = tokio::spawn(follow(app.clone()));
    serve_connections(
        listener,
        router(app.clone(), &options),
        options.connections,
        shutdown,
    )
    .await;
    reload.abort();
    maintenance.abort();
    follower.abort();
    // The last activity notes go to disk before the store closes, and every queued decision
    // record to the decision log.
    let _ = tokio::task::spawn_blocking(move || {
        let _ = app.flush_activity();
        app.close_decision_log();
    })
    .await;
    Ok(())
}

/// How long requests in flight may take to finish once shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The most connections a sidecar may be configured to serve at once.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// The answer to a connection over the limit: written raw, before any request is read, in
/// the API's error shape.
static SHED: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| {
    let body = serde_json::json!({"error": {
        "code": "unavailable",
        "message": "too many connections: the sidecar serves as many as it may; retry shortly",
    }})
    .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Accepts connections until `shutdown`, each served on a task of its own while it holds one
/// of `limits.max_connections` permits; then lets every connection finish its request.
async fn serve_connections(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let max = limits.max_connections.clamp(1, MAX_CONNECTIONS);
    let permits = Arc::new(Semaphore::new(max));
    let (closing, closed) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection that died in the queue: wait a
                // moment instead of spinning, as axum::serve does.
                tracing::warn!(error = %e, "accept failed");
                metrics::counter!("partner_access_accept_errors_total").increment(1);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                metrics::gauge!("partner_access_connections").increment(1.0);
                let router = router.clone();
                let closed = closed.clone();
                tokio::spawn(async move {
                    serve_one(stream, router, limits.header_timeout, closed).await;
                    metrics::gauge!("partner_access_connections").decrement(1.0);
                    drop(permit);
                });
            }
            Err(_) => {
                metrics::counter!("partner_access_connections_shed_total").increment(1);
                tokio::spawn(shed(stream));
            }
        }
    }
    // New connections are refused from here on, rather than queued for nobody.
    drop(listener);
    let _ = closing.send(true);
    // Every connection has finished when every permit is back; a client that stops reading
    // its answer does not hold the shutdown longer than the drain timeout.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN_TIMEOUT, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            open = max - permits.available_permits(),
            "connections still open after the drain timeout; closing"
        );
    }
}

/// Serves the requests of one connection, HTTP/1 or HTTP/2, until it closes, times out, or
/// (once `closed` turns true) has finished the request in flight.
async fn serve_one(
    stream: TcpStream,
    router: axum::Router,
    header_timeout: Duration,
    mut closed: watch::Receiver<bool>,
) {
    let service = TowerToHyperService::new(
        router.map_request(|request: hyper::Request<Incoming>| request.map(Body::new)),
    );
    // The header timer starts when hyper first waits for a request head, which it does at
    // once: a connection that sends nothing is closed after `header_timeout` too.
    let mut connection = pin!(
        http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
    );
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        () = async { let _ = closed.wait_for(|closed| *closed).await; } => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Answers a connection over the limit and closes it, spending at most a second on it. What
/// the client sent is read and dropped before the close, so that the client sees the answer
/// rather than a reset.
async fn shed(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&SHED).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// Raises the soft limit on open files to the hard limit, so that `max_connections` sockets
/// fit besides the store's files; returns the limit in force. Where it cannot be raised the
/// limit stays as it is (and connections over it are refused by `accept`, counted and logged).
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open file limit");
            None
        }
    }
}

/// Background upkeep, every second: probe the store (so a failing store turns checks into
/// Deny even when the cache could answer them), fold pending metric samples into their
/// buckets (memory stays flat when nobody scrapes), every five seconds flush partner
/// activity, and every minute sweep a step of the idempotency table (commands that keep an
/// answer sweep a few too; this prunes what expires while no command runs).
async fn maintain(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seconds = 0u64;
    loop {
        tick.tick().await;
        seconds += 1;
        let app = app.clone();
        let flush = seconds.is_multiple_of(5);
        let sweep = seconds.is_multiple_of(60);
        let _ = tokio::task::spawn_blocking(move || {
            app.probe_store();
            crate::telemetry::metrics_upkeep();
            if flush && let Err(e) = app.flush_activity() {
                tracing::warn!(error = %e, "activity flush failed; kept for the next one");
            }
            if sweep && let Err(e) = app.sweep_idempotency_round() {
                tracing::warn!(error = %e, "idempotency sweep failed; tried again next round");
            }
        })
        .await;
    }
}

/// Reads a shared store's change feed when the store notifies a commit and every
/// `follow_interval` besides, so that what other sidecars commit is evicted here (see
/// [`crate::app`]'s `follow` module). Ends at once over a store only this sidecar writes.
async fn follow(app: Arc<App>) {
    let mut tick = tokio::time::interval(app.follow_interval());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let signal = app.change_signal();
    loop {
        match &signal {
            Some(signal) => tokio::select! {
                _ = tick.tick() => {}
                () = signal.notified() => {}
            },
            None => {
                tick.tick().await;
            }
        }
        let worker = app.clone();
        let caught_up = tokio::task::spawn_blocking(move || worker.follow_changes())
            .await
            .unwrap_or(false);
        if caught_up && !app.follows_a_shared_store() {
            return;
        }
    }
}

/// What SIGHUP does: reloads the policies (an invalid set is refused and logged, the old one
/// keeps serving) and re-reads the token files (a file that cannot be read, or holds no token,
/// is logged and the tokens in force stay).
pub async fn hangup(app: Arc<App>, auth: Arc<crate::http::Auth>) {
    tracing::info!("SIGHUP: reloading policies and token files");
    let _ = tokio::task::spawn_blocking(move || {
        let _ = app.reload_policies();
        match auth.reload() {
            Ok(counts) => {
                tracing::info!(
                    check_tokens = counts.check,
                    caller_tokens = counts.caller,
                    admin_token = counts.admin,
                    "token files reloaded"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "token files not reloaded; the tokens in force stay");
            }
        }
    })
    .await;
}

/// Reloads the policies and the token files on every SIGHUP (see [`hangup`]).
async fn reload_on_sighup(app: Arc<App>, auth: Arc<crate::http::Auth>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; reload with POST /v1/admin/policies/reload");
            return;
        };
        while hangups.recv().await.is_some() {
            hangup(app.clone(), auth.clone()).await;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (app, auth);
        std::future::pending::<()>().await;
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
