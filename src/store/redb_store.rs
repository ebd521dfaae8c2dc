//! The default store: one redb file in the data directory.
//!
//! The tables are laid out for the check path: every lookup a decision makes is one point read
//! (`partners`, `clients`, `employees`, `memberships` by `(client, e-mail)`), and the lists that
//! admin reads and commands need are key ranges over tuple keys (`memberships` by client,
//! `user_clients` by e-mail). Records are stored as JSON of the domain types, so what the store
//! holds is exactly what the state document says.
//!
//! Writes commit with `Durability::Immediate`: when `write_dyn` returns, the change is on disk.
//!
//! Every read view and write transaction is [`Guarded`]: the storage engine's panics on a
//! damaged file become errors, and damage and disk failures are noted in the store's
//! [`Health`]. What happens to the file itself (a missing or replaced file, reopening after a
//! failed write) is in [`super::redb_file`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

use super::group_commit::{BatchTx, GroupCommit};
use super::guard::{Guarded, Health};
use super::redb_file::{
    Creating, DiskFaults, FileIdentity, StorePaths, open_database, room_to_write,
};
use super::rows::{ClientRow, EmployeeRow, PartnerRow, decode, encode};
use super::{
    Aux, Committed, Log, SearchKind, Snapshot, StateKey, Store, StoreError, WorkError, WriteTx,
};
use crate::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email,
    EmployeeRecord, PartnerId, PartnerInfo, PartnerRecord, StateDocument, UserInfo,
};

/// `"revision"` → the store's revision; `"format"` → the layout version of this file.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// partner id → [`PartnerRow`].
const PARTNERS: TableDefinition<&str, &[u8]> = TableDefinition::new("partners");
/// e-mail → [`EmployeeRow`]: the partner that employs it. An e-mail has one employer.
const EMPLOYEES: TableDefinition<&str, &[u8]> = TableDefinition::new("employees");
/// (partner id, e-mail) → (): a partner's employees, in order.
const PARTNER_EMPLOYEES: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("partner_employees");
/// client id → [`ClientRow`].
const CLIENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("clients");
/// (client id, e-mail) → [`ClientUserRecord`]: a user's settings in one client.
const MEMBERSHIPS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("memberships");
/// (e-mail, client id) → (): the clients a user is in (the reverse of `memberships`).
const USER_CLIENTS: TableDefinition<(&str, &str), ()> = TableDefinition::new("user_clients");
/// (client id, asset id) → [`AssetRecord`].
const ASSETS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("assets");

/// Side tables: access links, employee links, idempotency keys, relationships.
const ACCESS_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_links");
const EMPLOYEE_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("employee_links");
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
const RELATIONSHIPS: TableDefinition<&str, &[u8]> = TableDefinition::new("relationships");
/// Logs: sequence number → record.
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

fn aux_table(table: Aux) -> TableDefinition<'static, &'static str, &'static [u8]> {
    match table {
        Aux::AccessLinks => ACCESS_LINKS,
        Aux::EmployeeLinks => EMPLOYEE_LINKS,
        Aux::Idempotency => IDEMPOTENCY,
        Aux::Relationships => RELATIONSHIPS,
    }
}

fn log_table(log: Log) -> TableDefinition<'static, u64, &'static [u8]> {
    match log {
        Log::Audit => AUDIT,
        Log::Events => EVENTS,
    }
}

/// The layout version written into new files; a file with another version is refused.
const FORMAT: u64 = 1;

/// A storage engine error as the store reports it: damage and disk failures keep their kind
/// (so that [`Health`] can act on them), the rest say whether a read or a write failed.
fn engine_err(e: impl Into<redb::Error>, write: bool) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(detail) => StoreError::Damaged {
            file: String::new(),
            detail,
        },
        redb::Error::Io(io) => StoreError::Disk {
            detail: io.to_string(),
        },
        redb::Error::PreviousIo => StoreError::Disk {
            detail: "an earlier write failed at the disk; the store reopens its file before the \
                     next write"
                .into(),
        },
        other if write => StoreError::Write(other.to_string()),
        other => StoreError::Read(other.to_string()),
    }
}

fn read_err(e: impl Into<redb::Error>) -> StoreError {
    engine_err(e, false)
}

fn write_err(e: impl Into<redb::Error>) -> StoreError {
    engine_err(e, true)
}

/// The redb-backed [`Store`].
pub struct RedbStore {
    /// The open database; `None` only while it is being reopened after a disk failure.
    db: ArcSwapOption<Database>,
    path: PathBuf,
    /// The file `path` named when it was opened (see [`FileIdentity`]).
    identity: Option<FileIdentity>,
    health: Arc<Health>,
    /// The fault tests' disk; `None` for a real store.
    faults: Option<Arc<DiskFaults>>,
    /// Concurrent writes share transactions and fsyncs (see [`super::group_commit`]).
    group: GroupCommit<Guarded<RedbWriter>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Adds to `found` the first `limit` distinct ids (`id_of` a key) of `keys` that start with
/// `prefix`. The keys are in order, so the first id without the prefix ends the scan; an id
/// may repeat (a user in several clients) and counts once.
fn take_prefixed<G>(
    keys: impl Iterator<Item = Result<G, redb::StorageError>>,
    id_of: impl Fn(&G) -> &str,
    prefix: &str,
    limit: usize,
    found: &mut BTreeSet<String>,
) -> Result<(), StoreError> {
    let mut taken = 0;
    let mut last = String::new();
    for key in keys {
        let key = key.map_err(read_err)?;
        let id = id_of(&key);
        if !id.starts_with(prefix) || taken >= limit {
            break;
        }
        if taken == 0 || id != last {
            last = id.to_owned();
            found.insert(last.clone());
            taken += 1;
        }
    }
    Ok(())
}

impl RedbStore {
    /// Opens (or creates) `state.redb` in `dir`, creating `dir` if needed. A file that is not a
    /// redb database of this layout is an error, never a silently empty store; so is a
    /// directory that held a store whose file is gone ([`StoreError::Missing`]).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_on(dir, None)
    }

    /// Opens the store on a disk that fails when `faults` says so: for the fault tests.
    #[doc(hidden)]
    pub fn open_with_disk_faults(dir: &Path, faults: Arc<DiskFaults>) -> Result<Self, StoreError> {
        Self::open_on(dir, Some(faults))
    }

    fn open_on(dir: &Path, faults: Option<Arc<DiskFaults>>) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
            path: dir.to_owned(),
            message: format!("cannot create directory: {e}"),
        })?;
        let paths = StorePaths::in_dir(dir);
        paths.refuse_missing()?;
        let path = paths.file.clone();
        // With the marker there, the file must exist and be a store: an empty file (a restore
        // cut short) is refused like a missing one, never set up as a new store.
        let creating = if paths.marker.exists() {
            Creating::No
        } else {
            Creating::Yes
        };
        let db = Arc::new(open_database(&path, faults.as_ref(), creating)?);
        let health = Arc::new(Health::new(path.display().to_string()));
        if let Err(e) = initialize(&db) {
            close(Some(db));
            return Err(match e {
                StoreError::Damaged { detail, .. } => StoreError::Damaged {
                    file: path.display().to_string(),
                    detail,
                },
                other => StoreError::Open {
                    path: path.clone(),
                    message: other.to_string(),
                },
            });
        }
        paths.mark()?;
        Ok(RedbStore {
            db: ArcSwapOption::new(Some(db)),
            identity: FileIdentity::of(&path),
            path,
            health,
            faults,
            group: GroupCommit::default(),
        })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates the tables of a new file and checks the layout version of an existing one. A panic
/// of the storage engine (a damaged file) is [`StoreError::Damaged`].
fn initialize(db: &Database) -> Result<(), StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| create_tables(db))).unwrap_or_else(
        |_| {
            Err(StoreError::Damaged {
                file: String::new(),
                detail: "the storage engine failed reading its tables".into(),
            })
        },
    )
}

fn create_tables(db: &Database) -> Result<(), StoreError> {
    let tx = db.begin_write().map_err(write_err)?;
    {
        let mut meta = tx.open_table(META).map_err(write_err)?;
        let format = meta.get("format").map_err(read_err)?.map(|g| g.value());
        match format {
            None => {
                meta.insert("format", FORMAT).map_err(write_err)?;
            }
            Some(FORMAT) => {}
            Some(other) => {
                return Err(StoreError::Corrupt {
                    key: "meta/format".into(),
                    message: format!(
                        "the file has layout version {other}; this build reads version {FORMAT}"
                    ),
                });
            }
        }
        tx.open_table(PARTNERS).map_err(write_err)?;
        tx.open_table(EMPLOYEES).map_err(write_err)?;
        tx.open_table(PARTNER_EMPLOYEES).map_err(write_err)?;
        tx.open_table(CLIENTS).map_err(write_err)?;
        tx.open_table(MEMBERSHIPS).map_err(write_err)?;
        tx.open_table(USER_CLIENTS).map_err(write_err)?;
        tx.open_table(ASSETS).map_err(write_err)?;
        for table in [
            Aux::AccessLinks,
            Aux::EmployeeLinks,
            Aux::Idempotency,
            Aux::Relationships,
        ] {
            tx.open_table(aux_table(table)).map_err(write_err)?;
        }
        for log in [Log::Audit, Log::Events] {
            tx.open_table(log_table(log)).map_err(write_err)?;
        }
    }
    tx.commit().map_err(write_err)
}

impl Store for RedbStore {
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, StoreError> {
        let db = match self.db.load_full() {
            Some(db) => db,
            None => {
                // A reopen failed: try again now if no write is under way.
                self.group
                    .try_exclusive(|| self.reopen())
                    .unwrap_or(Err(StoreError::Disk {
                        detail: "the store file is being reopened after a failed write".into(),
                    }))?;
                self.database()?
            }
        };
        let health = Arc::clone(&self.health);
        // The closure owns `db`: if this is the last handle of a database being reopened, it
        // closes here, inside the guard (closing a damaged file can panic).
        let (tx, revision) = health.guard(move || {
            let tx = db.begin_read().map_err(read_err)?;
            let revision = tx
                .open_table(META)
                .map_err(read_err)?
                .get("revision")
                .map_err(read_err)?
                .map_or(0, |g| g.value());
            Ok((tx, revision))
        })?;
        Ok(Box::new(Guarded {
            inner: RedbSnapshot { tx, revision },
            health,
        }))
    }

    fn write_dyn(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        self.group.write(&|| self.begin(), work)
    }

    fn backup(&self) -> Result<(std::fs::File, u64), StoreError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let to = dir.join(format!(".backup-{}.redb", uuid::Uuid::now_v7().simple()));
        let revision = self.backup_to(&to)?;
        let opened = std::fs::File::open(&to);
        let _ = std::fs::remove_file(&to);
        let file = opened.map_err(|e| StoreError::Read(format!("{}: {e}", to.display())))?;
        Ok((file, revision))
    }

    /// Readable, writable and still the file it was: the file's identity is checked, known
    /// damage fails, and after a failed write the file is reopened and a write is tried.
    fn health(&self) -> Result<(), StoreError> {
        self.still_the_file()?;
        if let Some(damage) = self.health.damage() {
            return Err(damage);
        }
        if self.health.disk_failed() {
            self.group.exclusive(|| self.probe_write())?;
        }
        self.snapshot().map(|_| ())
    }
}

/// What [`RedbStore::check_file`] found in a store file that passed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoreCheck {
    pub revision: u64,
    pub partners: usize,
    pub clients: usize,
    pub users: usize,
    pub audit_records: usize,
    pub events: usize,
}

/// Copies one table, record by record.
fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    let source = from.open_table(def).map_err(read_err)?;
    let mut target = to.open_table(def).map_err(write_err)?;
    for entry in source.iter().map_err(read_err)? {
        let (key, value) = entry.map_err(read_err)?;
        target
            .insert(key.value(), value.value())
            .map_err(write_err)?;
    }
    Ok(())
}

/// Copies every table of the layout (a backup is the whole file's content at one revision).
fn copy_tables(from: &ReadTransaction, to: &WriteTransaction) -> Result<(), StoreError> {
    copy_table(from, to, META)?;
    copy_table(from, to, PARTNERS)?;
    copy_table(from, to, EMPLOYEES)?;
    copy_table(from, to, PARTNER_EMPLOYEES)?;
    copy_table(from, to, CLIENTS)?;
    copy_table(from, to, MEMBERSHIPS)?;
    copy_table(from, to, USER_CLIENTS)?;
    copy_table(from, to, ASSETS)?;
    for table in [
        Aux::AccessLinks,
        Aux::EmployeeLinks,
        Aux::Idempotency,
        Aux::Relationships,
    ] {
        copy_table(from, to, aux_table(table))?;
    }
    for log in [Log::Audit, Log::Events] {
        copy_table(from, to, log_table(log))?;
    }
    Ok(())
}

/// Syncs a directory, so that a rename in it is durable.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

impl RedbStore {
    /// Writes a consistent copy of the store, as of one revision, to the file `to` while the
    /// store keeps serving (one read transaction; writers are not held up). The copy is written
    /// beside `to`, synced, and renamed over it, so `to` is either the old file or the whole
    /// backup. Returns the revision it holds. Restoring is putting the file back as
    /// `state.redb` in a data directory.
    pub fn backup_to(&self, to: &Path) -> Result<u64, StoreError> {
        let db = self.database()?;
        let failed = |e: std::io::Error| StoreError::Write(format!("{}: {e}", to.display()));
        let partial = to.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        // Not through the live store's guard: a failure of the copy (its disk full, say) says
        // nothing about the live file, and must not mark it damaged or unwritable.
        let copied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let read = db.begin_read().map_err(read_err)?;
            let revision = read
                .open_table(META)
                .map_err(read_err)?
                .get("revision")
                .map_err(read_err)?
                .map_or(0, |g| g.value());
            let copy = Database::create(&partial).map_err(|e| StoreError::Open {
                path: partial.clone(),
                message: e.to_string(),
            })?;
            let mut tx = copy.begin_write().map_err(write_err)?;
            tx.set_durability(Durability::Immediate)
                .map_err(write_err)?;
            copy_tables(&read, &tx)?;
            tx.commit().map_err(write_err)?;
            drop(copy);
            std::fs::File::open(&partial)
                .and_then(|f| f.sync_all())
                .map_err(failed)?;
            std::fs::rename(&partial, to).map_err(failed)?;
            sync_dir(to).map_err(failed)?;
            Ok(revision)
        }))
        .unwrap_or_else(|_| {
            Err(StoreError::Write(format!(
                "{}: the copy failed (the storage engine panicked)",
                to.display()
            )))
        });
        if copied.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        copied
    }

    /// Checks a store file without changing it: the storage engine's integrity check runs on a
    /// copy (it repairs what it can, and a file that needed repair is damaged), then every
    /// record of the copy is read and decoded. Works on a data directory's `state.redb` (the
    /// sidecar must be stopped) and on a backup.
    pub fn check_file(file: &Path) -> Result<StoreCheck, StoreError> {
        let damaged = |detail: String| StoreError::Damaged {
            file: file.display().to_string(),
            detail,
        };
        if !file.is_file() {
            return Err(StoreError::Open {
                path: file.to_owned(),
                message: "no such store file".into(),
            });
        }
        let scratch = std::env::temp_dir().join(format!(
            "partner-access-check-{}",
            uuid::Uuid::now_v7().simple()
        ));
        let copy = scratch.join(super::redb_file::FILE);
        let copied = std::fs::create_dir_all(&scratch).and_then(|()| std::fs::copy(file, &copy));
        let result = copied
            .map_err(|e| StoreError::Open {
                path: file.to_owned(),
                message: format!("cannot copy it to check it: {e}"),
            })
            .and_then(|_| {
                let mut db = open_database(&copy, None, Creating::No).map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(detail),
                    other => other,
                })?;
                let checked =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| db.check_integrity()));
                close(Some(Arc::new(db)));
                match checked {
                    Ok(Ok(true)) => {}
                    Ok(Ok(false)) => {
                        return Err(damaged(
                            "the storage engine's integrity check had to repair it".into(),
                        ));
                    }
                    Ok(Err(e)) => return Err(damaged(e.to_string())),
                    Err(_) => return Err(damaged("the integrity check failed on it".into())),
                }
                let store = RedbStore::open(&scratch).map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(detail),
                    other => other,
                })?;
                store.read_all().map_err(|e| match e {
                    StoreError::Damaged { detail, .. } => damaged(detail),
                    other => other,
                })
            });
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }

    /// Reads and decodes every record (for [`Self::check_file`]).
    fn read_all(&self) -> Result<StoreCheck, StoreError> {
        let snapshot = self.snapshot()?;
        let doc = snapshot.export()?;
        let count = |log: Log| -> Result<usize, StoreError> {
            let (mut after, mut total) = (0, 0);
            loop {
                let page = snapshot.log_range(log, after, 10_000)?;
                let Some((last, _)) = page.last() else {
                    return Ok(total);
                };
                after = *last;
                total += page.len();
            }
        };
        Ok(StoreCheck {
            revision: snapshot.revision(),
            partners: doc.partners.len(),
            clients: doc.clients.len(),
            users: doc.clients.iter().map(|c| c.users.len()).sum(),
            audit_records: count(Log::Audit)?,
            events: count(Log::Events)?,
        })
    }
}

/// Closes a database handle. Closing commits the allocator state, which reads pages; on a
/// damaged file that can panic, and a panic must not escape a drop.
fn close(db: Option<Arc<Database>>) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db))).is_err() {
        tracing::error!("closing the store file failed: it is damaged");
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        close(self.db.swap(None));
    }
}

impl RedbStore {
    fn database(&self) -> Result<Arc<Database>, StoreError> {
        self.db.load_full().ok_or_else(|| StoreError::Disk {
            detail: "the store file is being reopened after a failed write".into(),
        })
    }

    /// Refuses to go on when the path no longer names the file this store has open.
    fn still_the_file(&self) -> Result<(), StoreError> {
        match self.identity {
            Some(identity) if !identity.still_named_by(&self.path) => Err(StoreError::Replaced {
                path: self.path.clone(),
                rescue: "the state the sidecar holds can still be read: \
                         GET /v1/admin/export saves it"
                    .into(),
            }),
            _ => Ok(()),
        }
    }

    /// Closes the database and opens it again: after a write failed at the disk the storage
    /// engine refuses every write until then (reads go on). Only once the disk takes a probe
    /// write: while it is still full, the old database keeps serving reads. Runs while no
    /// transaction is open (see [`GroupCommit::exclusive`]).
    fn reopen(&self) -> Result<(), StoreError> {
        if let Some(dir) = self.path.parent() {
            room_to_write(dir, self.faults.as_ref())?;
        }
        // Never onto another file: one removed or replaced meanwhile is refused, not created.
        self.still_the_file()?;
        // The old database must be closed first: it holds the file's lock. A read view still
        // in use keeps it open a moment longer, and the open below fails until it is gone;
        // the next write or probe tries again.
        close(self.db.swap(None));
        let db = open_database(&self.path, self.faults.as_ref(), Creating::No)?;
        self.db.store(Some(Arc::new(db)));
        tracing::info!(file = %self.path.display(), "store file reopened");
        Ok(())
    }

    /// After a failed write: reopens the file and commits an empty transaction, which writes
    /// and syncs the file's header. Success means writes reach the disk again.
    fn probe_write(&self) -> Result<(), StoreError> {
        if (self.health.take_reopen_needed() || self.db.load().is_none())
            && let Err(e) = self.reopen()
        {
            self.health.reopen_failed();
            return Err(e);
        }
        let db = self.database()?;
        self.health.guard(move || {
            let mut tx = db.begin_write().map_err(write_err)?;
            tx.set_durability(Durability::Immediate)
                .map_err(write_err)?;
            tx.commit().map_err(write_err)
        })?;
        self.health.disk_recovered();
        Ok(())
    }

    /// Begins a durable write transaction at the current revision. Refused while the file is
    /// known damaged or no longer named by its path; after a failed write, the file is
    /// reopened first.
    fn begin(&self) -> Result<Guarded<RedbWriter>, StoreError> {
        self.still_the_file()?;
        if let Some(damage) = self.health.damage() {
            return Err(damage);
        }
        let after_reopen = self.health.take_reopen_needed() || self.db.load().is_none();
        if after_reopen && let Err(e) = self.reopen() {
            self.health.reopen_failed();
            return Err(e);
        }
        let db = self.database()?;
        let health = Arc::clone(&self.health);
        let inner = health.guard(move || {
            let mut tx = db.begin_write().map_err(write_err)?;
            tx.set_durability(Durability::Immediate)
                .map_err(write_err)?;
            let revision = {
                let meta = tx.open_table(META).map_err(write_err)?;
                meta.get("revision")
                    .map_err(read_err)?
                    .map_or(0, |g| g.value())
            };
            Ok(RedbWriter {
                tx,
                revision,
                writes: 0,
                committed: Committed::default(),
                after_reopen,
            })
        })?;
        Ok(Guarded { inner, health })
    }
}

impl BatchTx for RedbWriter {
    fn writes(&self) -> u64 {
        self.writes
    }

    fn take_changes(&mut self) -> Committed {
        let mut changes = std::mem::take(&mut self.committed);
        changes.everything |= self.after_reopen;
        changes
    }

    /// One revision per transaction: every command of a batch answers the same revision.
    fn commit(self) -> Result<u64, StoreError> {
        let revision = self.revision + 1;
        {
            let mut meta = self.tx.open_table(META).map_err(write_err)?;
            meta.insert("revision", revision).map_err(write_err)?;
        }
        self.tx.commit().map_err(write_err)?;
        Ok(revision)
    }
}

/// Reads shared by snapshots and write transactions, over any readable tables.
macro_rules! impl_reads {
    ($ty:ty, $open:ident) => {
        impl Directory for $ty {
            type Error = StoreError;

            fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
                let table = self.$open(PARTNERS)?;
                let Some(guard) = table.get(id.as_str()).map_err(read_err)? else {
                    return Ok(None);
                };
                let row: PartnerRow = decode(id.as_str(), guard.value())?;
                Ok(Some(row.info()))
            }

            fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
                let table = self.$open(CLIENTS)?;
                let Some(guard) = table.get(id.as_str()).map_err(read_err)? else {
                    return Ok(None);
                };
                let row: ClientRow = decode(id.as_str(), guard.value())?;
                Ok(Some(row.info()))
            }

            fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
                let employment = {
                    let table = self.$open(EMPLOYEES)?;
                    match table.get(email.as_str()).map_err(read_err)? {
                        Some(guard) => {
                            let row: EmployeeRow = decode(email.as_str(), guard.value())?;
                            Some(row.employment())
                        }
                        None => None,
                    }
                };
                if employment.is_none() {
                    let table = self.$open(USER_CLIENTS)?;
                    let mut range = table.range((email.as_str(), "")..).map_err(read_err)?;
                    let member = match range.next() {
                        Some(entry) => {
                            let (key, _) = entry.map_err(read_err)?;
                            key.value().0 == email.as_str()
                        }
                        None => false,
                    };
                    if !member {
                        return Ok(None);
                    }
                }
                Ok(Some(UserInfo {
                    email: email.clone(),
                    employment,
                }))
            }

            fn membership(
                &self,
                client: &ClientId,
                email: &Email,
            ) -> Result<Option<ClientUserRecord>, StoreError> {
                let table = self.$open(MEMBERSHIPS)?;
                let guard = table
                    .get((client.as_str(), email.as_str()))
                    .map_err(read_err)?;
                guard
                    .map(|g| decode(&format!("{client}/{email}"), g.value()))
                    .transpose()
            }
        }

        impl Snapshot for $ty {
            fn revision(&self) -> u64 {
                self.revision
            }

            fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError> {
                let row: PartnerRow = {
                    let table = self.$open(PARTNERS)?;
                    match table.get(id.as_str()).map_err(read_err)? {
                        Some(guard) => decode(id.as_str(), guard.value())?,
                        None => return Ok(None),
                    }
                };
                let mut employees = Vec::new();
                let index = self.$open(PARTNER_EMPLOYEES)?;
                let rows = self.$open(EMPLOYEES)?;
                for entry in index.range((id.as_str(), "")..).map_err(read_err)? {
                    let (key, _) = entry.map_err(read_err)?;
                    let (partner, email) = key.value();
                    if partner != id.as_str() {
                        break;
                    }
                    let Some(guard) = rows.get(email).map_err(read_err)? else {
                        continue;
                    };
                    let row: EmployeeRow = decode(email, guard.value())?;
                    employees.push(row.record(Email::parse(email).map_err(|e| {
                        StoreError::Corrupt {
                            key: email.to_owned(),
                            message: e.to_string(),
                        }
                    })?));
                }
                Ok(Some(row.record(employees)))
            }

            fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
                let row: ClientRow = {
                    let table = self.$open(CLIENTS)?;
                    match table.get(id.as_str()).map_err(read_err)? {
                        Some(guard) => decode(id.as_str(), guard.value())?,
                        None => return Ok(None),
                    }
                };
                let mut users = Vec::new();
                let memberships = self.$open(MEMBERSHIPS)?;
                for entry in memberships.range((id.as_str(), "")..).map_err(read_err)? {
                    let (key, value) = entry.map_err(read_err)?;
                    let (client, email) = key.value();
                    if client != id.as_str() {
                        break;
                    }
                    users.push(decode(&format!("{client}/{email}"), value.value())?);
                }
                let mut assets = Vec::new();
                let table = self.$open(ASSETS)?;
                for entry in table.range((id.as_str(), "")..).map_err(read_err)? {
                    let (key, value) = entry.map_err(read_err)?;
                    let (client, asset) = key.value();
                    if client != id.as_str() {
                        break;
                    }
                    assets.push(decode(&format!("{client}/{asset}"), value.value())?);
                }
                let relationship = {
                    let table = self.$open(RELATIONSHIPS)?;
                    let guard = table.get(id.as_str()).map_err(read_err)?;
                    guard.map(|g| decode(id.as_str(), g.value())).transpose()?
                };
                Ok(Some(row.record(users, assets, relationship)))
            }

            fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError> {
                let table = self.$open(USER_CLIENTS)?;
                let mut out = Vec::new();
                for entry in table.range((email.as_str(), "")..).map_err(read_err)? {
                    let (key, _) = entry.map_err(read_err)?;
                    let (user, client) = key.value();
                    if user != email.as_str() {
                        break;
                    }
                    out.push(ClientId::parse(client).map_err(|e| StoreError::Corrupt {
                        key: client.to_owned(),
                        message: e.to_string(),
                    })?);
                }
                Ok(out)
            }

            fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError> {
                let table = self.$open(PARTNERS)?;
                let mut out = Vec::new();
                for entry in table.iter().map_err(read_err)? {
                    let (key, _) = entry.map_err(read_err)?;
                    out.push(
                        PartnerId::parse(key.value()).map_err(|e| StoreError::Corrupt {
                            key: key.value().to_owned(),
                            message: e.to_string(),
                        })?,
                    );
                }
                Ok(out)
            }

            fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                let table = self.$open(aux_table(table))?;
                Ok(table
                    .get(key)
                    .map_err(read_err)?
                    .map(|g| g.value().to_vec()))
            }

            fn aux_after(
                &self,
                table: Aux,
                after: &str,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                use std::ops::Bound;
                let table = self.$open(aux_table(table))?;
                let mut out = Vec::new();
                let range = table
                    .range::<&str>((Bound::Excluded(after), Bound::Unbounded))
                    .map_err(read_err)?;
                for entry in range.take(limit) {
                    let (key, value) = entry.map_err(read_err)?;
                    out.push((key.value().to_owned(), value.value().to_vec()));
                }
                Ok(out)
            }

            fn log_range(
                &self,
                log: Log,
                after: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                let table = self.$open(log_table(log))?;
                let mut out = Vec::new();
                for entry in table.range(after.saturating_add(1)..).map_err(read_err)? {
                    if out.len() >= limit {
                        break;
                    }
                    let (key, value) = entry.map_err(read_err)?;
                    out.push((key.value(), value.value().to_vec()));
                }
                Ok(out)
            }

            fn search(
                &self,
                kind: SearchKind,
                prefix: &str,
                limit: usize,
            ) -> Result<Vec<String>, StoreError> {
                let mut found = BTreeSet::new();
                match kind {
                    SearchKind::Account | SearchKind::Partner => {
                        let ids = if kind == SearchKind::Account {
                            CLIENTS
                        } else {
                            PARTNERS
                        };
                        let table = self.$open(ids)?;
                        let keys = table.range(prefix..).map_err(read_err)?;
                        take_prefixed(
                            keys.map(|e| e.map(|(k, _)| k)),
                            |k| k.value(),
                            prefix,
                            limit,
                            &mut found,
                        )?;
                    }
                    SearchKind::User => {
                        // Employees and client users, merged: each source gives its first
                        // `limit`, and the union's first `limit` are the answer.
                        let table = self.$open(EMPLOYEES)?;
                        let keys = table.range(prefix..).map_err(read_err)?;
                        take_prefixed(
                            keys.map(|e| e.map(|(k, _)| k)),
                            |k| k.value(),
                            prefix,
                            limit,
                            &mut found,
                        )?;
                        let table = self.$open(USER_CLIENTS)?;
                        let keys = table.range((prefix, "")..).map_err(read_err)?;
                        take_prefixed(
                            keys.map(|e| e.map(|(k, _)| k)),
                            |k| k.value().0,
                            prefix,
                            limit,
                            &mut found,
                        )?;
                    }
                }
                Ok(found.into_iter().take(limit).collect())
            }

            fn client_ids(&self) -> Result<Vec<ClientId>, StoreError> {
                let table = self.$open(CLIENTS)?;
                let mut out = Vec::new();
                for entry in table.iter().map_err(read_err)? {
                    let (key, _) = entry.map_err(read_err)?;
                    out.push(
                        ClientId::parse(key.value()).map_err(|e| StoreError::Corrupt {
                            key: key.value().to_owned(),
                            message: e.to_string(),
                        })?,
                    );
                }
                Ok(out)
            }
        }
    };
}

/// A read transaction and the revision it sees.
struct RedbSnapshot {
    tx: ReadTransaction,
    revision: u64,
}

impl RedbSnapshot {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<redb::ReadOnlyTable<K, V>, StoreError> {
        self.tx.open_table(def).map_err(read_err)
    }
}

impl_reads!(RedbSnapshot, table);

/// A write transaction, the revision it started from, and what the current work has changed.
struct RedbWriter {
    tx: WriteTransaction,
    revision: u64,
    /// Mutating calls so far: a work that fails with this unchanged wrote nothing.
    writes: u64,
    committed: Committed,
    /// The first transaction after a reopen: a commit whose outcome was unknown may have
    /// landed unseen, so every work of it reports that everything may have changed.
    after_reopen: bool,
}

impl RedbWriter {
    fn table<'t, K: redb::Key + 'static, V: redb::Value + 'static>(
        &'t self,
        def: TableDefinition<K, V>,
    ) -> Result<redb::Table<'t, K, V>, StoreError> {
        self.tx.open_table(def).map_err(write_err)
    }

    fn touch(&mut self, key: StateKey) {
        self.committed.keys.push(key);
    }

    fn remove_client(&mut self, id: &ClientId) -> Result<(), StoreError> {
        let emails: Vec<String> = {
            let memberships = self.table(MEMBERSHIPS)?;
            let mut emails = Vec::new();
            for entry in memberships.range((id.as_str(), "")..).map_err(read_err)? {
                let (key, _) = entry.map_err(read_err)?;
                let (client, email) = key.value();
                if client != id.as_str() {
                    break;
                }
                emails.push(email.to_owned());
            }
            emails
        };
        for email in &emails {
            if let Ok(email) = Email::parse(email) {
                self.remove_user(id, &email)?;
            }
        }
        {
            let mut assets = self.table(ASSETS)?;
            let ids: Vec<String> = {
                let mut ids = Vec::new();
                for entry in assets.range((id.as_str(), "")..).map_err(read_err)? {
                    let (key, _) = entry.map_err(read_err)?;
                    if key.value().0 != id.as_str() {
                        break;
                    }
                    ids.push(key.value().1.to_owned());
                }
                ids
            };
            for asset in ids {
                assets
                    .remove((id.as_str(), asset.as_str()))
                    .map_err(write_err)?;
            }
        }
        self.table(CLIENTS)?
            .remove(id.as_str())
            .map_err(write_err)?;
        self.remove_aux(Aux::Relationships, id.as_str())?;
        self.touch(StateKey::Client(id.clone()));
        Ok(())
    }

    fn remove_partner_employees(&mut self, id: &PartnerId) -> Result<(), StoreError> {
        let emails: Vec<String> = {
            let index = self.table(PARTNER_EMPLOYEES)?;
            let mut emails = Vec::new();
            for entry in index.range((id.as_str(), "")..).map_err(read_err)? {
                let (key, _) = entry.map_err(read_err)?;
                let (partner, email) = key.value();
                if partner != id.as_str() {
                    break;
                }
                emails.push(email.to_owned());
            }
            emails
        };
        for email in emails {
            self.table(PARTNER_EMPLOYEES)?
                .remove((id.as_str(), email.as_str()))
                .map_err(write_err)?;
            self.table(EMPLOYEES)?
                .remove(email.as_str())
                .map_err(write_err)?;
            if let Ok(email) = Email::parse(&email) {
                self.touch(StateKey::User(email));
            }
        }
        Ok(())
    }
}

impl_reads!(RedbWriter, table);

impl WriteTx for RedbWriter {
    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.writes += 1;
        self.table(aux_table(table))?
            .insert(key, value)
            .map_err(write_err)?;
        Ok(())
    }

    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError> {
        self.writes += 1;
        self.table(aux_table(table))?
            .remove(key)
            .map_err(write_err)?;
        Ok(())
    }

    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<u64, StoreError> {
        self.writes += 1;
        let mut table = self.table(log_table(log))?;
        let next = table
            .last()
            .map_err(read_err)?
            .map_or(1, |(k, _)| k.value() + 1);
        table.insert(next, value).map_err(write_err)?;
        Ok(next)
    }

    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError> {
        self.writes += 1;
        for id in self.client_ids()? {
            self.remove_client(&id)?;
        }
        for id in self.partner_ids()? {
            self.remove_partner_employees(&id)?;
            self.table(PARTNERS)?
                .remove(id.as_str())
                .map_err(write_err)?;
        }
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
        self.writes += 1;
        let row = PartnerRow::of(partner);
        self.table(PARTNERS)?
            .insert(partner.id.as_str(), encode(&row)?.as_slice())
            .map_err(write_err)?;
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
        self.writes += 1;
        let previous: Option<EmployeeRow> = {
            let rows = self.table(EMPLOYEES)?;
            let guard = rows.get(employee.email.as_str()).map_err(read_err)?;
            guard
                .map(|g| decode(employee.email.as_str(), g.value()))
                .transpose()?
        };
        if let Some(previous) = previous.filter(|p| &p.partner != partner) {
            return Err(StoreError::Rejected(format!(
                "`{}` is already an employee of partner `{}`; an e-mail belongs to one partner",
                employee.email, previous.partner
            )));
        }
        let row = EmployeeRow::of(partner, employee);
        self.table(EMPLOYEES)?
            .insert(employee.email.as_str(), encode(&row)?.as_slice())
            .map_err(write_err)?;
        self.table(PARTNER_EMPLOYEES)?
            .insert((partner.as_str(), employee.email.as_str()), ())
            .map_err(write_err)?;
        self.touch(StateKey::User(employee.email.clone()));
        Ok(())
    }

    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.writes += 1;
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
        self.writes += 1;
        let row = ClientRow::of(client);
        self.table(CLIENTS)?
            .insert(client.id.as_str(), encode(&row)?.as_slice())
            .map_err(write_err)?;
        self.touch(StateKey::Client(client.id.clone()));
        Ok(())
    }

    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError> {
        self.writes += 1;
        self.table(MEMBERSHIPS)?
            .insert(
                (client.as_str(), user.email.as_str()),
                encode(user)?.as_slice(),
            )
            .map_err(write_err)?;
        self.table(USER_CLIENTS)?
            .insert((user.email.as_str(), client.as_str()), ())
            .map_err(write_err)?;
        self.touch(StateKey::Membership(client.clone(), user.email.clone()));
        self.touch(StateKey::User(user.email.clone()));
        Ok(())
    }

    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError> {
        self.writes += 1;
        let removed = self
            .table(MEMBERSHIPS)?
            .remove((client.as_str(), email.as_str()))
            .map_err(write_err)?
            .is_some();
        self.table(USER_CLIENTS)?
            .remove((email.as_str(), client.as_str()))
            .map_err(write_err)?;
        self.touch(StateKey::Membership(client.clone(), email.clone()));
        self.touch(StateKey::User(email.clone()));
        Ok(removed)
    }

    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError> {
        self.writes += 1;
        self.table(ASSETS)?
            .insert(
                (client.as_str(), asset.id.as_str()),
                encode(asset)?.as_slice(),
            )
            .map_err(write_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{WriteError, write};

    fn demo() -> StateDocument {
        StateDocument::from_json_str(include_str!("../../examples/demo-state.json")).unwrap()
    }

    fn import(store: &RedbStore, doc: &StateDocument) -> Committed {
        let (_, committed) = write::<_, (), ()>(store, |tx| {
            tx.replace_all(doc)?;
            Ok(())
        })
        .unwrap();
        committed
    }

    #[test]
    fn search_answers_by_prefix_from_the_key_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let doc = crate::fixtures::generate(crate::fixtures::Size {
            partners: 3,
            clients: 30,
            users_per_client: 2,
        });
        import(&store, &doc);
        let snapshot = store.snapshot().unwrap();
        // The backend's range scans give what the default (a scan of the export) gives.
        let reference = |kind, prefix: &str, limit| {
            let mut ids: Vec<String> = match kind {
                SearchKind::Account => doc.clients.iter().map(|c| c.id.to_string()).collect(),
                SearchKind::Partner => doc.partners.iter().map(|p| p.id.to_string()).collect(),
                SearchKind::User => doc
                    .partners
                    .iter()
                    .flat_map(|p| p.employees.iter().map(|e| e.email.to_string()))
                    .chain(
                        doc.clients
                            .iter()
                            .flat_map(|c| c.users.iter().map(|u| u.email.to_string())),
                    )
                    .collect(),
            };
            ids.sort();
            ids.dedup();
            ids.retain(|id| id.starts_with(prefix));
            ids.truncate(limit);
            ids
        };
        for (kind, prefix) in [
            (SearchKind::Account, "c1"),
            (SearchKind::Account, ""),
            (SearchKind::Account, "zz"),
            (SearchKind::Partner, "p"),
            (SearchKind::User, "admin"),
            (SearchKind::User, "owner@c2"),
            (SearchKind::User, ""),
        ] {
            for limit in [1, 3, 10, 1000] {
                let found = snapshot.search(kind, prefix, limit).unwrap();
                assert_eq!(
                    found,
                    reference(kind, prefix, limit),
                    "{kind:?} {prefix:?} {limit}"
                );
            }
        }
        // An employee who is also a client user in many accounts is found once.
        let admins = snapshot.search(SearchKind::User, "admin1@", 10).unwrap();
        assert_eq!(admins, ["admin1@p1.example"]);
    }

    #[test]
    fn export_round_trips_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let doc = demo();
        {
            let store = RedbStore::open(dir.path()).unwrap();
            let committed = import(&store, &doc);
            assert_eq!(committed.revision, 1);
            assert!(committed.everything);
        }
        let store = RedbStore::open(dir.path()).unwrap();
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.revision(), 1);
        let exported = snapshot.export().unwrap();
        let mut expected = doc.clone();
        for c in &mut expected.clients {
            c.users.sort_by(|a, b| a.email.cmp(&b.email));
        }
        for p in &mut expected.partners {
            p.employees.sort_by(|a, b| a.email.cmp(&b.email));
        }
        assert_eq!(exported, expected);
    }

    /// REL-4, REL-5: the relationships side table holds a client's history; a first-edition
    /// record (one per client) still reads, as one period, `ending` since its last activity
    /// once the partner's users are gone; the history written back round-trips.
    #[test]
    fn rel5_a_first_edition_relationship_record_reads_as_a_history() {
        use crate::domain::{RelationshipHistory, RelationshipState, Timestamp};
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        import(&store, &demo());
        let globex = ClientId::parse("c-globex").unwrap();
        let acme = PartnerId::parse("p-acme").unwrap();
        let old = br#"{"partner": "p-acme", "started_at": "2025-01-01T00:00:00Z",
                       "last_activity_at": "2025-03-01T00:00:00Z"}"#;
        write::<_, (), ()>(&store, |tx| {
            tx.put_aux(Aux::Relationships, globex.as_str(), old)?;
            Ok(())
        })
        .unwrap();
        let t = |s: &str| Timestamp::parse(s).unwrap();
        let read = |store: &RedbStore| {
            store
                .snapshot()
                .unwrap()
                .client_record(&globex)
                .unwrap()
                .unwrap()
                .relationship
                .unwrap()
        };
        // Partner users of p-acme are there: one active period.
        let history = read(&store);
        assert_eq!(history.periods.len(), 1);
        assert_eq!(history.periods[0].partner, acme);
        assert!(history.periods[0].ending_spans.is_empty());
        assert_eq!(
            history.view_at(t("2026-01-01T00:00:00Z")).state,
            RelationshipState::Active
        );

        // Without them (removed by an upsert): ending since the last activity, then ended.
        let partner_users: Vec<Email> = read_users(&store, &globex)
            .into_iter()
            .filter(|u| u.partner.as_ref() == Some(&acme))
            .map(|u| u.email)
            .collect();
        assert!(!partner_users.is_empty());
        write::<_, (), ()>(&store, |tx| {
            for email in &partner_users {
                tx.remove_user(&globex, email)?;
            }
            Ok(())
        })
        .unwrap();
        let history = read(&store);
        assert_eq!(
            history.periods[0].ending_spans[0].since,
            t("2025-03-01T00:00:00Z")
        );
        assert_eq!(
            history.view_at(t("2025-02-01T00:00:00Z")).state,
            RelationshipState::Active
        );
        assert_eq!(
            history.view_at(t("2025-04-01T00:00:00Z")).state,
            RelationshipState::Ending
        );
        assert_eq!(
            history.view_at(t("2026-01-01T00:00:00Z")).state,
            RelationshipState::Ended
        );

        // A history written whole comes back as it was, also after an export and import.
        let mut next = history.clone();
        next.partner_user_added(&acme, t("2026-01-01T00:00:00Z"));
        assert_eq!(next.periods.len(), 2);
        let mut client = store
            .snapshot()
            .unwrap()
            .client_record(&globex)
            .unwrap()
            .unwrap();
        client.relationship = Some(next.clone());
        write::<_, (), ()>(&store, |tx| {
            tx.put_client(&client)?;
            Ok(())
        })
        .unwrap();
        let exported = store.snapshot().unwrap().export().unwrap();
        let dir2 = tempfile::tempdir().unwrap();
        let other = RedbStore::open(dir2.path()).unwrap();
        import(&other, &exported);
        let back: RelationshipHistory = other
            .snapshot()
            .unwrap()
            .client_record(&globex)
            .unwrap()
            .unwrap()
            .relationship
            .unwrap();
        // (No partner user is in the account: the new period reads as ending since its start.)
        assert_eq!(back.periods[..1], next.periods[..1]);
        assert_eq!(back.periods[1].started_at, next.periods[1].started_at);
        assert_eq!(other.snapshot().unwrap().export().unwrap(), exported);
    }

    fn read_users(store: &RedbStore, client: &ClientId) -> Vec<ClientUserRecord> {
        store
            .snapshot()
            .unwrap()
            .client_record(client)
            .unwrap()
            .unwrap()
            .users
    }

    #[test]
    fn point_lookups_answer_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        import(&store, &demo());
        let s = store.snapshot().unwrap();
        let ann = Email::parse("ann@acme.example").unwrap();
        let globex = ClientId::parse("c-globex").unwrap();
        assert_eq!(
            s.user(&ann)
                .unwrap()
                .unwrap()
                .employment
                .unwrap()
                .partner
                .as_str(),
            "p-acme"
        );
        let owner = Email::parse("owner@globex.example").unwrap();
        assert!(s.user(&owner).unwrap().unwrap().employment.is_none());
        assert!(s.user(&Email::parse("x@y.z").unwrap()).unwrap().is_none());
        assert!(s.membership(&globex, &ann).unwrap().is_some());
        assert_eq!(s.clients_of_user(&ann).unwrap(), vec![globex.clone()]);
        assert!(s.client(&globex).unwrap().is_some());
    }

    #[test]
    fn an_aborted_write_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        import(&store, &demo());
        let globex = ClientId::parse("c-globex").unwrap();
        let ann = Email::parse("ann@acme.example").unwrap();
        let result = write::<_, (), &str>(&store, |tx| {
            tx.remove_user(&globex, &ann)?;
            Err(WriteError::Aborted("no"))
        });
        assert!(matches!(result, Err(WriteError::Aborted("no"))));
        let s = store.snapshot().unwrap();
        assert_eq!(s.revision(), 1);
        assert!(s.membership(&globex, &ann).unwrap().is_some());
    }

    #[test]
    fn a_garbage_file_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("state.redb"),
            b"this is not a database at all",
        )
        .unwrap();
        let err = RedbStore::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::Open { .. }), "{err}");
    }
}
