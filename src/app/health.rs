//! The store's health as the app sees it: readiness (store readable and writable, policies
//! loaded), the probe that decides whether checks may trust the store, and what a store
//! failure does (counted, logged, cached lookups dropped when a write's outcome is unknown).
//! It owns the health flags' meaning; the store says what failed and may not be asked to
//! recover here.

use std::sync::atomic::Ordering;

use super::App;
use crate::store::StoreError;

impl App {
    /// Whether the sidecar can answer: store readable, store writable (as far as it knows:
    /// not damaged, not removed, its last write did not fail at the disk) and policies loaded.
    /// Probing the store also updates the health flag the check path consults.
    pub fn readiness(&self) -> Readiness {
        let store = self.probe_store();
        let damaged_record = self
            .damaged_record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let problem = if store {
            self.store
                .health()
                .err()
                .map(|e| e.to_string())
                .or(damaged_record)
        } else {
            None
        };
        // Writable again after trouble (the store reopened its file): what was cached while it
        // was not may predate a commit the reopen now shows.
        if store && problem.is_none() && self.write_trouble.swap(false, Ordering::Relaxed) {
            self.clear_cache();
        }
        Readiness {
            store,
            writable: store && problem.is_none(),
            policies: !self.engine.load().policies().is_empty(),
            problem,
        }
    }

    /// Opens a read transaction to see whether the store answers, and records the result: a
    /// store known to fail makes every check a Deny, even one the cache could answer.
    pub fn probe_store(&self) -> bool {
        // A store that panics is as broken as one that errors: the panic is caught here so
        // it marks the store unhealthy (checks deny, even from the cache) instead of unwinding
        // out of the probe and leaving the last verdict standing.
        let probed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.store.snapshot().map(|_| ())
        }))
        .unwrap_or_else(|_| Err(StoreError::Read("the store panicked".into())));
        match probed {
            Ok(()) => {
                self.store_healthy.store(true, Ordering::Relaxed);
                true
            }
            Err(e) => {
                if self.store_healthy.swap(false, Ordering::Relaxed) {
                    metrics::counter!("partner_access_store_errors_total").increment(1);
                    tracing::error!(error = %e, "store probe failed; checks deny until it recovers");
                }
                false
            }
        }
    }

    /// Whether the store is believed healthy; when not, probes it again.
    pub(super) fn store_usable(&self) -> bool {
        self.store_healthy.load(Ordering::Relaxed) || self.probe_store()
    }

    /// Records a store failure: counted, logged, and readiness goes false. After a write whose
    /// outcome is unknown (or that failed at the disk, where a reopen may read it after all),
    /// every cached lookup is dropped: the commit may have landed.
    pub(crate) fn store_failed(&self, error: &StoreError) {
        if let StoreError::Contention { .. } = error {
            // Commands met on one account, again and again: the store is well, busy.
            metrics::counter!("partner_access_store_contention_total").increment(1);
            tracing::warn!(%error, "a write gave up after repeated contention");
            return;
        }
        if matches!(
            error,
            StoreError::Disk { .. } | StoreError::OutcomeUnknown { .. }
        ) {
            self.write_trouble.store(true, Ordering::Relaxed);
            self.clear_cache();
        }
        if let StoreError::Corrupt { key, message } = error {
            let mut damaged = self
                .damaged_record
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            damaged.get_or_insert_with(|| {
                format!(
                    "the store is damaged: its record `{key}` does not decode ({message}); \
                     restore the backup or import the last export"
                )
            });
        }
        self.store_healthy.store(false, Ordering::Relaxed);
        metrics::counter!("partner_access_store_errors_total").increment(1);
        tracing::error!(%error, "store failure");
    }
}

/// Readiness, part by part.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Readiness {
    /// The store can be read: checks are decided on it.
    pub store: bool,
    /// The store takes writes: not known damaged, still the file it opened, its last write did
    /// not fail at the disk (or a probe write after it succeeded).
    pub writable: bool,
    pub policies: bool,
    /// Why the store is not writable.
    pub problem: Option<String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.store && self.writable && self.policies
    }
}
