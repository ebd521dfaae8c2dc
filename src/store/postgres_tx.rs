//! One PostgreSQL transaction: what it holds and how it talks to the database.
//!
//! Owns: [`PgTx`]: a snapshot (`REPEATABLE READ READ ONLY`) or a write (`READ COMMITTED`) on
//! one pooled connection, begun in one round trip; the advisory locks a write takes as it first
//! touches a record's owner ([`super::postgres_locks`]; why, in [`super::postgres_store`]); its
//! place in the commit order (the `revision` row, taken last); the memo of point lookups; the
//! end of the transaction (the commit with its change-feed row, or the rollback on drop). The
//! SQL of each table is [`super::postgres_tables`]'.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::postgres_conn::{
    PgError, corrupt, db_err, revision_of, round_trip_deadline, to_i64, wait_until,
};
use super::postgres_locks::{Owner, WHOLE_STATE_LOCK, aux_name};
use super::postgres_store::{CHANNEL, FEED_RETENTION, Pooled};
use super::rows::encode;
use super::tables::Key;
use super::{Aux, Committed, StoreError};

/// A write's last statement, sent with its `COMMIT`: the new revision (`$1`), the log records
/// (`$5`, `$6`: each numbered after its log's last, in the order appended), the revision's
/// entry in the feed (`$2`, `$3`), the notification (`$4`).
const COMMIT_WRITES: &str = "WITH revision AS (UPDATE meta SET value = $1 WHERE key = 'revision'), \
          feed AS (INSERT INTO changes (revision, everything, keys) VALUES ($1, $2, $3)), \
          logged AS (INSERT INTO logs (log, seq, value) \
             SELECT r.log, \
                    COALESCE((SELECT MAX(l.seq) FROM logs l WHERE l.log = r.log COLLATE \"C\"), 0) \
                      + ROW_NUMBER() OVER (PARTITION BY r.log ORDER BY r.n), \
                    r.value \
             FROM unnest($5::text[], $6::bytea[]) WITH ORDINALITY AS r(log, value, n)) \
     SELECT pg_notify($4, $1::text)";

/// An error the server answered for a statement (severity `ERROR`): the transaction is rolled
/// back and the session goes on. (`FATAL` and `PANIC` end the session, possibly after a
/// commit; a broken connection says nothing of what the server did.)
fn statement_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| db.parsed_severity() == Some(tokio_postgres::error::Severity::Error))
}

/// One transaction: a snapshot (read only) or a write.
pub(super) struct PgTx<'s> {
    session: RefCell<Pooled<'s>>,
    /// The latest committed revision when the transaction began; once a write holds its place
    /// in the commit order ([`PgTx::order`]), the latest committed before it.
    revision: Cell<u64>,
    /// Not yet committed or rolled back.
    open: bool,
    /// A write transaction: it locks what it touches.
    write: bool,
    /// The advisory locks this write holds (their keys).
    locked: RefCell<HashSet<i64>>,
    /// This write holds the `revision` row: its place in the commit order.
    ordered: Cell<bool>,
    /// The database gave a statement of this transaction up for a concurrent one: the
    /// transaction is void and runs again.
    contended: Cell<bool>,
    /// Side-table records whose rows this write holds locked (`FOR UPDATE`, by a sweep).
    row_locked: RefCell<BTreeSet<(&'static str, String)>>,
    /// Point lookups made, kept until the transaction writes anything.
    memo: RefCell<Memo>,
    /// Log records appended (the log's name, the record), in order: written by the commit's
    /// one statement, so the commit order is held for one statement fewer per record.
    logged: RefCell<(Vec<&'static str>, Vec<Vec<u8>>)>,
}

/// What a transaction's point lookups answered. A snapshot sees one revision, and a write
/// holds the locks of what it read, so the answers stay true until the transaction itself
/// writes (then they are dropped): a command that asks twice (for the actor, then for the
/// target) reads once.
#[derive(Default)]
struct Memo {
    /// Partners, clients and memberships, by [`remembered`] key.
    records: HashMap<(&'static str, String, String), Option<Vec<u8>>>,
    /// People by e-mail: `None`, not a person; else the employment row, if any.
    people: HashMap<String, Option<Option<Vec<u8>>>>,
}

/// The memo's key of a point lookup it keeps; `None` for one it does not.
fn remembered(key: Key<'_>) -> Option<(&'static str, String, String)> {
    match key {
        Key::Partner(id) => Some(("partner", id.to_owned(), String::new())),
        Key::Client(id) => Some(("client", id.to_owned(), String::new())),
        Key::Membership(client, email) => Some(("membership", client.to_owned(), email.to_owned())),
        Key::Employee(_) | Key::Aux(..) => None,
    }
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

impl<'s> PgTx<'s> {
    /// Begins a transaction on `pooled` and reads the revision it sees, in one round trip. A
    /// write holds the whole-state lock shared from here on; its revision is the latest
    /// committed when it began until it takes its place in the commit order.
    pub(super) fn begin(mut pooled: Pooled<'s>, write: bool) -> Result<Self, StoreError> {
        let connection = pooled.get()?;
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
        // Whatever happens next, the transaction is ended by the drop or the commit.
        let tx = PgTx {
            session: RefCell::new(pooled),
            revision: Cell::new(0),
            open: true,
            write,
            locked: RefCell::new(HashSet::new()),
            ordered: Cell::new(false),
            contended: Cell::new(false),
            row_locked: RefCell::new(BTreeSet::new()),
            memo: RefCell::new(Memo::default()),
            logged: RefCell::new((Vec::new(), Vec::new())),
        };
        let value: i64 = match revision? {
            Some(text) => text.parse().map_err(|e| corrupt("meta/revision", e))?,
            None => 0,
        };
        tx.revision.set(revision_of(value)?);
        Ok(tx)
    }

    /// Whether the database gave a statement of this transaction up for a concurrent one.
    pub(super) fn contended(&self) -> bool {
        self.contended.get()
    }

    pub(super) fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let mut session = self.session.borrow_mut();
        let rows = session.get()?.query(sql, params);
        self.noted(rows)
    }

    /// A statement that writes: the remembered lookups are dropped first.
    pub(super) fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.forget();
        let mut session = self.session.borrow_mut();
        let count = session
            .get()?
            .execute(sql, params)
            .map_err(StoreError::into_write);
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
    pub(super) fn lock(&self, owner: Owner<'_>) -> Result<(), StoreError> {
        if !self.write {
            return Ok(());
        }
        self.take_lock(owner.key())
    }

    /// In a write, takes the whole state for this transaction alone (an import, an upsert, a
    /// scan of every record): waits for every other write to end, and holds them off until the
    /// commit.
    pub(super) fn lock_everything(&self) -> Result<(), StoreError> {
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
    pub(super) fn lock_aux(&self, table: Aux, key: &str) -> Result<(), StoreError> {
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
    pub(super) fn order(&self) -> Result<(), StoreError> {
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
    pub(super) fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
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
    pub(super) fn texts(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<String>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|r| r.try_get(0).map_err(db_err))
            .collect()
    }

    /// The first two columns of every row: a key and its value.
    pub(super) fn pairs(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(db_err)?, r.try_get(1).map_err(db_err)?)))
            .collect()
    }

    /// Appends a record to the log `log` when this write commits. The caller holds the
    /// commit order ([`PgTx::order`]).
    pub(super) fn defer_log(&self, log: &'static str, record: &[u8]) {
        let mut logged = self.logged.borrow_mut();
        logged.0.push(log);
        logged.1.push(record.to_vec());
    }

    /// Drops the remembered lookups: this transaction writes.
    pub(super) fn forget(&self) {
        *self.memo.borrow_mut() = Memo::default();
    }

    /// Whether this is a write transaction.
    pub(super) fn is_write(&self) -> bool {
        self.write
    }

    /// The revision it reads (see the field).
    pub(super) fn revision(&self) -> u64 {
        self.revision.get()
    }

    /// Notes side-table records whose rows this write now holds locked (`FOR UPDATE`): their
    /// own locks are not taken ([`PgTx::lock_aux`]).
    pub(super) fn hold_rows<'k>(&self, table: Aux, keys: impl Iterator<Item = &'k str>) {
        let mut held = self.row_locked.borrow_mut();
        for key in keys {
            held.insert((aux_name(table), key.to_owned()));
        }
    }

    /// What an earlier lookup of `key` by this transaction found, if it is remembered.
    pub(super) fn recall(&self, key: Key<'_>) -> Option<Option<Vec<u8>>> {
        let key = remembered(key)?;
        self.memo.borrow().records.get(&key).cloned()
    }

    /// Remembers what a lookup of `key` found (if the memo keeps such lookups).
    pub(super) fn remember(&self, key: Key<'_>, found: Option<Vec<u8>>) {
        if let Some(key) = remembered(key) {
            self.memo.borrow_mut().records.insert(key, found);
        }
    }

    /// What an earlier lookup of a person found: `None` when not remembered.
    pub(super) fn recall_person(&self, email: &str) -> Option<Option<Option<Vec<u8>>>> {
        self.memo.borrow().people.get(email).cloned()
    }

    /// Remembers what a lookup of a person found.
    pub(super) fn remember_person(&self, email: &str, found: Option<Option<Vec<u8>>>) {
        self.memo
            .borrow_mut()
            .people
            .insert(email.to_owned(), found);
    }

    /// Bumps the revision, appends the log records, records the change in the feed, notifies,
    /// and commits, in one round trip: the writes and the `COMMIT` are sent together
    /// (pipelined), so the commit order is held for that round trip after its own.
    pub(super) fn commit(mut self, changes: &Committed) -> Result<u64, StoreError> {
        self.order()?;
        let revision = self.revision.get() + 1;
        let keys = encode(&changes.keys)?;
        let new = to_i64(revision)?;
        if revision.is_multiple_of(1_000) {
            self.execute(
                "DELETE FROM changes WHERE revision <= $1",
                &[&to_i64(revision.saturating_sub(FEED_RETENTION))?],
            )?;
        }
        let (logs, records) = std::mem::take(&mut *self.logged.borrow_mut());
        let mut session = self.session.borrow_mut();
        let connection = session.get()?;
        let writes = connection.statement(COMMIT_WRITES)?;
        // From here the transaction ends (committed, rolled back or unknown): never reused.
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
        let params: [&(dyn ToSql + Sync); 6] =
            [&new, &changes.everything, &keys, &CHANNEL, &logs, &records];
        // A parameter that cannot be encoded fails the `execute` before it is sent, but the
        // pipelined `COMMIT` would still go out and commit the rows without their revision,
        // log records and feed row. So each is encoded once here first: on failure nothing
        // is sent, and the server rolls the transaction back when the connection closes.
        if let Err(e) = encodable(&params, writes.params()) {
            connection.poisoned = true;
            return Err(e);
        }
        let outcome = wait_until(
            &connection.io,
            round_trip_deadline(),
            futures_util::future::join(
                client.execute(&writes, &params),
                client.batch_execute("COMMIT"),
            ),
        );
        if !matches!(outcome, Some((Ok(_), Ok(())))) {
            connection.poisoned = true;
        }
        match outcome {
            Some((Ok(_), Ok(()))) => {}
            // The writes failed: the server rolled the transaction back, and the `COMMIT`
            // after them only ended it. Nothing was applied.
            Some((Err(e), _)) if statement_error(&e) => {
                return Err(db_err(e).into_write());
            }
            // The server answered the `COMMIT` with an error of the statement (a deferred
            // constraint): it rolled the transaction back. (A FATAL or PANIC ends the
            // session, possibly after the commit.)
            Some((Ok(_), Err(e))) if statement_error(&e) => {
                return Err(StoreError::write(PgError(e)));
            }
            // The connection broke, or no answer came in time: the server may have committed.
            Some((Err(e), _) | (_, Err(e))) => {
                return Err(StoreError::OutcomeUnknown {
                    detail: format!("postgres: {e}"),
                });
            }
            None => {
                return Err(StoreError::OutcomeUnknown {
                    detail: "no answer within the request's time".into(),
                });
            }
        }
        drop(session);
        Ok(revision)
    }
}

/// Whether every parameter encodes as the type the statement declares for it (see
/// [`PgTx::commit`]: the check that keeps a pipelined `COMMIT` from following a statement
/// that was never sent).
fn encodable(
    params: &[&(dyn ToSql + Sync)],
    types: &[tokio_postgres::types::Type],
) -> Result<(), StoreError> {
    let mut scratch = bytes::BytesMut::new();
    for (param, ty) in params.iter().zip(types) {
        param.to_sql_checked(ty, &mut scratch).map_err(|e| {
            StoreError::Write(format!(
                "the commit's records cannot be encoded ({e}); nothing was applied"
            ))
        })?;
        scratch.clear();
    }
    Ok(())
}

#[cfg(test)]
mod encodable_tests {
    use tokio_postgres::types::{ToSql, Type};

    use super::encodable;

    #[test]
    fn a_parameter_of_another_type_is_refused_before_anything_is_sent() {
        let revision = 7_i64;
        let channel = "partner_access_changes";
        let fits: [&(dyn ToSql + Sync); 2] = [&revision, &channel];
        assert!(encodable(&fits, &[Type::INT8, Type::TEXT]).is_ok());
        let swapped: [&(dyn ToSql + Sync); 2] = [&channel, &revision];
        let refused = encodable(&swapped, &[Type::INT8, Type::TEXT]).unwrap_err();
        assert!(
            refused.to_string().contains("cannot be encoded"),
            "{refused}"
        );
    }
}
