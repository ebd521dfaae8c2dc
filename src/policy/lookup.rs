//! What a loaded engine answers without deciding anything: its declared actions (found by
//! name once per request, with a "did you mean" for a typo), its policies, its catalogue,
//! version and warnings, and the Cedar schema and policy set for the modules that reason about
//! the policies themselves (lint, verify).

use cedar_policy::{PolicySet, Schema};

use super::{ActionInfo, CheckError, LoadError, PolicyEngine, PolicyInfo, ResolvedAction};
use crate::domain::{Catalogue, PolicyVersion};

/// How much longer than the longest declared action a name may be and still be compared for
/// "did you mean".
const MAX_TYPO_EXTRA: usize = 8;

impl PolicyEngine {
    /// Whether requests for this action must carry a context (its declared context has
    /// required attributes).
    pub fn needs_context(&self, action: &str) -> bool {
        self.resolve(action)
            .is_ok_and(ResolvedAction::needs_context)
    }

    /// The declared action of this name, for the lookups of one request.
    pub fn resolve(&self, name: &str) -> Result<ResolvedAction<'_>, CheckError> {
        self.action_slots
            .get(name)
            .and_then(|&slot| self.slot(slot))
            .ok_or_else(|| CheckError::UnknownAction {
                name: name.to_owned(),
                nearest: self.nearest_action(name).map(str::to_owned),
            })
    }

    /// The action in this slot.
    fn slot(&self, slot: usize) -> Option<ResolvedAction<'_>> {
        self.action_table.get(slot).map(|entry| ResolvedAction {
            engine: self.id,
            slot,
            entry,
        })
    }

    /// `action` if this engine resolved it, else this engine's action of the same name.
    pub(super) fn own<'e>(
        &'e self,
        action: ResolvedAction<'_>,
    ) -> Result<ResolvedAction<'e>, CheckError> {
        match self.slot(action.slot) {
            Some(own) if action.engine == self.id => Ok(own),
            _ => self.resolve(action.name()),
        }
    }

    /// Each action's name with the policies whose scope can match it (for the lint).
    pub(super) fn partitions(&self) -> impl Iterator<Item = (&str, &PolicySet)> {
        self.action_table.iter().filter_map(|entry| {
            entry
                .policies
                .as_ref()
                .map(|set| (entry.info.name.as_str(), set))
        })
    }

    /// Unique per loaded engine (each reload loads a new one).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The version of the policy set: the same files give the same version on every load.
    pub fn version(&self) -> &PolicyVersion {
        &self.version
    }

    /// The permission catalogue and built-in sets, read from the schema.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Every loaded policy, by file and line.
    pub fn policies(&self) -> &[PolicyInfo] {
        &self.policy_info
    }

    /// The policy with this id.
    pub fn policy(&self, id: &str) -> Option<&PolicyInfo> {
        self.policy_info.iter().find(|p| p.id == id)
    }

    /// Every declared action, by name (which is slot order: see [`ResolvedAction::slot`]).
    pub fn actions(&self) -> impl Iterator<Item = &ActionInfo> {
        self.action_table.iter().map(|entry| &entry.info)
    }

    /// The declared action whose name is nearest to `name`, when one is near enough to be what
    /// was meant (a typo, a letter's case, a missing `s`): for "did you mean" in the answer to
    /// an undeclared action. A name much longer than every declared one is no typo and is not
    /// compared: the comparison costs the product of the lengths, and the name is the caller's.
    pub fn nearest_action(&self, name: &str) -> Option<&str> {
        let longest = self
            .action_table
            .iter()
            .map(|entry| entry.info.name.len())
            .max()
            .unwrap_or(0);
        if name.len() > longest + MAX_TYPO_EXTRA {
            return None;
        }
        let wanted = name.to_ascii_lowercase();
        self.action_table
            .iter()
            .map(|entry| {
                let candidate = entry.info.name.as_str();
                let score = strsim::jaro_winkler(&wanted, &candidate.to_ascii_lowercase());
                (score, candidate)
            })
            .filter(|(score, _)| *score >= 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, candidate)| candidate)
    }

    /// The declared action of this name.
    pub fn action(&self, name: &str) -> Option<&ActionInfo> {
        self.resolve(name).ok().map(ResolvedAction::info)
    }

    /// Validator warnings (not fatal), with file and line.
    pub fn warnings(&self) -> &[LoadError] {
        &self.warnings
    }

    /// Every policy of the set, as Cedar holds them (for the symbolic checks of [`verify`]).
    pub(crate) fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// The schema, for parsing raw Cedar inputs (test files in the `cedar` CLI's format).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}
