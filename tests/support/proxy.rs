//! A TCP proxy in front of a PostgreSQL server that a test can freeze: while frozen, nothing is
//! forwarded either way but every connection stays open (a network link that stops carrying
//! packets), the way a stalled switch or a paused VM looks to the sidecar.
//!
//! `freeze_after_commit` freezes it the moment a `COMMIT` has been forwarded to the server: the
//! server commits, and its answer is held, so the sidecar cannot know the outcome.
//!
//! `cut` closes every connection open at that moment, both ways (a database restart or a
//! firewall dropping the flows, seen from the sidecar); new connections are forwarded again.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Where the proxy forwards to.
#[derive(Clone, Debug)]
enum Target {
    Tcp(String),
    Unix(PathBuf),
}

pub struct Proxy {
    pub port: u16,
    frozen: Arc<AtomicBool>,
    freeze_after_commit: Arc<AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards to the server of `url` (the first host:
    /// a Unix socket directory or a TCP host, with its port).
    pub async fn start(url: &str) -> Proxy {
        let config: tokio_postgres::Config = url.parse().unwrap();
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let target = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Unix(dir) => {
                Target::Unix(dir.join(format!(".s.PGSQL.{port}")))
            }
            tokio_postgres::config::Host::Tcp(host) => Target::Tcp(format!("{host}:{port}")),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let freeze_after_commit = Arc::new(AtomicBool::new(false));
        let (f, c) = (frozen.clone(), freeze_after_commit.clone());
        let (cuts, cut_seen) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (target, frozen, arm) = (target.clone(), f.clone(), c.clone());
                let mut cut = cut_seen.clone();
                cut.mark_unchanged();
                tokio::spawn(async move {
                    let (from_client, to_client) = inbound.into_split();
                    let forward = async move {
                        match target {
                            Target::Tcp(address) => {
                                let Ok(server) = tokio::net::TcpStream::connect(address).await
                                else {
                                    return;
                                };
                                let (from_server, to_server) = server.into_split();
                                tokio::join!(
                                    pump(from_client, to_server, frozen.clone(), Some(arm)),
                                    pump(from_server, to_client, frozen, None),
                                );
                            }
                            Target::Unix(path) => {
                                let Ok(server) = tokio::net::UnixStream::connect(path).await else {
                                    return;
                                };
                                let (from_server, to_server) = server.into_split();
                                tokio::join!(
                                    pump(from_client, to_server, frozen.clone(), Some(arm)),
                                    pump(from_server, to_client, frozen, None),
                                );
                            }
                        }
                    };
                    // A cut drops both halves of both sockets: the connection closes.
                    tokio::select! {
                        () = forward => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy {
            port: local,
            frozen,
            freeze_after_commit,
            cuts,
            task,
        }
    }

    /// Closes every connection open now; later ones are forwarded as before.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    /// The connection string of `url` (with its parameters) through this proxy.
    pub fn url(&self, url: &str) -> String {
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("host=") && !p.starts_with("port="))
            .collect();
        let config: tokio_postgres::Config = url.parse().unwrap();
        let user = config.get_user().unwrap_or("postgres");
        let db = config.get_dbname().unwrap_or("postgres");
        let mut out = format!("postgres://{user}@127.0.0.1:{}/{db}", self.port);
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
        out
    }

    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.freeze_after_commit.store(false, Ordering::SeqCst);
        self.frozen.store(false, Ordering::SeqCst);
    }

    pub fn freeze_after_commit(&self) {
        self.freeze_after_commit.store(true, Ordering::SeqCst);
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }
}

/// Forwards one direction, holding what it read while frozen. With `arm`, a chunk that carries
/// the query `COMMIT` (its text and terminating NUL: not `READ COMMITTED`) freezes the link
/// once forwarded.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    frozen: Arc<AtomicBool>,
    arm: Option<Arc<AtomicBool>>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            break;
        }
        if let Some(arm) = &arm
            && arm.load(Ordering::SeqCst)
            && buffer[..n].windows(7).any(|w| w == b"COMMIT\0")
        {
            arm.store(false, Ordering::SeqCst);
            frozen.store(true, Ordering::SeqCst);
        }
    }
    let _ = to.shutdown().await;
}
