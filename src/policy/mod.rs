//! The policy engine: loading and strictly validating the policies, building a request's
//! entities, deciding (failing closed), explaining, linting, formatting, and the declarative
//! policy test runner ([`test_cases`], behind `partner-access test`).
//!
//! Owns: the only imports of `cedar_policy` and `cedar_policy_formatter`. May name: `domain`.
//! May not: name the store, the cache, the use cases or HTTP.
//!
//! [`PolicyEngine::load`] reads `schema/` and `policies/`, validates strictly, and prepares
//! everything a decision needs once: the policies partitioned by action (a decision evaluates
//! only the policies whose scope can match its action), the permission catalogue read from the
//! schema's `@permission` annotations, and the metadata shown by `GET /v1/policies` and
//! `GET /v1/schema/actions`.
//!
//! [`PolicyEngine::decide`] answers one request against a [`Directory`]. It fails closed:
//! Cedar skips a policy whose evaluation errors, which for a `forbid` would silently turn a
//! Deny into an Allow; here any erroring `forbid` makes the decision Deny, and any error
//! reading the state is an error for the caller to turn into Deny or 503, never an Allow.

mod entities;
mod explain;
mod format;
mod impact;
pub mod lint;
mod load;
mod refs;
mod slices;
pub mod test_cases;
pub mod verify;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    ActionConstraint, Authorizer, Context, Decision as CedarDecision, Effect, Entities, Entity,
    EntityNamespace, EntityUid, PolicyId, PolicySet, Request, Schema, SchemaFragment,
};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::{Catalogue, Directory, Email, Permission, PolicyVersion, Verdict};

pub use entities::SliceError;
use entities::{TypeNames, build_slice};
pub use explain::{Candidate, ConditionOutcome, Explanation, Held};
pub use format::format_policies;
pub use load::{LoadError, LoadErrors, SourceFile};
pub use refs::{EntityKind, EntityRef, NAMESPACE, RefError};
use slices::CachedSlice;
pub use slices::SliceCache;

/// A loaded policy, as `GET /v1/policies` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyInfo {
    /// Its `@id`.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: &'static str,
    /// The rule ids of its `@rules` annotation.
    pub rules: Vec<String>,
    pub file: String,
    pub line: usize,
    /// The `///` comment above it.
    pub description: String,
    /// Its text, as Cedar prints it.
    pub text: String,
}

/// A declared action, as `GET /v1/schema/actions` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionInfo {
    pub name: String,
    pub description: String,
    pub rules: Vec<String>,
    pub principal_types: Vec<String>,
    pub resource_types: Vec<String>,
    /// Whether the action is a permission of the catalogue.
    pub permission: bool,
}

/// A request as a host or a test writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRequest {
    pub principal: EntityRef,
    /// The action's name (`reports.access`).
    pub action: String,
    pub resource: EntityRef,
    /// Extra facts; entity references in it are looked up like the principal's.
    pub context: Map<String, Value>,
}

impl CheckRequest {
    /// Reads a request from its JSON parts: references in object or string form; the action
    /// as a plain name (`reports.access`) or a `Hub::Action` reference. Errors name the part.
    pub fn from_parts(
        principal: &Value,
        action: &Value,
        resource: &Value,
        context: Map<String, Value>,
    ) -> Result<Self, String> {
        let principal = EntityRef::from_json(principal).map_err(|e| format!("principal: {e}"))?;
        let resource = EntityRef::from_json(resource).map_err(|e| format!("resource: {e}"))?;
        let action = match action {
            Value::String(name) if !name.contains("::") => {
                if name.is_empty() {
                    return Err("action: the action name is empty".into());
                }
                name.clone()
            }
            other => {
                let r = EntityRef::from_json(other).map_err(|e| format!("action: {e}"))?;
                if r.kind != EntityKind::Action {
                    return Err(format!("action: `{r}` is not a `Hub::Action`"));
                }
                r.id.to_string()
            }
        };
        Ok(CheckRequest {
            principal,
            action,
            resource,
            context,
        })
    }
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// The ids of the policies that determined the decision.
    pub reasons: Vec<String>,
    /// What went wrong: unknown entities, policies that failed to evaluate.
    pub errors: Vec<String>,
}

impl Decision {
    /// `Allow` or `Deny`.
    pub fn verdict(&self) -> Verdict {
        Verdict::from_allowed(self.allowed)
    }

    fn deny_with(errors: Vec<String>) -> Self {
        Decision {
            allowed: false,
            reasons: Vec::new(),
            errors,
        }
    }
}

/// Why a request could not be decided at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The schema declares no such action (a 400 for hosts), with the declared action whose
    /// name is nearest, when one is near enough to be what was meant.
    #[error(
        "unknown action `{name}`: the schema declares no such action{}",
        nearest.as_ref().map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default()
    )]
    UnknownAction {
        name: String,
        nearest: Option<String>,
    },
    /// The request does not fit the action (a 400 for hosts).
    #[error("{0}")]
    InvalidRequest(String),
    /// The state could not be read or the entities not built: the caller must deny.
    #[error(transparent)]
    Slice(#[from] SliceError),
}

/// How [`PolicyEngine::decide_inner`] ends.
#[derive(Clone, Copy)]
enum Finish {
    /// Decide with the partitioned policies, failing closed.
    Decide,
    /// Decide as a plain `Authorizer` over the whole set would.
    Plain,
    /// Hand back the Cedar request and entities (for explanations).
    Prepare,
}

/// What [`PolicyEngine::decide_inner`] gives.
enum Outcome {
    Decided(Decision),
    Prepared(Box<(Request, Entities)>),
}

impl Outcome {
    fn decision(self) -> Decision {
        match self {
            Outcome::Decided(decision) => decision,
            // Only `Finish::Prepare` prepares; its caller never asks for a decision.
            Outcome::Prepared(..) => Decision::deny_with(vec!["not decided".into()]),
        }
    }
}

/// One declared action as the engine decides it.
struct ActionEntry {
    info: ActionInfo,
    uid: EntityUid,
    /// The policies whose scope can match it (`None`: no policy can).
    policies: Option<PolicySet>,
    /// Whether its declared context has attributes: its requests are validated.
    context_required: bool,
}

/// A declared action of one engine, resolved from its name once per request: every later
/// question about the action is answered through it, without another lookup by name.
#[derive(Clone, Copy)]
pub struct ResolvedAction<'e> {
    engine: u64,
    slot: usize,
    entry: &'e ActionEntry,
}

impl<'e> ResolvedAction<'e> {
    /// The action's name (`reports.access`).
    pub fn name(self) -> &'e str {
        &self.entry.info.name
    }

    /// The action as `GET /v1/schema/actions` shows it.
    pub fn info(self) -> &'e ActionInfo {
        &self.entry.info
    }

    /// Its index in [`PolicyEngine::actions`] (which lists the actions in slot order).
    pub fn slot(self) -> usize {
        self.slot
    }

    /// Whether requests for it must carry a context (its declared context has required
    /// attributes).
    pub fn needs_context(self) -> bool {
        self.entry.context_required
    }

    /// Whether every permit that can apply to it requires the principal to be a user of the
    /// resource account (`principal.hasTag(resource.key)`): then the accounts where a user may
    /// take it are among the user's own.
    pub fn membership_scoped(self) -> bool {
        self.entry.policies.as_ref().is_some_and(|partition| {
            partition
                .policies()
                .filter(|p| p.effect() == Effect::Permit)
                .all(explain::requires_membership)
        })
    }
}

/// Numbers the engines a process loads (each reload makes a new one).
static NEXT_ENGINE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Loaded, validated policies and schema, ready to decide.
pub struct PolicyEngine {
    schema: Schema,
    /// Every policy, for listing and for the plain-`Authorizer` comparison.
    policies: PolicySet,
    /// Every declared action, in name order; an action's index is its slot (where a cached
    /// slice memoizes its decision, where a check's metrics are kept).
    action_table: Vec<ActionEntry>,
    /// The slot of each declared action, by name: the one lookup a request's action costs.
    action_slots: HashMap<String, usize>,
    /// Unique per loaded engine: a cached slice memoizes decisions of one engine only.
    id: u64,
    /// The content hash of the files it was loaded from (see [`policy_version`]).
    version: PolicyVersion,
    /// The ids of the forbid policies: an error in one of these means Deny.
    forbids: HashSet<PolicyId>,
    /// Action entities, only when the schema has action groups (Cedar needs them in the slice
    /// to evaluate `action in Group`).
    action_entities: Vec<Entity>,
    catalogue: Catalogue,
    policy_info: Vec<PolicyInfo>,
    warnings: Vec<LoadError>,
    names: TypeNames,
    authorizer: Authorizer,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("policies", &self.policy_info.len())
            .field("actions", &self.action_table.len())
            .finish()
    }
}

/// How much longer than the longest declared action a name may be and still be compared for
/// "did you mean".
const MAX_TYPO_EXTRA: usize = 8;

/// The version of a policy set: the SHA-256 of its files, each as its kind (schema or
/// policies), its file name (not the directory: the same set read from another place is the
/// same version) and its text, length-prefixed so that no two sets share an input. The files
/// come sorted by name (as [`SourceFile::read_dir`] reads them), so the order is fixed too.
/// The Cedar SDK this build evaluates with, and the policy language version it implements
/// (for `partner-access --version`).
pub fn cedar_versions() -> (String, String) {
    (
        cedar_policy::get_sdk_version().to_string(),
        cedar_policy::get_lang_version().to_string(),
    )
}

pub fn policy_version(schema_files: &[SourceFile], policy_files: &[SourceFile]) -> PolicyVersion {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (kind, files) in [(b's', schema_files), (b'p', policy_files)] {
        for file in files {
            let name = file
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            hasher.update([kind]);
            hasher.update((name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update((file.text.len() as u64).to_le_bytes());
            hasher.update(file.text.as_bytes());
        }
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    PolicyVersion::from_digest(&hex)
}

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
                    effect: match policy.effect() {
                        Effect::Permit => "permit",
                        Effect::Forbid => "forbid",
                    },
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

    /// Whether requests for this action must carry a context (its declared context has
    /// required attributes).
    pub fn needs_context(&self, action: &str) -> bool {
        self.resolve(action)
            .is_ok_and(ResolvedAction::needs_context)
    }

    /// Whether every permit that can apply to the action requires the principal to be a user
    /// of the resource account (`principal.hasTag(resource.key)`): then the accounts where a
    /// user may take it are among the user's own.
    pub fn membership_scoped(&self, action: &str) -> bool {
        self.resolve(action)
            .is_ok_and(ResolvedAction::membership_scoped)
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
    fn own<'e>(&'e self, action: ResolvedAction<'_>) -> Result<ResolvedAction<'e>, CheckError> {
        match self.slot(action.slot) {
            Some(own) if action.engine == self.id => Ok(own),
            _ => self.resolve(action.name()),
        }
    }

    /// Each action's name with the policies whose scope can match it (for the lint).
    fn partitions(&self) -> impl Iterator<Item = (&str, &PolicySet)> {
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

    /// Decides one request, reading what it needs from `directory`.
    ///
    /// Unknown principals and resources are a Deny with an error naming them. A state that
    /// cannot be read is an `Err`: the caller denies (checks) or answers 503 (commands).
    pub fn decide<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
    ) -> Result<Decision, CheckError> {
        let action = self.resolve(&request.action)?;
        self.decide_inner(request, action, directory, None, Finish::Decide)
            .map(Outcome::decision)
    }

    /// The same request decided as plain Cedar would: the whole policy set as written (no
    /// partition, no narrowed scopes) and Cedar's own answer (no fail-closed override). For the
    /// equivalence tests that guard the optimizations.
    pub fn decide_plain<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
    ) -> Result<Decision, CheckError> {
        let action = self.resolve(&request.action)?;
        self.decide_inner(request, action, directory, None, Finish::Plain)
            .map(Outcome::decision)
    }

    /// As [`PolicyEngine::decide`], reusing the entity slice of an earlier request with the
    /// same principal and resource (and no context) while `generation` says the state it was
    /// built from is still current. `generation` returns the store generation when no write is
    /// in flight, `None` while one is: nothing is reused or stored then.
    pub fn decide_with_slices<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
        slices: &SliceCache,
        generation: &dyn Fn() -> Option<u64>,
    ) -> Result<Decision, CheckError> {
        let action = self.resolve(&request.action)?;
        self.decide_resolved(request, action, directory, slices, generation)
    }

    /// As [`PolicyEngine::decide_with_slices`], with the request's action already resolved
    /// (by [`PolicyEngine::resolve`] of `request.action`).
    pub fn decide_resolved<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        action: ResolvedAction<'_>,
        directory: &D,
        slices: &SliceCache,
        generation: &dyn Fn() -> Option<u64>,
    ) -> Result<Decision, CheckError> {
        let action = self.own(action)?;
        self.decide_inner(
            request,
            action,
            directory,
            Some((slices, generation)),
            Finish::Decide,
        )
        .map(Outcome::decision)
    }

    /// Decides `request`, whose action this engine resolved to `action`.
    fn decide_inner<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        action: ResolvedAction<'_>,
        directory: &D,
        slices: Option<(&SliceCache, &dyn Fn() -> Option<u64>)>,
        finish: Finish,
    ) -> Result<Outcome, CheckError> {
        let entry = action.entry;
        let (action_uid, info) = (&entry.uid, &entry.info);
        for (role, r, allowed) in [
            ("principal", &request.principal, &info.principal_types),
            ("resource", &request.resource, &info.resource_types),
        ] {
            if !allowed.iter().any(|t| t == r.kind.type_name()) {
                return Err(CheckError::InvalidRequest(format!(
                    "{role} `{r}` is not valid for action `{}`: expected {}",
                    info.name,
                    allowed
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )));
            }
        }

        // The slice of a context-free request depends only on principal and resource.
        let reusable = request.context.is_empty() && !entry.context_required;
        let slices = slices.filter(|_| reusable);
        let key = (normalize(&request.principal), normalize(&request.resource));
        let (principal, resource) = (&key.0, &key.1);
        let generation = slices.and_then(|(_, g)| g());
        if let (Some((cache, _)), Some(generation)) = (slices, generation)
            && let Some(hit) = cache.get(&key, generation, self.id)
        {
            // A context-free decision depends only on the policies (this engine), the slice
            // (this generation) and the action: decided once per slice and action. The warm
            // path ends here, before anything else is built.
            return hit
                .decision(action.slot, || {
                    self.decide_over(principal, entry, resource, hit.entities())
                })
                .map(Outcome::Decided);
        }

        let mut refs = vec![principal.clone(), resource.clone()];
        let context_value = normalize_context(&request.context, &mut refs);
        let context = if request.context.is_empty() {
            Context::empty()
        } else {
            Context::from_json_value(
                Value::Object(context_value),
                Some((&self.schema, action_uid)),
            )
            .map_err(|e| CheckError::InvalidRequest(format!("invalid context: {e}")))?
        };

        let slice = build_slice(&self.names, directory, &refs, &[principal, resource])?;
        if !slice.unknown.is_empty() {
            return Ok(Outcome::Decided(Decision::deny_with(
                slice
                    .unknown
                    .iter()
                    .map(|r| {
                        let role = if r == principal {
                            "principal"
                        } else if r == resource {
                            "resource"
                        } else {
                            "entity"
                        };
                        format!("unknown {role} `{r}`")
                    })
                    .collect(),
            )));
        }

        // A request with a context is checked against the action's declared context (types of
        // every attribute); the check actions take none, so the hot path skips this.
        let cedar_request =
            self.cedar_request(principal, action_uid, resource, context, !reusable)?;
        let entities = Entities::from_entities(
            slice
                .entities
                .into_iter()
                .chain(self.action_entities.iter().cloned()),
            None,
        )
        .map_err(|e| {
            CheckError::Slice(SliceError::Build {
                entity: "slice".into(),
                message: e.to_string(),
            })
        })?;
        if let (Some((cache, current)), Some(generation)) = (slices, generation) {
            let decision = self.evaluate_in(entry, &cedar_request, &entities);
            let slice = Arc::new(CachedSlice::new(
                generation,
                self.id,
                entities,
                self.action_table.len(),
            ));
            slice.memoize(action.slot, decision.clone());
            // Stored only if no write started since the lookups were made.
            if current() == Some(generation) {
                cache.put(key, slice);
            }
            return Ok(Outcome::Decided(decision));
        }
        if let Finish::Prepare = finish {
            return Ok(Outcome::Prepared(Box::new((cedar_request, entities))));
        }
        if let Finish::Plain = finish {
            let response = self
                .authorizer
                .is_authorized(&cedar_request, &self.policies, &entities);
            let mut reasons: Vec<String> = response
                .diagnostics()
                .reason()
                .map(ToString::to_string)
                .collect();
            reasons.sort();
            return Ok(Outcome::Decided(Decision {
                allowed: response.decision() == CedarDecision::Allow,
                reasons,
                errors: response
                    .diagnostics()
                    .errors()
                    .map(ToString::to_string)
                    .collect(),
            }));
        }
        Ok(Outcome::Decided(self.evaluate_in(
            entry,
            &cedar_request,
            &entities,
        )))
    }

    /// Evaluates a context-free request over a cached slice.
    fn decide_over(
        &self,
        principal: &EntityRef,
        action: &ActionEntry,
        resource: &EntityRef,
        entities: &Entities,
    ) -> Result<Decision, CheckError> {
        let request =
            self.cedar_request(principal, &action.uid, resource, Context::empty(), false)?;
        Ok(self.evaluate_in(action, &request, entities))
    }

    fn cedar_request(
        &self,
        principal: &EntityRef,
        action: &EntityUid,
        resource: &EntityRef,
        context: Context,
        validate: bool,
    ) -> Result<Request, CheckError> {
        let to_uid = |r: &EntityRef| {
            r.to_uid()
                .map_err(|e| CheckError::InvalidRequest(e.to_string()))
        };
        Request::new(
            to_uid(principal)?,
            action.clone(),
            to_uid(resource)?,
            context,
            validate.then_some(&self.schema),
        )
        .map_err(|e| CheckError::InvalidRequest(format!("invalid request: {e}")))
    }

    /// Evaluates a Cedar request over given entities with the policies that can apply to its
    /// action, failing closed on erroring forbids.
    pub fn evaluate(&self, request: &Request, entities: &Entities) -> Decision {
        let action = request.action().map(|a| a.id().unescaped()).unwrap_or("");
        match self.resolve(action) {
            Ok(action) => self.evaluate_in(action.entry, request, entities),
            Err(_) => Decision::deny_with(Vec::new()),
        }
    }

    /// As [`PolicyEngine::evaluate`], for a request whose action is `action`.
    fn evaluate_in(
        &self,
        action: &ActionEntry,
        request: &Request,
        entities: &Entities,
    ) -> Decision {
        let Some(policies) = &action.policies else {
            return Decision::deny_with(Vec::new());
        };
        self.answer(&self.authorizer.is_authorized(request, policies, entities))
    }

    /// The same evaluation over the whole policy set, as a plain `Authorizer` would do it (for
    /// the equivalence tests and the raw `run-tests` format).
    pub fn evaluate_unpartitioned(&self, request: &Request, entities: &Entities) -> Decision {
        self.answer(
            &self
                .authorizer
                .is_authorized(request, &self.policies, entities),
        )
    }

    fn answer(&self, response: &cedar_policy::Response) -> Decision {
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let failed_forbids: Vec<String> = response
            .diagnostics()
            .errors()
            .filter_map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    let id = e.policy_id();
                    self.forbids.contains(id).then(|| id.to_string())
                }
            })
            .collect();
        if !failed_forbids.is_empty() {
            // Fail closed: a forbid that could not be evaluated might have applied.
            return Decision {
                allowed: false,
                reasons: failed_forbids,
                errors,
            };
        }
        let mut reasons: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        reasons.sort();
        Decision {
            allowed: response.decision() == CedarDecision::Allow,
            reasons,
            errors,
        }
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

/// User ids are e-mails, compared case-insensitively: lower-case them. A reference already in
/// its normal form is shared, not copied.
fn normalize(r: &EntityRef) -> EntityRef {
    match r.kind {
        EntityKind::User => match Email::parse(&*r.id) {
            Ok(email) if email.as_str() != &*r.id => {
                EntityRef::new(EntityKind::User, String::from(email))
            }
            Ok(_) | Err(_) => r.clone(),
        },
        _ => r.clone(),
    }
}

/// Rewrites the entity references in a context into the object form, normalized, and collects
/// them.
fn normalize_context(
    context: &Map<String, Value>,
    refs: &mut Vec<EntityRef>,
) -> Map<String, Value> {
    fn walk(value: &Value, refs: &mut Vec<EntityRef>) -> Value {
        // The string form `Hub::User::"..."` is a reference too (The API: accepted anywhere the
        // object form is); other strings are plain strings.
        let string_ref = match value {
            Value::String(text) if text.starts_with("Hub::") => text.parse::<EntityRef>().ok(),
            _ => None,
        };
        if let Some(r) = string_ref {
            let r = normalize(&r);
            let json = serde_json::json!({"__entity": {"type": r.kind.type_name(), "id": &*r.id}});
            refs.push(r);
            return json;
        }
        if let Some(Ok(r)) = EntityRef::looks_like_ref(value).then(|| EntityRef::from_json(value)) {
            let r = normalize(&r);
            let json = serde_json::json!({"__entity": {"type": r.kind.type_name(), "id": &*r.id}});
            refs.push(r);
            return json;
        }
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(v, refs)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, refs)).collect()),
            other => other.clone(),
        }
    }
    context
        .iter()
        .map(|(k, v)| (k.clone(), walk(v, refs)))
        .collect()
}

#[cfg(test)]
mod version_tests {
    use std::path::PathBuf;

    use super::{SourceFile, policy_version};

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from(path),
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_version_is_the_files_content_and_names_not_their_place() {
        let schema = [file("/a/schema/hub.cedarschema", "namespace Hub {}")];
        let policies = [
            file(
                "/a/policies/one.cedar",
                "permit(principal, action, resource);",
            ),
            file(
                "/a/policies/two.cedar",
                "forbid(principal, action, resource);",
            ),
        ];
        let version = policy_version(&schema, &policies);
        assert_eq!(version.as_str().len(), 64);

        let moved_schema = [file("/b/s/hub.cedarschema", "namespace Hub {}")];
        let moved = [
            file("/b/p/one.cedar", "permit(principal, action, resource);"),
            file("/b/p/two.cedar", "forbid(principal, action, resource);"),
        ];
        assert_eq!(policy_version(&moved_schema, &moved), version, "moved");

        let mut edited = policies.clone();
        edited[1].text.push(' ');
        assert_ne!(policy_version(&schema, &edited), version, "one byte more");

        let mut renamed = policies.clone();
        renamed[1].path = PathBuf::from("/a/policies/three.cedar");
        assert_ne!(policy_version(&schema, &renamed), version, "renamed");

        // Text moved from one file's end to the next one's start is another set.
        let shifted = [
            file(
                "/a/policies/one.cedar",
                "permit(principal, action, resource);f",
            ),
            file(
                "/a/policies/two.cedar",
                "orbid(principal, action, resource);",
            ),
        ];
        assert_ne!(policy_version(&schema, &shifted), version, "shifted");

        // A schema file is not a policy file of the same name and text.
        assert_ne!(
            policy_version(
                &[],
                &[schema[0].clone(), policies[0].clone(), policies[1].clone()]
            ),
            version,
            "kinds"
        );
    }
}
