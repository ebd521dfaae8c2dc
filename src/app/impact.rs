//! Impact analysis: which decisions of the live state a policy change would flip, before it is
//! activated.
//!
//! Tests say what a set should decide on the cases someone wrote; a change's impact on the
//! actual users is what a reviewer needs to accept it. [`analyse`] decides every (client user,
//! check action, client account where the user is a member) of a state under two sets, and
//! reports the decisions that differ (Allow ↔ Deny), grouped by action, direction and the
//! policies (with their rule ids) that decided before and after, with counts per action and
//! per role and the first examples of each group (in the state's order). `partner-access
//! policies diff`, `POST /v1/admin/policies/impact` and `policies push --expect-impact` use it.
//!
//! Only the check actions are analysed (`principal: User, resource: Account, context: {}`):
//! the command actions take a context (the target, the role asked for...) whose values are not
//! finite in general, so they are left out, and the report says so in its notes.
//!
//! Cost: a million users make tens of millions of decisions, so the analysis avoids evaluating
//! what cannot change. Two identical sets answer an empty report at once; an action whose
//! policies are the same in both sets (same ids, same text) is skipped; and memberships whose
//! entities are the same up to renaming the user's e-mail, its domain and the account's id are
//! one *case*, decided once under each set (the policy engine checks that the policies cannot
//! tell such ids apart: see `PolicyEngine::impact_literals`; when they can, every membership is
//! its own case, and the notes say so). A state of a million users has a few hundred cases.

mod analysis;
mod cases;
mod report;

use std::time::Instant;

use super::App;
use super::policies::{PolicyError, PolicyFile, engine_of, load_active, resolve};
use crate::policy::PolicyEngine;
use crate::store::{Snapshot, Store};

pub use analysis::analyse;
pub use report::{ChangeCounts, Determining, Direction, ImpactExample, ImpactGroup, ImpactReport};

/// How many examples a group shows unless asked.
pub const DEFAULT_EXAMPLES: usize = 5;
/// The most examples a group may show.
pub const MAX_EXAMPLES: usize = 1000;

/// How the analysis runs.
#[derive(Debug, Clone, Copy)]
pub struct ImpactOptions {
    /// Examples per group (at most [`MAX_EXAMPLES`]).
    pub examples: usize,
    /// Take memberships with the same entities up to renaming for one case (the default; off
    /// only to check the shortcut against the full evaluation).
    pub share_cases: bool,
    /// Give up past this instant (a request's deadline).
    pub deadline: Option<Instant>,
}

impl Default for ImpactOptions {
    fn default() -> Self {
        ImpactOptions {
            examples: DEFAULT_EXAMPLES,
            share_cases: true,
            deadline: None,
        }
    }
}

/// The engine of a stored version (its hash or a unique prefix), or of the active one
/// (`None`).
fn stored_engine(
    snapshot: &dyn Snapshot,
    version: Option<&str>,
) -> Result<PolicyEngine, PolicyError> {
    match version {
        Some(version) => engine_of(&resolve(snapshot, version)?.files),
        None => load_active(snapshot),
    }
}

/// The impact of replacing the stored version `from` (`None`: the active one) by the stored
/// version `to`, on the store's state.
pub fn on_store(
    store: &dyn Store,
    from: Option<&str>,
    to: &str,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImpactReport, PolicyError> {
    let snapshot = store.snapshot()?;
    let from = stored_engine(snapshot.as_ref(), from)?;
    let to = stored_engine(snapshot.as_ref(), Some(to))?;
    let doc = snapshot.export()?;
    drop(snapshot);
    analyse(&from, &to, &doc, options, progress)
}

/// `policies push --expect-impact`: the impact of `files` against the store's active version
/// on the store's state, which must be the one `acknowledged` (see
/// [`ImpactReport::acknowledges`]); else [`PolicyError::ImpactNotAcknowledged`]. Stores nothing.
pub fn check_acknowledged(
    store: &dyn Store,
    files: &[PolicyFile],
    acknowledged: &ImpactReport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImpactReport, PolicyError> {
    let to = engine_of(files)?;
    let snapshot = store.snapshot()?;
    let from = load_active(snapshot.as_ref())?;
    let doc = snapshot.export()?;
    drop(snapshot);
    let report = analyse(&from, &to, &doc, &ImpactOptions::default(), progress)?;
    report
        .acknowledges(acknowledged)
        .map_err(PolicyError::ImpactNotAcknowledged)?;
    Ok(report)
}

impl App {
    /// `POST /v1/admin/policies/impact`: [`on_store`] on this sidecar's store, within the
    /// request's deadline.
    pub fn policy_impact(
        &self,
        from: Option<&str>,
        to: &str,
        examples: usize,
    ) -> Result<ImpactReport, PolicyError> {
        let options = ImpactOptions {
            examples,
            deadline: crate::store::deadline::current(),
            ..ImpactOptions::default()
        };
        on_store(self.store.as_ref(), from, to, &options, &mut |_, _| {}).inspect_err(|e| {
            if let PolicyError::Store(store) = e {
                self.store_failed(store);
            }
        })
    }
}

#[cfg(test)]
mod tests;
