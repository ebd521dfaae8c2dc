//! Static checks of the loaded policies against the schema, behind `partner-access lint`.
//!
//! The policies have already validated strictly when an engine exists, so every finding here is
//! about policies that are *well-typed but pointless*: they load, the tests may even pass, yet a
//! policy or an action does not do what its author meant. Three rules:
//!
//! - [`LintRule::UnusedAction`]: an action the schema declares but no permit can ever apply to,
//!   so every request for it is denied (usually a forgotten `listed.<name>` permit).
//! - [`LintRule::ShadowedByForbid`]: a permit whose every request is also matched by a forbid
//!   without conditions, so it can never allow anything.
//! - [`LintRule::NeverApplies`]: a policy that no request valid under the schema can match: its
//!   scope's principal or resource types cannot be used with any of its actions, or its
//!   condition is false for every valid request.
//!
//! "Can apply" is Cedar's own answer: [`cedar_policy::Policy::get_valid_request_envs`] types the
//! policy under every (principal type, action, resource type) the schema allows and keeps the
//! ones where its condition is not trivially false. The actions come from the engine's
//! per-action partition (`by_action`, the policies a decision for that action evaluates), so
//! the lint sees the policies exactly as decisions do.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use cedar_policy::{
    Effect, EntityTypeName, EntityUid, Policy, PrincipalConstraint, ResourceConstraint,
    ValidationMode, ValidationWarning, Validator,
};
use serde::Serialize;

use super::{PolicyEngine, SourceFile};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LintRule {
    /// A declared action that no permit can apply to.
    UnusedAction,
    /// A permit entirely covered by unconditional forbids.
    ShadowedByForbid,
    /// A policy no request valid under the schema can match.
    NeverApplies,
}

impl LintRule {
    /// The rule's name as printed (`unused-action`, `shadowed-by-forbid`, `never-applies`).
    pub fn name(self) -> &'static str {
        match self {
            LintRule::UnusedAction => "unused-action",
            LintRule::ShadowedByForbid => "shadowed-by-forbid",
            LintRule::NeverApplies => "never-applies",
        }
    }
}

impl fmt::Display for LintRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem, located like a compiler message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: LintRule,
    /// The policy file (policy rules) or the schema file (unused actions).
    pub file: String,
    /// 1-based; for a policy the line of its `@id`, for an action the line declaring it.
    /// `None` only when the declaration could not be found in the schema text.
    pub line: Option<usize>,
    /// The policy id or the action name the finding is about.
    pub subject: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.file, self.rule, self.message),
            None => write!(f, "{}: {}: {}", self.file, self.rule, self.message),
        }
    }
}

/// The two scope slots compared for shadowing, principal and resource, in one shape.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Any,
    Eq(EntityUid),
    In(EntityUid),
    Is(EntityTypeName),
    IsIn(EntityTypeName, EntityUid),
}

impl From<PrincipalConstraint> for Slot {
    fn from(c: PrincipalConstraint) -> Self {
        match c {
            PrincipalConstraint::Any => Slot::Any,
            PrincipalConstraint::Eq(e) => Slot::Eq(e),
            PrincipalConstraint::In(e) => Slot::In(e),
            PrincipalConstraint::Is(t) => Slot::Is(t),
            PrincipalConstraint::IsIn(t, e) => Slot::IsIn(t, e),
        }
    }
}

impl From<ResourceConstraint> for Slot {
    fn from(c: ResourceConstraint) -> Self {
        match c {
            ResourceConstraint::Any => Slot::Any,
            ResourceConstraint::Eq(e) => Slot::Eq(e),
            ResourceConstraint::In(e) => Slot::In(e),
            ResourceConstraint::Is(t) => Slot::Is(t),
            ResourceConstraint::IsIn(t, e) => Slot::IsIn(t, e),
        }
    }
}

impl Slot {
    /// Whether every entity of type `ty` that `permit` can match is matched by `self` (a
    /// forbid's slot), judged from the scopes alone. Sound, not complete: `in` is only known to
    /// cover the same entity or group (hierarchies live in the data, not the schema), so a
    /// "no" may be a missed shadow but a "yes" is never a false alarm.
    fn covers(&self, permit: &Slot, ty: &EntityTypeName) -> bool {
        let inside = |group: &EntityUid| match permit {
            Slot::Eq(e) | Slot::In(e) | Slot::IsIn(_, e) => e == group,
            Slot::Any | Slot::Is(_) => false,
        };
        match self {
            Slot::Any => true,
            // In this request type the permit's entity *is* of type `ty`.
            Slot::Is(t) => t == ty,
            Slot::Eq(e) => matches!(permit, Slot::Eq(p) if p == e),
            Slot::In(group) => inside(group),
            Slot::IsIn(t, group) => t == ty && inside(group),
        }
    }
}

/// A request type: principal type, action name, resource type.
type Env = (EntityTypeName, String, EntityTypeName);

/// What the lint needs to know about one policy.
struct Facts<'a> {
    policy: &'a Policy,
    id: String,
    /// The request types it can apply to (partition ∩ Cedar's valid request environments).
    envs: BTreeSet<Env>,
    principal: Slot,
    resource: Slot,
}

impl PolicyEngine {
    /// Runs every lint rule; `schema_files` are the sources the engine was loaded from (to
    /// locate action declarations). Findings are sorted by file, line and rule.
    pub fn lint(&self, schema_files: &[SourceFile]) -> Vec<Finding> {
        // Which actions' partitions hold each policy: exactly the actions a decision evaluates
        // it for.
        let mut partition: HashMap<String, BTreeSet<&str>> = HashMap::new();
        for (action, set) in self.partitions() {
            for policy in set.policies() {
                partition
                    .entry(policy.id().to_string())
                    .or_default()
                    .insert(action);
            }
        }
        let facts: Vec<Facts<'_>> = self
            .policies
            .policies()
            .map(|policy| {
                let id = policy.id().to_string();
                let actions = partition.get(&id);
                let envs = policy
                    .get_valid_request_envs(&self.schema)
                    .map(|env| {
                        (
                            env.principal().clone(),
                            env.action().id().unescaped().to_owned(),
                            env.resource().clone(),
                        )
                    })
                    .filter(|(_, action, _)| actions.is_some_and(|a| a.contains(action.as_str())))
                    .collect();
                Facts {
                    policy,
                    id,
                    envs,
                    principal: policy.principal_constraint().into(),
                    resource: policy.resource_constraint().into(),
                }
            })
            .collect();

        let mut findings = Vec::new();
        self.never_applies(&facts, &mut findings);
        self.shadowed_by_forbid(&facts, &mut findings);
        self.unused_actions(&facts, schema_files, &mut findings);
        findings.sort_by(|a, b| {
            (&a.file, a.line, a.rule, &a.subject).cmp(&(&b.file, b.line, b.rule, &b.subject))
        });
        findings
    }

    /// Where a policy is, for a finding.
    fn located(&self, id: &str) -> (String, Option<usize>) {
        match self.policy(id) {
            Some(info) => (info.file.clone(), Some(info.line)),
            None => ("policies".to_owned(), None),
        }
    }

    fn never_applies(&self, facts: &[Facts<'_>], findings: &mut Vec<Finding>) {
        // Cedar's validator says *why* (and reports what the request environments alone would
        // not show); an empty set of request types is the fact itself.
        let mut why: BTreeMap<String, String> = BTreeMap::new();
        let result =
            Validator::new(self.schema.clone()).validate(&self.policies, ValidationMode::Strict);
        for warning in result.validation_warnings() {
            let reason = match warning {
                ValidationWarning::InvalidActionApplication(_) => {
                    let mut text = "no action of its scope can be used with its principal and \
                                    resource types"
                        .to_owned();
                    if let Some(help) = miette::Diagnostic::help(warning) {
                        text.push_str(&format!(" ({help})"));
                    }
                    text
                }
                ValidationWarning::ImpossiblePolicy(_) => {
                    "its condition is false for every request the schema allows".to_owned()
                }
                _ => continue,
            };
            // Both warnings come for a scope that fits no action; the scope is the cause.
            let id = warning.policy_id().to_string();
            if matches!(warning, ValidationWarning::InvalidActionApplication(_))
                || !why.contains_key(&id)
            {
                why.insert(id, reason);
            }
        }
        for fact in facts {
            if !fact.envs.is_empty() && !why.contains_key(&fact.id) {
                continue;
            }
            let reason = why.get(&fact.id).cloned().unwrap_or_else(|| {
                "no request type the schema declares for its actions matches its scope".to_owned()
            });
            let (file, line) = self.located(&fact.id);
            let (kind, so) = match fact.policy.effect() {
                Effect::Permit => ("permit", "it allows nothing"),
                Effect::Forbid => ("forbid", "it forbids nothing"),
            };
            findings.push(Finding {
                rule: LintRule::NeverApplies,
                file,
                line,
                subject: fact.id.clone(),
                message: format!("{kind} `{}` can never apply: {reason}; {so}", fact.id),
            });
        }
    }

    fn shadowed_by_forbid(&self, facts: &[Facts<'_>], findings: &mut Vec<Finding>) {
        // Only a forbid without `when`/`unless` denies everything its scope matches; a
        // conditional forbid leaves the permit some requests.
        let forbids: Vec<&Facts<'_>> = facts
            .iter()
            .filter(|f| f.policy.effect() == Effect::Forbid && !f.policy.has_non_scope_constraint())
            .collect();
        if forbids.is_empty() {
            return;
        }
        for permit in facts.iter().filter(|f| f.policy.effect() == Effect::Permit) {
            if permit.envs.is_empty() {
                // Reported as never-applies.
                continue;
            }
            let mut by: BTreeSet<&str> = BTreeSet::new();
            let all_covered = permit.envs.iter().all(|env| {
                let (principal_type, _, resource_type) = env;
                let cover = forbids.iter().find(|forbid| {
                    forbid.envs.contains(env)
                        && forbid.principal.covers(&permit.principal, principal_type)
                        && forbid.resource.covers(&permit.resource, resource_type)
                });
                if let Some(forbid) = cover {
                    by.insert(forbid.id.as_str());
                }
                cover.is_some()
            });
            if !all_covered {
                continue;
            }
            let named = by
                .iter()
                .map(|id| {
                    let (file, line) = self.located(id);
                    match line {
                        Some(line) => format!("`{id}` ({file}:{line})"),
                        None => format!("`{id}` ({file})"),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let (file, line) = self.located(&permit.id);
            findings.push(Finding {
                rule: LintRule::ShadowedByForbid,
                file,
                line,
                subject: permit.id.clone(),
                message: format!(
                    "permit `{}` is shadowed: every request it matches is denied by the \
                     unconditional forbid {named}; it can never allow anything",
                    permit.id
                ),
            });
        }
    }

    fn unused_actions(
        &self,
        facts: &[Facts<'_>],
        schema_files: &[SourceFile],
        findings: &mut Vec<Finding>,
    ) {
        let mut permits: HashMap<&str, usize> = HashMap::new();
        let mut forbids: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for fact in facts {
            let actions: BTreeSet<&str> = fact.envs.iter().map(|(_, a, _)| a.as_str()).collect();
            for action in actions {
                match fact.policy.effect() {
                    Effect::Permit => *permits.entry(action).or_default() += 1,
                    Effect::Forbid => {
                        forbids.entry(action).or_default().insert(fact.id.as_str());
                    }
                }
            }
        }
        for info in self.actions() {
            // An action without principal or resource types (an action group) is never
            // requested itself.
            if info.principal_types.is_empty() || info.resource_types.is_empty() {
                continue;
            }
            if permits.contains_key(info.name.as_str()) {
                continue;
            }
            let only = match forbids.get(info.name.as_str()) {
                Some(ids) => format!(
                    " (only forbids apply: {})",
                    ids.iter()
                        .map(|id| format!("`{id}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => String::new(),
            };
            let (file, line) = action_location(schema_files, &info.name);
            findings.push(Finding {
                rule: LintRule::UnusedAction,
                file,
                line,
                subject: info.name.clone(),
                message: format!(
                    "action `{}` is declared but no permit can ever apply to it{only}; every \
                     request for it is denied",
                    info.name
                ),
            });
        }
    }
}

/// The schema file and line declaring action `name`: the first line that names it quoted
/// (`action "a.b"`, also inside a list `action "a", "b"`) or bare (`action view`) after the
/// `action` keyword of its declaration.
fn action_location(files: &[SourceFile], name: &str) -> (String, Option<usize>) {
    let quoted = format!("\"{name}\"");
    for file in files {
        let mut in_action = false;
        for (i, line) in file.text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default().trim();
            if code.starts_with("action ") || code.starts_with("action\t") {
                in_action = true;
            }
            let bare = code
                .strip_prefix("action")
                .map(|rest| {
                    rest.split(|c: char| c == ',' || c.is_whitespace())
                        .any(|word| word == name)
                })
                .unwrap_or(false);
            if in_action && (code.contains(&quoted) || bare) {
                return (display(&file.path), Some(i + 1));
            }
            // A declaration ends at its `;` (or where `appliesTo` begins, after the names).
            if code.contains(';') || code.contains("appliesTo") {
                in_action = false;
            }
        }
    }
    (
        files
            .first()
            .map_or_else(|| "schema".to_owned(), |f| display(&f.path)),
        None,
    )
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn action_location_finds_quoted_bare_and_listed_declarations() {
        let file = SourceFile {
            path: PathBuf::from("s.cedarschema"),
            text: "namespace Hub {\n  // action \"c\" in a comment\n  action view appliesTo {};\n  action \"a.b\",\n    \"c\" appliesTo {};\n}\n"
                .to_owned(),
        };
        let files = [file];
        assert_eq!(action_location(&files, "view").1, Some(3));
        assert_eq!(action_location(&files, "a.b").1, Some(4));
        assert_eq!(action_location(&files, "c").1, Some(5));
        assert_eq!(action_location(&files, "missing").1, None);
    }
}
