//! One PostgreSQL connection of the store, and how a round trip is bounded and waited for.
//!
//! Owns: [`Connection`] (a client with its prepared statements, poisoned once a round trip of
//! it timed out or its transaction's end failed), [`wait`] and [`wait_until`] (any thread may
//! wait for a round trip; the store's runtime drives the socket), the bound on every round
//! trip ([`round_trip_deadline`]), and how the driver's errors become [`StoreError`]s.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::StoreError;

/// The most one round trip may take, whatever the caller's deadline.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(5);

/// The driver's error, kept whole, saying what the server said: `Display` of a server error
/// is only "db error", so this one shows the server's message and SQLSTATE code.
#[derive(Debug)]
pub(super) struct PgError(pub(super) tokio_postgres::Error);

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_db_error() {
            Some(db) => write!(f, "postgres: {} ({})", db.message(), db.code().code()),
            None => {
                // The driver's own text ("error connecting to server") leaves out its cause
                // ("Connection refused", "password authentication failed"): said here too.
                write!(f, "postgres: {}", self.0)?;
                let mut cause = std::error::Error::source(&self.0);
                while let Some(e) = cause {
                    write!(f, ": {e}")?;
                    cause = e.source();
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for PgError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// A driver error as the store reports it: a transaction given up for a concurrent one is
/// [`StoreError::Contention`] (the store runs it again); the rest are failed reads, kept whole
/// ([`StoreError::into_write`] makes one a failed write).
pub(super) fn db_err(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.as_db_error() {
        Some(db)
            if *db.code() == SqlState::T_R_DEADLOCK_DETECTED
                || *db.code() == SqlState::T_R_SERIALIZATION_FAILURE =>
        {
            StoreError::Contention {
                detail: PgError(e).to_string(),
            }
        }
        _ => StoreError::read(PgError(e)),
    }
}

pub(super) fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    }
}

pub(super) fn revision_of(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt("meta/revision", e))
}

pub(super) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(StoreError::write)
}

/// When a round trip that starts now must end: the caller's deadline, and at most
/// [`ROUND_TRIP_LIMIT`] from now.
pub(super) fn round_trip_deadline() -> Instant {
    let limit = Instant::now() + ROUND_TRIP_LIMIT;
    super::deadline::current().map_or(limit, |deadline| deadline.min(limit))
}

/// Waits for a database round trip on the calling thread until `deadline`; `None` when it did
/// not end by then. The timer runs on the store's runtime (`io`), which drives it wherever the
/// wait happens.
pub(super) fn wait_until<F: std::future::Future>(
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
pub(super) fn wait<F: std::future::Future>(future: F) -> F::Output {
    let on_runtime_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if on_runtime_worker {
        tokio::task::block_in_place(|| futures_executor::block_on(future))
    } else {
        futures_executor::block_on(future)
    }
}

/// One open connection with the statements it has prepared.
pub(super) struct Connection {
    pub(super) client: Client,
    /// The store's runtime, for round-trip timers.
    pub(super) io: tokio::runtime::Handle,
    pub(super) statements: HashMap<&'static str, Statement>,
    /// A transaction may still be open on it (its end failed or timed out): never reuse it.
    pub(super) poisoned: bool,
}

impl Connection {
    pub(super) fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
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

    pub(super) fn query(
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

    pub(super) fn execute(
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
    pub(super) fn last_value(&mut self, sql: &str) -> Result<Option<String>, StoreError> {
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

    pub(super) fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let client = &self.client;
        let done = wait_until(&self.io, round_trip_deadline(), client.batch_execute(sql));
        self.ended(sql, done)
    }

    /// What a bounded round trip gave: its result, or a timeout that poisons the connection.
    pub(super) fn ended<T>(
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
