//! The use cases: checks, explanations and reverse queries, administration, the Client Access
//! Manager's commands and reads, with no HTTP, redb or Cedar types in their signatures.
//!
//! [`App`] is the state every request shares: the policy engine (swapped whole on reload or
//! activation, so a request always sees one consistent set; read from the directories, or
//! from the store's active version, see [`policies`] and [`PolicySource`]), the store, the check-path cache, and the readiness
//! flags. The HTTP layer calls these methods and only translates their results.
//!
//! Owns: the use cases and their one error type, [`AppError`]. May use: `policy`, `store`,
//! `cache`, `domain`. May not: import `axum`, `cedar_policy`, `redb`, a PostgreSQL driver or
//! `clap`, or know about HTTP. The types of `policy` and `store` that its callers need (a
//! request to decide, a policy as listed, the store deadline) are re-exported here, so that
//! `http` names only `app` and `domain`. The commands' bodies and answers derive their OpenAPI
//! schemas (`utoipa::ToSchema`) where they are defined, so the document gives their shape.

mod activity;
mod admin;
mod checks;
pub mod commands;
pub mod decision_log;
mod error;
mod explain;
mod follow;
mod health;
pub mod impact;
pub mod policies;
pub mod reads;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::cache::StateCache;
use crate::domain::{OrphanedPermissions, PolicyVersion, check_orphans};
use crate::policy::PolicyEngine;
use crate::store::{Committed, Store, StoreError, WriteError};

pub use admin::{AssetUpsert, ClientUpsert, EmployeeUpsert, ImportMode, PartnerUpsert, UserUpsert};
pub use checks::{CheckOutcome, Checked, Checker, expect_policy_version};
pub use error::AppError;
pub use explain::{
    AccountsPage, ActionsAllowed, AllowedAccount, Explained, Found, FoundItem, MAX_SCAN, MAX_SEARCH,
};
pub use follow::{
    Consistency, FollowSettings, MAX_REVISION_AHEAD, MAX_WAITING_CHECKS, REVISION_POLL,
};
pub use health::Readiness;
pub use policies::{
    Activated, Activation, PolicyError, PolicyFile, PolicyFileKind, PolicyHistory, PolicyPush,
    PolicyVersionSummary, Pushed, StoredPolicySet, TestFailure, TestSource, TestsRun,
};

/// Where a sidecar's policies come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicySource {
    /// The `.cedar` and `.cedarschema` files of its directories (the default): a reload
    /// re-reads them.
    Directory,
    /// The store's active version (`serve --policies-from-store`): a reload, and an
    /// activation on any sidecar of the fleet, loads it.
    Store,
}

/// The policy engine's types that cross this interface: a request to decide, the entity
/// references it names, and the policies and actions as `GET /v1/policies`, `GET
/// /v1/schema/actions` and `POST /v1/explain` show them.
pub use crate::policy::{ActionInfo, Candidate, CheckRequest, EntityKind, EntityRef, PolicyInfo};
/// Why a policy set does not load (a reload, a push), every error with file and line.
pub use crate::policy::{LoadError, LoadErrors};
/// What a search looks for (`GET /v1/search`).
pub use crate::store::SearchKind;
/// The time the caller has left, which the HTTP layer sets per request and the store obeys.
pub use crate::store::deadline;

/// How often the server writes the partner activity checks note, unless set: a crash loses at
/// most this much of it (REL-3 counts days, so seconds do not move an end).
pub const DEFAULT_ACTIVITY_FLUSH: Duration = Duration::from_secs(5);

/// `partner_access_policy_version_info{version}`: 1 for the policy set in force, 0 for the one
/// it replaced, so a fleet's dashboards show which sidecar serves which rules.
fn export_policy_version(active: &PolicyVersion, replaced: Option<&PolicyVersion>) {
    if let Some(replaced) = replaced.filter(|r| *r != active) {
        metrics::gauge!("partner_access_policy_version_info", "version" => replaced.to_string())
            .set(0.0);
    }
    metrics::gauge!("partner_access_policy_version_info", "version" => active.to_string()).set(1.0);
}

/// Where the policies come from, and the cache's sizing.
#[derive(Debug, Clone)]
pub struct AppSettings {
    pub policies_dir: PathBuf,
    pub schema_dir: PathBuf,
    pub cache_capacity: u64,
    pub cache_ttl: Duration,
    /// How this sidecar follows a shared store (no effect on a private one).
    pub follow: FollowSettings,
}

/// The state every request shares.
pub struct App {
    settings: AppSettings,
    /// The loaded policies; replaced whole by a successful reload.
    engine: ArcSwap<PolicyEngine>,
    store: Arc<dyn Store>,
    /// Lookups of the check path; told about every commit before the write answers.
    cache: StateCache,
    /// Entity slices of context-free checks, reused while the cache's generation holds.
    slices: crate::policy::SliceCache,
    /// False once the store has failed a read or write, until it succeeds again: readiness.
    store_healthy: AtomicBool,
    /// A write failed at the disk or with an unknown outcome, and readiness has not seen the
    /// store writable since: a commit may have landed that the cache never heard of.
    write_trouble: AtomicBool,
    /// A stored record that did not decode, as readiness reports it until a restart.
    damaged_record: std::sync::Mutex<Option<String>>,
    /// Partner activity noted by Allow decisions, waiting to be flushed (REL-3).
    activity: activity::Activity,
    /// Metric handles of the check path, registered on the first check (after the metrics
    /// recorder is installed).
    check_metrics: std::sync::OnceLock<checks::CheckMetrics>,
    /// The optional JSON-lines log of check decisions.
    decision_log: std::sync::OnceLock<decision_log::DecisionLog>,
    /// Where this sidecar is in a shared store's change feed.
    feed: follow::Feed,
    /// How long an idempotency key's answer is replayed (see [`App::with_idempotency_ttl`]).
    idempotency_ttl: Duration,
    /// How often the server's upkeep writes noted partner activity (see
    /// [`App::with_activity_flush`]).
    activity_flush: Duration,
    /// The last idempotency key the pruning sweep looked at ("" at the start of the table).
    idempotency_sweep: std::sync::Mutex<String>,
    /// Held by a policy reload from loading to swapping: two reloads (SIGHUP and HTTP at once)
    /// run one after the other, so the set in force and the metric that says it agree.
    reloading: std::sync::Mutex<()>,
    /// Whether the policies come from the directories or the store's active version.
    policy_source: PolicySource,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.settings)
            .field("cache", &self.cache)
            .finish()
    }
}

impl App {
    /// Loads the policies from the configured directories and wires the app over `store`. A
    /// schema that drops a permission stored records hold is refused, as on reload: serving it
    /// would leave records that no longer validate.
    pub fn new(settings: AppSettings, store: Arc<dyn Store>) -> Result<Self, AppStartError> {
        Self::open(settings, store, true, PolicySource::Directory)
    }

    /// As [`App::new`], serving the store's active policy version rather than the directories
    /// of `settings` (which are then unused): refused when the store has none.
    pub fn new_from_store(
        settings: AppSettings,
        store: Arc<dyn Store>,
    ) -> Result<Self, AppStartError> {
        Self::open(settings, store, true, PolicySource::Store)
    }

    /// As [`App::new`], without comparing the schema with the stored state: for the state
    /// commands of the CLI (`export`, `import`), which must work on a store that the new schema
    /// orphans, to show that state and to replace it with a repaired one.
    pub fn new_for_state_repair(
        settings: AppSettings,
        store: Arc<dyn Store>,
    ) -> Result<Self, AppStartError> {
        Self::open(settings, store, false, PolicySource::Directory)
    }

    fn open(
        settings: AppSettings,
        store: Arc<dyn Store>,
        check_stored: bool,
        policy_source: PolicySource,
    ) -> Result<Self, AppStartError> {
        // One snapshot for the policies (in store mode), the orphan check and the revision the
        // feed is followed from: an activation committed after it is in the feed, so it is
        // followed; one before it is what is loaded.
        let snapshot = store.snapshot().map_err(AppStartError::Store)?;
        let engine = match policy_source {
            PolicySource::Directory => {
                PolicyEngine::load(&settings.policies_dir, &settings.schema_dir)
                    .map_err(AppStartError::Policies)?
            }
            PolicySource::Store => {
                policies::load_active(snapshot.as_ref()).map_err(AppStartError::StoredPolicies)?
            }
        };
        export_policy_version(engine.version(), None);
        if check_stored {
            let stored = snapshot.export().map_err(AppStartError::Store)?;
            check_orphans(&stored, engine.catalogue()).map_err(AppStartError::Orphans)?;
        }
        let revision = snapshot.revision();
        drop(snapshot);
        Ok(App {
            cache: StateCache::new(settings.cache_capacity, settings.cache_ttl, revision),
            feed: follow::Feed::new(revision, store.shared(), settings.follow),
            slices: crate::policy::SliceCache::new(settings.cache_capacity, settings.cache_ttl),
            settings,
            engine: ArcSwap::from_pointee(engine),
            store,
            store_healthy: AtomicBool::new(true),
            write_trouble: AtomicBool::new(false),
            damaged_record: std::sync::Mutex::new(None),
            activity: activity::Activity::default(),
            check_metrics: std::sync::OnceLock::new(),
            decision_log: std::sync::OnceLock::new(),
            idempotency_ttl: commands::DEFAULT_IDEMPOTENCY_TTL,
            activity_flush: DEFAULT_ACTIVITY_FLUSH,
            idempotency_sweep: std::sync::Mutex::new(String::new()),
            reloading: std::sync::Mutex::new(()),
            policy_source,
        })
    }

    /// Sets how long an `Idempotency-Key`'s first answer is replayed (24 hours unless set):
    /// after that the key is new again, and its answer is pruned.
    #[must_use]
    pub fn with_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// How often the server writes the partner activity checks note in memory (at least a
    /// second; [`DEFAULT_ACTIVITY_FLUSH`] unless set).
    pub fn with_activity_flush(mut self, every: Duration) -> Self {
        self.activity_flush = every.max(Duration::from_secs(1));
        self
    }

    /// See [`App::with_activity_flush`].
    pub fn activity_flush(&self) -> Duration {
        self.activity_flush
    }

    /// Starts logging check decisions (once; a second call is refused).
    pub fn enable_decision_log(
        &self,
        settings: decision_log::DecisionLogSettings,
    ) -> std::io::Result<()> {
        let log = decision_log::DecisionLog::start(settings)?;
        self.decision_log
            .set(log)
            .map_err(|_| std::io::Error::other("the decision log is already enabled"))
    }

    /// Drains and flushes the decision log (at shutdown).
    pub fn close_decision_log(&self) {
        if let Some(log) = self.decision_log.get() {
            log.close();
        }
    }

    /// The policies in force now.
    pub fn engine(&self) -> Arc<PolicyEngine> {
        self.engine.load_full()
    }

    /// The version of the policy set in force now.
    pub fn policy_version(&self) -> PolicyVersion {
        self.engine.load().version().clone()
    }

    /// Re-reads the policies and the schema (from the directories, or the store's active
    /// version on a sidecar serving the store's policies). A set that does not load, or whose
    /// schema drops a permission that stored users or permission sets still hold, is refused
    /// and the old set keeps serving.
    ///
    /// The stored state is read inside a write unit of work, and the new set is swapped in
    /// there: writers run one after the other, and every write loads the engine inside its own
    /// unit of work, so no write validated against the old catalogue lands after the check.
    pub fn reload_policies(&self) -> Result<usize, ReloadError> {
        let refused = |e: ReloadError| {
            metrics::counter!("partner_access_policy_reloads_total", "outcome" => "refused")
                .increment(1);
            tracing::warn!(error = %e, "policy reload refused; the old set keeps serving");
            e
        };
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded = match self.policy_source {
            PolicySource::Directory => {
                PolicyEngine::load(&self.settings.policies_dir, &self.settings.schema_dir)
                    .map_err(ReloadError::Policies)
            }
            PolicySource::Store => self
                .store
                .snapshot()
                .map_err(policies::PolicyError::from)
                .and_then(|s| policies::load_active(s.as_ref()))
                .map_err(ReloadError::Stored),
        };
        let engine = Arc::new(loaded.map_err(refused)?);
        let count = engine.policies().len();
        let mut swapped = false;
        let checked = crate::store::write(self.store.as_ref(), |tx| {
            // The whole state, alone: on a shared store, no write of another sidecar lands
            // between the check and the swap.
            tx.exclusive()?;
            let doc = tx.export()?;
            check_orphans(&doc, engine.catalogue()).map_err(|e| WriteError::Aborted(Some(e)))?;
            let previous = self.engine.swap(engine.clone());
            export_policy_version(engine.version(), Some(previous.version()));
            swapped = true;
            // Nothing to commit: the unit of work ends here, leaving the transaction untouched.
            Err(WriteError::Aborted(None))
        });
        if swapped {
            // Slices may carry the old schema's action entities: build them anew.
            self.slices.clear();
            metrics::counter!("partner_access_policy_reloads_total", "outcome" => "ok")
                .increment(1);
            tracing::info!(policies = count, version = %engine.version(), "policies reloaded");
            return Ok(count);
        }
        Err(refused(match checked {
            Err(WriteError::Aborted(Some(orphans))) => ReloadError::Orphans(orphans),
            Err(WriteError::Store(e)) => {
                self.store_failed(&e);
                ReloadError::Store(e)
            }
            Err(WriteError::Aborted(None)) | Ok(((), _)) => ReloadError::Store(StoreError::Write(
                "the reload's check finished without an outcome".into(),
            )),
        }))
    }

    /// The store's latest revision known on this sidecar.
    pub fn revision(&self) -> u64 {
        self.cache.published()
    }

    /// Makes a commit visible to the check path before the write answers.
    fn committed(&self, committed: &Committed) {
        self.store_healthy.store(true, Ordering::Relaxed);
        self.cache.committed(committed);
        self.feed.publish(committed.revision);
    }

    /// The store (for the CLI's import and export).
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Drops every cached lookup (the uncached path of the equivalence tests).
    pub fn clear_cache(&self) {
        self.cache.clear();
        self.slices.clear();
    }
}

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum AppStartError {
    #[error("policies do not load:\n{0}")]
    Policies(LoadErrors),
    /// Serving the store's policies: the store's active version cannot be loaded (there is
    /// none, or the store failed).
    #[error("{0}")]
    StoredPolicies(policies::PolicyError),
    /// The schema drops permissions that the stored state holds.
    #[error("the policies do not fit the stored state: {0}")]
    Orphans(OrphanedPermissions),
    #[error(transparent)]
    Store(StoreError),
}

/// Why a reload was refused; the old set keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new set does not load (every error, with file and line).
    #[error("{0}")]
    Policies(LoadErrors),
    /// Serving the store's policies: its active version cannot be loaded (there is none, or
    /// the store failed).
    #[error("{0}")]
    Stored(policies::PolicyError),
    /// The new schema drops permissions that stored records hold.
    #[error(transparent)]
    Orphans(OrphanedPermissions),
    /// The stored state could not be read to check it.
    #[error("the store is unavailable: {0}")]
    Store(StoreError),
}
