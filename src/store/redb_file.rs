//! The redb store's file: opening it without ever creating an empty store by mistake, knowing
//! whether the path still names the file the sidecar has open, and a disk that can be told to
//! fail (for the fault tests).
//!
//! Three operator mistakes and disk faults are handled here rather than left to the storage
//! engine:
//!
//! - **A store file deleted or replaced under a running sidecar.** On Linux the sidecar keeps
//!   writing into the deleted file, acknowledging writes that a restart will not see. The file's
//!   identity (device and inode) is taken at open; [`FileIdentity::still_named_by`] is checked
//!   before every write batch and by readiness, and a mismatch refuses writes.
//! - **A restart that would start empty.** A new store writes a marker file ([`MARKER`]) beside
//!   `state.redb`. Opening a directory whose marker is there but whose store file is not is
//!   refused ([`StoreError::Missing`]): the authorization state is not silently reset.
//! - **A file that is damaged, or held by another process**, is a clear error at open: the
//!   storage engine's panics on damaged pages are caught, and "already open" says who holds it.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use redb::backends::FileBackend;
use redb::{Builder, Database, DatabaseError, StorageBackend};

use super::StoreError;

/// The store file in the data directory.
pub(super) const FILE: &str = "state.redb";

/// The marker that says the data directory holds a store.
pub(super) const MARKER: &str = "STORE";

/// What the marker file says to someone who finds it.
const MARKER_TEXT: &str = "This directory holds a partner-access store: state.redb.\n\
If state.redb is missing, partner-access refuses to start rather than create an empty store.\n\
Restore state.redb from a backup (partner-access backup, GET /v1/admin/backup), or delete this\n\
file to start with an empty store on purpose.\n";

/// A disk that fails on demand: the fault tests switch it to "full" and back. The real store
/// never has one.
#[derive(Debug, Default)]
pub struct DiskFaults {
    full: AtomicBool,
    syncs_fail: AtomicBool,
}

impl DiskFaults {
    /// Every write, resize and sync fails with "no space left on device" from now on.
    pub fn fill(&self) {
        self.full.store(true, Ordering::SeqCst);
    }

    /// Only syncs fail (with an I/O error): writes reach the file but are never confirmed
    /// durable, so a commit may be in the file when its sync fails.
    pub fn fail_syncs(&self) {
        self.syncs_fail.store(true, Ordering::SeqCst);
    }

    /// The space is back and syncs succeed.
    pub fn free(&self) {
        self.full.store(false, Ordering::SeqCst);
        self.syncs_fail.store(false, Ordering::SeqCst);
    }

    fn check(&self) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            Err(std::io::Error::from(std::io::ErrorKind::StorageFull))
        } else {
            Ok(())
        }
    }

    fn check_sync(&self) -> std::io::Result<()> {
        self.check()?;
        if self.syncs_fail.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected: the sync failed"))
        } else {
            Ok(())
        }
    }
}

/// The file backend with [`DiskFaults`] in front of every write.
#[derive(Debug)]
struct FaultyDisk {
    file: FileBackend,
    faults: Arc<DiskFaults>,
}

impl StorageBackend for FaultyDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.faults.check()?;
        self.file.set_len(len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        self.faults.check_sync()?;
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.faults.check()?;
        self.file.write(offset, data)
    }

    fn close(&self) -> std::io::Result<()> {
        self.file.close()
    }

    fn try_lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// Where a store's file and marker are.
#[derive(Debug, Clone)]
pub(super) struct StorePaths {
    pub(super) file: PathBuf,
    pub(super) marker: PathBuf,
}

impl StorePaths {
    pub(super) fn in_dir(dir: &Path) -> Self {
        StorePaths {
            file: dir.join(FILE),
            marker: dir.join(MARKER),
        }
    }

    /// Refuses to go on when the marker says a store was here and the file is gone (or empty:
    /// a copy cut short is no store either).
    pub(super) fn refuse_missing(&self) -> Result<bool, StoreError> {
        let exists = std::fs::metadata(&self.file).is_ok_and(|m| m.len() > 0);
        if !exists && self.marker.exists() {
            return Err(StoreError::Missing {
                path: self.file.clone(),
                marker: self.marker.clone(),
            });
        }
        Ok(exists)
    }

    /// Writes the marker (once the store file exists) and syncs it and its directory, so that
    /// a crash cannot leave a store without one.
    pub(super) fn mark(&self) -> Result<(), StoreError> {
        if self.marker.exists() {
            return Ok(());
        }
        let fail = |e: std::io::Error| StoreError::Open {
            path: self.marker.clone(),
            message: format!("cannot write the store marker: {e}"),
        };
        let mut file = std::fs::File::create(&self.marker).map_err(fail)?;
        file.write_all(MARKER_TEXT.as_bytes()).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        if let Some(dir) = self.marker.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(fail)?;
        }
        Ok(())
    }
}

/// Whether opening may create the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Creating {
    Yes,
    /// The file must exist and hold a database.
    No,
}

/// Opens (or creates) the database file, through the faulty disk when the tests ask for one.
/// A damaged file (the engine's panic included) is [`StoreError::Damaged`]; a file another
/// process holds says who is likely to hold it.
pub(super) fn open_database(
    path: &Path,
    faults: Option<&Arc<DiskFaults>>,
    creating: Creating,
) -> Result<Database, StoreError> {
    if creating == Creating::No && !std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Err(StoreError::Open {
            path: path.to_owned(),
            message: "the store file is missing or empty".into(),
        });
    }
    let opened = catch_unwind(AssertUnwindSafe(|| match faults {
        None if creating == Creating::No => Database::open(path),
        None => Database::create(path),
        Some(faults) => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(creating == Creating::Yes)
                .truncate(false)
                .open(path)
                .map_err(|e| DatabaseError::Storage(redb::StorageError::Io(e)))?;
            Builder::new().create_with_backend(FaultyDisk {
                file: FileBackend::new(file)?,
                faults: Arc::clone(faults),
            })
        }
    }));
    let damaged = |detail: String| StoreError::Damaged {
        file: path.display().to_string(),
        detail,
    };
    match opened {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(DatabaseError::DatabaseAlreadyOpen)) => Err(StoreError::Open {
            path: path.to_owned(),
            message: "another process has it open: a running sidecar holds its data directory \
                      (use that sidecar's HTTP API instead: GET /v1/admin/backup for a backup, \
                      GET /v1/admin/export for the state; or stop it first)"
                .into(),
        }),
        Ok(Err(DatabaseError::Storage(redb::StorageError::Corrupted(detail)))) => {
            Err(damaged(detail))
        }
        Ok(Err(other)) => Err(StoreError::Open {
            path: path.to_owned(),
            message: other.to_string(),
        }),
        Err(_) => Err(damaged(
            "the storage engine failed reading its header and tables".into(),
        )),
    }
}

/// How much a probe writes to see whether the disk has room again.
const ROOM_PROBE: usize = 1 << 20;

/// Whether the disk under `dir` takes writes again: writes and syncs a scratch file of 1 MiB
/// and removes it. The store reopens its file (which closes the old one, still good for reads)
/// only once this succeeds, so that a disk that is still full does not cost the reads too.
pub(super) fn room_to_write(
    dir: &Path,
    faults: Option<&Arc<DiskFaults>>,
) -> Result<(), StoreError> {
    let no_room = |e: std::io::Error| StoreError::Disk {
        detail: format!("{e} (a probe write to {} failed)", dir.display()),
    };
    if let Some(faults) = faults {
        faults.check_sync().map_err(no_room)?;
    }
    let probe = dir.join(".write-probe");
    let written = (|| {
        let mut file = std::fs::File::create(&probe)?;
        file.write_all(&vec![0u8; ROOM_PROBE])?;
        file.sync_all()
    })();
    let _ = std::fs::remove_file(&probe);
    written.map_err(no_room)
}

/// The identity of a file: the path names the same file as long as this does not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// The identity of the file `path` names now; `None` when there is none (or the platform
    /// has no inode numbers).
    pub(super) fn of(path: &Path) -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            std::fs::metadata(path).ok().map(|m| FileIdentity {
                device: m.dev(),
                inode: m.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            None
        }
    }

    /// Whether `path` still names this file.
    pub(super) fn still_named_by(self, path: &Path) -> bool {
        Self::of(path) == Some(self)
    }
}
