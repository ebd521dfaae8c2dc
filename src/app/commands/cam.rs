//! Client Access Manager commands on partner users: adding employees (ADD), permission sets
//! and single permissions (PERM), deactivation and reactivation, one by one or all at once
//! (REM-2, REM-3, REM-7), and removal with preview (REM-1, REM-5, REM-6, REM-8). Every one of
//! them is a CAM command: the policies ask PA-1 of its actor as well as its own rule.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    CmdError, CmdResult, CommandAnswer, CommandMeta, CommandName, Ctx, EventKind, conflict,
    context, invalid, not_found, sha256_hex, user_ref,
};
use crate::app::{App, AppError};
use crate::domain::{
    ClientId, ClientRecord, ClientUserRecord, Email, PartnerId, Permission, PermissionSetName,
    Role, Seat, Status, catalogue::role_for_set,
};
use crate::policy::{EntityKind, EntityRef};

/// The most items a list in a command may hold (employees, users, clients).
pub const MAX_LIST: usize = 1000;

/// `POST /v1/clients/{client}/partner-users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddPartnerUsers {
    pub actor: Email,
    pub employees: Vec<Email>,
    pub permission_set: PermissionSetName,
}

/// `PUT /v1/clients/{client}/partner-users/{employee}/permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPartnerPermissionSet {
    pub actor: Email,
    pub permission_set: PermissionSetName,
}

/// A body that carries only the actor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorOnly {
    pub actor: Email,
}

/// `POST /v1/partners/{partner}/employees/{employee}/remove`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveEmployee {
    pub actor: Email,
    pub clients: Vec<ClientId>,
    pub version: String,
}

/// `POST /v1/clients/{client}/partner-users/remove-all`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveAll {
    pub actor: Email,
    pub version: String,
}

/// The permission a single-permission command names (PERM-4): a permission of the catalogue,
/// or 400.
pub(super) fn catalogue_permission(ctx: &Ctx<'_>, permission: &Permission) -> CmdResult<()> {
    if ctx.catalogue().contains(permission) {
        Ok(())
    } else {
        Err(invalid(format!(
            "permission: `{permission}` is not a permission of the catalogue (see GET /v1/schema/actions)"
        )))
    }
}

/// A user's permissions with one added (`grant`) or taken away.
pub(super) fn with_one(
    current: &BTreeSet<Permission>,
    permission: &Permission,
    grant: bool,
) -> BTreeSet<Permission> {
    let mut wanted = current.clone();
    if grant {
        wanted.insert(permission.clone());
    } else {
        wanted.remove(permission);
    }
    wanted
}

fn account(client: &ClientId) -> EntityRef {
    EntityRef::new(EntityKind::Account, client.as_str())
}

fn perms_json(set: &BTreeSet<Permission>) -> Value {
    json!(set.iter().map(Permission::as_str).collect::<Vec<_>>())
}

/// The partner users of `partner` in the client that the Client Access Manager manages: all
/// but super admins, which are the client's own full admins (CAP-2) even when linked to the
/// partner, and leave the CAM's reach until they change themselves to partner admin (MIG).
fn managed_partner_users<'c>(
    client: &'c ClientRecord,
    partner: &'c PartnerId,
) -> impl Iterator<Item = &'c ClientUserRecord> + 'c {
    client
        .users
        .iter()
        .filter(move |u| u.partner.as_ref() == Some(partner) && u.role != Role::SuperAdmin)
}

/// Whether every partner user of `partner` in the client is deactivated (REM-7).
fn all_deactivated(client: &ClientRecord, partner: Option<&PartnerId>) -> bool {
    let Some(partner) = partner else {
        return false;
    };
    let mut users = managed_partner_users(client, partner).peekable();
    users.peek().is_some() && users.all(|u| u.status == Status::Deactivated)
}

/// Replaces a user's record in the client.
fn replace_user(client: &mut ClientRecord, user: ClientUserRecord) {
    client.users.retain(|u| u.email != user.email);
    client.users.push(user);
}

/// The assets a user owns in a client, for review before removal.
fn assets_of(client: &ClientRecord, email: &Email) -> Value {
    json!(
        client
            .assets
            .iter()
            .filter(|a| &a.owner == email)
            .map(|a| json!({"id": a.id, "kind": a.kind, "name": a.name}))
            .collect::<Vec<_>>()
    )
}

impl Ctx<'_> {
    /// The actor's partner (its employer), or 403: only partner employees use the CAM.
    fn actor_partner(&mut self) -> CmdResult<PartnerId> {
        let actor = self.actor.clone();
        match self.tx().user(&actor)?.and_then(|u| u.employment) {
            Some(e) => Ok(e.partner),
            None => Err(CmdError::Refused(AppError::Forbidden {
                message: format!(
                    "`{actor}` is not an employee of any partner; the Client Access Manager is for partner employees"
                ),
                rules: vec!["PA-1".into()],
            })),
        }
    }

    /// Applies a permission set from the CAM to a (new or existing) partner user: clamped by
    /// PERM-2, partner seat when eligible (PERM-3, ADD-3), partner admins need it (SEAT-5).
    fn apply_cam_set(
        &mut self,
        client: &ClientRecord,
        partner: &PartnerId,
        email: &Email,
        existing: Option<&ClientUserRecord>,
        set: &BTreeSet<Permission>,
        role: Role,
    ) -> CmdResult<(ClientUserRecord, super::Clamped)> {
        let current: BTreeSet<Permission> = existing
            .map(|u| u.permissions.iter().cloned().collect())
            .unwrap_or_default();
        let clamped = self.grant_clamp(&client.id, email, &current, set)?;
        let eligible = self.partner_seat_eligible(email, &client.id)?;
        let seat = match (eligible, existing) {
            (true, _) => Seat::Partner,
            (false, Some(u)) => u.seat,
            (false, None) => Seat::None,
        };
        if role == Role::PartnerAdmin && seat != Seat::Partner {
            return Err(conflict(
                format!(
                    "`{email}` cannot be a partner admin of `{}`: a partner admin must hold the partner seat, and `{email}` is not eligible for it",
                    client.id
                ),
                &["SEAT-5", "SEAT-2"],
            ));
        }
        let user = ClientUserRecord {
            email: email.clone(),
            role,
            seat,
            permissions: clamped.permissions.iter().cloned().collect(),
            status: existing.map_or(Status::Active, |u| u.status),
            partner: Some(partner.clone()),
            keep_billing: existing.is_some_and(|u| u.keep_billing),
            paid_hubs: existing.map(|u| u.paid_hubs.clone()).unwrap_or_default(),
        };
        Ok((user, clamped))
    }
}

impl App {
    /// ADD-1..3, ADD-6, PERM-2: a partner admin adds employees of its partner with one
    /// permission set. One transaction: all are added, or none.
    pub fn add_partner_users(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        body: &AddPartnerUsers,
    ) -> Result<CommandAnswer, AppError> {
        if body.employees.is_empty() || body.employees.len() > MAX_LIST {
            return Err(AppError::invalid(format!(
                "employees: expected 1 to {MAX_LIST} e-mails, got {}",
                body.employees.len()
            )));
        }
        let target = format!("client/{client_id}");
        self.execute(meta, CommandName::PartnerUsersAdd, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let partner_id = ctx.actor_partner()?;
            let partner = ctx.partner_record(&partner_id)?;
            let set = ctx.permission_set(&body.permission_set, &partner.permission_sets)?;
            let role = role_for_set(&body.permission_set);
            ctx.managed_by_no_other(&client, &partner_id)?;
            let mut seen = BTreeSet::new();
            let mut results = Vec::new();
            for employee in &body.employees {
                if !seen.insert(employee) {
                    continue;
                }
                ctx.employment(employee)?;
                ctx.authorize(
                    "partner_users.add",
                    account(client_id),
                    context([("target", user_ref(employee)), ("role", json!(role.as_str()))]),
                )?;
                let existing = client.users.iter().find(|u| &u.email == employee).cloned();
                // ADD-6: an active user of the account is left as it is (linking an unlinked
                // one is LINK-1's job).
                if let Some(user) = existing.as_ref().filter(|u| u.status == Status::Active) {
                    results.push(json!({
                        "employee": employee, "outcome": "already_member",
                        "permissions": user.permissions, "withheld": [], "seat": user.seat,
                    }));
                    continue;
                }
                if existing.as_ref().is_some_and(|u| u.role == Role::SuperAdmin) {
                    return Err(conflict(
                        format!(
                            "`{employee}` is a super admin of `{client_id}`; change it to partner admin instead (MIG-1)"
                        ),
                        &["MIG-1", "MIG-4"],
                    ));
                }
                let (mut user, clamped) =
                    ctx.apply_cam_set(&client, &partner_id, employee, existing.as_ref(), &set, role)?;
                user.status = Status::Active;
                replace_user(&mut client, user.clone());
                ctx.emit(
                    if existing.is_some() {
                        EventKind::PermissionsChanged
                    } else {
                        EventKind::UserCreated
                    },
                    Some(client_id),
                    json!({"client": client_id, "email": employee, "role": role.as_str(),
                           "seat": user.seat, "permissions": user.permissions}),
                );
                results.push(json!({
                    "employee": employee,
                    "outcome": "added",
                    "permissions": perms_json(&clamped.permissions),
                    "withheld": perms_json(&clamped.withheld),
                    "seat": user.seat,
                }));
            }
            let created = results.iter().any(|r| r["outcome"] == "added");
            if !created {
                // Nothing changed: keep the state as it was (no relationship activity either).
                return Ok((false, json!({"results": results})));
            }
            ctx.partner_user_added(&mut client, &partner_id);
            ctx.save_client(&client)?;
            Ok((created, json!({"results": results})))
        })
    }

    /// PERM-1..3: a partner admin applies a permission set to a partner user of its partner.
    pub fn set_partner_permission_set(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        employee: &Email,
        body: &SetPartnerPermissionSet,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{employee}");
        self.execute(meta, CommandName::PartnerUserSetPermissionSet, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let existing = ctx.member(&client, employee)?;
            let partner_id = ctx.actor_partner()?;
            let partner = ctx.partner_record(&partner_id)?;
            let set = ctx.permission_set(&body.permission_set, &partner.permission_sets)?;
            let role = role_for_set(&body.permission_set);
            ctx.authorize(
                "partner_user.set_permission_set",
                account(client_id),
                context([("target", user_ref(employee)), ("role", json!(role.as_str()))]),
            )?;
            let (user, clamped) =
                ctx.apply_cam_set(&client, &partner_id, employee, Some(&existing), &set, role)?;
            ctx.keep_a_super_admin(&client, employee, Some(&user))?;
            if user.seat != existing.seat {
                ctx.emit(
                    EventKind::SeatChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": employee, "from": existing.seat, "to": user.seat}),
                );
            }
            ctx.emit(
                EventKind::PermissionsChanged,
                Some(client_id),
                json!({"client": client_id, "email": employee, "role": role.as_str(),
                       "permissions": user.permissions}),
            );
            replace_user(&mut client, user.clone());
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            Ok((
                false,
                json!({
                    "permissions": perms_json(&clamped.permissions),
                    "withheld": perms_json(&clamped.withheld),
                    "kept": perms_json(&clamped.kept),
                    "role": role.as_str(),
                    "seat": user.seat,
                }),
            ))
        })
    }

    /// PERM-4 with PERM-1..3: add (`grant`) or remove one permission of a partner user of the
    /// actor's partner from the CAM, without applying a whole set. The role stays (a partner
    /// admin with one permission more or less is still a partner admin); the change is clamped
    /// by grant-only-what-you-hold (a permission the actor may not give is `withheld`, one it may
    /// not take away is `kept`), and an eligible user gets the partner seat (PERM-3).
    pub fn set_partner_permission(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        employee: &Email,
        permission: &Permission,
        grant: bool,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{employee}/permission/{permission}");
        let command = if grant {
            CommandName::PartnerUserGrantPermission
        } else {
            CommandName::PartnerUserRevokePermission
        };
        self.execute(meta, command, &target, |ctx| {
            catalogue_permission(ctx, permission)?;
            let mut client = ctx.client_record(client_id)?;
            let existing = ctx.member(&client, employee)?;
            let partner_id = ctx.actor_partner()?;
            ctx.authorize(
                "partner_user.set_permission",
                account(client_id),
                context([
                    ("target", user_ref(employee)),
                    ("permission", json!(permission.as_str())),
                ]),
            )?;
            let current: BTreeSet<Permission> = existing.permissions.iter().cloned().collect();
            let wanted = with_one(&current, permission, grant);
            let (user, clamped) = ctx.apply_cam_set(
                &client,
                &partner_id,
                employee,
                Some(&existing),
                &wanted,
                existing.role,
            )?;
            if user.seat != existing.seat {
                ctx.emit(
                    EventKind::SeatChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": employee, "from": existing.seat, "to": user.seat}),
                );
            }
            if user.permissions != existing.permissions {
                ctx.emit(
                    EventKind::PermissionsChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": employee, "role": user.role,
                           "permissions": user.permissions}),
                );
            }
            replace_user(&mut client, user.clone());
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            Ok((
                false,
                json!({
                    "permissions": perms_json(&clamped.permissions),
                    "withheld": perms_json(&clamped.withheld),
                    "kept": perms_json(&clamped.kept),
                    "role": user.role,
                    "seat": user.seat,
                }),
            ))
        })
    }

    /// REM-7: when every partner user of the actor's partner in the client is deactivated, a
    /// partner admin there (deactivated itself) reactivates them all in one command. Whether
    /// "all are deactivated" is decided once, on the state the command starts from, so the
    /// first reactivation does not lock the actor out of the rest or of itself. Also usable by
    /// an active partner admin (REM-3) to reactivate every deactivated partner user at once.
    pub fn reactivate_all_partner_users(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}");
        let command = CommandName::PartnerUsersReactivateAll;
        self.execute(meta, command, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let partner = ctx.actor_partner()?;
            let all = all_deactivated(&client, Some(&partner));
            let deactivated: Vec<ClientUserRecord> = managed_partner_users(&client, &partner)
                .filter(|u| u.status == Status::Deactivated)
                .cloned()
                .collect();
            // Nobody to reactivate still needs the right to (asked about the actor itself), so
            // the answer says nothing to whoever may not ask.
            let actor = ctx.actor.clone();
            let asked: Vec<&Email> = if deactivated.is_empty() {
                vec![&actor]
            } else {
                deactivated.iter().map(|u| &u.email).collect()
            };
            for email in asked {
                ctx.authorize(
                    "partner_user.reactivate",
                    account(client_id),
                    context([
                        ("target", user_ref(email)),
                        ("all_partner_users_deactivated", json!(all)),
                    ]),
                )?;
            }
            let mut reactivated = Vec::new();
            for mut user in deactivated {
                user.status = Status::Active;
                ctx.emit(
                    EventKind::UserReactivated,
                    Some(client_id),
                    json!({"client": client_id, "email": user.email}),
                );
                reactivated.push(user.email.clone());
                replace_user(&mut client, user);
            }
            if !reactivated.is_empty() {
                ctx.record_activity(&mut client)?;
                ctx.save_client(&client)?;
            }
            Ok((
                false,
                json!({"client": client_id, "partner": partner, "reactivated": reactivated}),
            ))
        })
    }

    /// REM-2, REM-4, MIG-4: deactivate a partner user (the relationship goes on).
    pub fn deactivate_partner_user(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        employee: &Email,
    ) -> Result<CommandAnswer, AppError> {
        self.set_partner_user_status(meta, client_id, employee, Status::Deactivated)
    }

    /// REM-3, REM-7: reactivate a partner user.
    pub fn reactivate_partner_user(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        employee: &Email,
    ) -> Result<CommandAnswer, AppError> {
        self.set_partner_user_status(meta, client_id, employee, Status::Active)
    }

    fn set_partner_user_status(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        employee: &Email,
        status: Status,
    ) -> Result<CommandAnswer, AppError> {
        let (command, event) = match status {
            Status::Active => (
                CommandName::PartnerUserReactivate,
                EventKind::UserReactivated,
            ),
            Status::Deactivated => (
                CommandName::PartnerUserDeactivate,
                EventKind::UserDeactivated,
            ),
        };
        let target = format!("client/{client_id}/user/{employee}");
        self.execute(meta, command, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let mut user = ctx.member(&client, employee)?;
            let mut ctx_pairs = context([("target", user_ref(employee))]);
            if status == Status::Active {
                ctx_pairs.insert(
                    "all_partner_users_deactivated".into(),
                    json!(all_deactivated(&client, user.partner.as_ref())),
                );
            }
            // The command is the policies' action of the same name.
            ctx.authorize(command.as_str(), account(client_id), ctx_pairs)?;
            if user.status == status {
                return Ok((
                    false,
                    json!({"client": client_id, "email": employee,
                    "status": status, "outcome": "unchanged"}),
                ));
            }
            user.status = status;
            ctx.keep_a_super_admin(&client, employee, Some(&user))?;
            replace_user(&mut client, user);
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            ctx.emit(
                event,
                Some(client_id),
                json!({"client": client_id, "email": employee}),
            );
            Ok((
                false,
                json!({"client": client_id, "email": employee, "status": status,
                "outcome": "changed"}),
            ))
        })
    }

    /// REM-5: every client where the employee is a partner user of the partner, with the
    /// assets it owns there, and the version the confirming call must carry.
    pub fn employee_removal_preview(
        &self,
        meta: &CommandMeta,
        partner: &PartnerId,
        employee: &Email,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("partner/{partner}/employee/{employee}");
        self.execute(meta, CommandName::EmployeeRemovalPreview, &target, |ctx| {
            let partner_record = ctx.partner_record(partner)?;
            let (clients, version) = employee_preview(ctx, &partner_record, employee)?;
            Ok((
                false,
                json!({"employee": employee, "clients": clients, "version": version}),
            ))
        })
    }

    /// REM-1, REM-2, REM-5: remove the employee from the chosen clients, if nothing changed
    /// since the preview.
    pub fn remove_employee(
        &self,
        meta: &CommandMeta,
        partner: &PartnerId,
        employee: &Email,
        body: &RemoveEmployee,
    ) -> Result<CommandAnswer, AppError> {
        if body.clients.is_empty() || body.clients.len() > MAX_LIST {
            return Err(AppError::invalid(format!(
                "clients: expected 1 to {MAX_LIST} client ids, got {}",
                body.clients.len()
            )));
        }
        let target = format!("partner/{partner}/employee/{employee}");
        self.execute(meta, CommandName::EmployeeRemove, &target, |ctx| {
            let partner_record = ctx.partner_record(partner)?;
            let (clients, version) = employee_preview(ctx, &partner_record, employee)?;
            if version != body.version {
                return Err(conflict(
                    "the preview is stale: the employee's clients or assets changed since; preview again",
                    &["REM-5"],
                ));
            }
            let listed: BTreeSet<String> = clients
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["client"].as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let mut removed = Vec::new();
            // A client named twice is removed from once.
            let chosen: BTreeSet<&ClientId> = body.clients.iter().collect();
            for client_id in chosen {
                if !listed.contains(client_id.as_str()) {
                    return Err(invalid(format!(
                        "clients: `{client_id}` is not in the preview (the employee is not a partner user there)"
                    )));
                }
                let mut client = ctx.client_record(client_id)?;
                remove_partner_user(ctx, &mut client, employee)?;
                ctx.save_client(&client)?;
                removed.push(client_id.clone());
            }
            Ok((false, json!({"employee": employee, "removed_from": removed})))
        })
    }

    /// REM-6, REM-8: every partner user of the actor's partner in the client, with assets.
    pub fn client_removal_preview(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}");
        let command = CommandName::PartnerUsersRemovalPreview;
        self.execute(meta, command, &target, |ctx| {
            let client = ctx.client_record(client_id)?;
            let partner = ctx.actor_partner()?;
            ctx.authorize("client.users.view", account(client_id), context([]))?;
            let (users, version) = client_preview(&client, &partner);
            Ok((
                false,
                json!({"client": client_id, "partner": partner, "users": users,
                "version": version}),
            ))
        })
    }

    /// REM-6, REM-7, REM-8, REL-2: remove every partner user of the actor's partner from the
    /// client, if nothing changed since the preview.
    pub fn remove_all_partner_users(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        body: &RemoveAll,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}");
        self.execute(meta, CommandName::PartnerUsersRemoveAll, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let partner = ctx.actor_partner()?;
            let (users, version) = client_preview(&client, &partner);
            if version != body.version {
                return Err(conflict(
                    "the preview is stale: the partner users or their assets changed since; preview again",
                    &["REM-6"],
                ));
            }
            let emails: Vec<Email> = managed_partner_users(&client, &partner)
                .map(|u| u.email.clone())
                .collect();
            for email in &emails {
                remove_partner_user(ctx, &mut client, email)?;
            }
            ctx.save_client(&client)?;
            Ok((false, json!({"client": client_id, "removed": emails, "count": users.as_array().map_or(0, Vec::len)})))
        })
    }
}

/// Removes one partner user from a client: authorized per user, MIG-4, event, relationship.
fn remove_partner_user(
    ctx: &mut Ctx<'_>,
    client: &mut ClientRecord,
    email: &Email,
) -> CmdResult<()> {
    let user = ctx.member(client, email)?;
    let all = all_deactivated(client, user.partner.as_ref());
    ctx.authorize(
        "partner_user.remove",
        account(&client.id),
        context([
            ("target", user_ref(email)),
            ("all_partner_users_deactivated", json!(all)),
        ]),
    )?;
    ctx.keep_a_super_admin(client, email, None)?;
    ctx.record_activity(client)?;
    client.users.retain(|u| &u.email != email);
    ctx.emit(
        EventKind::UserRemoved,
        Some(&client.id),
        json!({"client": client.id, "email": email, "assets": assets_of(client, email)}),
    );
    ctx.partner_users_removed(client);
    Ok(())
}

/// The clients of an employee's preview and its version. A CAM user of the partner (PA-1
/// `view`) sees every client where the employee is a partner user; anyone else sees the
/// clients where the policies let it remove the employee (a partner admin there, REM-1), and
/// is refused when there are none.
fn employee_preview(
    ctx: &mut Ctx<'_>,
    partner: &crate::domain::PartnerRecord,
    employee: &Email,
) -> CmdResult<(Value, String)> {
    let actor = ctx.actor.clone();
    let partner_ref = EntityRef::new(EntityKind::Partner, partner.id.as_str());
    let sees_all = ctx
        .decide("partner.view", &actor, partner_ref.clone(), context([]))?
        .allowed;
    let mut clients = Vec::new();
    let mut found = false;
    for client_id in ctx.tx().clients_of_user(employee)? {
        let Some(client) = ctx.tx().client_record(&client_id)? else {
            continue;
        };
        let Some(user) = client.users.iter().find(|u| &u.email == employee) else {
            continue;
        };
        if user.partner.as_ref() != Some(&partner.id) {
            continue;
        }
        found = true;
        if !sees_all {
            let all = all_deactivated(&client, Some(&partner.id));
            let may_remove = ctx
                .decide(
                    "partner_user.remove",
                    &actor,
                    account(&client.id),
                    context([
                        ("target", user_ref(employee)),
                        ("all_partner_users_deactivated", json!(all)),
                    ]),
                )?
                .allowed;
            if !may_remove {
                continue;
            }
        }
        clients.push(json!({
            "client": client.id,
            "crm_name": partner.crm_names.get(&client.id),
            "official_name": client.official_name,
            "role": user.role,
            "status": user.status,
            "assets": assets_of(&client, employee),
        }));
    }
    if !found {
        return Err(not_found(format!(
            "`{employee}` is not a partner user of partner `{}` in any client",
            partner.id
        )));
    }
    if clients.is_empty() {
        return Err(CmdError::Refused(AppError::Forbidden {
            message: format!(
                "`{actor}` may neither list the partner's employees (PA-1) nor remove `{employee}` from any client (REM-1)"
            ),
            rules: vec!["PA-1".into(), "REM-1".into(), "REM-2".into()],
        }));
    }
    let clients = Value::Array(clients);
    let version = sha256_hex(&clients.to_string());
    Ok((clients, version))
}

/// The partner users of a client's preview and its version.
fn client_preview(client: &ClientRecord, partner: &PartnerId) -> (Value, String) {
    let users = Value::Array(
        managed_partner_users(client, partner)
            .map(|u| {
                json!({"email": u.email, "role": u.role, "status": u.status,
                       "assets": assets_of(client, &u.email)})
            })
            .collect(),
    );
    let version = sha256_hex(&users.to_string());
    (users, version)
}
