//! The store's own view of its file's health, and the guard every call into the storage
//! engine goes through.
//!
//! The storage engine trusts its file. A damaged page makes it return `Corrupted` at best, and
//! at worst panic (an index out of bounds in a B-tree page, as flipped bytes of a real store
//! file show: `tests/integration/storage_faults.rs`). A write that the disk refuses (no space left)
//! makes every later call fail until the database is reopened. Neither may take the sidecar
//! down, answer an Allow, or leave `/readyz` green, so:
//!
//! - every read and write of a view or transaction runs in [`Health::guard`], which turns a
//!   panic into [`StoreError::Damaged`] and notes the damage: from then on [`Health::check`]
//!   fails (readiness says why) and writes are refused, until the file is restored and the
//!   sidecar restarted;
//! - a [`StoreError::Disk`] is noted too: the backend reopens its file before the next write,
//!   and readiness fails until a write succeeds again.
//!
//! [`Guarded`] wraps a backend's read view or write transaction so that no call can skip the
//! guard.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::group_commit::BatchTx;
use super::{Aux, Committed, Log, SearchKind, Snapshot, StoreError, WriteTx};
use crate::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email,
    EmployeeRecord, PartnerId, PartnerInfo, PartnerRecord, StateDocument, UserInfo,
};

/// What the store knows about its file's health.
#[derive(Debug)]
pub(super) struct Health {
    /// The file, as error messages name it.
    file: String,
    /// Why the file is known to be damaged; `None` while it is not.
    damaged: Mutex<Option<String>>,
    /// A write failed at the disk: readiness fails until a write succeeds.
    disk_failed: AtomicBool,
    /// A write failed at the disk and the database has not been reopened since (the storage
    /// engine refuses every write until it is).
    reopen_needed: AtomicBool,
}

impl Health {
    pub(super) fn new(file: String) -> Self {
        Health {
            file,
            damaged: Mutex::new(None),
            disk_failed: AtomicBool::new(false),
            reopen_needed: AtomicBool::new(false),
        }
    }

    /// Runs one call into the storage engine: a panic becomes [`StoreError::Damaged`], and
    /// damage or a disk failure is noted before the error goes on.
    pub(super) fn guard<R>(
        &self,
        call: impl FnOnce() -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        match catch_unwind(AssertUnwindSafe(call)) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(self.noted(error)),
            Err(payload) => {
                let detail = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the storage engine panicked".to_owned());
                Err(self.noted(StoreError::Damaged {
                    file: String::new(),
                    detail: format!("the storage engine failed reading it: {detail}"),
                }))
            }
        }
    }

    /// Notes what an error says about the file, and names the file in it.
    pub(super) fn noted(&self, error: StoreError) -> StoreError {
        match error {
            StoreError::Damaged { detail, .. }
            | StoreError::Corrupt {
                message: detail, ..
            } => {
                let mut damaged = self.damaged.lock().unwrap_or_else(PoisonError::into_inner);
                if damaged.is_none() {
                    tracing::error!(file = %self.file, %detail, "the store is damaged");
                    *damaged = Some(detail.clone());
                }
                StoreError::Damaged {
                    file: self.file.clone(),
                    detail,
                }
            }
            StoreError::Disk { .. } | StoreError::OutcomeUnknown { .. } => {
                self.reopen_needed.store(true, Ordering::Relaxed);
                if !self.disk_failed.swap(true, Ordering::Relaxed) {
                    tracing::error!(file = %self.file, %error, "a store write failed at the disk");
                }
                error
            }
            other => other,
        }
    }

    /// The damage found so far, as the error every later write gets.
    pub(super) fn damage(&self) -> Option<StoreError> {
        let damaged = self.damaged.lock().unwrap_or_else(PoisonError::into_inner);
        damaged.as_ref().map(|detail| StoreError::Damaged {
            file: self.file.clone(),
            detail: detail.clone(),
        })
    }

    /// Whether a write failed at the disk since the last one that succeeded.
    pub(super) fn disk_failed(&self) -> bool {
        self.disk_failed.load(Ordering::Relaxed)
    }

    /// Whether the database must be reopened before the next write; clears the flag (a reopen
    /// that fails sets it again with [`Self::reopen_failed`]).
    pub(super) fn take_reopen_needed(&self) -> bool {
        self.reopen_needed.swap(false, Ordering::Relaxed)
    }

    pub(super) fn reopen_failed(&self) {
        self.reopen_needed.store(true, Ordering::Relaxed);
    }

    /// A write reached the disk: the failure is over.
    pub(super) fn disk_recovered(&self) {
        if self.disk_failed.swap(false, Ordering::Relaxed) {
            tracing::info!(file = %self.file, "store writes succeed again");
        }
    }
}

/// A read view or write transaction whose every call goes through [`Health::guard`].
pub(super) struct Guarded<T> {
    pub(super) inner: T,
    pub(super) health: Arc<Health>,
}

impl<T: Snapshot> Directory for Guarded<T> {
    type Error = StoreError;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
        self.health.guard(|| self.inner.partner(id))
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
        self.health.guard(|| self.inner.client(id))
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
        self.health.guard(|| self.inner.user(email))
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, StoreError> {
        self.health.guard(|| self.inner.membership(client, email))
    }
}

impl<T: Snapshot> Snapshot for Guarded<T> {
    fn revision(&self) -> u64 {
        self.inner.revision()
    }

    fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError> {
        self.health.guard(|| self.inner.partner_record(id))
    }

    fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        self.health.guard(|| self.inner.client_record(id))
    }

    fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError> {
        self.health.guard(|| self.inner.clients_of_user(email))
    }

    fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError> {
        self.health.guard(|| self.inner.partner_ids())
    }

    fn client_ids(&self) -> Result<Vec<ClientId>, StoreError> {
        self.health.guard(|| self.inner.client_ids())
    }

    fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.health.guard(|| self.inner.aux(table, key))
    }

    fn aux_after(
        &self,
        table: Aux,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.health
            .guard(|| self.inner.aux_after(table, after, limit))
    }

    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.health
            .guard(|| self.inner.log_range(log, after, limit))
    }

    fn search(
        &self,
        kind: SearchKind,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.health.guard(|| self.inner.search(kind, prefix, limit))
    }
}

impl<T: WriteTx> WriteTx for Guarded<T> {
    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.replace_all(doc))
    }

    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_partner(partner))
    }

    fn put_employee(
        &mut self,
        partner: &PartnerId,
        employee: &EmployeeRecord,
    ) -> Result<(), StoreError> {
        self.health
            .guard(|| self.inner.put_employee(partner, employee))
    }

    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_client(client))
    }

    fn put_client_row(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_client_row(client))
    }

    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_user(client, user))
    }

    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError> {
        self.health.guard(|| self.inner.remove_user(client, email))
    }

    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_asset(client, asset))
    }

    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.put_aux(table, key, value))
    }

    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.remove_aux(table, key))
    }

    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError> {
        self.health.guard(|| self.inner.append_log(log, value))
    }
}

impl<T: BatchTx> BatchTx for Guarded<T> {
    fn writes(&self) -> u64 {
        self.inner.writes()
    }

    fn take_changes(&mut self) -> Committed {
        self.inner.take_changes()
    }

    /// A commit that fails at the disk may have reached it anyway (the header can be written
    /// and only the sync fail; a reopen then reads the commit), so its outcome is unknown, not
    /// "nothing written".
    fn commit(self) -> Result<u64, StoreError> {
        let Guarded { inner, health } = self;
        let revision = health.guard(|| {
            inner.commit().map_err(|e| match e {
                StoreError::Disk { detail } => StoreError::OutcomeUnknown { detail },
                other => other,
            })
        })?;
        health.disk_recovered();
        Ok(revision)
    }
}
