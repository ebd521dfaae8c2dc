//! The shared store for fleets of sidecars: PostgreSQL (or anything that speaks its protocol
//! and its SQL, such as CockroachDB or YugabyteDB).
//!
//! Owns: [`PostgresStore`]: the connection pool, migrations, read views and write
//! transactions (run again when the database gives one up for a concurrent one), and the
//! change feed. A transaction's statements and locks are [`super::postgres_tx`]'s, the state's
//! meaning [`super::state`]'s.
//!
//! The tables mirror the redb layout (`migrations/`, applied by refinery at startup), with
//! byte-ordered keys so that both backends page and search in the same order.
//!
//! **Consistency.** A snapshot is a `REPEATABLE READ READ ONLY` transaction: every lookup of one
//! request sees one revision.
//!
//! A write transaction (`READ COMMITTED`) locks what it reads and writes, as it first touches
//! it: a client account, a partner, a person (by e-mail), a key of a side table (an
//! idempotency key, an access link). The locks are transaction-scoped advisory locks, taken
//! *before* the statement that reads the record, so the read sees every commit of whoever held
//! the lock before; they are held until the commit (two-phase locking). Two commands on the same
//! client account therefore run one after the other, and the second re-reads the first one's
//! result: that is what keeps the account invariants (MIG-4: a client keeps a super admin;
//! SEAT-5; LINK-2: one managing partner), which are all about one account, true when two
//! sidecars act on it at the same instant. Commands on different accounts run in parallel
//! across the fleet. Locks taken in different orders can form a cycle; the server then gives
//! one transaction up (a deadlock), and [`Store::write_dyn`] runs it again.
//!
//! The **commit order** is one more lock: the `revision` row of `meta`, taken `FOR UPDATE` only
//! at the end (by [`WriteTx::commit_revision`], by appending to a log, or by the commit), and
//! held through `COMMIT`. What needs one order across the fleet happens under it: the next
//! revision, the log sequence numbers, the change feed's row. So revisions and log records
//! commit in their order, without gaps, and a sidecar that has read the feed up to `n` has seen
//! every commit up to `n`. The lock is held for two round trips instead of a whole command:
//! the `FOR UPDATE` that takes it (and learns the revision the audit record and the answer
//! name), then one statement that writes the revision, the log records appended meanwhile
//! (kept in memory until then), the feed row and the notification, sent together with the
//! `COMMIT` (pipelined: one round trip for both).
//!
//! A transaction that replaces the whole state (an import) takes an exclusive lock that every
//! other write transaction holds shared from its start.
//!
//! **Change feed.** Each commit adds a row to `changes` (its revision and the records it
//! touched) in the same transaction and sends `NOTIFY partner_access_changes`; sidecars read
//! the feed ([`Store::changes_since`]) to evict what the others changed, when notified (a
//! connection of the store's own only `LISTEN`s) and on a timer besides.
//!
//! **Deadlines.** Every round trip (connect, query, commit) ends by the caller's deadline
//! ([`super::deadline`]: the request's time limit, carried into blocking threads) and within
//! [`ROUND_TRIP_LIMIT`] in any case, so a link that stops forwarding packets while the
//! connection stays open (a frozen network) cannot hold a request, or a command, past its
//! time. A round trip that times out drops its connection (the server rolls its transaction
//! back when it notices). Where it timed out decides what the caller is told: before `COMMIT`,
//! nothing was applied ([`StoreError::Timeout`]); while waiting for `COMMIT`'s answer (or
//! for the answer of the statement sent with it), the outcome is unknown ([`StoreError::OutcomeUnknown`]), and a retry with the same
//! `Idempotency-Key` finds out (the idempotency record commits with the command).
//!
//! **Threads.** The store's methods are synchronous, like redb's, and are called from request
//! handlers, blocking tasks and plain threads alike. The connections' sockets are driven by a
//! small runtime the store owns; a call waits for its answer with `futures_executor::block_on`,
//! which needs no runtime of its own and so works in any of those places.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

use super::postgres_conn::{Connection, db_err, revision_of, round_trip_deadline, to_i64, wait};
use super::postgres_tx::PgTx;
use super::rows::decode;
use super::state::StateTx;
use super::{Committed, Snapshot, Store, StoreError, WorkError, WriteTx};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The version of the newest migration this build carries: the database layout it writes.
pub fn schema_version() -> i32 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(refinery::Migration::version)
        .max()
        .unwrap_or(0)
}

/// The channel commits notify on.
pub const CHANNEL: &str = "partner_access_changes";

/// The most connections one sidecar opens.
const MAX_CONNECTIONS: usize = 16;
/// How long a caller waits for a free connection or a new one.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Changes kept in the feed: a sidecar further behind than this starts over (evicts all).
pub(super) const FEED_RETENTION: u64 = 100_000;
/// How many times a write transaction the database gave up for a concurrent one (a deadlock)
/// is run again before its caller is told.
const CONTENTION_RETRIES: usize = 8;

/// The [`Store`] over a PostgreSQL database.
pub struct PostgresStore {
    config: tokio_postgres::Config,
    /// Where it connects, without the password (for errors and logs).
    target: String,
    /// Drives the connections' sockets. Shut down in the background on drop, so dropping the
    /// store is allowed anywhere (inside a runtime too).
    runtime: Option<tokio::runtime::Runtime>,
    pool: Mutex<Pool>,
    released: Condvar,
    /// Woken by every `NOTIFY` on [`CHANNEL`] (any sidecar's commit), through a connection that
    /// only listens.
    changed: std::sync::Arc<tokio::sync::Notify>,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Connection>,
    open: usize,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.target)
            .finish()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A connection borrowed from the pool; it goes back when dropped, unless it broke.
pub(super) struct Pooled<'s> {
    store: &'s PostgresStore,
    connection: Option<Connection>,
}

impl Pooled<'_> {
    pub(super) fn get(&mut self) -> Result<&mut Connection, StoreError> {
        self.connection
            .as_mut()
            .ok_or_else(|| StoreError::Read("connection already returned".into()))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let mut pool = self
            .store
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if connection.poisoned || connection.client.is_closed() {
            pool.open = pool.open.saturating_sub(1);
        } else {
            pool.idle.push(connection);
        }
        drop(pool);
        self.store.released.notify_one();
    }
}

/// Where a configuration connects, without its password: `postgres://user@host:port/db` (a
/// Unix socket directory as the host), every host of a list with its port.
fn target(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            // One port for every host, or one per host; 5432 when none is given.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "postgres://{}@{hosts}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, with any of the
    /// driver's parameters) and applies the pending migrations.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Open {
            path: "postgres".into(),
            message: format!("not a PostgreSQL connection string: {e}"),
        })?;
        let target = target(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres-io")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Open {
                path: target.clone().into(),
                message: format!("cannot start the connection runtime: {e}"),
            })?;
        let changed = std::sync::Arc::new(tokio::sync::Notify::new());
        let store = PostgresStore {
            config,
            target,
            runtime: Some(runtime),
            pool: Mutex::new(Pool::default()),
            released: Condvar::new(),
            changed,
        };
        store.migrate().map_err(|e| StoreError::Open {
            path: store.target.clone().into(),
            message: e.to_string(),
        })?;
        // Listening starts once the database is known to answer (a store that cannot open
        // says so once, not again from a listener retrying in the background).
        if let Some(runtime) = &store.runtime {
            runtime.spawn(listen(store.config.clone(), store.changed.clone()));
        }
        Ok(store)
    }

    /// Where the store connects (without the password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Opens a new connection on the store's runtime and waits for it.
    fn connect(&self) -> Result<Connection, StoreError> {
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| StoreError::Read("the store is closed".into()))?;
        let config = self.config.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let result = match config.connect(NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::warn!(error = %e, "postgres connection closed");
                        }
                    });
                    Ok(client)
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(result);
        });
        let patience = round_trip_deadline().saturating_duration_since(Instant::now());
        let client = match rx.recv_timeout(patience.min(ACQUIRE_TIMEOUT)) {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => return Err(db_err(e)),
            Err(_) => {
                return Err(StoreError::Timeout {
                    what: format!("connecting to {}", self.target),
                });
            }
        };
        let mut connection = Connection {
            client,
            io: runtime.handle().clone(),
            statements: HashMap::new(),
            poisoned: false,
        };
        // A statement or a lock wait never holds a request (or the writers) forever, and a
        // transaction whose sidecar stopped talking (a frozen link: its client gave up, the
        // server cannot tell) gives its locks back after 15 s instead of holding every
        // writer of the fleet until TCP notices.
        connection.batch(
            "SET statement_timeout = '10s'; SET lock_timeout = '10s'; \
             SET idle_in_transaction_session_timeout = '15s'",
        )?;
        Ok(connection)
    }

    /// A connection from the pool, or a new one while fewer than the maximum are open.
    fn acquire(&self) -> Result<Pooled<'_>, StoreError> {
        let deadline = round_trip_deadline().min(Instant::now() + ACQUIRE_TIMEOUT);
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(connection) = pool.idle.pop() {
                return Ok(Pooled {
                    store: self,
                    connection: Some(connection),
                });
            }
            if pool.open < MAX_CONNECTIONS {
                pool.open += 1;
                drop(pool);
                return match self.connect() {
                    Ok(connection) => Ok(Pooled {
                        store: self,
                        connection: Some(connection),
                    }),
                    Err(e) => {
                        let mut pool = self
                            .pool
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        pool.open = pool.open.saturating_sub(1);
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Timeout {
                    what: format!("all {MAX_CONNECTIONS} connections to the database were busy"),
                });
            }
            pool = self
                .released
                .wait_timeout(pool, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Applies the migrations this build carries that the database has not seen.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut pooled = self.acquire()?;
        let connection = pooled.get()?;
        let report = wait(embedded::migrations::runner().run_async(&mut connection.client))
            .map_err(|e| StoreError::Write(format!("migrations failed: {e}")))?;
        for migration in report.applied_migrations() {
            tracing::info!(migration = %migration, "applied a schema migration");
        }
        Ok(())
    }

    /// Begins a transaction (see [`PgTx::begin`]) on a pooled connection.
    fn begin(&self, write: bool) -> Result<PgTx<'_>, StoreError> {
        PgTx::begin(self.acquire()?, write)
    }

    /// Changes committed after `after`, oldest first (at most `limit`), or one "everything"
    /// change when the feed no longer reaches back that far.
    fn read_changes(&self, after: u64, limit: usize) -> Result<Vec<Committed>, StoreError> {
        let tx = self.begin(false)?;
        let latest = tx.revision();
        if latest <= after {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let rows = tx.query(
            "SELECT revision, everything, keys FROM changes WHERE revision > $1 \
             ORDER BY revision LIMIT $2",
            &[&to_i64(after)?, &limit],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        // The feed is gap-free (revisions commit in their order); a gap means rows were pruned.
        for (expected, row) in (after + 1..).zip(rows) {
            let revision = revision_of(row.try_get(0).map_err(db_err)?)?;
            if revision != expected {
                break;
            }
            let keys: Vec<u8> = row.try_get(2).map_err(db_err)?;
            out.push(Committed {
                revision,
                everything: row.try_get(1).map_err(db_err)?,
                keys: decode("changes/keys", &keys)?,
            });
        }
        if out.is_empty() {
            // The revisions in between are gone from the feed (pruned, or written by an older
            // build): everything may have changed.
            return Ok(vec![Committed {
                revision: latest,
                everything: true,
                keys: Vec::new(),
            }]);
        }
        Ok(out)
    }
}

impl Store for PostgresStore {
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, StoreError> {
        Ok(Box::new(StateTx::new(self.begin(false)?)))
    }

    /// Runs `work` in a write transaction; when the database gives the transaction up for a
    /// concurrent one (a lock cycle), it is rolled back and `work` runs again, on what the
    /// other one committed, up to [`CONTENTION_RETRIES`] times.
    fn write_dyn(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        let mut attempt = 0;
        loop {
            let mut tx = StateTx::new(self.begin(true)?);
            let outcome = work(&mut tx);
            let result = if tx.tables().contended() {
                // The database gave a statement of this transaction up: whatever the work made
                // of that (an error, or a refusal built on what it could not read), the
                // transaction is void.
                drop(tx);
                Err(WorkError::Store(StoreError::Contention {
                    detail: "a statement was given up for a concurrent transaction".into(),
                }))
            } else {
                match outcome {
                    Ok(()) => tx.commit().map_err(WorkError::Store),
                    Err(e) => Err(e),
                }
            };
            let contended = matches!(
                &result,
                Err(WorkError::Store(StoreError::Contention { .. }))
            );
            attempt += 1;
            if !contended || attempt > CONTENTION_RETRIES {
                return result;
            }
            metrics::counter!("partner_access_store_contention_retries_total").increment(1);
            // A short, growing pause lets the other transaction finish.
            std::thread::sleep(Duration::from_millis(1 << attempt.min(6)));
        }
    }

    fn shared(&self) -> bool {
        true
    }

    fn change_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        Some(self.changed.clone())
    }

    fn changes_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<Vec<Committed>>, StoreError> {
        self.read_changes(after, limit).map(Some)
    }
}

/// Listens on [`CHANNEL`] for as long as the store lives, waking `changed` on every
/// notification; reconnects (after a second) when the connection is lost. Losing it costs only
/// latency: the feed is also read on a timer, and the staleness bound holds either way.
async fn listen(config: tokio_postgres::Config, changed: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let wake = changed.clone();
                let driver = tokio::spawn(async move {
                    while let Some(message) =
                        std::future::poll_fn(|cx| connection.poll_message(cx)).await
                    {
                        match message {
                            Ok(tokio_postgres::AsyncMessage::Notification(_)) => wake.notify_one(),
                            Ok(_) => {}
                            Err(e) => {
                                tracing::warn!(error = %e, "the change listener lost its connection");
                                break;
                            }
                        }
                    }
                });
                if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    tracing::warn!(error = %e, "cannot LISTEN for changes");
                    driver.abort();
                } else {
                    // Catch up on whatever was committed while not listening.
                    changed.notify_one();
                    let _ = driver.await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "the change listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
