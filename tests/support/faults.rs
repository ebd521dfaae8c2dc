//! The one fault-injecting store of the tests: a [`Store`] over a real one (redb by default,
//! PostgreSQL for the fleet tests) that fails, or panics, on demand. Read views and write
//! transactions are wrapped so that single reads and single writes can fail, not only whole
//! transactions; the change feed of a shared store can become unreachable.
//!
//! Self-contained (the crate and `std` only): the fuzz targets include it too.

use std::cell::Cell;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

use partner_access::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email,
    EmployeeRecord, PartnerId, PartnerInfo, PartnerRecord, StateDocument, UserInfo,
};
use partner_access::store::{
    Aux, Committed, Log, RedbStore, Snapshot, Store, StoreError, WorkError, WriteTx,
};

/// What fails. Every switch is off by default; positions are 1-based, 0 is off.
#[derive(Default)]
pub struct Faults {
    /// Opening a read view fails (what the readiness probe does).
    pub open_fails: AtomicBool,
    /// A write transaction cannot begin.
    pub begin_write_fails: AtomicBool,
    /// The work of a write transaction runs to its end, then the commit fails.
    pub commit_fails: AtomicBool,
    /// Opening a read view and every read (views and write transactions) panic.
    pub reads_panic: AtomicBool,
    /// One shot: the Nth point read on read views, counted from [`FaultStore::fail_view_read`].
    view_read_at: AtomicU64,
    view_reads: AtomicU64,
    /// In every write transaction, the Nth read fails.
    pub tx_read_at: AtomicU64,
    /// In every write transaction, the Nth write operation fails.
    pub tx_write_at: AtomicU64,
    /// Write operations that fail whenever they are called, by name.
    failing_ops: Mutex<Vec<&'static str>>,
    /// Reading the change feed fails (a sidecar that lost the feed while its reads work).
    pub feed_fails: AtomicBool,
    /// How many faults fired: a sweep position that fired nothing proves nothing.
    pub injected: AtomicU64,
    /// Whether write operations are recorded by name (off: a long run keeps nothing).
    pub record_ops: AtomicBool,
    /// The names of the write operations called, in order, while `record_ops` is on (see
    /// [`FaultStore::take_ops`]).
    ops: Mutex<Vec<&'static str>>,
}

pub struct FaultStore<S: Store = RedbStore> {
    inner: S,
    pub faults: Faults,
}

fn injected(what: &str) -> StoreError {
    StoreError::Read(format!("injected fault: {what}"))
}

impl FaultStore {
    /// Over a redb store in `dir`.
    pub fn open(dir: &Path) -> Self {
        FaultStore::over(RedbStore::open(dir).expect("the redb store opens"))
    }
}

impl<S: Store> FaultStore<S> {
    /// Over `inner`, every fault off.
    pub fn over(inner: S) -> Self {
        FaultStore {
            inner,
            faults: Faults::default(),
        }
    }

    /// Turns every fault off.
    pub fn heal(&self) {
        let f = &self.faults;
        for flag in [
            &f.open_fails,
            &f.begin_write_fails,
            &f.commit_fails,
            &f.reads_panic,
            &f.feed_fails,
        ] {
            flag.store(false, SeqCst);
        }
        for position in [&f.view_read_at, &f.tx_read_at, &f.tx_write_at] {
            position.store(0, SeqCst);
        }
        f.failing_ops.lock().expect("not poisoned").clear();
    }

    /// The `n`th point read on read views from now on fails, once.
    pub fn fail_view_read(&self, n: u64) {
        self.faults.view_reads.store(0, SeqCst);
        self.faults.view_read_at.store(n, SeqCst);
    }

    /// Point reads on read views since the last [`Self::fail_view_read`] or
    /// [`Self::count_view_reads`].
    pub fn view_reads(&self) -> u64 {
        self.faults.view_reads.load(SeqCst)
    }

    pub fn count_view_reads(&self) {
        self.faults.view_reads.store(0, SeqCst);
    }

    /// Write operations named `op` fail (`put_user`, `append_log:audit`, ...).
    pub fn fail_op(&self, op: &'static str) {
        self.faults
            .failing_ops
            .lock()
            .expect("not poisoned")
            .push(op);
    }

    pub fn injected(&self) -> u64 {
        self.faults.injected.load(SeqCst)
    }

    /// The write operations called since the last call, by name.
    pub fn take_ops(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.faults.ops.lock().expect("not poisoned"))
    }
}

impl Faults {
    fn fire(&self, what: &str) -> StoreError {
        self.injected.fetch_add(1, SeqCst);
        injected(what)
    }

    fn maybe_panic(&self, what: &str) {
        if self.reads_panic.load(SeqCst) {
            self.injected.fetch_add(1, SeqCst);
            panic!("injected panic: {what}");
        }
    }

    /// A point read on a read view.
    fn view_read(&self, what: &str) -> Result<(), StoreError> {
        self.maybe_panic(what);
        let n = self.view_reads.fetch_add(1, SeqCst) + 1;
        let at = self.view_read_at.load(SeqCst);
        if at != 0 && n == at {
            return Err(self.fire(&format!("read #{n} ({what})")));
        }
        Ok(())
    }
}

// ---- read views -------------------------------------------------------------------------

struct FaultySnapshot<'a> {
    inner: Box<dyn Snapshot + 'a>,
    faults: &'a Faults,
}

impl FaultySnapshot<'_> {
    fn read(&self, what: &str) -> Result<(), StoreError> {
        self.faults.view_read(what)
    }
}

// ---- write transactions -----------------------------------------------------------------

struct FaultyTx<'a> {
    inner: &'a mut dyn WriteTx,
    faults: &'a Faults,
    reads: Cell<u64>,
    writes: u64,
}

impl FaultyTx<'_> {
    fn read(&self, what: &str) -> Result<(), StoreError> {
        self.faults.maybe_panic(what);
        let n = self.reads.get() + 1;
        self.reads.set(n);
        if self.faults.tx_read_at.load(SeqCst) == n {
            return Err(self.faults.fire(&format!("transaction read #{n} ({what})")));
        }
        Ok(())
    }

    fn write(&mut self, op: &'static str) -> Result<(), StoreError> {
        if self.faults.record_ops.load(SeqCst) {
            self.faults.ops.lock().expect("not poisoned").push(op);
        }
        self.writes += 1;
        let n = self.writes;
        if self.faults.tx_write_at.load(SeqCst) == n
            || self
                .faults
                .failing_ops
                .lock()
                .expect("not poisoned")
                .contains(&op)
        {
            self.faults.injected.fetch_add(1, SeqCst);
            return Err(StoreError::Write(format!(
                "injected fault: transaction write #{n} ({op})"
            )));
        }
        Ok(())
    }
}

/// The read methods of `Directory` and `Snapshot`, each preceded by the fault hook.
macro_rules! faulty_reads {
    ($ty:ty) => {
        impl Directory for $ty {
            type Error = StoreError;

            fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
                self.read("partner")?;
                self.inner.partner(id)
            }

            fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
                self.read("client")?;
                self.inner.client(id)
            }

            fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
                self.read("user")?;
                self.inner.user(email)
            }

            fn membership(
                &self,
                client: &ClientId,
                email: &Email,
            ) -> Result<Option<ClientUserRecord>, StoreError> {
                self.read("membership")?;
                self.inner.membership(client, email)
            }
        }

        impl Snapshot for $ty {
            fn revision(&self) -> u64 {
                self.inner.revision()
            }

            fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError> {
                self.read("partner_record")?;
                self.inner.partner_record(id)
            }

            fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
                self.read("client_record")?;
                self.inner.client_record(id)
            }

            fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError> {
                self.read("clients_of_user")?;
                self.inner.clients_of_user(email)
            }

            fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError> {
                self.read("partner_ids")?;
                self.inner.partner_ids()
            }

            fn client_ids(&self) -> Result<Vec<ClientId>, StoreError> {
                self.read("client_ids")?;
                self.inner.client_ids()
            }

            fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                self.read("aux")?;
                self.inner.aux(table, key)
            }

            fn aux_after(
                &self,
                table: Aux,
                after: &str,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                self.read("aux_after")?;
                self.inner.aux_after(table, after, limit)
            }

            fn log_range(
                &self,
                log: Log,
                after: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                self.read("log_range")?;
                self.inner.log_range(log, after, limit)
            }
        }
    };
}

faulty_reads!(FaultySnapshot<'_>);
faulty_reads!(FaultyTx<'_>);

impl WriteTx for FaultyTx<'_> {
    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError> {
        self.write("replace_all")?;
        self.inner.replace_all(doc)
    }

    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError> {
        self.write("put_partner")?;
        self.inner.put_partner(partner)
    }

    fn put_employee(
        &mut self,
        partner: &PartnerId,
        employee: &EmployeeRecord,
    ) -> Result<(), StoreError> {
        self.write("put_employee")?;
        self.inner.put_employee(partner, employee)
    }

    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.write("put_client")?;
        self.inner.put_client(client)
    }

    fn put_client_row(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.write("put_client_row")?;
        self.inner.put_client_row(client)
    }

    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError> {
        self.write("put_user")?;
        self.inner.put_user(client, user)
    }

    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError> {
        self.write("remove_user")?;
        self.inner.remove_user(client, email)
    }

    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError> {
        self.write("put_asset")?;
        self.inner.put_asset(client, asset)
    }

    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write("put_aux")?;
        self.inner.put_aux(table, key, value)
    }

    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError> {
        self.write("remove_aux")?;
        self.inner.remove_aux(table, key)
    }

    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError> {
        self.write(match log {
            Log::Audit => "append_log:audit",
            Log::Events => "append_log:events",
        })?;
        self.inner.append_log(log, value)
    }
}

impl<S: Store> Store for FaultStore<S> {
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, StoreError> {
        self.faults.maybe_panic("snapshot");
        if self.faults.open_fails.load(SeqCst) {
            return Err(self.faults.fire("opening a read view"));
        }
        Ok(Box::new(FaultySnapshot {
            inner: self.inner.snapshot()?,
            faults: &self.faults,
        }))
    }

    fn write_dyn(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        let faults = &self.faults;
        if faults.begin_write_fails.load(SeqCst) {
            faults.injected.fetch_add(1, SeqCst);
            return Err(WorkError::Store(StoreError::Write(
                "injected fault: beginning a write".into(),
            )));
        }
        self.inner.write_dyn(&mut |tx| {
            let mut wrapped = FaultyTx {
                inner: tx,
                faults,
                reads: Cell::new(0),
                writes: 0,
            };
            work(&mut wrapped)?;
            // The work is done and its writes are in the transaction: failing here is a
            // failing commit as the caller sees it (redb drops the transaction).
            if faults.commit_fails.load(SeqCst) {
                faults.injected.fetch_add(1, SeqCst);
                return Err(WorkError::Store(StoreError::Write(
                    "injected fault: the commit failed".into(),
                )));
            }
            Ok(())
        })
    }

    fn shared(&self) -> bool {
        self.inner.shared()
    }

    fn changes_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<Vec<Committed>>, StoreError> {
        if self.faults.feed_fails.load(SeqCst) {
            return Err(self.faults.fire("the change feed is unreachable"));
        }
        self.inner.changes_since(after, limit)
    }
}
