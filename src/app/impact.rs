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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::convert::Infallible;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::App;
use super::policies::{PolicyError, PolicyFile, engine_of, load_active, resolve};
use crate::domain::{
    ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email, Employment, PartnerId,
    PartnerInfo, PolicyVersion, StateDocument, UserInfo,
};
use crate::policy::{CheckError, CheckRequest, Decision, EntityKind, EntityRef, PolicyEngine};
use crate::store::{Snapshot, Store};

/// How many examples a group shows unless asked.
pub const DEFAULT_EXAMPLES: usize = 5;
/// The most examples a group may show.
pub const MAX_EXAMPLES: usize = 1000;
/// How many memberships are analysed between two progress reports and deadline checks.
const STRIDE: u64 = 16_384;

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
    fn add(&mut self, direction: Direction, n: u64) {
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

/// Placeholders for the renamed ids: control characters are in no id the domain accepts.
const USER_PLACEHOLDER: &str = "\u{0}user";
const DOMAIN_PLACEHOLDER: &str = "\u{0}domain";
const ACCOUNT_PLACEHOLDER: &str = "\u{0}account";

/// A membership's entities, up to renaming: two memberships with equal keys are decided alike
/// by policies that tell ids apart only by equality (see the module doc). The renamed ids are
/// `None`; an id equal to a string the policies or the entities could compare it with is kept.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CaseKey<'a> {
    user: Option<&'a str>,
    domain: Option<&'a str>,
    account: Option<&'a str>,
    employment: Option<(&'a str, bool, &'static str)>,
    role: &'static str,
    seat: &'static str,
    status: &'static str,
    permissions: Vec<&'a str>,
    partner: Option<&'a str>,
    keep_billing: bool,
    paid_hubs: Vec<&'static str>,
    pricing_model: &'static str,
    managed_by: Option<&'a str>,
}

/// A case's changed actions: the action's index and the group it falls in.
type Changes = Vec<(usize, usize)>;

/// The one membership a decision needs, as a [`Directory`].
struct Probe<'a> {
    partners: &'a HashMap<PartnerId, PartnerInfo>,
    employment: Option<&'a Employment>,
    client: &'a ClientRecord,
    user: &'a ClientUserRecord,
}

impl Directory for Probe<'_> {
    type Error = Infallible;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, Infallible> {
        Ok(self.partners.get(id).cloned())
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, Infallible> {
        Ok((id == &self.client.id).then(|| ClientInfo {
            id: self.client.id.clone(),
            pricing_model: self.client.pricing_model,
            managed_by: self.client.managed_by.clone(),
        }))
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, Infallible> {
        Ok((email == &self.user.email).then(|| UserInfo {
            email: email.clone(),
            employment: self.employment.cloned(),
        }))
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, Infallible> {
        Ok((client == &self.client.id && email == &self.user.email).then(|| self.user.clone()))
    }
}

/// A group being filled.
struct Building {
    group: ImpactGroup,
}

/// The analysis of one state under two sets.
struct Analysis<'a> {
    from: &'a PolicyEngine,
    to: &'a PolicyEngine,
    /// The actions whose policies differ, with their index in the report's actions.
    actions: Vec<(usize, &'a str)>,
    all_actions: &'a [String],
    partners: HashMap<PartnerId, PartnerInfo>,
    employments: HashMap<&'a Email, &'a Employment>,
    groups: Vec<Building>,
    group_index: HashMap<(usize, Direction, Vec<String>, Vec<String>), usize>,
    examples: usize,
    cases: u64,
}

impl<'a> Analysis<'a> {
    /// Decides one membership's actions under both sets: the actions that change, by group.
    fn decide(
        &mut self,
        client: &'a ClientRecord,
        user: &'a ClientUserRecord,
    ) -> Result<Changes, PolicyError> {
        self.cases += 1;
        let probe = Probe {
            partners: &self.partners,
            employment: self.employments.get(&user.email).copied(),
            client,
            user,
        };
        let principal = EntityRef::new(EntityKind::User, user.email.as_str());
        let resource = EntityRef::new(EntityKind::Account, client.id.as_str());
        let mut changes = Vec::new();
        for &(index, action) in &self.actions {
            let request = CheckRequest {
                principal: principal.clone(),
                action: action.to_owned(),
                resource: resource.clone(),
                context: serde_json::Map::new(),
            };
            let decide = |engine: &PolicyEngine| match engine.decide(&request, &probe) {
                Ok(decision) => Ok(decision),
                // Not declared by this set: nothing allows it.
                Err(CheckError::UnknownAction { .. }) => Ok(Decision {
                    allowed: false,
                    reasons: Vec::new(),
                    errors: Vec::new(),
                }),
                Err(e) => Err(PolicyError::BadInput(format!(
                    "cannot decide `{action}` for {} in {} under {}: {e}",
                    user.email.as_str(),
                    client.id.as_str(),
                    engine.version()
                ))),
            };
            let (before, after) = (decide(self.from)?, decide(self.to)?);
            if before.allowed == after.allowed {
                continue;
            }
            let direction = if before.allowed {
                Direction::AllowToDeny
            } else {
                Direction::DenyToAllow
            };
            let key = (index, direction, before.reasons, after.reasons);
            let group = match self.group_index.get(&key) {
                Some(&group) => group,
                None => {
                    let group = self.groups.len();
                    self.groups.push(Building {
                        group: ImpactGroup {
                            action: action.to_owned(),
                            direction,
                            before: determining(self.from, &key.2),
                            after: determining(self.to, &key.3),
                            count: 0,
                            by_role: BTreeMap::new(),
                            examples: Vec::new(),
                        },
                    });
                    self.group_index.insert(key, group);
                    group
                }
            };
            changes.push((index, group));
        }
        Ok(changes)
    }

    /// Counts one membership's changes.
    fn count(&mut self, client: &ClientRecord, user: &ClientUserRecord, changes: &Changes) {
        for &(_, group) in changes {
            let Some(building) = self.groups.get_mut(group) else {
                continue;
            };
            let g = &mut building.group;
            g.count += 1;
            *g.by_role.entry(user.role.as_str().to_owned()).or_default() += 1;
            if g.examples.len() < self.examples {
                g.examples.push(ImpactExample {
                    user: user.email.as_str().to_owned(),
                    account: client.id.as_str().to_owned(),
                    role: user.role.as_str().to_owned(),
                });
            }
        }
    }
}

/// The determining policies of a decision, with their rule ids.
fn determining(engine: &PolicyEngine, reasons: &[String]) -> Determining {
    let mut policies = reasons.to_vec();
    policies.sort();
    let rules: BTreeSet<String> = policies
        .iter()
        .filter_map(|id| engine.policy(id))
        .flat_map(|p| p.rules.iter().cloned())
        .collect();
    Determining {
        policies,
        rules: rules.into_iter().collect(),
    }
}

/// Analyses the impact of replacing `from` by `to` on the decisions of `doc` (see the module
/// doc). `progress` is told (memberships done, memberships in all) now and then.
pub fn analyse(
    from: &PolicyEngine,
    to: &PolicyEngine,
    doc: &StateDocument,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImpactReport, PolicyError> {
    if options.examples > MAX_EXAMPLES {
        return Err(PolicyError::BadInput(format!(
            "examples: {}; at most {MAX_EXAMPLES}",
            options.examples
        )));
    }
    let memberships: u64 = doc.clients.iter().map(|c| c.users.len() as u64).sum();
    let actions: Vec<String> = from
        .check_actions()
        .into_iter()
        .chain(to.check_actions())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut notes = vec![
        "command actions (which take a context) are not analysed: only the check actions".into(),
    ];
    let mut report = ImpactReport {
        from: from.version().clone(),
        to: to.version().clone(),
        memberships,
        decisions: memberships * actions.len() as u64,
        actions: Vec::new(),
        cases: 0,
        changed: ChangeCounts::default(),
        by_action: BTreeMap::new(),
        by_role: BTreeMap::new(),
        groups: Vec::new(),
        notes: Vec::new(),
    };
    let differing: Vec<(usize, &str)> = if from.version() == to.version() {
        notes.push("the two sets are the same version: nothing can change".into());
        Vec::new()
    } else {
        actions
            .iter()
            .enumerate()
            .filter(|(_, a)| from.action_fingerprint(a) != to.action_fingerprint(a))
            .map(|(i, a)| (i, a.as_str()))
            .collect()
    };
    if differing.is_empty() {
        report.actions = actions;
        report.notes = notes;
        progress(memberships, memberships);
        return Ok(report);
    }
    if differing.len() < actions.len() {
        notes.push(format!(
            "{} of {} check actions are decided by the same policies in both sets and were not \
             evaluated",
            actions.len() - differing.len(),
            actions.len()
        ));
    }

    // What the policies can compare an id with: their literals, and every partner's strings.
    let literals = if options.share_cases {
        match (from.impact_literals(), to.impact_literals()) {
            (Ok(mut a), Ok(b)) => {
                a.extend(b);
                Some(a)
            }
            (Err(why), _) | (_, Err(why)) => {
                notes.push(format!(
                    "every membership was decided on its own (slower): {why}"
                ));
                None
            }
        }
    } else {
        notes.push("every membership was decided on its own (asked)".into());
        None
    };
    let mut keep: HashSet<&str> = HashSet::new();
    for partner in &doc.partners {
        keep.insert(partner.id.as_str());
        keep.insert(partner.tier.as_str());
        keep.extend(partner.email_domains.iter().map(String::as_str));
    }
    let literals = literals.filter(|l| {
        ![USER_PLACEHOLDER, DOMAIN_PLACEHOLDER, ACCOUNT_PLACEHOLDER]
            .iter()
            .any(|p| l.contains(*p))
    });
    let literals: Option<HashSet<&str>> = literals
        .as_ref()
        .map(|l| l.iter().map(String::as_str).collect());

    let employments: Vec<(&Email, Employment)> = doc
        .partners
        .iter()
        .flat_map(|p| {
            p.employees.iter().map(|e| {
                (
                    &e.email,
                    Employment {
                        partner: p.id.clone(),
                        super_admin: e.super_admin,
                        employee_management: e.employee_management,
                    },
                )
            })
        })
        .collect();
    let mut analysis = Analysis {
        from,
        to,
        actions: differing,
        all_actions: &actions,
        partners: doc
            .partners
            .iter()
            .map(|p| {
                (
                    p.id.clone(),
                    PartnerInfo {
                        id: p.id.clone(),
                        tier: p.tier,
                        email_domains: p.email_domains.clone(),
                    },
                )
            })
            .collect(),
        employments: employments.iter().map(|(e, m)| (*e, m)).collect(),
        groups: Vec::new(),
        group_index: HashMap::new(),
        examples: options.examples,
        cases: 0,
    };

    let mut cases: HashMap<CaseKey<'_>, Changes> = HashMap::new();
    let mut done: u64 = 0;
    progress(0, memberships);
    for client in &doc.clients {
        for user in &client.users {
            done += 1;
            if done.is_multiple_of(STRIDE) {
                progress(done, memberships);
                if options.deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(PolicyError::TooLong(format!(
                        "the impact analysis ran out of time after {done} of {memberships} \
                         memberships; run `partner-access policies diff` on the store instead"
                    )));
                }
            }
            let changes = match &literals {
                Some(literals) => {
                    let key = case_key(client, user, &analysis.employments, &keep, literals);
                    match cases.get(&key) {
                        Some(changes) => changes.clone(),
                        None => {
                            let changes = analysis.decide(client, user)?;
                            cases.insert(key, changes.clone());
                            changes
                        }
                    }
                }
                None => analysis.decide(client, user)?,
            };
            if !changes.is_empty() {
                analysis.count(client, user, &changes);
            }
        }
    }
    progress(memberships, memberships);

    report.cases = analysis.cases;
    let mut groups: Vec<ImpactGroup> = analysis.groups.into_iter().map(|b| b.group).collect();
    groups.sort_by(|a, b| {
        (&a.action, a.direction, &a.before, &a.after).cmp(&(
            &b.action,
            b.direction,
            &b.before,
            &b.after,
        ))
    });
    for g in &groups {
        report.changed.add(g.direction, g.count);
        report
            .by_action
            .entry(g.action.clone())
            .or_default()
            .add(g.direction, g.count);
        for (role, n) in &g.by_role {
            report
                .by_role
                .entry(role.clone())
                .or_default()
                .add(g.direction, *n);
        }
    }
    report.groups = groups;
    report.actions = analysis.all_actions.to_vec();
    report.notes = notes;
    Ok(report)
}

/// The case of a membership (see [`CaseKey`]).
fn case_key<'a>(
    client: &'a ClientRecord,
    user: &'a ClientUserRecord,
    employments: &HashMap<&'a Email, &'a Employment>,
    keep: &HashSet<&str>,
    literals: &HashSet<&str>,
) -> CaseKey<'a> {
    let employment = employments.get(&user.email).copied();
    let (email, domain, account) = (user.email.as_str(), user.email.domain(), client.id.as_str());
    // An id is renamed only when nothing else in its entities, and no literal of the
    // policies, could equal it: the other two ids, the partners' strings, the vocabulary
    // values and permissions of the membership.
    let clashes = |id: &str, others: [&str; 2]| {
        others.contains(&id)
            || keep.contains(id)
            || literals.contains(id)
            || user.permissions.iter().any(|p| p.as_str() == id)
            || [
                user.role.as_str(),
                user.seat.as_str(),
                user.status.as_str(),
                client.pricing_model.as_str(),
            ]
            .contains(&id)
            || user.paid_hubs.iter().any(|h| h.as_str() == id)
            || employment.is_some_and(|e| e.employee_management.as_str() == id)
    };
    let kept = |id: &'a str, others: [&str; 2]| clashes(id, others).then_some(id);
    CaseKey {
        user: kept(email, [domain, account]),
        domain: kept(domain, [email, account]),
        account: kept(account, [email, domain]),
        employment: employment.map(|e| {
            (
                e.partner.as_str(),
                e.super_admin,
                e.employee_management.as_str(),
            )
        }),
        role: user.role.as_str(),
        seat: user.seat.as_str(),
        status: user.status.as_str(),
        permissions: user.permissions.iter().map(|p| p.as_str()).collect(),
        partner: user.partner.as_ref().map(PartnerId::as_str),
        keep_billing: user.keep_billing,
        paid_hubs: user.paid_hubs.iter().map(|h| h.as_str()).collect(),
        pricing_model: client.pricing_model.as_str(),
        managed_by: client.managed_by.as_ref().map(PartnerId::as_str),
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
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::domain::{Permission, Role};
    use crate::policy::SourceFile;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The repository's policies, with `edit` applied to `capabilities.cedar`.
    fn engine(edit: impl Fn(String) -> String) -> PolicyEngine {
        let read = |dir: &Path, ext| SourceFile::read_dir(dir, ext).unwrap_or_default();
        let schema = read(&root().join("schema"), "cedarschema");
        let mut policies = read(&root().join("policies"), "cedar");
        for file in &mut policies {
            if file.path.ends_with("capabilities.cedar") {
                file.text = edit(std::mem::take(&mut file.text));
            }
        }
        let engine = PolicyEngine::from_sources(&schema, &policies);
        assert!(engine.is_ok(), "{:?}", engine.as_ref().err());
        engine.unwrap_or_else(|_| unreachable!())
    }

    const LISTED_REPORTS: &str =
        r#"principal.getTag(resource.key).permissions.contains("reports.access")"#;

    /// Partner admins lose `reports.access` from their list.
    fn no_reports_for_partner_admins(text: String) -> String {
        text.replace(
            LISTED_REPORTS,
            &format!(
                r#"{LISTED_REPORTS} && principal.getTag(resource.key).role != "partner_admin""#
            ),
        )
    }

    /// 7 partners (`p4` of tier "other", without partner users); 60 clients, each with a
    /// super admin, three standard users, and a partner admin and a partner user of the
    /// partner `p{j % 7}` (as `bench/scale.sh`'s generator makes them).
    fn state() -> StateDocument {
        let partners: Vec<serde_json::Value> = (0..7)
            .map(|i| {
                serde_json::json!({
                    "id": format!("p{i}"),
                    "tier": if i == 4 { "other" } else { "solutions_partner" },
                    "email_domains": [format!("p{i}.example")],
                    "employees": [
                        {"email": format!("admin{i}@p{i}.example"), "super_admin": true,
                         "employee_management": "view_edit"},
                        {"email": format!("rep{i}@p{i}.example")},
                    ],
                })
            })
            .collect();
        let clients: Vec<serde_json::Value> = (0..60)
            .map(|j| {
                let p = j % 7;
                let mut users = vec![serde_json::json!(
                    {"email": format!("owner@c{j}.example"), "role": "super_admin", "seat": "core"}
                )];
                for k in 0..3 {
                    let permissions = match k {
                        0 => vec!["crm.objects.view", "reports.access"],
                        1 => vec!["crm.objects.view", "crm.objects.edit", "users.add_edit"],
                        _ => vec!["hubs.access"],
                    };
                    users.push(serde_json::json!({"email": format!("user{k}@c{j}.example"),
                        "role": "standard", "seat": "core", "permissions": permissions}));
                }
                if p != 4 {
                    users.push(serde_json::json!({"email": format!("admin{p}@p{p}.example"),
                        "role": "partner_admin", "seat": "partner", "partner": format!("p{p}"),
                        "permissions": ["crm.objects.view", "reports.access", "billing.edit"]}));
                    users.push(serde_json::json!({"email": format!("rep{p}@p{p}.example"),
                        "role": "standard", "seat": "partner", "partner": format!("p{p}"),
                        "permissions": ["crm.objects.view"]}));
                }
                serde_json::json!({"id": format!("c{j}"), "pricing_model": "seat_based", "users": users})
            })
            .collect();
        let doc = StateDocument::from_json_value(
            serde_json::json!({"partners": partners, "clients": clients}),
        );
        assert!(doc.is_ok(), "{:?}", doc.as_ref().err());
        doc.unwrap_or_default()
    }

    fn run(
        from: &PolicyEngine,
        to: &PolicyEngine,
        doc: &StateDocument,
        share: bool,
    ) -> ImpactReport {
        let options = ImpactOptions {
            examples: 3,
            share_cases: share,
            deadline: None,
        };
        let report = analyse(from, to, doc, &options, &mut |_, _| {});
        assert!(report.is_ok(), "{:?}", report.as_ref().err());
        report.unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn a_narrowed_permit_makes_one_group_of_exactly_the_users_it_drops() {
        let doc = state();
        let (from, to) = (engine(|t| t), engine(no_reports_for_partner_admins));
        let report = run(&from, &to, &doc, true);
        let reports = Permission::parse("reports.access").unwrap_or_else(|_| unreachable!());
        let expected: Vec<(String, String)> = doc
            .clients
            .iter()
            .flat_map(|c| c.users.iter().map(move |u| (c, u)))
            .filter(|(_, u)| u.role == Role::PartnerAdmin && u.permissions.contains(&reports))
            .map(|(c, u)| (u.email.as_str().to_owned(), c.id.as_str().to_owned()))
            .collect();
        assert!(
            expected.len() > 3,
            "the fixture has partner admins: {expected:?}"
        );

        assert_eq!(report.groups.len(), 1, "{report:#?}");
        let group = &report.groups[0];
        assert_eq!(group.action, "reports.access");
        assert_eq!(group.direction, Direction::AllowToDeny);
        assert_eq!(group.before.policies, ["listed.reports.access"]);
        assert_eq!(group.before.rules, ["CAP-1", "CAP-6"]);
        assert!(group.after.policies.is_empty());
        assert_eq!(group.count, expected.len() as u64);
        assert_eq!(
            group.by_role,
            BTreeMap::from([("partner_admin".to_owned(), expected.len() as u64)])
        );
        let examples: Vec<(String, String)> = group
            .examples
            .iter()
            .map(|e| (e.user.clone(), e.account.clone()))
            .collect();
        assert_eq!(
            examples,
            expected[..3],
            "the first three, in the state's order"
        );
        assert_eq!(report.changed.allow_to_deny, expected.len() as u64);
        assert_eq!(report.changed.deny_to_allow, 0);
        assert_eq!(report.by_action.len(), 1);
        assert_eq!(
            report.memberships,
            doc.clients
                .iter()
                .map(|c| c.users.len() as u64)
                .sum::<u64>()
        );
        assert!(
            report.cases < report.memberships / 4,
            "memberships alike are one case: {} cases",
            report.cases
        );
    }

    #[test]
    fn shared_cases_decide_as_every_membership_on_its_own() {
        let doc = state();
        // Both ways: partner admins lose reports; standard users gain billing.
        let to = engine(|t| {
            no_reports_for_partner_admins(t).replace(
                r#"principal.getTag(resource.key).permissions.contains("billing.edit")"#,
                r#"(principal.getTag(resource.key).permissions.contains("billing.edit") || principal.getTag(resource.key).role == "standard")"#,
            )
        });
        let from = engine(|t| t);
        let shared = run(&from, &to, &doc, true);
        let alone = run(&from, &to, &doc, false);
        assert!(shared.changed.deny_to_allow > 0 && shared.changed.allow_to_deny > 0);
        assert_eq!(alone.cases, alone.memberships);
        assert!(shared.cases < alone.cases);
        assert_eq!(shared.groups, alone.groups);
        assert_eq!(shared.by_role, alone.by_role);
        assert_eq!(shared.by_action, alone.by_action);
    }

    #[test]
    fn an_id_a_policy_names_is_never_taken_for_another() {
        let doc = state();
        let to = engine(|t| {
            t + r#"
@id("t-user") forbid (principal, action == Hub::Action::"reports.access", resource)
when { principal.email == "user0@c5.example" };
@id("t-domain") forbid (principal, action == Hub::Action::"hubs.access", resource)
when { principal.email_domain == "c9.example" };
@id("t-account") forbid (principal, action == Hub::Action::"crm.objects.view", resource)
when { resource.key == "c11" };
"#
        });
        let from = engine(|t| t);
        let shared = run(&from, &to, &doc, true);
        let alone = run(&from, &to, &doc, false);
        assert_eq!(shared.groups, alone.groups);
        let count = |id: &str| {
            shared
                .groups
                .iter()
                .filter(|g| g.after.policies == [id])
                .map(|g| g.count)
                .sum::<u64>()
        };
        // user0 of c5; c9's super admin and user2 (hubs.access); c11's super admin, user0 and
        // user1 (crm.objects.view; c11's partner is of tier "other": no partner users).
        assert_eq!(
            (count("t-user"), count("t-domain"), count("t-account")),
            (1, 2, 3),
            "{shared:#?}"
        );
        assert!(shared.cases < alone.cases);
    }

    #[test]
    fn the_same_set_changes_nothing_and_evaluates_nothing() {
        let doc = state();
        let engine = engine(|t| t);
        let report = run(&engine, &engine, &doc, true);
        assert_eq!(report.cases, 0);
        assert!(report.groups.is_empty());
        assert_eq!(report.changed.total(), 0);
        assert!(report.decisions > 0);
    }

    #[test]
    fn an_acknowledgement_compares_groups_and_counts_not_examples() {
        let doc = state();
        let report = run(
            &engine(|t| t),
            &engine(no_reports_for_partner_admins),
            &doc,
            true,
        );
        let mut reordered = report.clone();
        reordered.groups[0].examples.reverse();
        reordered.groups[0].examples.pop();
        assert_eq!(report.acknowledges(&reordered), Ok(()));

        let mut fewer = report.clone();
        fewer.groups[0].count -= 1;
        let refused = report.acknowledges(&fewer);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("acknowledged, not computed: reports.access")),
            "{refused:?}"
        );
        let mut none = report.clone();
        none.groups.clear();
        assert!(report.acknowledges(&none).is_err());
    }
}
