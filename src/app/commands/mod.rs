//! The Client Access Manager's commands: every state change a host sends on behalf of a person.
//!
//! Each command runs as one unit of work inside one write transaction ([`App::execute`]):
//! it reads what it needs *from that transaction*, asks the Cedar policies (403 with the
//! deciding ids when they deny), checks the account invariants (MIG-4, SEAT-5, SEAT-3, LINK-2:
//! 409), and applies its changes together with its audit record and outbox events. Either all
//! of it commits, or nothing but the audit record of the refusal does. Because redb has one
//! writer at a time, and commands sharing a transaction (group commit, see
//! `store::group_commit`) run one after the other, each on the changes of those before it, the
//! invariants checked inside the transaction hold under concurrency. A command may run more
//! than once (when its batch is dropped), so it decides everything from what it reads.
//!
//! The commands themselves are in [`links`] (access links, approval, manual links), [`cam`]
//! (adding, permission sets, deactivation, removal) and [`client_side`] (migration, seats,
//! client-side user management).

pub mod cam;
pub mod client_side;
pub mod links;
pub mod vocab;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{App, AppError};
use crate::domain::{
    Catalogue, ClientId, ClientRecord, ClientUserRecord, Email, Employment, PartnerId,
    PartnerRecord, Permission, PermissionSetName, RelationshipHistory, RelationshipState, Role,
    Status, Timestamp, Verdict,
};
use crate::policy::{CheckRequest, Decision, EntityKind, EntityRef, PolicyEngine};
use crate::store::{Aux, Log, StoreError, WriteError, WriteTx, write};
pub use vocab::{AuditOutcome, CommandName, EventKind};

/// Who asks, and how to recognise a repeat.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    /// The person acting, as the host authenticated them: the Cedar principal.
    pub actor: Email,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// A digest of method, path and body: a repeated key must come with the same request.
    pub request_digest: String,
}

impl CommandMeta {
    /// Digests what identifies a request.
    pub fn digest(method: &str, path: &str, body: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(body);
        hex(&hasher.finalize())
    }
}

/// What a command answers: HTTP-agnostic status class and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandAnswer {
    /// `true` when the command created something (201), else 200.
    pub created: bool,
    pub body: Value,
    /// The revision the command produced (or, for a replay, the revision of the first answer).
    pub revision: u64,
    /// Whether this answer is the replay of an earlier one with the same idempotency key.
    #[serde(default)]
    pub replayed: bool,
}

/// What the idempotency table keeps of a first answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAnswer {
    digest: String,
    answer: Result<CommandAnswer, StoredError>,
    /// The digest of the access-link token the first answer carried. The token itself is a
    /// secret shown once: the kept answer has no `token` member, so neither the store nor a
    /// replay ever shows it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    /// When the first answer was given: it is replayed for the idempotency TTL, then the key
    /// is new again and the answer is pruned. `None` in answers kept before answers carried
    /// their time; the pruning sweep stamps those when it reaches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<Timestamp>,
}

impl StoredAnswer {
    /// Moves a token still in the kept answer (one kept before tokens were withheld) out of it,
    /// keeping its digest.
    fn withhold_token(&mut self) {
        if let Ok(answer) = &mut self.answer
            && let Value::Object(body) = &mut answer.body
            && let Some(Value::String(token)) = body.remove("token")
        {
            self.link.get_or_insert_with(|| sha256_hex(&token));
        }
    }
}

/// How long an `Idempotency-Key`'s first answer is replayed unless configured otherwise.
pub const DEFAULT_IDEMPOTENCY_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Idempotency answers the pruning sweep looks at in each command that keeps one: more than a
/// command adds, so the table stays near what one TTL of commands keeps, at a bounded cost
/// per transaction.
const SWEEP_PER_COMMAND: usize = 16;

/// Idempotency answers the background sweep looks at per round.
pub const SWEEP_PER_ROUND: usize = 1_000;

/// A refusal as the idempotency table keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredError {
    pub kind: String,
    pub message: String,
    pub rules: Vec<String>,
}

impl StoredError {
    fn from_app(e: &AppError) -> Option<Self> {
        let kind = match e {
            AppError::Forbidden { .. } => "forbidden",
            AppError::Conflict { .. } => "conflict",
            AppError::NotFound(_) => "not_found",
            AppError::InvalidRequest { .. } => "invalid_request",
            AppError::Unavailable(_) => return None,
        };
        Some(StoredError {
            kind: kind.into(),
            message: e.to_string(),
            rules: e.rules(),
        })
    }

    fn into_app(self) -> AppError {
        match self.kind.as_str() {
            "forbidden" => AppError::Forbidden {
                message: self.message,
                rules: self.rules,
            },
            "conflict" => AppError::Conflict {
                message: self.message,
                rules: self.rules,
            },
            "not_found" => AppError::NotFound(self.message),
            _ => AppError::invalid(self.message),
        }
    }
}

/// One audit record: who did what, when, the decision, the deciding ids, the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(default)]
    pub seq: u64,
    pub time: Timestamp,
    pub actor: Email,
    pub command: CommandName,
    /// What the command was about: `client/c-globex`, `partner/p-acme/employee/...`.
    pub target: String,
    /// The client account concerned, if any (the `client=` filter of `GET /v1/audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
    /// `allow` or `deny`: the policies' verdict on the command.
    #[serde(with = "vocab::verdict_label")]
    pub decision: Verdict,
    /// The policy ids that decided (every decision the command asked for).
    pub policies: Vec<String>,
    /// The rule ids named by the deciding policies or by the refusal.
    pub rules: Vec<String>,
    /// `applied`, `denied`, `conflict`, `not_found` or `invalid`.
    pub outcome: AuditOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

/// One outbox event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default)]
    pub seq: u64,
    /// `access_link.approved`, `user.created`, `user.removed`, ...
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
    pub data: Value,
}

/// The state of one command while it runs in its transaction.
pub struct Ctx<'t> {
    tx: &'t mut dyn WriteTx,
    engine: &'t PolicyEngine,
    pub actor: Email,
    pub now: Timestamp,
    /// Policy ids of every decision asked for, in order.
    policies: Vec<String>,
    rules: BTreeSet<String>,
    events: Vec<Event>,
    /// The client account concerned, for the audit filter.
    pub client: Option<ClientId>,
    /// Client records as the transaction holds them, so that [`Ctx::save_client`] writes back
    /// only what the command changed.
    loaded: Vec<ClientRecord>,
    /// The digest of the access-link token this command's answer carries in its `token`
    /// member, if any: the idempotency table keeps the answer without it (see [`replay`]).
    issued_link: Option<String>,
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
        if let Some(partner) = client
            .managed_by
            .clone()
            .filter(|p| partner_users_present(&client, p))
        {
            let history = client.relationship.get_or_insert_with(Default::default);
            let running = history.current().is_some_and(|r| r.partner == partner)
                && history.current_state(self.now) == RelationshipState::Active;
            if !running {
                history.partner_user_added(&partner, self.now);
            }
        }
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

    // ---- invariants ----------------------------------------------------------------------

    /// MIG-4: after replacing `email`'s record with `after` (None: removed), the client still
    /// has an active super admin.
    pub fn keep_a_super_admin(
        &self,
        client: &ClientRecord,
        email: &Email,
        after: Option<&ClientUserRecord>,
    ) -> CmdResult<()> {
        let others = client.users.iter().filter(|u| &u.email != email);
        let remaining = others
            .chain(after)
            .filter(|u| u.role == Role::SuperAdmin && u.status == Status::Active)
            .count();
        if remaining == 0 {
            return Err(conflict(
                format!(
                    "client `{}` must keep at least one active super admin; this change would leave none",
                    client.id
                ),
                &["MIG-4"],
            ));
        }
        Ok(())
    }

    // ---- the managed relationship --------------------------------------------------------

    /// LINK-2: a client is managed by at most one partner; refuses when another partner's
    /// relationship is active or ending (an ended one does not stand in the way).
    pub fn managed_by_no_other(&self, client: &ClientRecord, partner: &PartnerId) -> CmdResult<()> {
        let latest = client
            .relationship
            .as_ref()
            .and_then(RelationshipHistory::current);
        let other = match (latest, &client.managed_by) {
            (Some(r), _) if &r.partner != partner => {
                let running = client
                    .relationship
                    .as_ref()
                    .is_some_and(|h| h.current_state(self.now) != RelationshipState::Ended);
                running.then(|| r.partner.clone())
            }
            (None, Some(m)) if m != partner && partner_users_present(client, m) => Some(m.clone()),
            // Users linked to another partner, whatever `managed_by` says (an import may leave
            // it empty): their partner manages the client.
            _ => client
                .users
                .iter()
                .find_map(|u| u.partner.as_ref().filter(|p| *p != partner))
                .cloned(),
        };
        match other {
            Some(other) => Err(conflict(
                format!(
                    "client `{}` is managed by partner `{other}`; a client is managed by one partner at a time",
                    client.id
                ),
                &["LINK-2"],
            )),
            None => Ok(()),
        }
    }

    /// REL-1, REL-4: a partner user of `partner` is in the client: an `active` relationship with
    /// the partner goes on (the addition is activity), an `ending` one resumes, and otherwise
    /// (none, `ended`) a new relationship starts now, the ended one staying in the history. The
    /// client is marked managed by the partner. Does nothing when no partner user of the
    /// partner is in the account after all.
    pub fn partner_user_added(&mut self, client: &mut ClientRecord, partner: &PartnerId) {
        if !partner_users_present(client, partner) {
            return;
        }
        client
            .relationship
            .get_or_insert_with(Default::default)
            .partner_user_added(partner, self.now);
        client.managed_by = Some(partner.clone());
    }

    /// REL-3: a command by one of the partner's employees in the account is partner activity
    /// (recorded in the latest relationship when it is that partner's and has not ended).
    pub fn record_activity(&mut self, client: &mut ClientRecord) -> CmdResult<()> {
        let employer = self.tx.user(&self.actor)?.and_then(|u| u.employment);
        if let (Some(employment), Some(history)) = (employer, client.relationship.as_mut()) {
            history.activity(&employment.partner, self.now);
        }
        Ok(())
    }

    /// REL-2, REM-4: after partner users left: if none of the latest relationship's partner
    /// remain (deactivated ones count as present), the relationship is `ending` from now (a span
    /// of its history opens); emits `relationship.ending` when it does, so once.
    pub fn partner_users_removed(&mut self, client: &mut ClientRecord) {
        let Some(history) = client.relationship.as_mut() else {
            return;
        };
        let Some(partner) = history.current().map(|r| r.partner.clone()) else {
            return;
        };
        if client
            .users
            .iter()
            .any(|u| u.partner.as_ref() == Some(&partner))
        {
            return;
        }
        if history.partner_users_gone(&partner, self.now) {
            let view = history.view_at(self.now);
            self.emit(
                EventKind::RelationshipEnding,
                Some(&client.id),
                json!({"client": client.id, "partner": partner, "ends_at": view.ends_at}),
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
                || self
                    .managed_by_no_other(client, &employment.partner)
                    .is_err()
            {
                continue;
            }
            if let Some(user) = client.users.iter_mut().find(|u| u.email == email) {
                user.partner = Some(employment.partner.clone());
            }
            self.partner_user_added(client, &employment.partner);
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

/// Whether a partner user of `partner` (active or deactivated, REM-4) is in the client.
fn partner_users_present(client: &ClientRecord, partner: &PartnerId) -> bool {
    client
        .users
        .iter()
        .any(|u| u.partner.as_ref() == Some(partner))
}

/// The outcome of [`Ctx::grant_clamp`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clamped {
    pub permissions: BTreeSet<Permission>,
    pub withheld: BTreeSet<Permission>,
    pub kept: BTreeSet<Permission>,
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

/// JSON bytes of a side-table record.
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> CmdResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| CmdError::Store(StoreError::Write(e.to_string())))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 digest of text, lower-case hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
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

impl App {
    /// Runs one command in one write transaction: replays a repeated idempotency key, runs
    /// `work`, and commits its changes with the audit record and events. A refused command
    /// commits only its audit record (and its idempotency answer).
    pub fn execute(
        &self,
        meta: &CommandMeta,
        command: CommandName,
        target: &str,
        mut work: impl FnMut(&mut Ctx<'_>) -> CmdResult<(bool, Value)>,
    ) -> Result<CommandAnswer, AppError> {
        let now = Timestamp::now();
        let idempotency = meta
            .idempotency_key
            .as_deref()
            .map(|k| format!("{}\u{0}{k}", meta.actor));

        let result = write(self.store.as_ref(), |tx| {
            if let Some(key) = &idempotency
                && let Some(stored) =
                    replay(&*tx, key, &meta.request_digest, now, self.idempotency_ttl)?
            {
                return Err(WriteError::Aborted(Outcome::Replay(stored)));
            }
            // Loaded inside the unit of work: a reload swaps the set inside one too, after
            // checking the stored state, so this command decides with the set in force now.
            let engine = self.engine();
            let mut ctx = Ctx {
                tx,
                engine: &engine,
                actor: meta.actor.clone(),
                now,
                policies: Vec::new(),
                rules: BTreeSet::new(),
                events: Vec::new(),
                client: None,
                loaded: Vec::new(),
                issued_link: None,
            };
            match work(&mut ctx) {
                Ok((created, body)) => {
                    // Taken after the work: on a shared store, writers of other accounts run in
                    // parallel until here.
                    let revision = ctx.tx.commit_revision()?;
                    let audit = AuditRecord {
                        seq: 0,
                        time: now,
                        actor: meta.actor.clone(),
                        command,
                        target: target.to_owned(),
                        client: ctx.client.clone(),
                        decision: Verdict::Allow,
                        policies: ctx.policies.clone(),
                        rules: ctx.rules.iter().cloned().collect(),
                        outcome: AuditOutcome::Applied,
                        message: None,
                        revision: Some(revision),
                    };
                    let events = std::mem::take(&mut ctx.events);
                    let issued_link = ctx.issued_link.take();
                    let tx = ctx.tx;
                    append(tx, Log::Audit, &audit)?;
                    for event in &events {
                        append(tx, Log::Events, event)?;
                    }
                    let answer = CommandAnswer {
                        created,
                        body,
                        revision,
                        replayed: false,
                    };
                    if let Some(key) = &idempotency {
                        let mut kept = answer.clone();
                        if issued_link.is_some()
                            && let Value::Object(body) = &mut kept.body
                        {
                            body.remove("token");
                        }
                        store_answer(tx, key, &meta.request_digest, Ok(kept), issued_link, now)?;
                        self.sweep_idempotency(tx, now, SWEEP_PER_COMMAND)?;
                    }
                    Ok(answer)
                }
                Err(CmdError::Store(e)) => Err(WriteError::Store(e)),
                Err(CmdError::Refused(e)) => Err(WriteError::Aborted(Outcome::Refused {
                    error: e,
                    policies: ctx.policies,
                    client: ctx.client,
                })),
            }
        });

        match result {
            Ok((answer, committed)) => {
                self.committed(&committed);
                Ok(answer)
            }
            Err(WriteError::Aborted(Outcome::Replay(stored))) => match stored {
                Ok(mut answer) => {
                    answer.replayed = true;
                    Ok(answer)
                }
                Err(e) => Err(e.into_app()),
            },
            Err(WriteError::Aborted(Outcome::Refused {
                error,
                policies,
                client,
            })) => {
                self.record_refusal(
                    meta,
                    command,
                    target,
                    &error,
                    policies,
                    client,
                    idempotency.as_deref(),
                    now,
                );
                Err(error)
            }
            Err(WriteError::Aborted(Outcome::Conflict(e))) => Err(e),
            Err(WriteError::Store(e)) => Err(self.unavailable(e)),
        }
    }

    /// Writes the audit record (and idempotency answer) of a refused command in a transaction
    /// of its own: the command's own writes were rolled back.
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one part of the audit record; a struct would only repeat them"
    )]
    fn record_refusal(
        &self,
        meta: &CommandMeta,
        command: CommandName,
        target: &str,
        error: &AppError,
        policies: Vec<String>,
        client: Option<ClientId>,
        idempotency: Option<&str>,
        now: Timestamp,
    ) {
        let outcome = match error {
            AppError::Forbidden { .. } => AuditOutcome::Denied,
            AppError::Conflict { .. } => AuditOutcome::Conflict,
            AppError::NotFound(_) => AuditOutcome::NotFound,
            AppError::InvalidRequest { .. } => AuditOutcome::Invalid,
            AppError::Unavailable(_) => return,
        };
        let audit = AuditRecord {
            seq: 0,
            time: now,
            actor: meta.actor.clone(),
            command,
            target: target.to_owned(),
            client,
            decision: if outcome == AuditOutcome::Denied {
                Verdict::Deny
            } else {
                Verdict::Allow
            },
            policies,
            rules: error.rules(),
            outcome,
            message: Some(error.to_string()),
            revision: None,
        };
        let stored = StoredError::from_app(error);
        let result = write::<_, (), Outcome>(self.store.as_ref(), |tx| {
            // The key's answer is looked at (and, on a shared store, locked) before the audit
            // record takes this write's place in the commit order. A request with the same key
            // may have been answered since this one was refused: its answer stays.
            let answered = match idempotency {
                Some(key) => tx.aux(Aux::Idempotency, key)?.is_some(),
                None => true,
            };
            append(tx, Log::Audit, &audit)?;
            if let (Some(key), Some(stored), false) = (idempotency, stored.clone(), answered) {
                store_answer(tx, key, &meta.request_digest, Err(stored), None, now)?;
                self.sweep_idempotency(tx, now, SWEEP_PER_COMMAND)?;
            }
            Ok(())
        });
        match result {
            Ok(((), committed)) => self.committed(&committed),
            Err(WriteError::Store(e)) => {
                self.store_failed(&e);
            }
            Err(WriteError::Aborted(_)) => {}
        }
    }
}

/// What one step of the idempotency sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired answers removed.
    pub removed: usize,
    /// Answers kept before answers carried their time, stamped with it (and their token
    /// withheld).
    pub stamped: usize,
}

impl App {
    /// Looks at the next `budget` idempotency answers after the sweep's cursor in `tx`:
    /// removes those older than the TTL, and stamps those kept before answers carried their
    /// time with `now` (so they expire one TTL later), withholding a token they hold. The
    /// cursor wraps to the start of the table after its end. An answer that does not decode
    /// is left for its key's replay to report.
    fn sweep_idempotency(
        &self,
        tx: &mut dyn WriteTx,
        now: Timestamp,
        budget: usize,
    ) -> Result<Swept, StoreError> {
        let after = self
            .idempotency_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let entries = tx.aux_after(Aux::Idempotency, &after, budget)?;
        let mut swept = Swept::default();
        for (key, bytes) in &entries {
            let Ok(mut stored) = serde_json::from_slice::<StoredAnswer>(bytes) else {
                continue;
            };
            match stored.created_at {
                Some(created) if now.since(created) >= self.idempotency_ttl => {
                    tx.remove_aux(Aux::Idempotency, key)?;
                    swept.removed += 1;
                }
                Some(_) => {}
                None => {
                    stored.created_at = Some(now);
                    stored.withhold_token();
                    let bytes = serde_json::to_vec(&stored)
                        .map_err(|e| StoreError::Write(e.to_string()))?;
                    tx.put_aux(Aux::Idempotency, key, &bytes)?;
                    swept.stamped += 1;
                }
            }
        }
        let next = match entries.last() {
            Some((key, _)) if entries.len() >= budget => key.clone(),
            _ => String::new(),
        };
        *self
            .idempotency_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(swept)
    }

    /// One round of the background sweep (up to [`SWEEP_PER_ROUND`] answers) in a write
    /// transaction of its own, committed only when it changed something.
    pub fn sweep_idempotency_round(&self) -> Result<Swept, AppError> {
        let now = Timestamp::now();
        let result = write::<_, Swept, Swept>(self.store.as_ref(), |tx| {
            let swept = self.sweep_idempotency(tx, now, SWEEP_PER_ROUND)?;
            if swept == Swept::default() {
                Err(WriteError::Aborted(swept))
            } else {
                Ok(swept)
            }
        });
        match result {
            Ok((swept, committed)) => {
                self.committed(&committed);
                Ok(swept)
            }
            Err(WriteError::Aborted(swept)) => Ok(swept),
            Err(WriteError::Store(e)) => Err(self.unavailable(e)),
        }
    }

    /// How many idempotency answers the store keeps (expired ones not yet pruned included).
    pub fn kept_idempotency_answers(&self) -> Result<usize, AppError> {
        let snapshot = self.store.snapshot().map_err(|e| self.unavailable(e))?;
        let mut count = 0;
        let mut after = String::new();
        loop {
            let page = snapshot
                .aux_after(Aux::Idempotency, &after, SWEEP_PER_ROUND)
                .map_err(|e| self.unavailable(e))?;
            count += page.len();
            match page.last() {
                Some((key, _)) if page.len() == SWEEP_PER_ROUND => after = key.clone(),
                _ => return Ok(count),
            }
        }
    }
}

/// Why a command's transaction did not commit.
enum Outcome {
    Replay(Result<CommandAnswer, StoredError>),
    Refused {
        error: AppError,
        policies: Vec<String>,
        client: Option<ClientId>,
    },
    Conflict(AppError),
}

/// The kept answer of `key`, unless there is none or it has expired (then the key is new: the
/// command runs and its answer replaces the expired one).
fn replay(
    tx: &dyn WriteTx,
    key: &str,
    digest: &str,
    now: Timestamp,
    ttl: std::time::Duration,
) -> Result<Option<Result<CommandAnswer, StoredError>>, WriteError<Outcome>> {
    let Some(bytes) = tx.aux(Aux::Idempotency, key)? else {
        return Ok(None);
    };
    let mut stored: StoredAnswer = serde_json::from_slice(&bytes).map_err(|e| {
        WriteError::Store(StoreError::Corrupt {
            key: "idempotency".into(),
            message: e.to_string(),
        })
    })?;
    if stored
        .created_at
        .is_some_and(|created| now.since(created) >= ttl)
    {
        return Ok(None);
    }
    if stored.digest != digest {
        return Err(WriteError::Aborted(Outcome::Conflict(AppError::Conflict {
            message: "this Idempotency-Key was already used with a different request".into(),
            rules: Vec::new(),
        })));
    }
    // An answer kept before tokens were withheld may still hold one: it is never shown again
    // either, and is judged by its digest like the others.
    stored.withhold_token();
    let StoredAnswer { answer, link, .. } = stored;
    let Ok(mut answer) = answer else {
        return Ok(Some(answer));
    };
    if link.is_some()
        && let Value::Object(body) = &mut answer.body
    {
        body.insert("token_withheld".into(), Value::Bool(true));
    }
    if let Some(link) = link
        && tx.aux(Aux::AccessLinks, &link)?.is_none()
    {
        return Err(WriteError::Aborted(Outcome::Conflict(AppError::Conflict {
            message: "this Idempotency-Key issued an access link that has since been revoked \
                      or rotated away; its token is never shown again (issue a new link with \
                      a new Idempotency-Key)"
                .into(),
            rules: Vec::new(),
        })));
    }
    Ok(Some(Ok(answer)))
}

fn store_answer<E>(
    tx: &mut dyn WriteTx,
    key: &str,
    digest: &str,
    answer: Result<CommandAnswer, StoredError>,
    link: Option<String>,
    now: Timestamp,
) -> Result<(), WriteError<E>> {
    let stored = StoredAnswer {
        digest: digest.to_owned(),
        answer,
        link,
        created_at: Some(now),
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| StoreError::Write(e.to_string()))?;
    tx.put_aux(Aux::Idempotency, key, &bytes)?;
    Ok(())
}

fn append<T: Serialize, E>(
    tx: &mut dyn WriteTx,
    log: Log,
    record: &T,
) -> Result<u64, WriteError<E>> {
    let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Write(e.to_string()))?;
    Ok(tx.append_log(log, &bytes)?)
}
