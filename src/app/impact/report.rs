//! The impact report: what a policy change does to a state's decisions, as `policies diff`
//! prints it and `POST /v1/admin/policies/impact` answers it, and the comparison
//! `policies push --expect-impact` makes between the report computed and the one a reviewer
//! acknowledged (the same groups and counts, whatever their examples).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::PolicyVersion;

/// Which way a decision changes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Allowed before, denied after.
    AllowToDeny,
    /// Denied before, allowed after.
    DenyToAllow,
}

impl Direction {
    /// `allow → deny` or `deny → allow`.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::AllowToDeny => "allow → deny",
            Direction::DenyToAllow => "deny → allow",
        }
    }
}

/// The policies that determined a decision, and their rule ids. Empty for a Deny no policy
/// made (no permit applied).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub struct Determining {
    /// The `@id`s of the determining policies, sorted.
    pub policies: Vec<String>,
    /// The rule ids of their `@rules` annotations, sorted, each once.
    pub rules: Vec<String>,
}

/// One changed decision, as an example of its group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImpactExample {
    /// The user's e-mail.
    pub user: String,
    /// The client account.
    pub account: String,
    /// The user's role in that account.
    pub role: String,
}

/// How many decisions change, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChangeCounts {
    pub allow_to_deny: u64,
    pub deny_to_allow: u64,
}

impl ChangeCounts {
    pub(super) fn add(&mut self, direction: Direction, n: u64) {
        match direction {
            Direction::AllowToDeny => self.allow_to_deny += n,
            Direction::DenyToAllow => self.deny_to_allow += n,
        }
    }

    /// Both ways.
    pub fn total(&self) -> u64 {
        self.allow_to_deny + self.deny_to_allow
    }
}

/// The decisions of one action that change the same way, decided by the same policies before
/// and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImpactGroup {
    pub action: String,
    pub direction: Direction,
    /// What decided under the `from` set.
    pub before: Determining,
    /// What decides under the `to` set.
    pub after: Determining,
    /// How many decisions.
    pub count: u64,
    /// How many decisions, by the user's role in the account.
    pub by_role: BTreeMap<String, u64>,
    /// The first of them, in the state's order (clients, then their users).
    pub examples: Vec<ImpactExample>,
}

/// What a policy change does to the decisions of a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImpactReport {
    /// The set in force before.
    pub from: PolicyVersion,
    /// The set after.
    pub to: PolicyVersion,
    /// The (client user, client account) memberships of the state.
    pub memberships: u64,
    /// The check actions analysed (declared by either set).
    pub actions: Vec<String>,
    /// The decisions compared: memberships × actions.
    pub decisions: u64,
    /// The distinct cases decided under each set (see the module doc).
    pub cases: u64,
    /// The decisions that change.
    pub changed: ChangeCounts,
    /// By action (actions with a change only).
    pub by_action: BTreeMap<String, ChangeCounts>,
    /// By the user's role in the account (roles with a change only).
    pub by_role: BTreeMap<String, ChangeCounts>,
    /// Sorted by action, direction, policies before, policies after.
    pub groups: Vec<ImpactGroup>,
    /// What was not analysed, or how.
    pub notes: Vec<String>,
}

/// One group as an acknowledgement compares it: without its examples.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupSummary {
    action: String,
    direction: Direction,
    before: Vec<String>,
    after: Vec<String>,
    count: u64,
    by_role: BTreeMap<String, u64>,
}

impl ImpactReport {
    fn summary(&self) -> Vec<GroupSummary> {
        let mut groups: Vec<GroupSummary> = self
            .groups
            .iter()
            .map(|g| GroupSummary {
                action: g.action.clone(),
                direction: g.direction,
                before: g.before.policies.clone(),
                after: g.after.policies.clone(),
                count: g.count,
                by_role: g.by_role.clone(),
            })
            .collect();
        groups.sort();
        groups
    }

    /// Whether `acknowledged` (a report as `policies diff --format json` printed it) has the
    /// same groups with the same counts (per group and per role), whatever their order and
    /// examples: `Ok`, or what differs.
    pub fn acknowledges(&self, acknowledged: &ImpactReport) -> Result<(), String> {
        let (mine, theirs) = (self.summary(), acknowledged.summary());
        if mine == theirs {
            return Ok(());
        }
        let line = |g: &GroupSummary| {
            format!(
                "{} {} [{}] → [{}]: {}",
                g.action,
                g.direction.arrow(),
                g.before.join(", "),
                g.after.join(", "),
                g.count
            )
        };
        let mut differences = Vec::new();
        for g in &mine {
            if !theirs.contains(g) {
                differences.push(format!("  computed, not acknowledged: {}", line(g)));
            }
        }
        for g in &theirs {
            if !mine.contains(g) {
                differences.push(format!("  acknowledged, not computed: {}", line(g)));
            }
        }
        Err(format!(
            "the impact computed ({} changed decisions in {} groups) is not the one acknowledged \
             ({} in {} groups):\n{}",
            self.changed.total(),
            mine.len(),
            acknowledged.changed.total(),
            theirs.len(),
            differences.join("\n")
        ))
    }
}
