//! The wire types the client sends and reads: narrow serde types that match the sidecar's
//! OpenAPI document (`GET /openapi.json`). Answers ignore members they do not name, so a newer
//! sidecar that answers more still decodes; enumerations the sidecar may grow (roles, seats,
//! statuses) are strings.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// An entity reference in Cedar's JSON form, `{"type": "Hub::User", "id": "ann@acme.example"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityRef {
    #[serde(rename = "type")]
    pub entity_type: String,
    pub id: String,
}

impl EntityRef {
    pub fn new(entity_type: impl Into<String>, id: impl Into<String>) -> Self {
        EntityRef {
            entity_type: entity_type.into(),
            id: id.into(),
        }
    }

    /// `Hub::User`, by e-mail.
    pub fn user(email: impl Into<String>) -> Self {
        Self::new("Hub::User", email)
    }

    /// `Hub::Account`, a client account by id.
    pub fn account(id: impl Into<String>) -> Self {
        Self::new("Hub::Account", id)
    }

    /// `Hub::Partner`, a partner account by id.
    pub fn partner(id: impl Into<String>) -> Self {
        Self::new("Hub::Partner", id)
    }

    /// `Hub::Action`, by name (`reports.access`).
    pub fn action(name: impl Into<String>) -> Self {
        Self::new("Hub::Action", name)
    }
}

/// How fresh the state behind a decision must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// This sidecar's cache, within its staleness bound (the sidecar's default).
    #[default]
    MinimizeLatency,
    /// A state that includes this revision (a command's [`Applied::revision`]), or a `503`.
    AtLeastAsFresh(u64),
    /// The latest committed state, read from the store.
    FullyConsistent,
}

impl Serialize for Consistency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Consistency::MinimizeLatency => map.serialize_entry("minimize_latency", &true)?,
            Consistency::AtLeastAsFresh(revision) => {
                map.serialize_entry("at_least_as_fresh", revision)?
            }
            Consistency::FullyConsistent => map.serialize_entry("fully_consistent", &true)?,
        }
        map.end()
    }
}

/// One check: may `principal` do `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub principal: EntityRef,
    pub action: EntityRef,
    pub resource: EntityRef,
    /// Extra facts for the policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Map<String, Value>>,
    /// Only for a single check: a batch says it once, [`Batch::consistency`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Consistency>,
    /// Only for a single check: a batch says it once, [`Batch::policy_version`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
}

impl Check {
    /// May user `email` do `action` in client account `account`? (The common check.)
    pub fn user(
        email: impl Into<String>,
        action: impl Into<String>,
        account: impl Into<String>,
    ) -> Self {
        Check::new(
            EntityRef::user(email),
            EntityRef::action(action),
            EntityRef::account(account),
        )
    }

    pub fn new(principal: EntityRef, action: EntityRef, resource: EntityRef) -> Self {
        Check {
            principal,
            action,
            resource,
            context: None,
            consistency: None,
            policy_version: None,
        }
    }

    /// Adds a context member.
    pub fn context(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = Some(consistency);
        self
    }

    /// The policy set expected to decide: another one answers `409 conflict`.
    pub fn policy_version(mut self, version: impl Into<String>) -> Self {
        self.policy_version = Some(version.into());
        self
    }
}

/// Up to 1,000 checks decided on one view of the state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Batch {
    pub requests: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<Consistency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
}

impl Batch {
    pub fn new(requests: impl IntoIterator<Item = Check>) -> Self {
        Batch {
            requests: requests.into_iter().collect(),
            consistency: None,
            policy_version: None,
        }
    }

    pub fn consistency(mut self, consistency: Consistency) -> Self {
        self.consistency = Some(consistency);
        self
    }

    pub fn policy_version(mut self, version: impl Into<String>) -> Self {
        self.policy_version = Some(version.into());
        self
    }
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Decision {
    Allow,
    Deny,
}

/// The answer to a check.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CheckAnswer {
    pub decision: Decision,
    pub diagnostics: Diagnostics,
    /// Unique id of the decision, for joining with the sidecar's logs.
    pub decision_id: String,
    /// The store revision the decision was evaluated at.
    pub revision: u64,
    /// The policy set that decided (in a batch: `None`, said once in [`BatchAnswer`]).
    #[serde(default)]
    pub policy_version: Option<String>,
}

impl CheckAnswer {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Diagnostics {
    /// The ids of the policies that determined the decision.
    pub reasons: Vec<String>,
    /// Unknown entities, policies that failed to evaluate, a store that could not be read.
    pub errors: Vec<String>,
}

/// The answers to a batch, in request order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BatchAnswer {
    pub results: Vec<BatchItem>,
    /// The policy set that decided every answer.
    pub policy_version: String,
}

/// One answer of a batch: a decision, and for a bad item an `error` (its decision is Deny).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BatchItem {
    #[serde(flatten)]
    pub answer: CheckAnswer,
    #[serde(default)]
    pub error: Option<ItemError>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ItemError {
    pub code: String,
    pub message: String,
}

/// A command's answer: what it answered, the store revision it produced, and whether it was a
/// replay of an earlier answer under the same `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Applied<A> {
    pub answer: A,
    /// The revision the command produced (for a replay, the first answer's): pass it as
    /// [`Consistency::AtLeastAsFresh`] to a check that must see the change.
    pub revision: u64,
    /// `201 Created` rather than `200`.
    pub created: bool,
    /// `Idempotent-Replayed: true`: nothing was applied, this is the first answer again.
    pub replayed: bool,
}

/// The method of a command route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
    Delete,
}

/// A body of only `actor` (deactivate, reactivate, grant and revoke one permission, previews).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActorOnly {
    pub actor: String,
}

/// `POST /v1/clients/{client}/users`: a client-side user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateUser {
    pub actor: String,
    pub email: String,
    /// `core`, `view_only`, `sales_paid`, `service_paid`, `none` or `partner`.
    pub seat: String,
    pub permission_set: String,
    /// Paid hub licences besides the seat (`sales`, `service`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paid_hubs: Vec<String>,
}

/// `POST /v1/clients/{client}/partner-users`: employees added with a permission set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddPartnerUsers {
    pub actor: String,
    pub employees: Vec<String>,
    pub permission_set: String,
}

/// A user of a client account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ClientUser {
    pub email: String,
    /// `super_admin`, `partner_admin` or `standard`.
    pub role: String,
    pub seat: String,
    pub permissions: Vec<String>,
    /// `active` or `deactivated`.
    pub status: String,
    /// The partner the user is linked to, if any.
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub paid_hubs: Vec<String>,
}

/// The answer of creating a user: its record, and what of the set the actor could not give.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: ClientUser,
    pub withheld: Vec<String>,
}

/// The answer of adding partner users: one result per employee, in the order named.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Added {
    pub results: Vec<AddedUser>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct AddedUser {
    pub employee: String,
    /// `added` or `already_member`.
    pub outcome: String,
    pub permissions: Vec<String>,
    pub withheld: Vec<String>,
    pub seat: String,
}

/// The answer of granting or revoking permissions: the user's permissions after, what was
/// asked for and not granted (`withheld`), and what this actor may not remove (`kept`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PermissionsApplied {
    pub permissions: Vec<String>,
    pub withheld: Vec<String>,
    pub kept: Vec<String>,
    pub role: String,
    #[serde(default)]
    pub seat: Option<String>,
}

/// `GET /v1/clients/{client}/users`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ClientUsers {
    pub client: String,
    pub official_name: String,
    #[serde(default)]
    pub crm_name: Option<String>,
    pub users: Vec<ClientUser>,
}

/// `GET /v1/partners/{partner}/clients`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PartnerClients {
    pub partner: String,
    pub clients: Vec<PartnerClient>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PartnerClient {
    pub id: String,
    pub official_name: String,
    #[serde(default)]
    pub crm_name: Option<String>,
    /// `active`, `ending`, `ended` or `none`.
    pub relationship: String,
}

/// `GET /v1/partners/{partner}/employees`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PartnerEmployees {
    pub partner: String,
    pub employees: Vec<PartnerEmployee>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PartnerEmployee {
    pub email: String,
    pub super_admin: bool,
    /// `none`, `view` or `view_edit`.
    pub employee_management: String,
    pub verified: bool,
    pub clients: Vec<String>,
}

/// `GET /v1/clients/{client}/relationship`: the managed relationship at an instant.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Relationship {
    pub client: String,
    /// The instant asked about (RFC 3339).
    pub at: String,
    pub partner: Option<String>,
    /// `active`, `ending`, `ended` or `none`.
    pub state: String,
    pub started_at: Option<String>,
    pub ends_at: Option<String>,
    pub last_activity_at: Option<String>,
}

/// `GET /v1/policies`: the policy set in force.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Policies {
    /// The SHA-256 of the set's files, as every decision's `policy_version` says it.
    pub version: String,
    pub policies: Vec<PolicyInfo>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// Its `@id`, as a decision's `diagnostics.reasons` names it.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// The rule ids of its `@rules` annotation.
    pub rules: Vec<String>,
}
