//! The default store: one redb file in the data directory.
//!
//! Owns: [`RedbStore`]: opening the file and creating its tables, read views and write
//! transactions over it (the state's meaning is [`super::state`]'s, the tables are
//! [`super::redb_tables`]'), readiness, and reopening the file after a failed write.
//!
//! Writes commit with `Durability::Immediate`: when `write_dyn` returns, the change is on disk.
//! Concurrent writes share transactions and fsyncs ([`super::group_commit`]).
//!
//! Every read view and write transaction is [`Guarded`]: the storage engine's panics on a
//! damaged file become errors, and damage and disk failures are noted in the store's
//! [`Health`]. What happens to the file itself (a missing or replaced file, reopening after a
//! failed write) is in [`super::redb_file`]; backups and the offline check are in
//! [`super::redb_backup`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use redb::{Database, Durability, ReadableDatabase, ReadableTable};

use super::error::AtPath;
use super::group_commit::GroupCommit;
use super::guard::{Guarded, Health};
use super::redb_file::{
    Creating, DiskFaults, FileIdentity, StorePaths, open_database, room_to_write,
};
use super::redb_tables::{
    ASSETS, AUX_TABLES, CLIENTS, EMPLOYEES, LOGS, MEMBERSHIPS, META, PARTNER_EMPLOYEES, PARTNERS,
    RedbRead, RedbWrite, USER_CLIENTS, aux_table, log_table, read_err, write_err,
};
use super::state::StateTx;
use super::{Committed, Snapshot, Store, StoreError, WorkError, WriteTx};

/// The layout version written into new files; a file with another version is refused.
pub const FORMAT: u64 = 1;

/// A write transaction of the file, as the group commit shares it.
type Writer = Guarded<StateTx<RedbWrite>>;

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
    group: GroupCommit<Writer>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish()
    }
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
        for table in AUX_TABLES {
            tx.open_table(aux_table(table)).map_err(write_err)?;
        }
        for log in LOGS {
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
            inner: StateTx::new(RedbRead { tx, revision }),
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
        let file = opened.map_err(|source| StoreError::read(AtPath { path: to, source }))?;
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

/// Closes a database handle. Closing commits the allocator state, which reads pages; on a
/// damaged file that can panic, and a panic must not escape a drop.
pub(super) fn close(db: Option<Arc<Database>>) {
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
    pub(super) fn database(&self) -> Result<Arc<Database>, StoreError> {
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
    fn begin(&self) -> Result<Writer, StoreError> {
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
            Ok(StateTx::new(RedbWrite {
                tx,
                revision,
                after_reopen,
            }))
        })?;
        Ok(Guarded { inner, health })
    }
}
