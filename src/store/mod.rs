//! The state store: every change atomic and durable before it answers, a revision per commit.
//!
//! Owns: the only imports of `redb`, `tokio_postgres` and `refinery`. May name: `domain` (and
//! `fixtures` in its tests). May not: name the policy engine, the cache, the use cases or HTTP.
//!
//! The rest of the service sees the store through two small traits: a [`Snapshot`] is a
//! consistent read view at one revision (it implements [`Directory`], the point lookups a
//! decision needs), and a [`WriteTx`] is one atomic, durable write transaction that can read
//! what it is about to change. [`Store`] hands out both. Two backends implement them:
//! [`RedbStore`] (one file, the default) and [`PostgresStore`] (one database shared by a fleet
//! of sidecars); [`open`] picks one from the settings. Neither the HTTP layer nor the commands
//! know which.
//!
//! Every committed write bumps the store's **revision** by one and reports which records it
//! touched, so the check-path cache can drop exactly those. A shared store also publishes them
//! in a change feed ([`Store::changes_since`]) for the other sidecars' caches.
//!
//! Inside, the two backends share one meaning of the state. Each implements a narrow interface
//! over the state's tables (`tables`: get, range, put, delete, commit; a few composed reads a
//! backend may answer in one statement), and one state transaction (`state::StateTx`) is
//! written over it: the records composed from their rows, the cascades of a write, the keys a
//! write makes stale, the count of writes the group commit relies on.
//!
//! - `state`, `tables`, `rows`: the state transaction, the backend interface, the stored
//!   rows. `error`: [`StoreError`].
//! - redb: `redb_store` (the store), `redb_tables` (its tables), `redb_file` (the file),
//!   `redb_backup` (backups, the offline check), `group_commit`, `guard` (damage and disk
//!   failures).
//! - PostgreSQL: `postgres_store` (the store, the pool, the change feed), `postgres_tx` (a
//!   transaction, its locks and commit), `postgres_tables` (the SQL of each table),
//!   `postgres_locks` (what a write locks), `postgres_conn` (a connection, bounded round
//!   trips). [`deadline`]: the time a caller has left.

pub mod deadline;
mod error;
mod group_commit;
mod guard;
mod postgres_conn;
mod postgres_locks;
mod postgres_store;
mod postgres_tables;
mod postgres_tx;
mod redb_backup;
mod redb_file;
mod redb_store;
mod redb_tables;
mod rows;
mod state;
mod tables;
#[cfg(test)]
mod tests;

use crate::domain::{
    AssetRecord, ClientId, ClientRecord, ClientUserRecord, Directory, Email, EmployeeRecord,
    PartnerId, PartnerRecord, StateDocument,
};

pub use error::{Access, Source, StoreError};
pub use postgres_store::PostgresStore;
pub use redb_backup::StoreCheck;
pub use redb_file::DiskFaults;
pub use redb_store::RedbStore;

/// The store formats this build reads and writes, for `partner-access --version`: the redb
/// file's layout version and the PostgreSQL schema's newest migration.
pub fn format_versions() -> (u64, i32) {
    (redb_store::FORMAT, postgres_store::schema_version())
}

/// A record whose cached copy a write makes stale.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum StateKey {
    Partner(PartnerId),
    Client(ClientId),
    User(Email),
    Membership(ClientId, Email),
    /// Which stored policy set is active ([`Aux::PolicyActivations`]): a sidecar serving the
    /// store's policies reloads them when a change carries it. No cached lookup has this key.
    ActivePolicy,
}

/// The append-only logs: each record gets the next sequence number (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log {
    /// Every command, allowed or denied.
    Audit,
    /// The outbox of events for hosts (`access_link.approved`, `user.created`, ...).
    Events,
}

/// Side tables of the commands, keyed by text, holding JSON the use cases define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aux {
    /// Access-link token digest → the link.
    AccessLinks,
    /// `partner/e-mail` → the digest of the employee's current link (rotation revokes it).
    EmployeeLinks,
    /// Idempotency key → the first answer and when it was given; expired answers are pruned.
    Idempotency,
    /// Client id → its managed relationship.
    Relationships,
    /// Policy version (64 hex digits) → a stored policy set: its files, who pushed it and when,
    /// the tests it passed. Written once: a version never changes.
    PolicySets,
    /// `active` → which policy set is active, who activated it and when; `history/` and the
    /// commit's revision (20 digits) → each activation, oldest first. Every write here
    /// reports [`StateKey::ActivePolicy`].
    PolicyActivations,
}

/// What a committed write changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Committed {
    /// The store's revision after the write.
    pub revision: u64,
    /// Every record may have changed (an import that replaces the state).
    pub everything: bool,
    /// The records that changed.
    pub keys: Vec<StateKey>,
}

/// What [`Snapshot::search`] looks up by id prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    /// People by e-mail: partner employees and client users.
    User,
    /// Client accounts by id.
    Account,
    /// Partner accounts by id.
    Partner,
}

/// A consistent read view at one revision.
pub trait Snapshot: Directory<Error = StoreError> {
    /// The revision this view reads.
    fn revision(&self) -> u64;
    /// A partner with its employees.
    fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError>;
    /// A client with its users and assets.
    fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError>;
    /// The client accounts this e-mail is a user of.
    fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError>;
    /// Every partner id.
    fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError>;
    /// Every client id.
    fn client_ids(&self) -> Result<Vec<ClientId>, StoreError>;
    /// A record of a side table.
    fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Up to `limit` records of a side table with keys above `after` (byte order), in key
    /// order: a sweep over a table in bounded steps (pruning expired idempotency answers).
    fn aux_after(
        &self,
        table: Aux,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Up to `limit` records of a log with sequence numbers above `after`, oldest first.
    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// The first `limit` ids of `kind` that start with `prefix`, in id order, each once. A
    /// backend answers from its key order, so a search costs what it returns, not the size of
    /// the state; this default (for test doubles) scans the export.
    fn search(
        &self,
        kind: SearchKind,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let doc = self.export()?;
        let mut ids = std::collections::BTreeSet::new();
        match kind {
            SearchKind::Account => ids.extend(doc.clients.iter().map(|c| c.id.to_string())),
            SearchKind::Partner => ids.extend(doc.partners.iter().map(|p| p.id.to_string())),
            SearchKind::User => {
                for p in &doc.partners {
                    ids.extend(p.employees.iter().map(|e| e.email.to_string()));
                }
                for c in &doc.clients {
                    ids.extend(c.users.iter().map(|u| u.email.to_string()));
                }
            }
        }
        Ok(ids
            .into_iter()
            .filter(|id| id.starts_with(prefix))
            .take(limit)
            .collect())
    }

    /// The whole state, as the state document of the API (sorted by id and e-mail).
    fn export(&self) -> Result<StateDocument, StoreError> {
        let mut doc = StateDocument::default();
        for id in self.partner_ids()? {
            if let Some(p) = self.partner_record(&id)? {
                doc.partners.push(p);
            }
        }
        for id in self.client_ids()? {
            if let Some(c) = self.client_record(&id)? {
                doc.clients.push(c);
            }
        }
        Ok(doc)
    }
}

/// One write transaction. Reads see the transaction's own writes. Nothing is visible to others
/// until the transaction commits, and a transaction that is dropped or aborted writes nothing.
pub trait WriteTx: Snapshot {
    /// Replaces the whole state.
    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError>;
    /// Creates or replaces a partner, its employees included.
    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError>;
    /// Creates or replaces one employee of a partner.
    fn put_employee(
        &mut self,
        partner: &PartnerId,
        employee: &EmployeeRecord,
    ) -> Result<(), StoreError>;
    /// Creates or replaces a client, its users and assets included.
    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Replaces a client's own fields (name, pricing model, managing partner, permission
    /// sets), leaving its users, assets and relationship as they are.
    fn put_client_row(&mut self, client: &ClientRecord) -> Result<(), StoreError>;
    /// Creates or replaces one user of a client.
    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError>;
    /// Removes one user of a client; `false` when there was none.
    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError>;
    /// Creates or replaces one asset of a client.
    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError>;
    /// Writes a record of a side table.
    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes a record of a side table.
    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError>;
    /// Appends a record to a log, numbered after the log's last record when the transaction
    /// commits (not before: a store may write the records with its commit).
    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError>;

    /// The revision this transaction commits as. From this call on, the transaction holds its
    /// place in the store's commit order: a store whose writers run in parallel (PostgreSQL)
    /// serializes them here, until the commit, so callers ask as late as they can (after the
    /// command's work, to write the audit record and the answer). A store whose writers are
    /// serialized from the start (redb) answers at once.
    fn commit_revision(&mut self) -> Result<u64, StoreError> {
        Ok(self.revision() + 1)
    }

    /// Takes the whole state for this transaction alone, from now until the commit (an upsert
    /// or import checks the whole state): on a store whose writers run in parallel it waits for
    /// every other write and holds them off. Called first, before anything is read.
    fn exclusive(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Opens the store a sidecar runs on: PostgreSQL when `url` is a `postgres://` (or
/// `postgresql://`) connection string, otherwise the redb file in `data`.
pub fn open(
    url: Option<&str>,
    data: &std::path::Path,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match url.filter(|u| !u.is_empty()) {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(std::sync::Arc::new(PostgresStore::open(url)?))
        }
        Some(other) => Err(StoreError::Open {
            path: other.into(),
            message: "expected a postgres:// connection string (or no --store, for the redb \
                      file in --data)"
                .into(),
        }),
        None => Ok(std::sync::Arc::new(RedbStore::open(data)?)),
    }
}

/// Why a write did not commit.
#[derive(Debug)]
pub enum WriteError<E> {
    /// The work itself refused (a rule would break, bad input): nothing was written.
    Aborted(E),
    /// The store failed: nothing was written.
    Store(StoreError),
}

impl<E> From<StoreError> for WriteError<E> {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// The store behind the service.
pub trait Store: Send + Sync + 'static {
    /// A consistent read view of the latest committed state.
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, StoreError>;

    /// Runs `work` in one write transaction and commits it durably (`Immediate`) if it
    /// returns `Ok`; on `Err` nothing is written. Object-safe form: callers use [`write`],
    /// which carries the work's own result and error types through.
    fn write_dyn(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError>;

    /// Whether the store can serve now: readable and, as far as it knows, writable (a store
    /// whose last write failed at the disk tries one again here; a file known damaged, or
    /// removed from under the sidecar, fails). Readiness asks this; the default opens a read
    /// view.
    fn health(&self) -> Result<(), StoreError> {
        self.snapshot().map(|_| ())
    }

    /// A consistent copy of the whole store as of one revision, as an open file positioned
    /// at its start (already unlinked: it is gone once closed), and the revision it holds.
    /// A store that a sidecar does not own alone (a fleet's database) is refused: it is backed
    /// up with the database's own tools.
    fn backup(&self) -> Result<(std::fs::File, u64), StoreError> {
        Err(StoreError::Rejected(
            "this store is a shared PostgreSQL database: back it up with the database's own \
             tools (pg_dump)"
                .into(),
        ))
    }

    /// Whether other processes write this store too (a fleet's database): then this process
    /// must follow [`Store::changes_since`] to keep its cache fresh, and must not trust the
    /// cache while it cannot.
    fn shared(&self) -> bool {
        false
    }

    /// Woken when another process may have committed (PostgreSQL's `NOTIFY`), so that the
    /// feed is read at once rather than at the next tick. `None`: nothing to wait for.
    fn change_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
    }

    /// What was committed after revision `after` by anyone, this process included, oldest
    /// first and at most `limit` (a single `everything` change when the feed no longer reaches
    /// back that far). `None` for a store that only this process writes (redb): there is
    /// nothing to follow, every change went through [`Store::write_dyn`] here.
    fn changes_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<Vec<Committed>>, StoreError> {
        let _ = (after, limit);
        Ok(None)
    }
}

/// The error a unit of work returns inside [`Store::write_dyn`].
#[derive(Debug)]
pub enum WorkError {
    /// The work refused; the caller keeps its own reason.
    Aborted,
    Store(StoreError),
}

impl From<StoreError> for WorkError {
    fn from(e: StoreError) -> Self {
        WorkError::Store(e)
    }
}

/// Typed convenience over [`Store::write_dyn`]: the work returns its own error type.
pub fn write<S: Store + ?Sized, T, E>(
    store: &S,
    mut work: impl FnMut(&mut dyn WriteTx) -> Result<T, WriteError<E>>,
) -> Result<(T, Committed), WriteError<E>> {
    let mut outcome: Option<Result<T, WriteError<E>>> = None;
    let committed = store.write_dyn(&mut |tx| match work(tx) {
        Ok(value) => {
            outcome = Some(Ok(value));
            Ok(())
        }
        Err(WriteError::Store(e)) => Err(WorkError::Store(e)),
        Err(aborted) => {
            outcome = Some(Err(aborted));
            Err(WorkError::Aborted)
        }
    });
    match (committed, outcome) {
        (Ok(committed), Some(Ok(value))) => Ok((value, committed)),
        (Err(WorkError::Store(e)), _) => Err(WriteError::Store(e)),
        (_, Some(Err(e))) => Err(e),
        (Ok(_), None) | (Err(WorkError::Aborted), _) => Err(WriteError::Store(StoreError::Write(
            "the write finished without an outcome".into(),
        ))),
    }
}
