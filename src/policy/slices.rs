//! Cached entity slices: the Cedar entities of a (principal, resource) pair, built once and
//! reused by every context-free check of that pair until the state changes.
//!
//! Building a slice (entity records, tags, the `Entities` set and its closure) costs more than
//! evaluating the policies over it. An entry carries the store generation it was built at and
//! is used only while that is still the current generation; the caller's generation function
//! answers `None` while a write is between its commit and the end of its cache removals, so no
//! slice is built from, or served over, a half-invalidated cache.
//!
//! A slice also memoizes the decision of each action over it: a context-free decision is a
//! function of the policies, the slice and the action only. Because the memo lives in the
//! slice, it is dropped with it, by the same generation rule; and because a slice answers
//! only the engine (policy set) that built it, a reload never serves an old decision.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cedar_policy::Entities;
use moka::sync::Cache;

use super::refs::EntityRef;
use super::{CheckError, Decision};

/// A slice, the generation and engine it was built at, and its decisions so far.
pub(crate) struct CachedSlice {
    generation: u64,
    engine: u64,
    entities: Entities,
    /// One per declared action (the engine's action slots), filled on first use.
    decisions: Box<[OnceLock<Decision>]>,
}

impl CachedSlice {
    pub(crate) fn new(generation: u64, engine: u64, entities: Entities, actions: usize) -> Self {
        CachedSlice {
            generation,
            engine,
            entities,
            decisions: (0..actions).map(|_| OnceLock::new()).collect(),
        }
    }

    pub(crate) fn entities(&self) -> &Entities {
        &self.entities
    }

    /// Records the decision of an action over this slice.
    pub(crate) fn memoize(&self, slot: usize, decision: Decision) {
        if let Some(cell) = self.decisions.get(slot) {
            let _ = cell.set(decision);
        }
    }

    /// The decision of an action over this slice, deciding it on first use.
    pub(crate) fn decision(
        &self,
        slot: usize,
        decide: impl FnOnce() -> Result<Decision, CheckError>,
    ) -> Result<Decision, CheckError> {
        let Some(cell) = self.decisions.get(slot) else {
            return decide();
        };
        if let Some(decision) = cell.get() {
            return Ok(decision.clone());
        }
        let decision = decide()?;
        let _ = cell.set(decision.clone());
        Ok(decision)
    }
}

/// Slices by (principal, resource).
pub struct SliceCache {
    entries: Cache<(EntityRef, EntityRef), Arc<CachedSlice>>,
    /// `partner_access_slice_cache_{hits,misses}_total`, registered on the first lookup
    /// (after the metrics recorder is installed): a lookup by name on every check would hash
    /// the name in the registry each time.
    counters: OnceLock<[metrics::Counter; 2]>,
}

impl std::fmt::Debug for SliceCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SliceCache")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl SliceCache {
    /// At most `capacity` slices, each living at most `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        SliceCache {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            counters: OnceLock::new(),
        }
    }

    /// The slice of the pair if it was built at `generation` by engine `engine`.
    pub(crate) fn get(
        &self,
        key: &(EntityRef, EntityRef),
        generation: u64,
        engine: u64,
    ) -> Option<Arc<CachedSlice>> {
        let hit = self
            .entries
            .get(key)
            .filter(|s| s.generation == generation && s.engine == engine);
        let [hits, misses] = self.counters.get_or_init(|| {
            [
                metrics::counter!("partner_access_slice_cache_hits_total"),
                metrics::counter!("partner_access_slice_cache_misses_total"),
            ]
        });
        if hit.is_some() { hits } else { misses }.increment(1);
        hit
    }

    pub(crate) fn put(&self, key: (EntityRef, EntityRef), slice: Arc<CachedSlice>) {
        self.entries.insert(key, slice);
    }

    /// Drops every slice.
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}
