//! The check-path cache: moka in front of the store's point lookups.
//!
//! Owns: the cached lookups and their ordering against commits. May name: `store` and
//! `domain`. May not: name the policy engine, the use cases or HTTP.
//!
//! The danger of a cache in an authorization service is a stale Allow: a revoke commits, and a
//! check that starts after the revoke answered still reads the old membership from the cache.
//! Two orderings make that impossible on one sidecar:
//!
//! 1. A writer first publishes its new revision ([`StateCache::published`]), then removes the
//!    keys it changed, each with `and_compute_with` (moka serializes computations per key).
//! 2. A reader that missed fills the cache with `and_compute_with` too, and only if the
//!    snapshot it read is still the latest published revision. A reader that read before a
//!    write and fills after it finds a newer revision published and leaves the cache alone.
//!
//! Whatever the interleaving, a value read before a commit is never in the cache once the
//! commit's removals are done, and the write answers only after that. Entries also expire on a
//! fixed time-to-live (never only on idle), which bounds any surprise.

use std::cell::{Cell, OnceCell};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use moka::ops::compute::Op;
use moka::sync::Cache;

use crate::domain::{
    ClientId, ClientInfo, ClientUserRecord, Directory, Email, PartnerId, PartnerInfo, UserInfo,
};
use crate::store::{Committed, Snapshot, StateKey, Store, StoreError};

/// A cached lookup result; `None` inside means "the store has no such record".
#[derive(Debug, Clone)]
enum Cached {
    Partner(Option<PartnerInfo>),
    Client(Option<ClientInfo>),
    User(Option<UserInfo>),
    /// Shared: the activity note of every Allow reads it, and only its partner.
    Membership(Option<Arc<ClientUserRecord>>),
}

/// The cache, shared by every request.
pub struct StateCache {
    entries: Cache<StateKey, Cached>,
    /// The newest committed revision this sidecar knows of. Fills from older snapshots are
    /// refused.
    published: AtomicU64,
    /// Bumped by every commit as it starts updating the cache: derived data (entity slices)
    /// built under one epoch is stale under the next.
    epoch: AtomicU64,
    /// Commits currently updating the cache; while any is, nothing derived is reused or kept.
    in_flight: AtomicU64,
    /// `partner_access_cache_{hits,misses}_total`, registered on the first lookup (after the
    /// metrics recorder is installed): a lookup by name on every read would hash the name in
    /// the registry each time.
    counters: OnceLock<[metrics::Counter; 2]>,
}

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCache")
            .field("entries", &self.entries.entry_count())
            .field("published", &self.published())
            .finish()
    }
}

impl StateCache {
    /// A cache of at most `capacity` entries, each living at most `ttl`, starting at the store's
    /// current `revision`.
    pub fn new(capacity: u64, ttl: Duration, revision: u64) -> Self {
        StateCache {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            published: AtomicU64::new(revision),
            epoch: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            counters: OnceLock::new(),
        }
    }

    /// The epoch of the cache when no commit is updating it, `None` while one is. Data derived
    /// from the cache under epoch `e` may be reused while this still answers `Some(e)`.
    pub fn generation(&self) -> Option<u64> {
        let before = self.epoch.load(Ordering::Acquire);
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let after = self.epoch.load(Ordering::Acquire);
        (before == after).then_some(before)
    }

    /// The newest revision published by a writer on this sidecar.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Makes a commit visible to the check path: publishes its revision, then removes what it
    /// changed. Call after the commit and before answering the write.
    pub fn committed(&self, committed: &Committed) {
        if !committed.everything && committed.keys.is_empty() {
            // Nothing the check path reads changed (an audit record, an activity flush): the
            // revision moves on, cached data and derived slices stay valid.
            self.published
                .fetch_max(committed.revision, Ordering::AcqRel);
            return;
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.published
            .fetch_max(committed.revision, Ordering::AcqRel);
        if committed.everything {
            self.entries.invalidate_all();
        }
        for key in &committed.keys {
            self.entries
                .entry(key.clone())
                .and_compute_with(|_| Op::Remove);
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Stores a value read at `revision`, unless a newer revision has been published since.
    /// Returns whether it was stored.
    fn fill(&self, key: StateKey, revision: u64, value: Cached) -> bool {
        let mut stored = false;
        self.entries.entry(key).and_compute_with(|_| {
            if revision >= self.published() {
                stored = true;
                Op::Put(value)
            } else {
                Op::Nop
            }
        });
        stored
    }

    fn get(&self, key: &StateKey) -> Option<Cached> {
        self.entries.get(key)
    }

    /// A per-request view that reads through this cache into `store`.
    pub fn view<'a>(&'a self, store: &'a dyn Store) -> CachedView<'a> {
        CachedView {
            cache: self,
            store,
            snapshot: OnceCell::new(),
            bypass: false,
            store_time: Cell::new(Duration::ZERO),
        }
    }

    /// A per-request view that reads `store` only, neither reading nor filling the cache: a
    /// `fully_consistent` check, or a sidecar that has lost track of a shared store's changes.
    pub fn view_uncached<'a>(&'a self, store: &'a dyn Store) -> CachedView<'a> {
        CachedView {
            bypass: true,
            ..self.view(store)
        }
    }

    /// Drops every entry (tests and the equivalence checks use it for the uncached path).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

/// A [`Directory`] for one request: cache first; on a miss, one snapshot of the store, opened
/// on the first miss and reused for the others.
pub struct CachedView<'a> {
    cache: &'a StateCache,
    store: &'a dyn Store,
    snapshot: OnceCell<Box<dyn Snapshot + 'a>>,
    /// Read the store only (see [`StateCache::view_uncached`]).
    bypass: bool,
    /// Time spent reading the store (opening the snapshot and each read a miss makes); a
    /// lookup the cache answers adds nothing, and measures nothing.
    store_time: Cell<Duration>,
}

impl<'a> CachedView<'a> {
    /// The revision this view answered at: its snapshot's, or the latest published one when
    /// every lookup hit the cache.
    pub fn revision(&self) -> u64 {
        self.snapshot
            .get()
            .map_or_else(|| self.cache.published(), |s| s.revision())
    }

    /// The time this view has spent reading the store so far (zero when the cache answered
    /// every lookup).
    pub fn store_time(&self) -> Duration {
        self.store_time.get()
    }

    /// `read` of the store, timed into [`CachedView::store_time`].
    fn timed<T>(&self, read: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = read();
        self.store_time
            .set(self.store_time.get() + started.elapsed());
        value
    }

    /// Whether this view bypasses the cache (and so must not reuse anything derived from it).
    pub fn bypasses_cache(&self) -> bool {
        self.bypass
    }

    fn snapshot(&self) -> Result<&(dyn Snapshot + 'a), StoreError> {
        if let Some(s) = self.snapshot.get() {
            return Ok(s.as_ref());
        }
        let opened = self.store.snapshot()?;
        Ok(self.snapshot.get_or_init(|| opened).as_ref())
    }

    fn lookup(
        &self,
        key: StateKey,
        read: impl FnOnce(&dyn Snapshot) -> Result<Cached, StoreError>,
    ) -> Result<Cached, StoreError> {
        if self.bypass {
            return self.timed(|| read(self.snapshot()?));
        }
        let [hits, misses] = self.cache.counters.get_or_init(|| {
            [
                metrics::counter!("partner_access_cache_hits_total"),
                metrics::counter!("partner_access_cache_misses_total"),
            ]
        });
        if let Some(hit) = self.cache.get(&key) {
            hits.increment(1);
            return Ok(hit);
        }
        misses.increment(1);
        let (snapshot, value) = self.timed(|| {
            let snapshot = self.snapshot()?;
            read(snapshot).map(|value| (snapshot, value))
        })?;
        self.cache.fill(key, snapshot.revision(), value.clone());
        Ok(value)
    }
}

impl CachedView<'_> {
    /// The partner a membership belongs to (`None`: not a partner user, or no membership),
    /// without copying the record: the activity note of every Allow asks this.
    pub fn membership_partner(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<PartnerId>, StoreError> {
        Ok(self
            .shared_membership(client, email)?
            .and_then(|m| m.partner.clone()))
    }

    fn shared_membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<Arc<ClientUserRecord>>, StoreError> {
        match self.lookup(StateKey::Membership(client.clone(), email.clone()), |s| {
            s.membership(client, email)
                .map(|m| Cached::Membership(m.map(Arc::new)))
        })? {
            Cached::Membership(v) => Ok(v),
            _ => Err(mismatch()),
        }
    }
}

/// A cached value of the wrong kind for its key: a bug, reported as a read error (never an
/// Allow).
fn mismatch() -> StoreError {
    StoreError::Read("cache entry of the wrong kind".into())
}

impl Directory for CachedView<'_> {
    type Error = StoreError;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
        match self.lookup(StateKey::Partner(id.clone()), |s| {
            s.partner(id).map(Cached::Partner)
        })? {
            Cached::Partner(v) => Ok(v),
            _ => Err(mismatch()),
        }
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
        match self.lookup(StateKey::Client(id.clone()), |s| {
            s.client(id).map(Cached::Client)
        })? {
            Cached::Client(v) => Ok(v),
            _ => Err(mismatch()),
        }
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
        match self.lookup(StateKey::User(email.clone()), |s| {
            s.user(email).map(Cached::User)
        })? {
            Cached::User(v) => Ok(v),
            _ => Err(mismatch()),
        }
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, StoreError> {
        Ok(self
            .shared_membership(client, email)?
            .map(Arc::unwrap_or_clone))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{StateDocument, Status};
    use crate::store::{RedbStore, WriteError, write};

    fn store() -> (tempfile::TempDir, RedbStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(dir.path()).unwrap();
        let doc =
            StateDocument::from_json_str(include_str!("../examples/demo-state.json")).unwrap();
        write::<_, (), ()>(&store, |tx| Ok(tx.replace_all(&doc)?)).unwrap();
        (dir, store)
    }

    fn deactivate(store: &RedbStore, client: &ClientId, email: &Email) -> Committed {
        write::<_, (), ()>(store, |tx| {
            let mut user = tx
                .membership(client, email)?
                .ok_or(WriteError::Aborted(()))?;
            user.status = Status::Deactivated;
            Ok(tx.put_user(client, &user)?)
        })
        .unwrap()
        .1
    }

    /// The race the design prevents: a reader reads the membership before a revoke commits and
    /// fills the cache after the revoke's removals ran. The stale value must not be cached.
    #[test]
    fn a_fill_that_loses_the_race_with_a_revoke_is_not_cached() {
        let (_dir, store) = store();
        let cache = StateCache::new(1000, Duration::from_secs(60), 1);
        let globex = ClientId::parse("c-globex").unwrap();
        let ann = Email::parse("ann@acme.example").unwrap();
        let key = StateKey::Membership(globex.clone(), ann.clone());

        // The reader's half: snapshot and read, not yet filled.
        let snapshot = store.snapshot().unwrap();
        let stale = snapshot.membership(&globex, &ann).unwrap();
        assert_eq!(stale.as_ref().unwrap().status, Status::Active);

        // The revoke commits and is published.
        let committed = deactivate(&store, &globex, &ann);
        cache.committed(&committed);

        // The reader's late fill is refused...
        assert!(!cache.fill(
            key.clone(),
            snapshot.revision(),
            Cached::Membership(stale.map(Arc::new))
        ));
        // ...and the next check reads the revoke.
        let fresh = cache
            .view(&store)
            .membership(&globex, &ann)
            .unwrap()
            .unwrap();
        assert_eq!(fresh.status, Status::Deactivated);
    }

    /// The other interleaving: the fill lands first, then the revoke's removal takes it out.
    #[test]
    fn a_fill_before_the_revoke_is_removed_by_it() {
        let (_dir, store) = store();
        let cache = StateCache::new(1000, Duration::from_secs(60), 1);
        let globex = ClientId::parse("c-globex").unwrap();
        let ann = Email::parse("ann@acme.example").unwrap();

        let before = cache
            .view(&store)
            .membership(&globex, &ann)
            .unwrap()
            .unwrap();
        assert_eq!(before.status, Status::Active);
        let committed = deactivate(&store, &globex, &ann);
        cache.committed(&committed);
        let after = cache
            .view(&store)
            .membership(&globex, &ann)
            .unwrap()
            .unwrap();
        assert_eq!(after.status, Status::Deactivated);
    }

    /// Derived data (entity slices) is tagged with the generation; any commit moves it on, so
    /// a slice built before a commit is never reused after it, whatever order commits finish.
    #[test]
    fn every_commit_moves_the_generation_on() {
        let (_dir, store) = store();
        let cache = StateCache::new(1000, Duration::from_secs(60), 1);
        let before = cache.generation().unwrap();
        let globex = ClientId::parse("c-globex").unwrap();
        let ann = Email::parse("ann@acme.example").unwrap();
        let late = deactivate(&store, &globex, &ann);
        let early = Committed {
            revision: late.revision + 1,
            keys: late.keys.clone(),
            ..Committed::default()
        };
        // A later revision reaching the cache first does not hide the earlier one.
        cache.committed(&early);
        let middle = cache.generation().unwrap();
        cache.committed(&late);
        let after = cache.generation().unwrap();
        assert!(before != middle && middle != after && before != after);
        // A write that changed nothing the check path reads leaves derived data valid.
        cache.committed(&Committed {
            revision: late.revision + 2,
            ..Committed::default()
        });
        assert_eq!(cache.generation(), Some(after));
        assert_eq!(cache.published(), late.revision + 2);
    }

    #[test]
    fn entries_expire_on_a_fixed_ttl() {
        let (_dir, store) = store();
        let cache = StateCache::new(1000, Duration::from_millis(50), 1);
        let globex = ClientId::parse("c-globex").unwrap();
        cache.view(&store).client(&globex).unwrap();
        assert!(cache.get(&StateKey::Client(globex.clone())).is_some());
        std::thread::sleep(Duration::from_millis(120));
        assert!(cache.get(&StateKey::Client(globex)).is_none());
    }
}
