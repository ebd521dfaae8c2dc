//! Backups and the offline check of a redb store file.
//!
//! Owns: [`RedbStore::backup_to`] (a consistent copy of the file, taken while it serves) and
//! [`RedbStore::check_file`] (the storage engine's integrity check and a decode of every
//! record, on a copy), which read the file's tables directly rather than through the state.

use std::path::Path;
use std::sync::Arc;

use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

use super::error::AtPath;
use super::redb_file::{Creating, open_database};
use super::redb_store::{RedbStore, close};
use super::redb_tables::{
    ASSETS, AUX_TABLES, CLIENTS, EMPLOYEES, LOGS, MEMBERSHIPS, META, PARTNER_EMPLOYEES, PARTNERS,
    USER_CLIENTS, aux_table, log_table, read_err, write_err,
};
use super::{Log, Store, StoreError};

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
    for table in AUX_TABLES {
        copy_table(from, to, aux_table(table))?;
    }
    for log in LOGS {
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
        let failed = |source| {
            StoreError::write(AtPath {
                path: to.to_owned(),
                source,
            })
        };
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
