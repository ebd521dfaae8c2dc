//! Running the sidecar: serve on an already bound listener until a shutdown future resolves.
//!
//! Taking the listener and the shutdown signal as arguments (as mini-redis does) lets tests
//! bind port 0 and decide when to stop. On shutdown in-flight requests finish, then the
//! function returns and the store is dropped (closed cleanly). SIGHUP reloads the policies and
//! re-reads the token files. The background upkeep (store probes, metric buckets, activity
//! flushes, idempotency sweeps) and the following of a shared store run beside the server.
//!
//! Owns: wiring [`crate::http`]'s server to [`crate::app`] and to the process's signals. May
//! not: touch HTTP itself (connections, routes, bodies: [`crate::http::serve`] does) or import
//! `axum`, `hyper` or `tower`. The soft limit on open files is raised to the hard limit at
//! startup (see [`raise_open_file_limit`]).

use std::future::Future;
use std::sync::Arc;

use crate::app::App;
use crate::http::{HttpOptions, Listener};

/// Serves `app` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: impl Into<Listener>,
    app: Arc<App>,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let reload = tokio::spawn(reload_on_sighup(app.clone(), options.auth.clone()));
    let maintenance = tokio::spawn(maintain(app.clone()));
    let follower = tokio::spawn(follow(app.clone()));
    crate::http::serve(listener.into(), app.clone(), &options, shutdown).await;
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
/// buckets (memory stays flat when nobody scrapes), every [`App::activity_flush`] (five
/// seconds unless set) flush partner activity, and every minute sweep a step of the idempotency table (commands that keep an
/// answer sweep a few too; this prunes what expires while no command runs).
async fn maintain(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seconds = 0u64;
    let flush_every = app.activity_flush().as_secs().max(1);
    loop {
        tick.tick().await;
        seconds += 1;
        let app = app.clone();
        let flush = seconds.is_multiple_of(flush_every);
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
