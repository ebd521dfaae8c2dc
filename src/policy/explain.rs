//! Explanations: why a request was decided as it was, policy by policy and condition by
//! condition.
//!
//! A decision names the policies that determined it, which answers an Allow and a Deny by a
//! forbid. A Deny *by default* names nothing: the question is which permit could have allowed
//! the action and what stopped it. Here each permit of the action is taken apart into its scope
//! and its conditions (a `when` clause split at its top-level `&&`s), and each part is evaluated
//! on its own as a one-condition policy over the request's entities, so the answer can say
//! "`principal.getTag(resource.key).role == "super_admin"` is false".

use cedar_policy::{Effect, Entities, Policy, PolicyId, PolicySet, Request};
use serde::Serialize;
use serde_json::{Value, json};

use super::decide::{Finish, Outcome};
use super::{CheckError, CheckRequest, Decision, PolicyEngine, PolicyInfo};
use crate::domain::Directory;

/// Why a request was decided as it was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    pub decision: Decision,
    /// The policies that determined the decision.
    pub determining: Vec<PolicyInfo>,
    /// For a Deny: every permit of the action, and what stopped it.
    pub candidates: Vec<Candidate>,
}

/// A permit that could have allowed the action, taken apart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub id: String,
    pub rules: Vec<String>,
    pub description: String,
    /// Whether the request is in the policy's scope (principal, action and resource).
    pub scope_matches: bool,
    /// Each condition of the policy, with what it evaluated to for this request.
    pub conditions: Vec<ConditionOutcome>,
}

impl Candidate {
    /// The conditions that stopped this permit (false or erroring).
    pub fn failed(&self) -> impl Iterator<Item = &ConditionOutcome> {
        self.conditions.iter().filter(|c| c.outcome != Held::True)
    }
}

/// One condition of a policy and its value for a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionOutcome {
    /// The condition as Cedar text (`when { ... }` or `unless { ... }`).
    pub condition: String,
    pub outcome: Held,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Whether a policy part held for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Held {
    True,
    False,
    /// Evaluating it failed (a missing attribute, a type error).
    Error,
}

impl PolicyEngine {
    /// Decides `request` (exactly as [`PolicyEngine::decide`] would) and explains the decision.
    pub fn explain<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
    ) -> Result<Explanation, CheckError> {
        let action = self.resolve(&request.action)?;
        let (cedar_request, entities) =
            match self.decide_inner(request, action, directory, None, Finish::Prepare)? {
                // An unknown principal or resource: nothing to take apart.
                Outcome::Decided(decision) => {
                    return Ok(Explanation {
                        decision,
                        determining: Vec::new(),
                        candidates: Vec::new(),
                    });
                }
                Outcome::Prepared(prepared) => *prepared,
            };
        let decision = self.evaluate_in(action.entry, &cedar_request, &entities);
        let determining = decision
            .reasons
            .iter()
            .filter_map(|id| self.policy(id).cloned())
            .collect();
        let mut candidates = Vec::new();
        if !decision.allowed
            && let Some(partition) = &action.entry.policies
        {
            for narrowed in partition.policies() {
                // The partition holds copies with narrowed action scopes; explain the policy
                // as its author wrote it.
                let Some(policy) = self.policies.policy(narrowed.id()) else {
                    continue;
                };
                if policy.effect() != Effect::Permit {
                    continue;
                }
                candidates.push(self.examine(policy, &cedar_request, &entities));
            }
        }
        Ok(Explanation {
            decision,
            determining,
            candidates,
        })
    }

    /// Evaluates a permit's scope and each of its conditions on their own.
    fn examine(&self, policy: &Policy, request: &Request, entities: &Entities) -> Candidate {
        let id = policy.id().to_string();
        let info = self.policy(&id);
        let mut candidate = Candidate {
            rules: info.map(|i| i.rules.clone()).unwrap_or_default(),
            description: info.map(|i| i.description.clone()).unwrap_or_default(),
            id,
            scope_matches: false,
            conditions: Vec::new(),
        };
        let Ok(est) = policy.to_json() else {
            return candidate;
        };
        let mut scope_only = est.clone();
        scope_only["conditions"] = json!([]);
        scope_only["annotations"] = json!({});
        candidate.scope_matches = self.holds(scope_only, request, entities).0 == Held::True;

        let clauses = est["conditions"].as_array().cloned().unwrap_or_default();
        for clause in clauses {
            let kind = clause["kind"].as_str().unwrap_or("when").to_owned();
            let parts = if kind == "when" {
                conjuncts(&clause["body"])
            } else {
                vec![clause["body"].clone()]
            };
            for body in parts {
                // Any scope: a condition is evaluated whether or not the scope matched.
                let sub = json!({
                    "effect": "permit",
                    "principal": {"op": "All"},
                    "action": {"op": "All"},
                    "resource": {"op": "All"},
                    "conditions": [{"kind": kind, "body": body}],
                    "annotations": {},
                });
                let condition = render(&sub).unwrap_or_else(|| format!("{kind} {{ … }}"));
                let (outcome, error) = self.holds(sub, request, entities);
                candidate.conditions.push(ConditionOutcome {
                    condition,
                    outcome,
                    error,
                });
            }
        }
        candidate
    }

    /// Whether a one-policy permit (as Cedar JSON) allows the request.
    fn holds(&self, est: Value, request: &Request, entities: &Entities) -> (Held, Option<String>) {
        let Ok(policy) = Policy::from_json(Some(PolicyId::new("explain")), est) else {
            return (
                Held::Error,
                Some("the policy could not be taken apart".into()),
            );
        };
        let Ok(set) = PolicySet::from_policies([policy]) else {
            return (
                Held::Error,
                Some("the policy could not be taken apart".into()),
            );
        };
        let response = self.authorizer.is_authorized(request, &set, entities);
        if let Some(error) = response.diagnostics().errors().next() {
            return (Held::Error, Some(error.to_string()));
        }
        if response.decision() == cedar_policy::Decision::Allow {
            (Held::True, None)
        } else {
            (Held::False, None)
        }
    }
}

/// The top-level conjuncts of a condition (`a && b && c` → `[a, b, c]`).
fn conjuncts(body: &Value) -> Vec<Value> {
    match body.get("&&") {
        Some(and) => {
            let mut out = conjuncts(&and["left"]);
            out.extend(conjuncts(&and["right"]));
            out
        }
        None => vec![body.clone()],
    }
}

/// The condition of a one-condition policy as Cedar prints it: `when { ... }`.
fn render(est: &Value) -> Option<String> {
    let policy = Policy::from_json(Some(PolicyId::new("explain")), est.clone()).ok()?;
    let text = policy.to_string();
    let start = text.find("when").or_else(|| text.find("unless"))?;
    let condition = text[start..].trim().trim_end_matches(';').trim();
    Some(condition.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether a policy applies only where the principal is a member of the resource account: a
/// top-level conjunct of a `when` clause is `principal.hasTag(resource.key)`.
pub(super) fn requires_membership(policy: &Policy) -> bool {
    let Ok(est) = policy.to_json() else {
        return false;
    };
    let membership = json!({"hasTag": {
        "left": {"Var": "principal"},
        "right": {".": {"left": {"Var": "resource"}, "attr": "key"}},
    }});
    est["conditions"].as_array().is_some_and(|clauses| {
        clauses.iter().any(|clause| {
            clause["kind"] == "when" && conjuncts(&clause["body"]).contains(&membership)
        })
    })
}
