//! The context a command runs in: its transaction, the policies, and what it has asked and
//! announced so far.
//!
//! [`Ctx`] is what a command's `run` gets. Its reads load records *from the transaction* (so
//! a command decides on the state it commits onto); [`Ctx::decide`] and [`Ctx::authorize`] ask
//! the Cedar policies and remember which policies and rules decided, for the audit record;
//! [`Ctx::emit`] queues an outbox event; [`Ctx::save_client`] writes back only what changed,
//! linking verified employees on the way (LINK-3). The account's own rules (MIG-4, LINK-2, the
//! relationship's arithmetic) are in `domain::client_account`; a [`Violation`] of one becomes a
//! 409 through `?`.
//!
//! This file owns the context, its questions to the policies and its reads; the steps that
//! carry a client's changes into the transaction (REL-3, REL-2, LINK-3, the write-back) are in
//! `save.rs`.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::journal::Event;
use super::vocab::EventKind;
use crate::app::AppError;
use crate::domain::{
    Catalogue, ClientId, ClientRecord, ClientUserRecord, Email, Employment, PartnerId,
    PartnerRecord, Permission, PermissionSetName, Role, Seat, Timestamp, Violation,
};
use crate::policy::{CheckRequest, Decision, EntityKind, EntityRef, PolicyEngine};
use crate::store::{StoreError, WriteTx};

/// The state of one command while it runs in its transaction.
pub struct Ctx<'t> {
    pub(super) tx: &'t mut dyn WriteTx,
    pub(super) engine: &'t PolicyEngine,
    pub actor: Email,
    pub now: Timestamp,
    /// Policy ids of every decision asked for, in order.
    pub(super) policies: Vec<String>,
    pub(super) rules: BTreeSet<String>,
    pub(super) events: Vec<Event>,
    /// The client account concerned, for the audit filter.
    pub client: Option<ClientId>,
    /// Client records as the transaction holds them, so that [`Ctx::save_client`] writes back
    /// only what the command changed.
    pub(super) loaded: Vec<ClientRecord>,
    /// The digest of the access-link token this command's answer carries in its `token`
    /// member, if any: the idempotency table keeps the answer without it (see `journal::kept`).
    pub(super) issued_link: Option<String>,
}

/// A refusal inside a command.
pub type CmdResult<T> = Result<T, CmdError>;

/// Either a refusal of the command (kept in the audit log) or a store failure (503).
#[derive(Debug)]
pub enum CmdError {
    Refused(AppError),
    Store(StoreError),
}

impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> Self {
        CmdError::Store(e)
    }
}

impl From<AppError> for CmdError {
    fn from(e: AppError) -> Self {
        CmdError::Refused(e)
    }
}

/// A rule of the account (MIG-4, LINK-2) refuses the change: 409 naming the rule.
impl From<Violation> for CmdError {
    fn from(v: Violation) -> Self {
        CmdError::Refused(AppError::Conflict {
            message: v.to_string(),
            rules: vec![v.rule().to_owned()],
        })
    }
}

pub(crate) fn conflict(message: impl Into<String>, rules: &[&str]) -> CmdError {
    CmdError::Refused(AppError::Conflict {
        message: message.into(),
        rules: rules.iter().map(|r| (*r).to_owned()).collect(),
    })
}

pub(crate) fn not_found(message: impl Into<String>) -> CmdError {
    CmdError::Refused(AppError::NotFound(message.into()))
}

pub(crate) fn invalid(message: impl Into<String>) -> CmdError {
    CmdError::Refused(AppError::invalid(message))
}

impl<'t> Ctx<'t> {
    /// The transaction, for reads and writes.
    pub fn tx(&mut self) -> &mut dyn WriteTx {
        &mut *self.tx
    }

    /// Notes that the answer's `token` member is the access-link token with this digest: a
    /// secret shown once, which the idempotency table must not keep.
    pub(crate) fn answer_carries_link(&mut self, digest: String) {
        self.issued_link = Some(digest);
    }

    /// The permission catalogue of the loaded schema.
    pub fn catalogue(&self) -> &Catalogue {
        self.engine.catalogue()
    }

    /// Asks the policies and remembers what decided; does not refuse.
    pub fn decide(
        &mut self,
        action: &str,
        principal: &Email,
        resource: EntityRef,
        context: Map<String, Value>,
    ) -> CmdResult<Decision> {
        let request = CheckRequest {
            principal: EntityRef::new(EntityKind::User, principal.as_str()),
            action: action.to_owned(),
            resource,
            context,
        };
        let decision = self
            .engine
            .decide(&request, &*self.tx)
            .map_err(|e| match e {
                crate::policy::CheckError::Slice(crate::policy::SliceError::Store(e)) => {
                    CmdError::Store(StoreError::Read(e.to_string()))
                }
                other => CmdError::Store(StoreError::Read(format!(
                    "the command's decision could not be evaluated: {other}"
                ))),
            })?;
        for id in &decision.reasons {
            self.policies.push(id.clone());
            if let Some(policy) = self.engine.policy(id) {
                self.rules.extend(policy.rules.iter().cloned());
            }
        }
        Ok(decision)
    }

    /// Asks the policies whether the actor may take `action`; refuses with 403 naming the
    /// deciding policies and rules when they deny.
    pub fn authorize(
        &mut self,
        action: &str,
        resource: EntityRef,
        context: Map<String, Value>,
    ) -> CmdResult<()> {
        let actor = self.actor.clone();
        let decision = self.decide(action, &actor, resource.clone(), context)?;
        if decision.allowed {
            return Ok(());
        }
        Err(CmdError::Refused(
            self.forbidden(action, &resource, &decision),
        ))
    }

    /// The 403 for a denied decision: the forbids that decided, or (denied by default) the
    /// rules that govern the action.
    pub fn forbidden(&self, action: &str, resource: &EntityRef, decision: &Decision) -> AppError {
        let mut rules: Vec<String> = Vec::new();
        for id in &decision.reasons {
            if let Some(policy) = self.engine.policy(id) {
                rules.extend(policy.rules.iter().cloned());
            }
        }
        let message = if decision.reasons.is_empty() {
            if let Some(info) = self.engine.action(action) {
                rules.extend(info.rules.iter().cloned());
            }
            format!(
                "`{}` may not `{action}` on `{resource}`: no policy permits it",
                self.actor
            )
        } else {
            format!(
                "`{}` may not `{action}` on `{resource}`: denied by {}",
                self.actor,
                decision
                    .reasons
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        rules.sort();
        rules.dedup();
        rules.extend(decision.reasons.iter().cloned());
        AppError::Forbidden { message, rules }
    }

    /// Records an outbox event, written with the command.
    pub fn emit(&mut self, kind: EventKind, client: Option<&ClientId>, data: Value) {
        self.events.push(Event {
            seq: 0,
            kind,
            time: self.now,
            client: client.cloned(),
            data,
        });
    }

    // ---- reads the commands share --------------------------------------------------------

    /// The client with its users, assets and relationship history, or 404. A client whose
    /// managing partner has partner users there while the history has no running relationship
    /// with it (imported that way, or changed by an upsert) gets one, resumed or started now
    /// (REL-1, REL-4).
    pub fn client_record(&mut self, id: &ClientId) -> CmdResult<ClientRecord> {
        self.client = Some(id.clone());
        let mut client = self
            .tx
            .client_record(id)?
            .ok_or_else(|| not_found(format!("unknown client `{id}`")))?;
        self.loaded.retain(|c| c.id != client.id);
        self.loaded.push(client.clone());
        client.resume_relationship(self.now);
        Ok(client)
    }

    pub fn partner_record(&mut self, id: &PartnerId) -> CmdResult<PartnerRecord> {
        self.tx
            .partner_record(id)?
            .ok_or_else(|| not_found(format!("unknown partner `{id}`")))
    }

    /// The employment of an e-mail, or 404 naming it.
    pub fn employment(&mut self, email: &Email) -> CmdResult<Employment> {
        self.tx
            .user(email)?
            .and_then(|u| u.employment)
            .ok_or_else(|| not_found(format!("`{email}` is not an employee of any partner")))
    }

    /// The user's record in a client, or 404.
    pub fn member(&mut self, client: &ClientRecord, email: &Email) -> CmdResult<ClientUserRecord> {
        client
            .users
            .iter()
            .find(|u| &u.email == email)
            .cloned()
            .ok_or_else(|| not_found(format!("`{email}` is not a user of client `{}`", client.id)))
    }

    /// Whether the user may hold the partner seat in the client (SEAT-2, a policy decision).
    pub fn partner_seat_eligible(&mut self, user: &Email, client: &ClientId) -> CmdResult<bool> {
        Ok(self
            .decide(
                "seat.partner.hold",
                user,
                EntityRef::new(EntityKind::Account, client.as_str()),
                Map::new(),
            )?
            .allowed)
    }

    /// The permission a single-permission command names (PERM-4): a permission of the
    /// catalogue, or 400.
    pub fn catalogue_permission(&self, permission: &Permission) -> CmdResult<()> {
        if self.catalogue().contains(permission) {
            Ok(())
        } else {
            Err(invalid(format!(
                "permission: `{permission}` is not a permission of the catalogue (see GET /v1/schema/actions)"
            )))
        }
    }

    /// The permissions of a named set: the built-in templates, then `sets` (the partner's
    /// for the Client Access Manager, the client's for client-side commands). 400 if unknown.
    pub fn permission_set(
        &self,
        name: &PermissionSetName,
        sets: &[crate::domain::PermissionSetRecord],
    ) -> CmdResult<BTreeSet<Permission>> {
        if let Some(template) = self.catalogue().template(name.as_str()) {
            return Ok(template.clone());
        }
        sets.iter()
            .find(|s| &s.name == name)
            .map(|s| s.permissions.iter().cloned().collect())
            .ok_or_else(|| invalid(format!("permission_set: unknown permission set `{name}`")))
    }

    /// Grant only what you hold (PERM-2): applies `wanted` to a user holding `current`, asking
    /// the policies once per permission to grant or revoke. Returns the resulting permissions,
    /// what was asked for but not granted, and what could not be taken away.
    pub fn grant_clamp(
        &mut self,
        client: &ClientId,
        target: &Email,
        current: &BTreeSet<Permission>,
        wanted: &BTreeSet<Permission>,
    ) -> CmdResult<Clamped> {
        let actor = self.actor.clone();
        let mut clamped = Clamped::default();
        let resource = EntityRef::new(EntityKind::Account, client.as_str());
        for permission in wanted.union(current) {
            let in_wanted = wanted.contains(permission);
            let in_current = current.contains(permission);
            let action = match (in_wanted, in_current) {
                (true, true) => {
                    clamped.permissions.insert(permission.clone());
                    continue;
                }
                (true, false) => "permission.grant",
                (false, true) => "permission.revoke",
                (false, false) => continue,
            };
            let mut context = Map::new();
            context.insert("target".into(), user_ref(target));
            context.insert("permission".into(), json!(permission.as_str()));
            let allowed = self
                .decide(action, &actor, resource.clone(), context)?
                .allowed;
            match (in_wanted, allowed) {
                (true, true) => {
                    clamped.permissions.insert(permission.clone());
                }
                (true, false) => {
                    clamped.withheld.insert(permission.clone());
                }
                (false, true) => {}
                (false, false) => {
                    clamped.permissions.insert(permission.clone());
                    clamped.kept.insert(permission.clone());
                }
            }
        }
        Ok(clamped)
    }
}

/// The outcome of [`Ctx::grant_clamp`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Clamped {
    pub permissions: BTreeSet<Permission>,
    pub withheld: BTreeSet<Permission>,
    pub kept: BTreeSet<Permission>,
}

/// The answer of a command that changes a user's permissions: what the user holds now, what
/// was asked for but withheld and what could not be taken away (PERM-2), its role, and (from
/// the Client Access Manager) its seat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PermissionsApplied {
    #[serde(flatten)]
    pub clamped: Clamped,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat: Option<Seat>,
}

/// A client account as the resource of a request.
pub(crate) fn account(client: &ClientId) -> EntityRef {
    EntityRef::new(EntityKind::Account, client.as_str())
}

/// A user reference for a context.
pub fn user_ref(email: &Email) -> Value {
    json!({"type": "Hub::User", "id": email.as_str()})
}

/// A client account reference for a context.
pub fn account_ref(client: &ClientId) -> Value {
    json!({"type": "Hub::Account", "id": client.as_str()})
}

/// A partner reference for a context.
pub fn partner_ref(partner: &PartnerId) -> Value {
    json!({"type": "Hub::Partner", "id": partner.as_str()})
}

/// A context from pairs.
pub fn context<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
