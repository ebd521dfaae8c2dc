//! Serving the router on a bound listener: connections are accepted here rather than by
//! `axum::serve`, to bound what clients that send nothing can hold.
//!
//! At most `max_connections` are served at once (a permit each), and one more is answered at
//! once with a 503 in the API's error shape and closed, so a flood of sockets costs the sidecar
//! a write each, never its memory or its file descriptors; a connection that does not finish
//! its request headers within `header_timeout` (or sits idle between requests that long, or
//! sends nothing at all) is closed. HTTP/1.1 only: hyper's HTTP/2 server has no bound on an
//! idle connection that answers pings, and hosts on the same machine gain nothing from it. On
//! shutdown, requests in flight get [`DRAIN_TIMEOUT`] to finish.
//!
//! A sidecar listens on TCP or on a Unix domain socket ([`Listener`]): the usual transport
//! between an application and its sidecar on one machine, with no port and no network
//! exposure (the socket file's mode says who may connect), and cheaper than loopback TCP. The
//! socket file is created with the mode asked for, refused when another process listens on
//! it, replaced when it is a stale one, and removed on shutdown.

use std::future::Future;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use super::{ConnectionLimits, HttpOptions, router};
use crate::app::App;

/// A bound listener: TCP, or a Unix domain socket.
#[derive(Debug)]
pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixSocket),
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener::Tcp(listener)
    }
}

/// A listening Unix domain socket. Its file is removed when it is dropped, if the path still
/// names this socket; the lock file beside it (`PATH.lock`) is held for as long.
#[derive(Debug)]
pub struct UnixSocket {
    listener: UnixListener,
    path: PathBuf,
    /// The socket file's device and inode, to tell it from a file put at the path since.
    identity: (u64, u64),
    /// Held (an exclusive `flock`) while this socket lives: one sidecar per path at a time,
    /// also while two start at once.
    _lock: std::fs::File,
}

impl UnixSocket {
    /// Listens on the socket file `path` with permissions `mode` (`0o660`: the owner and its
    /// group may connect).
    ///
    /// The socket is bound and given its mode in a directory only this process can enter, then
    /// renamed into place: nobody can connect while it still has the umask's permissions, and
    /// the mode is never applied to a file someone swapped in. A stale socket file at `path`
    /// (one that refuses connections: its process is gone) is replaced; a socket another
    /// process listens on, one this process may not even try, or a file that is no socket is
    /// an error that says so, and is left as it is.
    pub fn bind(path: &Path, mode: u32) -> io::Result<Self> {
        let lock_path = sibling(path, ".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)?;
        if lock.try_lock().is_err() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another sidecar holds {} (it listens on {}, or is starting to)",
                    lock_path.display(),
                    path.display()
                ),
            ));
        }
        if let Ok(metadata) = std::fs::symlink_metadata(path) {
            if !metadata.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a socket; remove it or listen elsewhere",
                        path.display()
                    ),
                ));
            }
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!("another process listens on {}", path.display()),
                    ));
                }
                // Left by a process that did not stop cleanly: nobody answers on it.
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "{} is a socket that cannot be probed ({e}); it may be another \
                             process's: remove it or listen elsewhere",
                            path.display()
                        ),
                    ));
                }
            }
        }
        let private = sibling(path, &format!(".{}.tmp", std::process::id()));
        let _ = std::fs::remove_dir_all(&private);
        std::fs::DirBuilder::new().mode(0o700).create(&private)?;
        let staged = private.join("s");
        let bound = UnixListener::bind(&staged).and_then(|listener| {
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))?;
            std::fs::rename(&staged, path)?;
            Ok(listener)
        });
        let _ = std::fs::remove_dir_all(&private);
        let listener = bound?;
        let metadata = std::fs::symlink_metadata(path)?;
        Ok(UnixSocket {
            listener,
            path: path.to_owned(),
            identity: (metadata.dev(), metadata.ino()),
            _lock: lock,
        })
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `path` with `suffix` added to its file name (`pa.sock` → `pa.sock.lock`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

impl Drop for UnixSocket {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Marks a request that came over the Unix socket: no browser can send one there, so the
/// `Host` check against DNS rebinding (`auth::check_host`) does not apply to it.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnixPeer;

/// Turns true when the server begins to shut down, in every request's extensions: a response
/// that would never end by itself (an event stream) ends then, so that shutdown does not wait
/// out the drain timeout for it.
#[derive(Debug, Clone)]
pub(super) struct Closing(pub(super) watch::Receiver<bool>);

/// What accepts connections: a TCP or a Unix listener.
trait Accept: Send + 'static {
    /// Whether its connections come over a Unix socket (see [`UnixPeer`]).
    const UNIX: bool;
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept_stream(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

impl Accept for TcpListener {
    const UNIX: bool = false;
    type Stream = TcpStream;
    async fn accept_stream(&self) -> io::Result<TcpStream> {
        let (stream, _) = self.accept().await?;
        // Answers are small and a host waits for each: no Nagle delay.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl Accept for UnixSocket {
    const UNIX: bool = true;
    type Stream = UnixStream;
    async fn accept_stream(&self) -> io::Result<UnixStream> {
        self.listener.accept().await.map(|(stream, _)| stream)
    }
}

/// Serves [`router`] over `app` on `listener` until `shutdown` resolves, then lets every
/// connection finish its request (for at most [`DRAIN_TIMEOUT`]).
pub async fn serve(
    listener: impl Into<Listener>,
    app: Arc<App>,
    options: &HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let router = router(app, options);
    match listener.into() {
        Listener::Tcp(tcp) => serve_connections(tcp, router, options.connections, shutdown).await,
        Listener::Unix(unix) => {
            serve_connections(unix, router, options.connections, shutdown).await;
        }
    }
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
async fn serve_connections<L: Accept>(
    listener: L,
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
            accepted = listener.accept_stream() => accepted,
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection that died in the queue: wait a
                // moment instead of spinning, as axum::serve does.
                tracing::warn!(error = %e, "accept failed");
                metrics::counter!("partner_access_accept_errors_total").increment(1);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                metrics::gauge!("partner_access_connections").increment(1.0);
                let router = router.clone();
                let closed = closed.clone();
                tokio::spawn(async move {
                    serve_one(stream, L::UNIX, router, limits.header_timeout, closed).await;
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
    // New connections are refused from here on, rather than queued for nobody (and a Unix
    // socket's file is removed).
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

/// Serves the requests of one HTTP/1.1 connection until it closes, times out, or
/// (once `closed` turns true) has finished the request in flight.
async fn serve_one<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    unix: bool,
    router: axum::Router,
    header_timeout: Duration,
    mut closed: watch::Receiver<bool>,
) {
    let closing = Closing(closed.clone());
    let service = TowerToHyperService::new(router.map_request(
        move |request: hyper::Request<Incoming>| {
            let mut request = request.map(Body::new);
            if unix {
                request.extensions_mut().insert(UnixPeer);
            }
            request.extensions_mut().insert(closing.clone());
            request
        },
    ));
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
async fn shed<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(&SHED).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}
