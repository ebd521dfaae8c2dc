//! Cached entity slices: the Cedar entities of a (principal, resource) pair, built once and
//! reused by every context-free check of that pair until the state changes.
//!
//! Building a slice (entity records, tags, the `Entities` set and its closure) costs more than
//! evaluating the policies over it. An entry carries the store generation it was built at and
//! is used only while that is still the current generation; the caller's generation function
//! answers `None` while a write is between its commit and the end of its cache removals, so no
//! slice is built from, or served over, a half-invalidated cache.

use std::sync::Arc;
use std::time::Duration;

use cedar_policy::Entities;
use moka::sync::Cache;

use super::refs::EntityRef;

/// A slice and the generation it was built at.
pub(crate) struct CachedSlice {
    generation: u64,
    entities: Entities,
}

impl CachedSlice {
    pub(crate) fn new(generation: u64, entities: Entities) -> Self {
        CachedSlice {
            generation,
            entities,
        }
    }

    pub(crate) fn entities(&self) -> &Entities {
        &self.entities
    }
}

/// Slices by (principal, resource).
pub struct SliceCache {
    entries: Cache<(EntityRef, EntityRef), Arc<CachedSlice>>,
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
        }
    }

    /// The slice of the pair if it was built at `generation`.
    pub(crate) fn get(
        &self,
        key: &(EntityRef, EntityRef),
        generation: u64,
    ) -> Option<Arc<CachedSlice>> {
        let hit = self.entries.get(key).filter(|s| s.generation == generation);
        let name = if hit.is_some() {
            "partner_access_slice_cache_hits_total"
        } else {
            "partner_access_slice_cache_misses_total"
        };
        metrics::counter!(name).increment(1);
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
