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
//! [`PolicyEngine::decide`] answers one request against a
//! [`Directory`](crate::domain::Directory). It fails closed: Cedar skips a policy whose
//! evaluation errors, which for a `forbid` would silently turn a Deny into an Allow; here any
//! erroring `forbid` makes the decision Deny, and any error reading the state is an error for
//! the caller to turn into Deny or 503, never an Allow.
//!
//! The engine itself ([`PolicyEngine`], its action table and [`ResolvedAction`]) is defined
//! here, so that every part below reads its fields; each part is a file:
//!
//! - `request`: what is asked ([`CheckRequest`]) and answered ([`Decision`], [`CheckError`]),
//!   and a request's references in their normal form.
//! - `load`: reading and strictly validating the files; `build`: from the validated set to a
//!   ready engine; `version`: the content hash that names a set ([`policy_version`]).
//! - `lookup`: the actions and policies an engine holds, found by name.
//! - `decide`: a request against a directory, failing closed; `entities` builds its slice of
//!   the state, `slices` keeps slices for reuse, `refs` reads entity references.
//! - `explain` (why a decision), `impact` (what the policies can tell apart, for the impact
//!   analysis), [`lint`], `format`, [`test_cases`] and [`verify`].

mod build;
mod decide;
mod entities;
mod explain;
mod format;
mod impact;
pub mod lint;
mod load;
mod lookup;
mod refs;
mod request;
mod slices;
pub mod test_cases;
pub mod verify;
mod version;

use std::collections::{HashMap, HashSet};

use cedar_policy::{Authorizer, Effect, Entity, EntityUid, PolicyId, PolicySet, Schema};
use serde::Serialize;

use crate::domain::{Catalogue, PolicyVersion};

pub use entities::SliceError;
use entities::TypeNames;
pub use explain::{Candidate, ConditionOutcome, Explanation, Held};
pub use format::format_policies;
pub use load::{LoadError, LoadErrors, SourceFile};
pub use refs::{EntityKind, EntityRef, NAMESPACE, RefError};
pub use request::{CheckError, CheckRequest, Decision};
pub use slices::SliceCache;
pub use version::policy_version;

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

/// `permit` or `forbid`, as a policy's listing and its fingerprint name its effect.
fn effect_name(effect: Effect) -> &'static str {
    match effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    }
}

/// The Cedar SDK this build evaluates with, and the policy language version it implements
/// (for `partner-access --version`).
pub fn cedar_versions() -> (String, String) {
    (
        cedar_policy::get_sdk_version().to_string(),
        cedar_policy::get_lang_version().to_string(),
    )
}
