//! What impact analysis ([`crate::app`]'s `impact`) needs to know of a policy set that only
//! Cedar can tell: which actions are check actions, whether two sets decide an action with the
//! same policies, and which strings the policies can tell apart.
//!
//! The analysis decides every (client user, check action, account) of a state under two sets.
//! A million users make tens of millions of decisions; it evaluates each distinct *case* once
//! instead: two memberships are the same case when their entities are the same up to renaming
//! the user's e-mail, its domain and the account's id. That is sound only when the policies
//! cannot tell those strings apart except by equality with one another, which
//! [`PolicyEngine::impact_literals`] checks: no `like` pattern, no extension constructor (which
//! could parse an id), and every string literal of the policies is returned, so that an id
//! equal to one of them is kept as it is rather than renamed.

use std::collections::BTreeSet;

use serde_json::Value;

use super::refs::EntityKind;
use super::{PolicyEngine, effect_name};

/// The operators of the policies' JSON form that read a string's contents beyond equality.
const STRING_READERS: &[&str] = &["like", "ip", "decimal", "datetime", "duration"];

impl PolicyEngine {
    /// The check actions: those a host asks about a user in a client account without a context
    /// (`principal: User, resource: Account, context: {}`), by name.
    pub fn check_actions(&self) -> Vec<String> {
        self.action_table
            .iter()
            .filter(|entry| {
                let info = &entry.info;
                !entry.context_required
                    && info.principal_types.len() == 1
                    && info.principal_types[0] == EntityKind::User.type_name()
                    && info.resource_types.len() == 1
                    && info.resource_types[0] == EntityKind::Account.type_name()
            })
            .map(|entry| entry.info.name.clone())
            .collect()
    }

    /// What decides `action` in this set: the policies whose scope can match it (id, effect
    /// and text as Cedar prints them, sorted by id) and the action groups it belongs to. Two
    /// sets whose fingerprints for an action are equal decide it the same way over the same
    /// entities. `None` when the set does not declare the action.
    pub fn action_fingerprint(&self, action: &str) -> Option<String> {
        let entry = self.resolve(action).ok()?.entry;
        let mut parts: Vec<String> = entry
            .policies
            .iter()
            .flat_map(|set| set.policies())
            .map(|p| format!("{}\u{0}{}\u{0}{p}", p.id(), effect_name(p.effect())))
            .collect();
        parts.sort();
        let groups: Vec<String> = self
            .action_entities
            .iter()
            .filter(|e| e.uid() == entry.uid)
            .flat_map(|e| {
                let mut ancestors: Vec<String> = e
                    .clone()
                    .into_inner()
                    .2
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                ancestors.sort();
                ancestors
            })
            .collect();
        Some(format!("{}\u{1}{}", parts.join("\u{1}"), groups.join(",")))
    }

    /// Every string literal of the policies (entity ids in them included), or why the
    /// policies may tell apart two ids that are equal in nothing but their text (see the
    /// module doc): then no two memberships can be taken for one case.
    pub fn impact_literals(&self) -> Result<BTreeSet<String>, String> {
        let mut literals = BTreeSet::new();
        for policy in self.policies.policies() {
            let json = policy
                .to_json()
                .map_err(|e| format!("policy `{}` has no JSON form: {e}", policy.id()))?;
            if let Some(op) = walk(&json, &mut literals) {
                return Err(format!(
                    "policy `{}` uses `{op}`, which reads the text of a string",
                    policy.id()
                ));
            }
        }
        Ok(literals)
    }
}

/// Collects the strings of a policy's JSON form; answers the first operator that reads a
/// string's contents, if any.
fn walk(value: &Value, literals: &mut BTreeSet<String>) -> Option<String> {
    match value {
        Value::String(s) => {
            literals.insert(s.clone());
            None
        }
        Value::Array(items) => items.iter().find_map(|v| walk(v, literals)),
        Value::Object(map) => {
            if let Some(op) = map.keys().find(|k| STRING_READERS.contains(&k.as_str())) {
                return Some(op.clone());
            }
            map.values().find_map(|v| walk(v, literals))
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::policy::SourceFile;

    fn engine(policies: &str) -> PolicyEngine {
        let schema = std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/hub.cedarschema"),
        )
        .unwrap_or_default();
        let files = |path: &str, text: &str| SourceFile {
            path: PathBuf::from(path),
            text: text.to_owned(),
        };
        let loaded = PolicyEngine::from_sources(
            &[files("hub.cedarschema", &schema)],
            &[files("p.cedar", policies)],
        );
        assert!(loaded.is_ok(), "{:?}", loaded.err());
        loaded.unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn literals_are_collected_and_like_refuses_renaming() {
        let plain = engine(
            r#"@id("a") permit (principal, action == Hub::Action::"reports.access", resource)
               when { principal.email == "boss@acme.example" };"#,
        );
        let literals = plain.impact_literals().unwrap_or_default();
        assert!(literals.contains("boss@acme.example"), "{literals:?}");

        let like = engine(
            r#"@id("b") permit (principal, action == Hub::Action::"reports.access", resource)
               when { principal.email like "*@acme.example" };"#,
        );
        let refused = like.impact_literals();
        assert!(
            refused.as_ref().is_err_and(|e| e.contains("`like`")),
            "{refused:?}"
        );
    }

    #[test]
    fn check_actions_and_fingerprints() {
        let one = engine(
            r#"@id("a") permit (principal, action == Hub::Action::"reports.access", resource);"#,
        );
        let two = engine(
            r#"@id("a") permit (principal, action == Hub::Action::"reports.access", resource) when { false };"#,
        );
        let actions = one.check_actions();
        assert!(actions.iter().any(|a| a == "reports.access"), "{actions:?}");
        assert!(
            !actions.iter().any(|a| a == "access_link.issue"),
            "{actions:?}"
        );
        assert_ne!(
            one.action_fingerprint("reports.access"),
            two.action_fingerprint("reports.access")
        );
        assert_eq!(
            one.action_fingerprint("hubs.access"),
            two.action_fingerprint("hubs.access")
        );
        assert_eq!(one.action_fingerprint("no.such"), None);
    }
}
