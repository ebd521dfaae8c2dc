//! The shared store for fleets of sidecars: PostgreSQL (or anything that speaks its protocol
//! and its SQL, such as CockroachDB or YugabyteDB).
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
//! every commit up to `n`. The lock is held for a few round trips instead of a whole command.
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
//! nothing was applied ([`StoreError::Timeout`]); while waiting for `COMMIT`'s answer, the
//! outcome is unknown ([`StoreError::OutcomeUnknown`]), and a retry with the same
//! `Idempotency-Key` finds out (the idempotency record commits with the command).
//!
//! **Threads.** The store's methods are synchronous, like redb's, and are called from request
//! handlers, blocking tasks and plain threads alike. The connections' sockets are driven by a
//! small runtime the store owns; a call waits for its answer with `futures_executor::block_on`,
//! which needs no runtime of its own and so works in any of those places.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::rows::{ClientRow, EmployeeRow, PartnerRow, decode, encode};
use super::{
    Aux, Committed, Log, SearchKind, Snapshot, StateKey, Store, StoreError, WorkError, WriteTx,
};
use crate::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email,
    EmployeeRecord, PartnerId, PartnerInfo, PartnerRecord, StateDocument, UserInfo,
};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The channel commits notify on.
pub const CHANNEL: &str = "partner_access_changes";

/// The most connections one sidecar opens.
const MAX_CONNECTIONS: usize = 16;
/// How long a caller waits for a free connection or a new one.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most one round trip may take, whatever the caller's deadline.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(5);
/// Changes kept in the feed: a sidecar further behind than this starts over (evicts all).
const FEED_RETENTION: u64 = 100_000;
/// How many times a write transaction the database gave up for a concurrent one (a deadlock)
/// is run again before its caller is told.
const CONTENTION_RETRIES: usize = 8;
/// The advisory lock every write transaction holds shared, and an import exclusive.
const WHOLE_STATE_LOCK: i64 = 0;

/// What a write transaction locks: the advisory lock key of a record's owner.
#[derive(Debug, Clone, Copy)]
enum Owner<'a> {
    Client(&'a str),
    Partner(&'a str),
    Person(&'a str),
    Aux(&'static str, &'a str),
}

impl Owner<'_> {
    /// A 64-bit key (FNV-1a of the kind and the id). Two owners that collide only share a lock:
    /// they wait for each other, which is never wrong.
    fn key(self) -> i64 {
        let (kind, id) = match self {
            Owner::Client(id) => ("client", id),
            Owner::Partner(id) => ("partner", id),
            Owner::Person(email) => ("person", email),
            Owner::Aux(table, key) => (table, key),
        };
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in kind.bytes().chain([0]).chain(id.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // Any 64-bit key but the whole-state lock's.
        match i64::from_ne_bytes(hash.to_ne_bytes()) {
            WHOLE_STATE_LOCK => 1,
            key => key,
        }
    }

    /// The owner of a side table's record: a relationship belongs to its client account, an
    /// employee's link (`partner/e-mail`) to its partner; the others are their own.
    fn of_aux(table: Aux, key: &str) -> Owner<'_> {
        match table {
            Aux::Relationships => Owner::Client(key),
            Aux::EmployeeLinks => Owner::Partner(key.split_once('/').map_or(key, |(p, _)| p)),
            Aux::AccessLinks | Aux::Idempotency => Owner::Aux(aux_name(table), key),
        }
    }
}

fn aux_name(table: Aux) -> &'static str {
    match table {
        Aux::AccessLinks => "access_links",
        Aux::EmployeeLinks => "employee_links",
        Aux::Idempotency => "idempotency",
        Aux::Relationships => "relationships",
    }
}

fn log_name(log: Log) -> &'static str {
    match log {
        Log::Audit => "audit",
        Log::Events => "events",
    }
}

fn db_err(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    // `Display` of a server error is only "db error"; the cause says what happened.
    match e.as_db_error() {
        Some(db)
            if *db.code() == SqlState::T_R_DEADLOCK_DETECTED
                || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            StoreError::Contention {
                detail: format!("postgres: {} ({})", db.message(), db.code().code()),
            }
        }
        Some(db) => StoreError::Read(format!("postgres: {} ({})", db.message(), db.code().code())),
        None => StoreError::Read(format!("postgres: {e}")),
    }
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    }
}

fn revision_of(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt("meta/revision", e))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|e| StoreError::Write(format!("value out of range: {e}")))
}

/// When a round trip that starts now must end: the caller's deadline, and at most
/// [`ROUND_TRIP_LIMIT`] from now.
fn round_trip_deadline() -> Instant {
    let limit = Instant::now() + ROUND_TRIP_LIMIT;
    super::deadline::current().map_or(limit, |deadline| deadline.min(limit))
}

/// Waits for a database round trip on the calling thread until `deadline`; `None` when it did
/// not end by then. The timer runs on the store's runtime (`io`), which drives it wherever the
/// wait happens.
fn wait_until<F: std::future::Future>(
    io: &tokio::runtime::Handle,
    deadline: Instant,
    future: F,
) -> Option<F::Output> {
    // Past the deadline nothing is sent: a statement sent now would only poison a healthy
    // connection (and a `COMMIT` would make its outcome unknown for nothing).
    if Instant::now() >= deadline {
        return None;
    }
    let bounded = {
        let _runtime = io.enter();
        tokio::time::timeout_at(deadline.into(), future)
    };
    wait(bounded).ok()
}

/// Waits for a database round trip on the calling thread. The store's own runtime drives the
/// socket, so any thread may wait; on a worker of a multi-threaded tokio runtime (a check
/// that missed the cache, answered on its request's task) the worker first hands its other
/// tasks over (`block_in_place`), so a slow database never stalls unrelated requests.
fn wait<F: std::future::Future>(future: F) -> F::Output {
    let on_runtime_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_runtime_worker {
        tokio::task::block_in_place(|| futures_executor::block_on(future))
    } else {
        futures_executor::block_on(future)
    }
}

/// One open connection with the statements it has prepared.
struct Connection {
    client: Client,
    /// The store's runtime, for round-trip timers.
    io: tokio::runtime::Handle,
    statements: HashMap<&'static str, Statement>,
    /// A transaction may still be open on it (its end failed or timed out): never reuse it.
    poisoned: bool,
}

impl Connection {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let client = &self.client;
        let prepared = match wait_until(&self.io, round_trip_deadline(), client.prepare(sql)) {
            Some(prepared) => prepared.map_err(db_err)?,
            None => {
                self.poisoned = true;
                return Err(StoreError::Timeout {
                    what: "preparing a statement".into(),
                });
            }
        };
        self.statements.insert(sql, prepared.clone());
        Ok(prepared)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let statement = self.statement(sql)?;
        let client = &self.client;
        let rows = wait_until(
            &self.io,
            round_trip_deadline(),
            client.query(&statement, params),
        );
        self.ended("a query", rows)
    }

    fn execute(
        &mut self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.statement(sql)?;
        let client = &self.client;
        let count = wait_until(
            &self.io,
            round_trip_deadline(),
            client.execute(&statement, params),
        );
        self.ended("a statement", count)
    }

    /// Runs `sql` (several statements, simple protocol, one round trip) and gives the first
    /// column of the last row it returned, as text.
    fn last_value(&mut self, sql: &str) -> Result<Option<String>, StoreError> {
        let client = &self.client;
        let done = wait_until(&self.io, round_trip_deadline(), client.simple_query(sql));
        let messages = self.ended(sql, done)?;
        Ok(messages
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .next_back())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let client = &self.client;
        let done = wait_until(&self.io, round_trip_deadline(), client.batch_execute(sql));
        self.ended(sql, done)
    }

    /// What a bounded round trip gave: its result, or a timeout that poisons the connection.
    fn ended<T>(
        &mut self,
        what: &str,
        outcome: Option<Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        match outcome {
            Some(result) => result.map_err(db_err),
            None => {
                self.poisoned = true;
                // The statement may still run on the server (waiting for a lock, say), holding
                // this transaction's locks until it notices the closed connection, which a
                // waiting statement does not: cancel it, so the server rolls back now.
                let cancel = self.client.cancel_token();
                self.io.spawn(async move {
                    let _ = cancel.cancel_query(NoTls).await;
                });
                Err(StoreError::Timeout {
                    what: what.to_owned(),
                })
            }
        }
    }
}

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
struct Pooled<'s> {
    store: &'s PostgresStore,
    connection: Option<Connection>,
}

impl Pooled<'_> {
    fn get(&mut self) -> Result<&mut Connection, StoreError> {
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

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, with any of the
    /// driver's parameters) and applies the pending migrations.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| StoreError::Open {
            path: "postgres".into(),
            message: format!("not a PostgreSQL connection string: {e}"),
        })?;
        let target = format!(
            "postgres://{}@{}/{}",
            config.get_user().unwrap_or(""),
            config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(name) => name.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or("")
        );
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
        runtime.spawn(listen(config.clone(), changed.clone()));
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

    /// Begins a transaction in `mode` and reads the revision it sees. A write holds the
    /// whole-state lock shared from here on; its revision is the latest committed when it began
    /// until it takes its place in the commit order.
    fn begin(&self, write: bool) -> Result<PgTx<'_>, StoreError> {
        let mut pooled = self.acquire()?;
        let connection = pooled.get()?;
        // One round trip: the transaction, (in a write) the whole-state lock shared, and the
        // revision it sees.
        let revision = if write {
            connection.last_value(&format!(
                "BEGIN ISOLATION LEVEL READ COMMITTED; \
                 SELECT pg_advisory_xact_lock_shared({WHOLE_STATE_LOCK}); \
                 SELECT value FROM meta WHERE key = 'revision'"
            ))
        } else {
            connection.last_value(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
                 SELECT value FROM meta WHERE key = 'revision'",
            )
        };
        // Whatever happens next, the transaction is ended by `PgTx`'s drop or commit.
        let tx = PgTx {
            session: RefCell::new(pooled),
            revision: std::cell::Cell::new(0),
            open: true,
            committed: Committed::default(),
            write,
            locked: RefCell::new(std::collections::HashSet::new()),
            ordered: std::cell::Cell::new(false),
            contended: std::cell::Cell::new(false),
            row_locked: RefCell::new(BTreeSet::new()),
            memo: RefCell::new(Memo::default()),
        };
        let value: i64 = match revision? {
            Some(text) => text.parse().map_err(|e| corrupt("meta/revision", e))?,
            None => 0,
        };
        tx.revision.set(revision_of(value)?);
        Ok(tx)
    }

    /// Changes committed after `after`, oldest first (at most `limit`), or one "everything"
    /// change when the feed no longer reaches back that far.
    fn read_changes(&self, after: u64, limit: usize) -> Result<Vec<Committed>, StoreError> {
        let tx = self.begin(false)?;
        let latest = tx.revision.get();
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
        Ok(Box::new(self.begin(false)?))
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
            let mut tx = self.begin(true)?;
            let outcome = work(&mut tx);
            let result = if tx.contended.get() {
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

/// One transaction: a snapshot (read only) or a write.
struct PgTx<'s> {
    session: RefCell<Pooled<'s>>,
    /// The latest committed revision when the transaction began; once a write holds its place
    /// in the commit order ([`PgTx::order`]), the latest committed before it.
    revision: std::cell::Cell<u64>,
    /// Not yet committed or rolled back.
    open: bool,
    /// What a write changed.
    committed: Committed,
    /// A write transaction: it locks what it touches.
    write: bool,
    /// The advisory locks this write holds (their keys).
    locked: RefCell<std::collections::HashSet<i64>>,
    /// This write holds the `revision` row: its place in the commit order.
    ordered: std::cell::Cell<bool>,
    /// The database gave a statement of this transaction up for a concurrent one: the
    /// transaction is void and runs again.
    contended: std::cell::Cell<bool>,
    /// Side-table records whose rows this write holds locked (`FOR UPDATE`, by a sweep).
    row_locked: RefCell<BTreeSet<(&'static str, String)>>,
    /// Point lookups made, kept until the transaction writes anything.
    memo: RefCell<Memo>,
}

/// What a transaction's point lookups answered. A snapshot sees one revision, and a write
/// holds the locks of what it read, so the answers stay true until the transaction itself
/// writes (then they are dropped): a command that asks twice (for the actor, then for the
/// target) reads once.
#[derive(Default)]
struct Memo {
    partners: HashMap<String, Option<PartnerInfo>>,
    clients: HashMap<String, Option<ClientInfo>>,
    users: HashMap<String, Option<UserInfo>>,
    memberships: HashMap<(String, String), Option<ClientUserRecord>>,
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let session = self.session.get_mut();
        // A poisoned connection is dropped, not rolled back: its link may not answer at all,
        // and the server rolls back a transaction whose connection closes.
        if let Ok(connection) = session.get()
            && !connection.poisoned
            && connection.batch("ROLLBACK").is_err()
        {
            // The transaction may still be open: this connection must not serve another.
            connection.poisoned = true;
        }
    }
}

impl PgTx<'_> {
    fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut session = self.session.borrow_mut();
        let rows = session.get()?.query(sql, params);
        self.noted(rows)
    }

    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.forget();
        let mut session = self.session.borrow_mut();
        let count = session.get()?.execute(sql, params).map_err(|e| match e {
            StoreError::Read(m) => StoreError::Write(m),
            other => other,
        });
        self.noted(count)
    }

    /// Notes a statement the database gave up for a concurrent transaction.
    fn noted<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Contention { .. }) = &result {
            self.contended.set(true);
        }
        result
    }

    /// In a write, locks `owner` until the commit, before the statement that reads or writes
    /// what it owns: the read then sees every commit of the lock's previous holder. A lock
    /// already held costs nothing. Snapshots lock nothing.
    fn lock(&self, owner: Owner<'_>) -> Result<(), StoreError> {
        if !self.write {
            return Ok(());
        }
        self.take_lock(owner.key())
    }

    /// In a write, takes the whole state for this transaction alone (an import, an upsert, a
    /// scan of every record): waits for every other write to end, and holds them off until the
    /// commit.
    fn lock_everything(&self) -> Result<(), StoreError> {
        if !self.write {
            return Ok(());
        }
        self.take_lock(WHOLE_STATE_LOCK)
    }

    /// Takes the advisory lock `key` until the commit. Once this write holds its place in the
    /// commit order, it must not wait for a lock: the holder may be waiting for that place, and
    /// every writer of the fleet would stall until the server found the cycle. So a lock that
    /// is not free then makes the transaction run again.
    fn take_lock(&self, key: i64) -> Result<(), StoreError> {
        if self.locked.borrow().contains(&key) {
            return Ok(());
        }
        if self.ordered.get() {
            let free: Option<bool> = self.one("SELECT pg_try_advisory_xact_lock($1)", &[&key])?;
            if free != Some(true) {
                self.contended.set(true);
                return Err(StoreError::Contention {
                    detail: "a lock asked for after taking the commit order is held".into(),
                });
            }
        } else {
            self.query("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        }
        self.locked.borrow_mut().insert(key);
        Ok(())
    }

    /// Locks a side table's record, unless this write already holds its row.
    fn lock_aux(&self, table: Aux, key: &str) -> Result<(), StoreError> {
        if self
            .row_locked
            .borrow()
            .contains(&(aux_name(table), key.to_owned()))
        {
            return Ok(());
        }
        self.lock(Owner::of_aux(table, key))
    }

    /// Takes this write's place in the commit order (the `revision` row, until the commit),
    /// once; afterwards `revision` is the latest committed before it.
    fn order(&self) -> Result<(), StoreError> {
        if self.ordered.get() {
            return Ok(());
        }
        let value: i64 = self
            .one(
                "SELECT value FROM meta WHERE key = 'revision' FOR UPDATE",
                &[],
            )?
            .unwrap_or(0);
        self.revision.set(revision_of(value)?);
        self.ordered.set(true);
        Ok(())
    }

    /// The first column of the first row, if any.
    fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<T>, StoreError> {
        self.query(sql, params)?
            .first()
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(db_err)
    }

    /// The first column of every row, as text.
    fn texts(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<String>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|r| r.try_get(0).map_err(db_err))
            .collect()
    }

    fn touch(&mut self, key: StateKey) {
        self.forget();
        self.committed.keys.push(key);
    }

    /// Drops the remembered lookups: this transaction writes.
    fn forget(&self) {
        *self.memo.borrow_mut() = Memo::default();
    }

    /// Ends the write: bumps the revision, records the change in the feed, notifies, commits.
    fn commit(mut self) -> Result<Committed, StoreError> {
        self.order()?;
        let revision = self.revision.get() + 1;
        let mut committed = std::mem::take(&mut self.committed);
        committed.keys.sort();
        committed.keys.dedup();
        committed.revision = revision;
        let keys = encode(&committed.keys)?;
        let new = to_i64(revision)?;
        // One round trip: the new revision, its entry in the feed, the notification.
        self.execute(
            "WITH revision AS (UPDATE meta SET value = $1 WHERE key = 'revision'), \
                  feed AS (INSERT INTO changes (revision, everything, keys) VALUES ($1, $2, $3)) \
             SELECT pg_notify($4, $1::text)",
            &[&new, &committed.everything, &keys, &CHANNEL],
        )?;
        if revision.is_multiple_of(1_000) {
            self.execute(
                "DELETE FROM changes WHERE revision <= $1",
                &[&to_i64(revision.saturating_sub(FEED_RETENTION))?],
            )?;
        }
        let mut session = self.session.borrow_mut();
        let connection = session.get()?;
        // A failed COMMIT leaves the transaction rolled back or unknown: never reused.
        self.open = false;
        if round_trip_deadline() <= Instant::now() {
            // No time left to send it: it is not sent, and the server rolls the transaction
            // back when the connection closes. Nothing was applied.
            connection.poisoned = true;
            return Err(StoreError::Timeout {
                what: "the commit (no time left to send it)".into(),
            });
        }
        let client = &connection.client;
        let outcome = wait_until(
            &connection.io,
            round_trip_deadline(),
            client.batch_execute("COMMIT"),
        );
        match outcome {
            Some(Ok(())) => {}
            // The server answered with an error of the statement: it rolled the transaction
            // back. (A FATAL or PANIC ends the session, possibly after the commit.)
            Some(Err(e))
                if e.as_db_error().is_some_and(|db| {
                    db.parsed_severity() == Some(tokio_postgres::error::Severity::Error)
                }) =>
            {
                connection.poisoned = true;
                return Err(StoreError::Write(db_err(e).to_string()));
            }
            // The connection broke, or no answer came in time: the server may have committed.
            Some(Err(e)) => {
                connection.poisoned = true;
                return Err(StoreError::OutcomeUnknown {
                    detail: format!("postgres: {e}"),
                });
            }
            None => {
                connection.poisoned = true;
                return Err(StoreError::OutcomeUnknown {
                    detail: "no answer within the request's time".into(),
                });
            }
        }
        drop(session);
        Ok(committed)
    }

    fn remove_client(&mut self, id: &ClientId) -> Result<(), StoreError> {
        self.lock(Owner::Client(id.as_str()))?;
        for email in self.texts(
            "DELETE FROM memberships WHERE client = $1 RETURNING email",
            &[&id.as_str()],
        )? {
            if let Ok(email) = Email::parse(&email) {
                // Locked after the delete, before the commit: a reader of this person waits
                // for the commit, or went before it.
                self.lock(Owner::Person(email.as_str()))?;
                self.touch(StateKey::Membership(id.clone(), email.clone()));
                self.touch(StateKey::User(email));
            }
        }
        self.execute("DELETE FROM assets WHERE client = $1", &[&id.as_str()])?;
        self.execute("DELETE FROM clients WHERE id = $1", &[&id.as_str()])?;
        self.remove_aux(Aux::Relationships, id.as_str())?;
        self.touch(StateKey::Client(id.clone()));
        Ok(())
    }

    fn remove_partner_employees(&mut self, id: &PartnerId) -> Result<(), StoreError> {
        for email in self.texts(
            "DELETE FROM employees WHERE partner = $1 RETURNING email",
            &[&id.as_str()],
        )? {
            if let Ok(email) = Email::parse(&email) {
                self.lock(Owner::Person(email.as_str()))?;
                self.touch(StateKey::User(email));
            }
        }
        Ok(())
    }
}

impl Directory for PgTx<'_> {
    type Error = StoreError;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
        if let Some(known) = self.memo.borrow().partners.get(id.as_str()) {
            return Ok(known.clone());
        }
        self.lock(Owner::Partner(id.as_str()))?;
        let found =
            match self.one::<Vec<u8>>("SELECT row FROM partners WHERE id = $1", &[&id.as_str()])? {
                Some(bytes) => Some(decode::<PartnerRow>(id.as_str(), &bytes)?.info()),
                None => None,
            };
        self.memo
            .borrow_mut()
            .partners
            .insert(id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
        if let Some(known) = self.memo.borrow().clients.get(id.as_str()) {
            return Ok(known.clone());
        }
        self.lock(Owner::Client(id.as_str()))?;
        let found =
            match self.one::<Vec<u8>>("SELECT row FROM clients WHERE id = $1", &[&id.as_str()])? {
                Some(bytes) => Some(decode::<ClientRow>(id.as_str(), &bytes)?.info()),
                None => None,
            };
        self.memo
            .borrow_mut()
            .clients
            .insert(id.as_str().to_owned(), found.clone());
        Ok(found)
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
        if let Some(known) = self.memo.borrow().users.get(email.as_str()) {
            return Ok(known.clone());
        }
        let found = self.read_user(email)?;
        self.memo
            .borrow_mut()
            .users
            .insert(email.as_str().to_owned(), found.clone());
        Ok(found)
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, StoreError> {
        let key = (client.as_str().to_owned(), email.as_str().to_owned());
        if let Some(known) = self.memo.borrow().memberships.get(&key) {
            return Ok(known.clone());
        }
        self.lock(Owner::Client(client.as_str()))?;
        let found = self
            .one::<Vec<u8>>(
                "SELECT record FROM memberships WHERE client = $1 AND email = $2",
                &[&client.as_str(), &email.as_str()],
            )?
            .map(|bytes| decode(&format!("{client}/{email}"), &bytes))
            .transpose()?;
        self.memo
            .borrow_mut()
            .memberships
            .insert(key, found.clone());
        Ok(found)
    }
}

impl PgTx<'_> {
    /// The person `email`: employment and whether it is a member of any client.
    fn read_user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
        self.lock(Owner::Person(email.as_str()))?;
        // One round trip: the employment row, and whether any membership exists.
        let rows = self.query(
            "SELECT (SELECT row FROM employees WHERE email = $1), \
                    EXISTS (SELECT 1 FROM memberships WHERE email = $1)",
            &[&email.as_str()],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let employment: Option<Vec<u8>> = row.try_get(0).map_err(db_err)?;
        let member: bool = row.try_get(1).map_err(db_err)?;
        let employment = employment
            .map(|bytes| decode::<EmployeeRow>(email.as_str(), &bytes))
            .transpose()?
            .map(EmployeeRow::employment);
        if employment.is_none() && !member {
            return Ok(None);
        }
        Ok(Some(UserInfo {
            email: email.clone(),
            employment,
        }))
    }
}

impl Snapshot for PgTx<'_> {
    fn revision(&self) -> u64 {
        self.revision.get()
    }

    fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError> {
        self.lock(Owner::Partner(id.as_str()))?;
        let Some(bytes) =
            self.one::<Vec<u8>>("SELECT row FROM partners WHERE id = $1", &[&id.as_str()])?
        else {
            return Ok(None);
        };
        let row: PartnerRow = decode(id.as_str(), &bytes)?;
        let mut employees = Vec::new();
        for r in self.query(
            "SELECT email, row FROM employees WHERE partner = $1 ORDER BY email",
            &[&id.as_str()],
        )? {
            let email: String = r.try_get(0).map_err(db_err)?;
            let bytes: Vec<u8> = r.try_get(1).map_err(db_err)?;
            let employee: EmployeeRow = decode(&email, &bytes)?;
            employees.push(employee.record(Email::parse(&email).map_err(|e| corrupt(&email, e))?));
        }
        Ok(Some(row.record(employees)))
    }

    fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        self.lock(Owner::Client(id.as_str()))?;
        // One statement: the account's row, its users, its assets and its relationship.
        let rows = self.query(
            "SELECT (SELECT row FROM clients WHERE id = $1), \
                    ARRAY(SELECT record FROM memberships WHERE client = $1 ORDER BY email), \
                    ARRAY(SELECT record FROM assets WHERE client = $1 ORDER BY id), \
                    (SELECT value FROM aux WHERE tbl = $2 AND key = $3)",
            &[
                &id.as_str(),
                &aux_name(Aux::Relationships),
                &id.as_str().as_bytes(),
            ],
        )?;
        let Some(found) = rows.first() else {
            return Ok(None);
        };
        let Some(bytes) = found.try_get::<_, Option<Vec<u8>>>(0).map_err(db_err)? else {
            return Ok(None);
        };
        let row: ClientRow = decode(id.as_str(), &bytes)?;
        let users = found
            .try_get::<_, Vec<Vec<u8>>>(1)
            .map_err(db_err)?
            .iter()
            .map(|b| decode(id.as_str(), b))
            .collect::<Result<Vec<ClientUserRecord>, _>>()?;
        let assets = found
            .try_get::<_, Vec<Vec<u8>>>(2)
            .map_err(db_err)?
            .iter()
            .map(|b| decode(id.as_str(), b))
            .collect::<Result<Vec<AssetRecord>, _>>()?;
        let relationship = found
            .try_get::<_, Option<Vec<u8>>>(3)
            .map_err(db_err)?
            .map(|b| decode(id.as_str(), &b))
            .transpose()?;
        // The account's own fields, for a later `client` lookup of this transaction.
        let info = decode::<ClientRow>(id.as_str(), &bytes)?.info();
        self.memo
            .borrow_mut()
            .clients
            .insert(id.as_str().to_owned(), Some(info));
        Ok(Some(row.record(users, assets, relationship)))
    }

    fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError> {
        self.lock(Owner::Person(email.as_str()))?;
        self.texts(
            "SELECT client FROM memberships WHERE email = $1 ORDER BY client",
            &[&email.as_str()],
        )?
        .into_iter()
        .map(|id| ClientId::parse(&id).map_err(|e| corrupt(&id, e)))
        .collect()
    }

    fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError> {
        self.lock_everything()?;
        self.texts("SELECT id FROM partners ORDER BY id", &[])?
            .into_iter()
            .map(|id| PartnerId::parse(&id).map_err(|e| corrupt(&id, e)))
            .collect()
    }

    fn client_ids(&self) -> Result<Vec<ClientId>, StoreError> {
        self.lock_everything()?;
        self.texts("SELECT id FROM clients ORDER BY id", &[])?
            .into_iter()
            .map(|id| ClientId::parse(&id).map_err(|e| corrupt(&id, e)))
            .collect()
    }

    fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.lock_aux(table, key)?;
        self.one(
            "SELECT value FROM aux WHERE tbl = $1 AND key = $2",
            &[&aux_name(table), &key.as_bytes()],
        )
    }

    fn aux_after(
        &self,
        table: Aux,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // In a write (a sweep), the sweep first takes its place in the commit order: every
        // other writer of these records writes them under that order too, so none writes them
        // until this one commits, and the rows read are current. (They come locked besides.)
        // The sweep then removes or rewrites exactly what it read, without the records' own
        // locks, which a command that has not taken its order yet may hold.
        if self.write {
            self.order()?;
        }
        let sql = if self.write {
            "SELECT key, value FROM aux WHERE tbl = $1 AND key > $2 ORDER BY key LIMIT $3 \
             FOR UPDATE SKIP LOCKED"
        } else {
            "SELECT key, value FROM aux WHERE tbl = $1 AND key > $2 ORDER BY key LIMIT $3"
        };
        let records: Vec<(String, Vec<u8>)> = self
            .query(sql, &[&aux_name(table), &after.as_bytes(), &limit])?
            .iter()
            .map(|row| {
                let key: Vec<u8> = row.try_get(0).map_err(db_err)?;
                let value: Vec<u8> = row.try_get(1).map_err(db_err)?;
                String::from_utf8(key)
                    .map(|key| (key, value))
                    .map_err(|e| corrupt("aux key", e))
            })
            .collect::<Result<_, _>>()?;
        if self.write {
            let mut held = self.row_locked.borrow_mut();
            for (key, _) in &records {
                held.insert((aux_name(table), key.clone()));
            }
        }
        Ok(records)
    }

    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            "SELECT seq, value FROM logs WHERE log = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&log_name(log), &to_i64(after)?, &limit],
        )?
        .iter()
        .map(|r| {
            let seq: i64 = r.try_get(0).map_err(db_err)?;
            Ok((revision_of(seq)?, r.try_get(1).map_err(db_err)?))
        })
        .collect()
    }

    fn search(
        &self,
        kind: SearchKind,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.lock_everything()?;
        let n = i64::try_from(limit).unwrap_or(i64::MAX);
        let queries: &[&'static str] = match kind {
            SearchKind::Account => &["SELECT id FROM clients WHERE id >= $1 ORDER BY id LIMIT $2"],
            SearchKind::Partner => &["SELECT id FROM partners WHERE id >= $1 ORDER BY id LIMIT $2"],
            SearchKind::User => &[
                "SELECT email FROM employees WHERE email >= $1 ORDER BY email LIMIT $2",
                "SELECT DISTINCT email FROM memberships WHERE email >= $1 ORDER BY email LIMIT $2",
            ],
        };
        let mut found = BTreeSet::new();
        for sql in queries {
            found.extend(
                self.texts(sql, &[&prefix, &n])?
                    .into_iter()
                    .take_while(|id| id.starts_with(prefix)),
            );
        }
        Ok(found.into_iter().take(limit).collect())
    }
}

impl WriteTx for PgTx<'_> {
    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError> {
        self.lock_everything()?;
        self.execute("DELETE FROM memberships", &[])?;
        self.execute("DELETE FROM assets", &[])?;
        self.execute("DELETE FROM clients", &[])?;
        self.execute("DELETE FROM employees", &[])?;
        self.execute("DELETE FROM partners", &[])?;
        self.execute(
            "DELETE FROM aux WHERE tbl = $1",
            &[&aux_name(Aux::Relationships)],
        )?;
        for partner in &doc.partners {
            self.put_partner(partner)?;
        }
        for client in &doc.clients {
            self.put_client(client)?;
        }
        self.committed.everything = true;
        Ok(())
    }

    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError> {
        self.lock(Owner::Partner(partner.id.as_str()))?;
        let row = encode(&PartnerRow::of(partner))?;
        self.execute(
            "INSERT INTO partners (id, row) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET row = excluded.row",
            &[&partner.id.as_str(), &row],
        )?;
        self.remove_partner_employees(&partner.id)?;
        for employee in &partner.employees {
            self.put_employee(&partner.id, employee)?;
        }
        self.touch(StateKey::Partner(partner.id.clone()));
        Ok(())
    }

    fn put_employee(
        &mut self,
        partner: &PartnerId,
        employee: &EmployeeRecord,
    ) -> Result<(), StoreError> {
        self.lock(Owner::Partner(partner.as_str()))?;
        self.lock(Owner::Person(employee.email.as_str()))?;
        let current: Option<String> = self.one(
            "SELECT partner FROM employees WHERE email = $1",
            &[&employee.email.as_str()],
        )?;
        if let Some(other) = current.filter(|p| p != partner.as_str()) {
            return Err(StoreError::Rejected(format!(
                "`{}` is already an employee of partner `{other}`; an e-mail belongs to one partner",
                employee.email
            )));
        }
        let row = encode(&EmployeeRow::of(partner, employee))?;
        self.execute(
            "INSERT INTO employees (email, partner, row) VALUES ($1, $2, $3) \
             ON CONFLICT (email) DO UPDATE SET partner = excluded.partner, row = excluded.row",
            &[&employee.email.as_str(), &partner.as_str(), &row],
        )?;
        self.touch(StateKey::User(employee.email.clone()));
        Ok(())
    }

    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        // `client` locks the account.
        if self.client(&client.id)?.is_some() {
            self.remove_client(&client.id)?;
        }
        self.put_client_row(client)?;
        for user in &client.users {
            self.put_user(&client.id, user)?;
        }
        for asset in &client.assets {
            self.put_asset(&client.id, asset)?;
        }
        match &client.relationship {
            Some(r) => self.put_aux(Aux::Relationships, client.id.as_str(), &encode(r)?)?,
            None => self.remove_aux(Aux::Relationships, client.id.as_str())?,
        }
        self.touch(StateKey::Client(client.id.clone()));
        Ok(())
    }

    fn put_client_row(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.lock(Owner::Client(client.id.as_str()))?;
        let row = encode(&ClientRow::of(client))?;
        self.execute(
            "INSERT INTO clients (id, row) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET row = excluded.row",
            &[&client.id.as_str(), &row],
        )?;
        self.touch(StateKey::Client(client.id.clone()));
        Ok(())
    }

    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError> {
        self.lock(Owner::Client(client.as_str()))?;
        self.lock(Owner::Person(user.email.as_str()))?;
        let record = encode(user)?;
        self.execute(
            "INSERT INTO memberships (client, email, record) VALUES ($1, $2, $3) \
             ON CONFLICT (client, email) DO UPDATE SET record = excluded.record",
            &[&client.as_str(), &user.email.as_str(), &record],
        )?;
        self.touch(StateKey::Membership(client.clone(), user.email.clone()));
        self.touch(StateKey::User(user.email.clone()));
        Ok(())
    }

    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError> {
        self.lock(Owner::Client(client.as_str()))?;
        self.lock(Owner::Person(email.as_str()))?;
        let removed = self.execute(
            "DELETE FROM memberships WHERE client = $1 AND email = $2",
            &[&client.as_str(), &email.as_str()],
        )? > 0;
        self.touch(StateKey::Membership(client.clone(), email.clone()));
        self.touch(StateKey::User(email.clone()));
        Ok(removed)
    }

    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError> {
        self.lock(Owner::Client(client.as_str()))?;
        let record = encode(asset)?;
        self.execute(
            "INSERT INTO assets (client, id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (client, id) DO UPDATE SET record = excluded.record",
            &[&client.as_str(), &asset.id.as_str(), &record],
        )?;
        Ok(())
    }

    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock_aux(table, key)?;
        self.execute(
            "INSERT INTO aux (tbl, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
            &[&aux_name(table), &key.as_bytes(), &value],
        )?;
        Ok(())
    }

    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError> {
        self.lock_aux(table, key)?;
        self.execute(
            "DELETE FROM aux WHERE tbl = $1 AND key = $2",
            &[&aux_name(table), &key.as_bytes()],
        )?;
        Ok(())
    }

    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<u64, StoreError> {
        // Under the commit order, so the next number is free and numbers commit in order.
        self.order()?;
        let next: i64 = self
            .one(
                "INSERT INTO logs (log, seq, value) \
                 SELECT $1, COALESCE(MAX(seq), 0) + 1, $2 FROM logs WHERE log = $1 \
                 RETURNING seq",
                &[&log_name(log), &value],
            )
            .map_err(|e| match e {
                StoreError::Read(m) => StoreError::Write(m),
                other => other,
            })?
            .ok_or_else(|| StoreError::Write("the log record was not written".into()))?;
        revision_of(next)
    }

    fn commit_revision(&mut self) -> Result<u64, StoreError> {
        self.order()?;
        Ok(self.revision.get() + 1)
    }

    fn exclusive(&mut self) -> Result<(), StoreError> {
        self.lock_everything()
    }
}
