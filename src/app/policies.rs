//! Versioned policy sets in the store: push, activate, list, read back.
//!
//! A policy set (its `.cedarschema` and `.cedar` files) is stored as an immutable version,
//! known by its content hash ([`PolicyVersion`](crate::domain::PolicyVersion), the same hash a
//! directory of the same files has). A push validates the set strictly (as `partner-access
//! validate` does), runs the declarative policy tests it is given against it (one failing case
//! refuses the push, and nothing is stored), and stores it with who pushed it, when, and the
//! tests it passed; pushing the same files again stores nothing and answers the version stored.
//! Activation makes a stored version the one in force, atomically with the check that the
//! stored state holds no permission the new schema lacks (as a reload checks): an exclusive
//! write transaction checks the state, moves the pointer, records the activation in the history
//! and in the audit log, and (on a sidecar serving the store's policies) swaps the engine before
//! it commits. Other sidecars of a fleet hear of it through the change feed
//! ([`crate::store::StateKey`] `ActivePolicy`) and load the version from the store (see
//! [`App::follow_active_policy`]). Rollback is activating an earlier version.
//!
//! The functions here work on a [`Store`](crate::store::Store) alone, so that the command line
//! can push to and activate on a store without a serving sidecar; the [`App`] methods in this
//! file wrap them for the HTTP layer, with the sidecar's own engine swap.
//!
//! Side tables (JSON): `Aux::PolicySets` (version → [`StoredPolicySet`]) and
//! `Aux::PolicyActivations` (`active` → the [`Activation`] in force; `history/` + the commit's
//! revision, 20 digits → every [`Activation`], oldest first).
//!
//! The parts: `records` (what is stored and answered), `error`, `files` (from the files of a
//! set to a tested engine), `stored` (reading the side tables), `writes` ([`push`] and
//! [`activate`]).

mod error;
mod files;
mod records;
mod stored;
mod writes;

use std::sync::Arc;

use super::{App, PolicySource, export_policy_version};
use crate::domain::Timestamp;

pub use error::{PolicyError, TestFailure};
pub(super) use files::engine_of;
pub use files::{MAX_POLICY_FILES, MAX_TEST_FILES, check_actor, read_dirs};
pub use records::{
    Activated, Activation, PolicyFile, PolicyFileKind, PolicyHistory, PolicyPush,
    PolicyVersionSummary, Pushed, StoredPolicySet, TestSource, TestsRun,
};
use stored::active_of;
pub use stored::{MAX_VERSIONS_LISTED, MIN_VERSION_PREFIX, get, history};
pub(super) use stored::{load_active, resolve};
pub use writes::{activate, push};

impl App {
    /// Stores a policy set as a version ([`push`]); with `activate`, then activates it on this
    /// sidecar ([`App::activate_policies`]), which a sidecar serving its directory refuses
    /// before anything is stored.
    pub fn push_policies(
        &self,
        request: &PolicyPush,
        activate: bool,
    ) -> Result<(Pushed, Option<Activated>), PolicyError> {
        if activate && self.policy_source == PolicySource::Directory {
            return Err(PolicyError::DirectoryMode);
        }
        let (pushed, committed) = push(self.store.as_ref(), request, Timestamp::now())
            .map_err(|e| self.policy_failed(e))?;
        if let Some(committed) = committed {
            self.committed(&committed);
        }
        let activated = if activate {
            Some(self.activate_policies(pushed.version.as_str(), &request.actor)?)
        } else {
            None
        };
        Ok((pushed, activated))
    }

    /// Activates a stored version on this sidecar and in the store ([`activate`]): refused on
    /// a sidecar serving its policy directory ([`PolicyError::DirectoryMode`]). Runs one at a
    /// time with reloads.
    pub fn activate_policies(&self, version: &str, actor: &str) -> Result<Activated, PolicyError> {
        if self.policy_source == PolicySource::Directory {
            return Err(PolicyError::DirectoryMode);
        }
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (activated, committed) = activate(
            self.store.as_ref(),
            version,
            actor,
            Timestamp::now(),
            &mut |engine| {
                let previous = self.engine.swap(engine.clone());
                export_policy_version(engine.version(), Some(previous.version()));
                Some(previous)
            },
            &mut |old| {
                let failed = self.engine.swap(old.clone());
                export_policy_version(old.version(), Some(failed.version()));
            },
        )
        .map_err(|e| self.policy_failed(e))?;
        if let Some(committed) = committed {
            self.slices.clear();
            self.committed(&committed);
            metrics::counter!("partner_access_policy_reloads_total", "outcome" => "ok")
                .increment(1);
            tracing::info!(version = %activated.activation.version, "policy version activated");
        }
        Ok(activated)
    }

    /// The store's policy versions and activations.
    pub fn policy_history(&self) -> Result<PolicyHistory, PolicyError> {
        history(self.store.as_ref()).map_err(|e| self.policy_failed(e))
    }

    /// One stored version, with its files.
    pub fn stored_policy_set(&self, version: &str) -> Result<StoredPolicySet, PolicyError> {
        get(self.store.as_ref(), version).map_err(|e| self.policy_failed(e))
    }

    /// Whether this sidecar serves the store's active version (rather than its directory).
    pub fn serves_stored_policies(&self) -> bool {
        self.policy_source == PolicySource::Store
    }

    /// A store failure is recorded (readiness, metrics) like any other.
    fn policy_failed(&self, e: PolicyError) -> PolicyError {
        if let PolicyError::Store(store) = &e {
            self.store_failed(store);
        }
        e
    }

    /// On a sidecar serving the store's policies: loads the store's active version if it is
    /// not the one in force (another sidecar activated it; the change feed said so). The
    /// activating sidecar checked the stored state under it; a version that does not load
    /// here keeps the old one serving, logged and counted, and answers `false`: the caller does
    /// not follow the feed past the activation (see [`App::follow_changes`]).
    pub(super) fn follow_active_policy(&self) -> bool {
        if self.policy_source != PolicySource::Store {
            return true;
        }
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded =
            self.store
                .snapshot()
                .map_err(PolicyError::from)
                .and_then(|s| match active_of(s.as_ref())? {
                    Some(active) if active.version != *self.engine.load().version() => {
                        load_active(s.as_ref()).map(Some)
                    }
                    _ => Ok(None),
                });
        match loaded {
            Ok(None) => true,
            Ok(Some(engine)) => {
                let engine = Arc::new(engine);
                let previous = self.engine.swap(engine.clone());
                export_policy_version(engine.version(), Some(previous.version()));
                self.slices.clear();
                metrics::counter!("partner_access_policy_reloads_total", "outcome" => "ok")
                    .increment(1);
                tracing::info!(version = %engine.version(), "followed the store's policy activation");
                true
            }
            Err(e) => {
                metrics::counter!("partner_access_policy_reloads_total", "outcome" => "refused")
                    .increment(1);
                tracing::error!(error = %e, "cannot load the store's active policy version; the feed is not followed past the activation until it loads");
                false
            }
        }
    }
}
