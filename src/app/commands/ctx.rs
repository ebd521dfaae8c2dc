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
use crate::store::{Aux, Log, StoreError, WriteTx};

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

    // ---- the managed relationship --------------------------------------------------------

    /// REL-3: a command by one of the partner's employees in the account is partner activity
    /// (recorded in the latest relationship when it is that partner's and has not ended).
    pub fn record_activity(&mut self, client: &mut ClientRecord) -> CmdResult<()> {
        if let Some(employment) = self.tx.user(&self.actor)?.and_then(|u| u.employment) {
            client.partner_activity(&employment.partner, self.now);
        }
        Ok(())
    }

    /// REL-2, REM-4: after partner users left, the relationship may be `ending` from now (see
    /// [`ClientRecord::partner_users_removed`]); emits `relationship.ending` when it begins.
    pub fn partner_users_removed(&mut self, client: &mut ClientRecord) {
        if let Some(ending) = client.partner_users_removed(self.now) {
            self.emit(
                EventKind::RelationshipEnding,
                Some(&client.id),
                json!({"client": client.id, "partner": ending.partner, "ends_at": ending.ends_at}),
            );
        }
    }

    /// LINK-3: the users of `client` (those in `only`, or all) who are verified employees of a
    /// partner become partner users of that partner, without a manual link, unless another
    /// partner manages the client (LINK-2). Whether a user is a verified employee is the
    /// policies' answer (`employee.link_verified`, the user as principal). A link starts or
    /// resumes the relationship (REL-1) and is announced (`user.linked`). Returns who was
    /// linked.
    pub fn link_verified(
        &mut self,
        client: &mut ClientRecord,
        only: Option<&BTreeSet<Email>>,
    ) -> CmdResult<Vec<Email>> {
        // A client's super admin stays the client's own until it changes itself to partner admin
        // (MIG-1): the CAM never manages super admins (CAP-2), so linking one would only block
        // the partner's removals and recoveries (REM-6, REM-7, REM-8).
        let candidates: Vec<Email> = client
            .users
            .iter()
            .filter(|u| {
                u.partner.is_none()
                    && u.role != Role::SuperAdmin
                    && only.is_none_or(|o| o.contains(&u.email))
            })
            .map(|u| u.email.clone())
            .collect();
        let account = EntityRef::new(EntityKind::Account, client.id.as_str());
        let mut linked = Vec::new();
        for email in candidates {
            let Some(employment) = self.tx.user(&email)?.and_then(|u| u.employment) else {
                continue;
            };
            let verified = self
                .decide(
                    "employee.link_verified",
                    &email,
                    account.clone(),
                    Map::new(),
                )?
                .allowed;
            if !verified
                || client
                    .managed_by_no_other(&employment.partner, self.now)
                    .is_err()
            {
                continue;
            }
            if let Some(user) = client.users.iter_mut().find(|u| u.email == email) {
                user.partner = Some(employment.partner.clone());
            }
            client.partner_user_added(&employment.partner, self.now);
            self.emit(
                EventKind::UserLinked,
                Some(&client.id),
                json!({"client": client.id, "email": email, "partner": employment.partner,
                       "rule": "LINK-3"}),
            );
            linked.push(email);
        }
        Ok(linked)
    }

    /// Writes the client back: only its parts that differ from what [`Ctx::client_record`]
    /// read (the row, each changed or removed user, the relationship), so a command touching
    /// one user rewrites one user and invalidates one cached membership. A client not read
    /// through this context is written whole.
    ///
    /// Every command saves through here, so every user a command creates or changes is
    /// linked to its partner first when it is a verified employee (LINK-3).
    /// Returns the client as saved.
    pub fn save_client(&mut self, client: &ClientRecord) -> CmdResult<ClientRecord> {
        let mut client = client.clone();
        let touched: Option<BTreeSet<Email>> =
            self.loaded
                .iter()
                .find(|c| c.id == client.id)
                .map(|before| {
                    let old: std::collections::BTreeMap<&Email, &ClientUserRecord> =
                        before.users.iter().map(|u| (&u.email, u)).collect();
                    client
                        .users
                        .iter()
                        .filter(|u| old.get(&u.email) != Some(u))
                        .map(|u| u.email.clone())
                        .collect()
                });
        self.link_verified(&mut client, touched.as_ref())?;
        let saved = client;
        let client = &saved;
        let Some(index) = self.loaded.iter().position(|c| c.id == client.id) else {
            self.tx.put_client(client)?;
            return Ok(saved);
        };
        let before = &self.loaded[index];
        if before.assets != client.assets {
            self.tx.put_client(client)?;
        } else {
            if (
                &before.official_name,
                before.pricing_model,
                &before.managed_by,
                &before.permission_sets,
            ) != (
                &client.official_name,
                client.pricing_model,
                &client.managed_by,
                &client.permission_sets,
            ) {
                self.tx.put_client_row(client)?;
            }
            let old: std::collections::BTreeMap<&Email, &ClientUserRecord> =
                before.users.iter().map(|u| (&u.email, u)).collect();
            for user in &client.users {
                if old.get(&user.email) != Some(&user) {
                    self.tx.put_user(&client.id, user)?;
                }
            }
            let kept: BTreeSet<&Email> = client.users.iter().map(|u| &u.email).collect();
            for email in old.keys().filter(|e| !kept.contains(*e)) {
                self.tx.remove_user(&client.id, email)?;
            }
            if before.relationship != client.relationship {
                match &client.relationship {
                    Some(r) => {
                        let bytes =
                            serde_json::to_vec(r).map_err(|e| StoreError::Write(e.to_string()))?;
                        self.tx
                            .put_aux(Aux::Relationships, client.id.as_str(), &bytes)?;
                    }
                    None => self.tx.remove_aux(Aux::Relationships, client.id.as_str())?,
                }
            }
        }
        self.loaded[index] = client.clone();
        Ok(saved)
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

/// LINK-3 for the writes that are not commands (import, the admin upserts): in the same
/// transaction, links the verified employees among the users of `clients` to their partners,
/// as [`Ctx::link_verified`] does for commands, and writes the `user.linked` events. The host
/// that syncs records is not a person: no actor is recorded and no activity (REL-3).
pub(crate) fn link_verified_users(
    tx: &mut dyn WriteTx,
    engine: &PolicyEngine,
    clients: &[ClientId],
) -> Result<(), StoreError> {
    let refused = |e: CmdError| match e {
        CmdError::Store(e) => e,
        CmdError::Refused(e) => StoreError::Write(format!("linking verified employees: {e}")),
    };
    let mut ctx = Ctx {
        tx,
        engine,
        actor: Email::parse("sidecar@partner-access.invalid")
            .map_err(|e| StoreError::Write(e.to_string()))?,
        now: Timestamp::now(),
        policies: Vec::new(),
        rules: BTreeSet::new(),
        events: Vec::new(),
        client: None,
        loaded: Vec::new(),
        issued_link: None,
    };
    for id in clients {
        let Some(mut client) = ctx.tx.client_record(id)? else {
            continue;
        };
        ctx.loaded.push(client.clone());
        if !ctx
            .link_verified(&mut client, None)
            .map_err(refused)?
            .is_empty()
        {
            ctx.save_client(&client).map_err(refused)?;
        }
    }
    let events = std::mem::take(&mut ctx.events);
    for event in &events {
        let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Write(e.to_string()))?;
        ctx.tx.append_log(Log::Events, &bytes)?;
    }
    Ok(())
}
