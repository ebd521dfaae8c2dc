//! The analysis itself: every membership of a state decided under both sets for each check
//! action whose policies differ, the decisions that flip gathered into groups (by action,
//! direction and the policies that decided before and after), then counted per action and per
//! role. Memberships that are one case (see [`super::cases`]) are decided once.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use super::cases::{
    ACCOUNT_PLACEHOLDER, CaseKey, DOMAIN_PLACEHOLDER, Probe, USER_PLACEHOLDER, case_key,
};
use super::{
    ChangeCounts, Determining, Direction, ImpactExample, ImpactGroup, ImpactOptions, ImpactReport,
    MAX_EXAMPLES,
};
use crate::app::policies::PolicyError;
use crate::domain::{
    ClientRecord, ClientUserRecord, Email, Employment, PartnerId, PartnerInfo, StateDocument,
};
use crate::policy::{CheckError, CheckRequest, Decision, EntityKind, EntityRef, PolicyEngine};

/// How many memberships are analysed between two progress reports and deadline checks.
const STRIDE: u64 = 16_384;

/// A case's changed actions: the action's index and the group it falls in.
type Changes = Vec<(usize, usize)>;

/// The analysis of one state under two sets.
struct Analysis<'a> {
    from: &'a PolicyEngine,
    to: &'a PolicyEngine,
    /// The actions whose policies differ, with their index in the report's actions.
    actions: Vec<(usize, &'a str)>,
    all_actions: &'a [String],
    partners: HashMap<PartnerId, PartnerInfo>,
    employments: HashMap<&'a Email, &'a Employment>,
    groups: Vec<ImpactGroup>,
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
                    self.groups.push(ImpactGroup {
                        action: action.to_owned(),
                        direction,
                        before: determining(self.from, &key.2),
                        after: determining(self.to, &key.3),
                        count: 0,
                        by_role: BTreeMap::new(),
                        examples: Vec::new(),
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
            let Some(g) = self.groups.get_mut(group) else {
                continue;
            };
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
    let mut groups = analysis.groups;
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
