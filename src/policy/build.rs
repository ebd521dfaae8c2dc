//! Building a [`PolicyEngine`] from its files: strict validation (by [`super::load`]), then
//! everything a decision needs prepared once: the permission catalogue and the actions'
//! metadata read from the schema's annotations, the policies partitioned by the actions their
//! scope can match (each copy's action scope narrowed to that one action), which actions need a
//! context, and the policies as `GET /v1/policies` lists them.
//!
//! Loading runs on a thread of its own with a large stack: a set that cannot be loaded, a panic
//! included, is an error for the caller, never a crash of a serving sidecar that reloads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Effect, EntityNamespace, EntityUid, PolicySet, Request,
    SchemaFragment,
};

use super::entities::TypeNames;
use super::{
    ActionEntry, ActionInfo, LoadErrors, NAMESPACE, NEXT_ENGINE_ID, PolicyEngine, PolicyInfo,
    SourceFile, effect_name, load, policy_version,
};
use crate::domain::{Catalogue, Permission};

impl PolicyEngine {
    /// Loads every `.cedarschema` file of `schema_dir` and every `.cedar` file of
    /// `policies_dir`.
    pub fn load(policies_dir: &Path, schema_dir: &Path) -> Result<Self, LoadErrors> {
        let schema_files = SourceFile::read_dir(schema_dir, "cedarschema")?;
        let policy_files = SourceFile::read_dir(policies_dir, "cedar")?;
        Self::from_sources(&schema_files, &policy_files)
    }

    /// Builds an engine from sources already read, on a thread of its own with a known, large
    /// stack (see [`load`]): a policy set that cannot be loaded is an error, a panic while
    /// loading included, and never takes the caller (a serving sidecar reloading) down.
    pub fn from_sources(
        schema_files: &[SourceFile],
        policy_files: &[SourceFile],
    ) -> Result<Self, LoadErrors> {
        let schema_path = schema_files
            .first()
            .map_or_else(|| Path::new("schema").to_owned(), |f| f.path.clone());
        let (schema_files, policy_files) = (schema_files.to_vec(), policy_files.to_vec());
        let loader = std::thread::Builder::new()
            .name("policy-load".into())
            .stack_size(load::LOADER_STACK)
            .spawn(move || Self::build(&schema_files, &policy_files));
        match loader.map(std::thread::JoinHandle::join) {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".to_owned());
                Err(LoadErrors::one(
                    &schema_path,
                    format!("loading the policies failed unexpectedly (a panic: {what})"),
                ))
            }
            Err(e) => Err(LoadErrors::one(
                &schema_path,
                format!("cannot start the thread that loads the policies: {e}"),
            )),
        }
    }

    fn build(schema_files: &[SourceFile], policy_files: &[SourceFile]) -> Result<Self, LoadErrors> {
        let version = policy_version(schema_files, policy_files);
        let loaded = load::load(schema_files, policy_files)?;
        let schema_path = schema_files
            .first()
            .map_or_else(|| Path::new("schema").to_owned(), |f| f.path.clone());
        let fail = |message: String| LoadErrors::one(&schema_path, message);

        let names = TypeNames::new().map_err(fail)?;
        let namespace = EntityNamespace::from_str(NAMESPACE)
            .map_err(|e| fail(format!("bad namespace: {e}")))?;

        // Actions and their annotations.
        let mut actions = BTreeMap::new();
        let mut action_uids = HashMap::new();
        let mut catalogue_entries = Vec::new();
        for uid in loaded.schema.actions() {
            let name = uid.id().unescaped().to_owned();
            let annotation = |key: &str| {
                loaded
                    .fragments
                    .iter()
                    .find_map(|f: &SchemaFragment| {
                        f.action_annotation(Some(namespace.clone()), uid.id(), key)
                    })
                    .map(str::to_owned)
            };
            let permission = annotation("permission");
            if let Some(templates) = &permission {
                let p = Permission::parse(name.clone()).map_err(|e| {
                    fail(format!("action `{name}` is annotated @permission but {e}"))
                })?;
                catalogue_entries.push((
                    p,
                    split_list(templates)
                        .into_iter()
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                ));
            }
            let types = |it: Option<Box<dyn Iterator<Item = String> + '_>>| {
                it.map(|i| i.collect::<Vec<_>>()).unwrap_or_default()
            };
            actions.insert(
                name.clone(),
                ActionInfo {
                    name: name.clone(),
                    description: annotation("doc").unwrap_or_default(),
                    rules: annotation("rules")
                        .map(|r| split_list(&r).into_iter().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    principal_types: types(loaded.schema.principals_for_action(uid).map(|i| {
                        Box::new(i.map(ToString::to_string)) as Box<dyn Iterator<Item = String>>
                    })),
                    resource_types: types(loaded.schema.resources_for_action(uid).map(|i| {
                        Box::new(i.map(ToString::to_string)) as Box<dyn Iterator<Item = String>>
                    })),
                    permission: permission.is_some(),
                },
            );
            action_uids.insert(name, uid.clone());
        }
        let catalogue = Catalogue::new(
            catalogue_entries
                .iter()
                .map(|(p, templates)| (p.clone(), templates.iter().map(String::as_str).collect())),
        );

        // Action groups: which actions each scope constraint covers.
        let action_entities_set = loaded
            .schema
            .action_entities()
            .map_err(|e| fail(format!("cannot build action entities: {e}")))?;
        let has_groups = loaded.schema.action_groups().next().is_some();
        let covers = |constraint_uid: &EntityUid, action: &EntityUid| {
            constraint_uid == action
                || action_entities_set
                    .ancestors(action)
                    .is_some_and(|mut a| a.any(|x| x == constraint_uid))
        };

        let mut by_action: HashMap<String, PolicySet> = HashMap::new();
        let mut forbids = HashSet::new();
        for policy in loaded.policies.policies() {
            if policy.effect() == Effect::Forbid {
                forbids.insert(policy.id().clone());
            }
            let constraint = policy.action_constraint();
            for (name, uid) in &action_uids {
                let applies = match &constraint {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(a) => covers(a, uid),
                    ActionConstraint::In(list) => list.iter().any(|a| covers(a, uid)),
                };
                if applies {
                    by_action
                        .entry(name.clone())
                        .or_default()
                        .add(narrowed(policy, uid))
                        .map_err(|e| fail(e.to_string()))?;
                }
            }
        }

        // An action needs a context when a request with an empty one does not validate.
        let mut context_required = HashSet::new();
        for (name, uid) in &action_uids {
            let principal = loaded
                .schema
                .principals_for_action(uid)
                .and_then(|mut p| p.next().cloned());
            let resource = loaded
                .schema
                .resources_for_action(uid)
                .and_then(|mut r| r.next().cloned());
            if let (Some(p), Some(r)) = (principal, resource) {
                let probe = Request::new(
                    EntityUid::from_type_name_and_id(p, cedar_policy::EntityId::new("probe")),
                    uid.clone(),
                    EntityUid::from_type_name_and_id(r, cedar_policy::EntityId::new("probe")),
                    Context::empty(),
                    Some(&loaded.schema),
                );
                if probe.is_err() {
                    context_required.insert(name.clone());
                }
            }
        }

        let mut policy_info: Vec<PolicyInfo> = loaded
            .policies
            .policies()
            .filter_map(|policy| {
                let source = loaded.sources.get(policy.id())?;
                Some(PolicyInfo {
                    id: policy.id().to_string(),
                    effect: effect_name(policy.effect()),
                    rules: policy
                        .annotation("rules")
                        .map(|r| split_list(r).into_iter().map(str::to_owned).collect())
                        .unwrap_or_default(),
                    file: source.file.display().to_string(),
                    line: source.line,
                    description: source.doc.clone(),
                    text: policy.to_string(),
                })
            })
            .collect();
        policy_info.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));

        let mut action_table = Vec::with_capacity(actions.len());
        for (name, info) in actions {
            let uid = action_uids
                .remove(&name)
                .ok_or_else(|| fail(format!("action `{name}` has no uid")))?;
            action_table.push(ActionEntry {
                info,
                uid,
                policies: by_action.remove(&name),
                context_required: context_required.contains(&name),
            });
        }
        Ok(PolicyEngine {
            schema: loaded.schema,
            policies: loaded.policies,
            action_slots: action_table
                .iter()
                .enumerate()
                .map(|(slot, entry)| (entry.info.name.clone(), slot))
                .collect(),
            action_table,
            id: NEXT_ENGINE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            version,
            forbids,
            action_entities: if has_groups {
                action_entities_set.iter().cloned().collect()
            } else {
                Vec::new()
            },
            catalogue,
            policy_info,
            warnings: loaded.warnings,
            names,
            authorizer: Authorizer::new(),
        })
    }
}

/// The policy with its action scope narrowed to `action == A`, for the partition that only
/// serves requests for action `A`: there the two scopes agree, and Cedar evaluates an equality
/// without building the set of a long `action in [...]` list on every request. Falls back to
/// the policy as written if the rewrite does not parse.
fn narrowed(policy: &cedar_policy::Policy, action: &EntityUid) -> cedar_policy::Policy {
    if matches!(
        policy.action_constraint(),
        ActionConstraint::Eq(_) | ActionConstraint::Any
    ) {
        return policy.clone();
    }
    let Ok(mut json) = policy.to_json() else {
        return policy.clone();
    };
    json["action"] = serde_json::json!({
        "op": "==",
        "entity": {"type": action.type_name().to_string(), "id": action.id().unescaped()},
    });
    cedar_policy::Policy::from_json(Some(policy.id().clone()), json)
        .unwrap_or_else(|_| policy.clone())
}

/// Splits an annotation's comma-separated list.
fn split_list(text: &str) -> Vec<&str> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}
