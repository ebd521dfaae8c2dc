//! Commands issued in the client account: super admin to partner admin (MIG), creating users
//! (SEAT-6, SEAT-7), seats (SEAT-3, SEAT-5, SEAT-8), the client's permission sets (SEAT-4),
//! and removing users (REM-9).

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    CmdError, CmdResult, CommandAnswer, CommandMeta, CommandName, Ctx, EventKind, conflict,
    context, invalid, user_ref,
};
use crate::app::{App, AppError};
use crate::domain::{
    ClientId, ClientRecord, ClientUserRecord, Email, PaidHub, Permission, PermissionSetName, Role,
    Seat, Status,
    catalogue::{BILLING_PERMISSIONS, PARTNER_ADMIN_SET, role_for_set},
};
use crate::policy::{EntityKind, EntityRef};

use super::cam::{MAX_LIST, catalogue_permission, with_one};

/// `POST /v1/clients/{client}/partner-admins`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateToPartnerAdmin {
    pub actor: Email,
    pub user: Email,
    #[serde(default)]
    pub keep_billing: bool,
}

/// `POST /v1/clients/{client}/users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub actor: Email,
    pub email: Email,
    pub seat: Seat,
    pub permission_set: PermissionSetName,
    /// Paid hub licences besides the seat (SEAT-9); giving any needs SEAT-8's rights.
    #[serde(default)]
    pub paid_hubs: Vec<PaidHub>,
}

/// `PUT /v1/clients/{client}/users/{email}/paid-hubs`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetPaidHubs {
    pub actor: Email,
    pub paid_hubs: Vec<PaidHub>,
}

/// `PUT /v1/clients/{client}/users/{email}/seat`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetSeat {
    pub actor: Email,
    pub seat: Seat,
}

/// `PUT /v1/clients/{client}/users/{email}/permission-set`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetClientPermissionSet {
    pub actor: Email,
    pub permission_set: PermissionSetName,
}

/// `POST /v1/clients/{client}/seats`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignSeats {
    pub actor: Email,
    pub users: Vec<Email>,
    pub seat: Seat,
}

fn account(client: &ClientId) -> EntityRef {
    EntityRef::new(EntityKind::Account, client.as_str())
}

fn replace_user(client: &mut ClientRecord, user: ClientUserRecord) {
    client.users.retain(|u| u.email != user.email);
    client.users.push(user);
}

/// The user as the saved client holds it (a save may link it to its partner, LINK-3).
fn saved_user(saved: &ClientRecord, user: ClientUserRecord) -> ClientUserRecord {
    saved
        .users
        .iter()
        .find(|u| u.email == user.email)
        .cloned()
        .unwrap_or(user)
}

fn seat_ineligible(email: &Email, client: &ClientId) -> CmdError {
    CmdError::Refused(AppError::Forbidden {
        message: format!(
            "`{email}` may not hold the partner seat in `{client}`: it is for employees of solutions partners and providers with an approved partner e-mail domain"
        ),
        rules: vec!["SEAT-2".into(), "partner-seat-eligibility".into()],
    })
}

impl Ctx<'_> {
    /// SEAT-8: may the actor put `email` on `seat` in the client. Every command that sets a
    /// seat asks this one question.
    pub(super) fn authorize_seat(
        &mut self,
        client: &ClientId,
        email: &Email,
        seat: Seat,
    ) -> CmdResult<()> {
        self.authorize(
            "user.set_seat",
            account(client),
            context([("target", user_ref(email)), ("seat", json!(seat.as_str()))]),
        )
    }

    /// SEAT-9, SEAT-8: may the actor give `email` these paid hub licences in the client. Every
    /// command that sets paid licences asks this one question.
    pub(super) fn authorize_paid_hubs(
        &mut self,
        client: &ClientId,
        email: &Email,
        hubs: &[PaidHub],
    ) -> CmdResult<()> {
        self.authorize(
            "user.set_paid_hubs",
            account(client),
            context([
                ("target", user_ref(email)),
                (
                    "paid_hubs",
                    json!(hubs.iter().map(|h| h.as_str()).collect::<Vec<_>>()),
                ),
            ]),
        )
    }

    /// SEAT-5: a partner admin must hold the partner seat.
    fn partner_admins_keep_the_seat(&self, user: &ClientUserRecord) -> CmdResult<()> {
        if user.role == Role::PartnerAdmin && user.seat != Seat::Partner {
            return Err(conflict(
                format!(
                    "`{}` is a partner admin and must hold the partner seat, not `{}`",
                    user.email, user.seat
                ),
                &["SEAT-5"],
            ));
        }
        Ok(())
    }

    /// The partner a user would be linked to as partner admin: its employer.
    fn employer_of(&mut self, email: &Email) -> CmdResult<Option<crate::domain::PartnerId>> {
        Ok(self
            .tx()
            .user(email)?
            .and_then(|u| u.employment)
            .map(|e| e.partner))
    }
}

impl App {
    /// MIG-1..4: a super admin (itself, or a colleague of the same partner once partner admin)
    /// becomes partner admin, keeping billing if asked.
    pub fn migrate_to_partner_admin(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        body: &MigrateToPartnerAdmin,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{}", body.user);
        self.execute(meta, CommandName::PartnerAdminMigrate, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let existing = ctx.member(&client, &body.user)?;
            ctx.authorize(
                "partner_admin.migrate",
                account(client_id),
                context([
                    ("target", user_ref(&body.user)),
                    ("keep_billing", json!(body.keep_billing)),
                ]),
            )?;
            if !ctx.partner_seat_eligible(&body.user, client_id)? {
                return Err(conflict(
                    format!(
                        "`{}` cannot become partner admin of `{client_id}`: a partner admin must hold the partner seat, and `{}` is not eligible for it",
                        body.user, body.user
                    ),
                    &["SEAT-5", "SEAT-2", "MIG-1"],
                ));
            }
            let partner = ctx
                .employer_of(&body.user)?
                .ok_or_else(|| super::not_found(format!("`{}` is not a partner employee", body.user)))?;
            ctx.managed_by_no_other(&client, &partner)?;
            let mut permissions: BTreeSet<Permission> = ctx
                .catalogue()
                .template(PARTNER_ADMIN_SET)
                .cloned()
                .unwrap_or_default();
            if body.keep_billing {
                for p in BILLING_PERMISSIONS {
                    if let Ok(p) = Permission::parse(p) {
                        permissions.insert(p);
                    }
                }
            }
            let user = ClientUserRecord {
                email: body.user.clone(),
                role: Role::PartnerAdmin,
                seat: Seat::Partner,
                permissions: permissions.into_iter().collect(),
                // A deactivated super admin stays deactivated: migration is no reactivation.
                status: existing.status,
                partner: Some(partner.clone()),
                keep_billing: body.keep_billing,
                paid_hubs: existing.paid_hubs.clone(),
            };
            ctx.keep_a_super_admin(&client, &body.user, Some(&user))?;
            replace_user(&mut client, user.clone());
            ctx.partner_user_added(&mut client, &partner);
            ctx.save_client(&client)?;
            if existing.seat != Seat::Partner {
                ctx.emit(
                    EventKind::SeatChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": body.user, "from": existing.seat, "to": "partner"}),
                );
            }
            ctx.emit(
                EventKind::PermissionsChanged,
                Some(client_id),
                json!({"client": client_id, "email": body.user, "role": "partner_admin",
                       "permissions": user.permissions}),
            );
            Ok((false, serde_json::to_value(&user).unwrap_or(Value::Null)))
        })
    }

    /// SEAT-6, SEAT-7: a user with `users.add_edit` creates a user with a seat and one of the
    /// client's permission sets; the user gets a `user.created` event (the e-mail notice).
    pub fn create_user(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        body: &CreateUser,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{}", body.email);
        self.execute(meta, CommandName::UserCreate, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            if client.users.iter().any(|u| u.email == body.email) {
                return Err(conflict(
                    format!("`{}` is already a user of `{client_id}`", body.email),
                    &[],
                ));
            }
            let set = ctx.permission_set(&body.permission_set, &client.permission_sets)?;
            let role = role_for_set(&body.permission_set);
            ctx.authorize(
                "user.create",
                account(client_id),
                context([
                    ("target", user_ref(&body.email)),
                    ("seat", json!(body.seat.as_str())),
                    ("role", json!(role.as_str())),
                ]),
            )?;
            // What costs money is authorized as such, however it is given: a paid seat as a
            // seat change (SEAT-8), paid licences as a licence change (SEAT-9).
            if body.seat.is_paid() {
                ctx.authorize_seat(client_id, &body.email, body.seat)?;
            }
            let paid_hubs = PaidHub::normalized(&body.paid_hubs);
            if !paid_hubs.is_empty() {
                ctx.authorize_paid_hubs(client_id, &body.email, &paid_hubs)?;
            }
            if body.seat == Seat::Partner && !ctx.partner_seat_eligible(&body.email, client_id)? {
                return Err(seat_ineligible(&body.email, client_id));
            }
            let partner = match role {
                Role::PartnerAdmin => Some(ctx.employer_of(&body.email)?.ok_or_else(|| {
                    invalid(format!(
                        "`{}` is not a partner employee; the partner admin set is for partner employees (PA-2)",
                        body.email
                    ))
                })?),
                _ => None,
            };
            if let Some(p) = &partner {
                ctx.managed_by_no_other(&client, p)?;
            }
            let clamped = ctx.grant_clamp(client_id, &body.email, &BTreeSet::new(), &set)?;
            let user = ClientUserRecord {
                email: body.email.clone(),
                role,
                seat: body.seat,
                permissions: clamped.permissions.iter().cloned().collect(),
                status: Status::Active,
                partner: partner.clone(),
                keep_billing: false,
                paid_hubs: paid_hubs.clone(),
            };
            ctx.partner_admins_keep_the_seat(&user)?;
            replace_user(&mut client, user.clone());
            if let Some(p) = &partner {
                ctx.partner_user_added(&mut client, p);
            }
            // Saved as linked to its partner when it is a verified employee (LINK-3).
            let saved = ctx.save_client(&client)?;
            let user = saved_user(&saved, user);
            ctx.emit(
                EventKind::UserCreated,
                Some(client_id),
                json!({"client": client_id, "email": body.email, "role": role.as_str(),
                       "seat": body.seat, "created_by": ctx.actor}),
            );
            let mut answer = serde_json::to_value(&user).unwrap_or(Value::Null);
            if let Value::Object(map) = &mut answer {
                map.insert("withheld".into(), json!(clamped.withheld));
            }
            Ok((true, answer))
        })
    }

    /// SEAT-5, SEAT-8: change a user's seat.
    pub fn set_seat(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        email: &Email,
        body: &SetSeat,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{email}");
        self.execute(meta, CommandName::UserSetSeat, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let mut user = ctx.member(&client, email)?;
            ctx.authorize_seat(client_id, email, body.seat)?;
            if body.seat == Seat::Partner && !ctx.partner_seat_eligible(email, client_id)? {
                return Err(seat_ineligible(email, client_id));
            }
            let from = user.seat;
            user.seat = body.seat;
            ctx.partner_admins_keep_the_seat(&user)?;
            replace_user(&mut client, user.clone());
            ctx.record_activity(&mut client)?;
            let saved = ctx.save_client(&client)?;
            let user = saved_user(&saved, user);
            if from != body.seat {
                ctx.emit(
                    EventKind::SeatChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": email, "from": from, "to": body.seat}),
                );
            }
            Ok((false, serde_json::to_value(&user).unwrap_or(Value::Null)))
        })
    }

    /// SEAT-4: apply one of the client's permission sets to a user.
    pub fn set_client_permission_set(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        email: &Email,
        body: &SetClientPermissionSet,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{email}");
        self.execute(meta, CommandName::UserSetPermissionSet, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let existing = ctx.member(&client, email)?;
            let set = ctx.permission_set(&body.permission_set, &client.permission_sets)?;
            let role = role_for_set(&body.permission_set);
            ctx.authorize(
                "user.set_permission_set",
                account(client_id),
                context([("target", user_ref(email)), ("role", json!(role.as_str()))]),
            )?;
            let current: BTreeSet<Permission> = existing.permissions.iter().cloned().collect();
            let clamped = ctx.grant_clamp(client_id, email, &current, &set)?;
            let partner = match role {
                Role::PartnerAdmin => existing.partner.clone().or(ctx.employer_of(email)?),
                _ => existing.partner.clone(),
            };
            // Becoming a partner admin links the user to its employer: that partner must not
            // be a second one in a client another partner manages (LINK-2).
            let newly_linked = partner.clone().filter(|_| existing.partner.is_none());
            if let Some(p) = &newly_linked {
                ctx.managed_by_no_other(&client, p)?;
            }
            let user = ClientUserRecord {
                role,
                permissions: clamped.permissions.iter().cloned().collect(),
                partner,
                ..existing.clone()
            };
            if role == Role::PartnerAdmin && user.partner.is_none() {
                return Err(invalid(format!(
                    "`{email}` is not a partner employee; the partner admin set is for partner employees (PA-2)"
                )));
            }
            ctx.partner_admins_keep_the_seat(&user)?;
            ctx.keep_a_super_admin(&client, email, Some(&user))?;
            replace_user(&mut client, user.clone());
            if let Some(p) = &newly_linked {
                ctx.partner_user_added(&mut client, p);
            }
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            ctx.emit(
                EventKind::PermissionsChanged,
                Some(client_id),
                json!({"client": client_id, "email": email, "role": role.as_str(),
                       "permissions": user.permissions}),
            );
            Ok((
                false,
                json!({"permissions": clamped.permissions, "withheld": clamped.withheld,
                       "kept": clamped.kept, "role": role.as_str()}),
            ))
        })
    }

    /// PERM-4, SEAT-4: add (`grant`) or remove one permission of a user from inside the client
    /// account, without applying a whole set; the role stays. Needs SEAT-4's rights (for a
    /// partner-seat user, `users.add_edit` and `billing.edit`, or a super admin); a super admin
    /// grants and removes any permission, anyone else only what it holds (PERM-2).
    pub fn set_client_permission(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        email: &Email,
        permission: &Permission,
        grant: bool,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{email}/permission/{permission}");
        let command = if grant {
            CommandName::UserGrantPermission
        } else {
            CommandName::UserRevokePermission
        };
        self.execute(meta, command, &target, |ctx| {
            catalogue_permission(ctx, permission)?;
            let mut client = ctx.client_record(client_id)?;
            let existing = ctx.member(&client, email)?;
            ctx.authorize(
                "user.set_permission",
                account(client_id),
                context([
                    ("target", user_ref(email)),
                    ("permission", json!(permission.as_str())),
                ]),
            )?;
            let current: BTreeSet<Permission> = existing.permissions.iter().cloned().collect();
            let clamped = ctx.grant_clamp(
                client_id,
                email,
                &current,
                &with_one(&current, permission, grant),
            )?;
            let user = ClientUserRecord {
                permissions: clamped.permissions.iter().cloned().collect(),
                ..existing.clone()
            };
            if user.permissions != existing.permissions {
                ctx.emit(
                    EventKind::PermissionsChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": email, "role": user.role,
                           "permissions": user.permissions}),
                );
            }
            replace_user(&mut client, user.clone());
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            Ok((
                false,
                json!({"permissions": clamped.permissions, "withheld": clamped.withheld,
                       "kept": clamped.kept, "role": user.role}),
            ))
        })
    }

    /// SEAT-9, SEAT-8: set a user's paid Sales Hub / Service Hub licences, held besides its
    /// seat (a partner admin keeps its partner seat and can still use paid features on legacy
    /// pricing). Needs SEAT-8's rights.
    pub fn set_paid_hubs(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        email: &Email,
        body: &SetPaidHubs,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{email}");
        let hubs = PaidHub::normalized(&body.paid_hubs);
        self.execute(meta, CommandName::UserSetPaidHubs, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let mut user = ctx.member(&client, email)?;
            ctx.authorize_paid_hubs(client_id, email, &hubs)?;
            let from = std::mem::replace(&mut user.paid_hubs, hubs.clone());
            if from != hubs {
                ctx.emit(
                    EventKind::PaidHubsChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": email, "from": from, "to": hubs}),
                );
                replace_user(&mut client, user.clone());
                ctx.record_activity(&mut client)?;
                let saved = ctx.save_client(&client)?;
                user = saved_user(&saved, user);
            }
            Ok((false, serde_json::to_value(&user).unwrap_or(Value::Null)))
        })
    }

    /// SEAT-3: the partner seat for several users at once, only if every one is eligible;
    /// otherwise nothing changes and the ineligible users are named.
    pub fn assign_seats(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        body: &AssignSeats,
    ) -> Result<CommandAnswer, AppError> {
        if body.users.is_empty() || body.users.len() > MAX_LIST {
            return Err(AppError::invalid(format!(
                "users: expected 1 to {MAX_LIST} e-mails, got {}",
                body.users.len()
            )));
        }
        if body.seat != Seat::Partner {
            return Err(AppError::invalid(
                "seat: the bulk assignment is for the partner seat (`partner`); change other seats one user at a time",
            ));
        }
        let target = format!("client/{client_id}");
        self.execute(meta, CommandName::UserAssignSeats, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let mut ineligible = Vec::new();
            let mut users = Vec::new();
            for email in body.users.iter().collect::<BTreeSet<_>>() {
                let user = ctx.member(&client, email)?;
                ctx.authorize_seat(client_id, email, Seat::Partner)?;
                if !ctx.partner_seat_eligible(email, client_id)? {
                    ineligible.push(email.to_string());
                }
                users.push(user);
            }
            if !ineligible.is_empty() {
                return Err(conflict(
                    format!(
                        "nothing was assigned: not eligible for the partner seat: {}",
                        ineligible.join(", ")
                    ),
                    &["SEAT-3", "SEAT-2"],
                ));
            }
            for mut user in users {
                if user.seat != Seat::Partner {
                    ctx.emit(
                        EventKind::SeatChanged,
                        Some(client_id),
                        json!({"client": client_id, "email": user.email, "from": user.seat, "to": "partner"}),
                    );
                    user.seat = Seat::Partner;
                    replace_user(&mut client, user);
                }
            }
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
            Ok((false, json!({"client": client_id, "seat": "partner", "users": body.users})))
        })
    }

    /// REM-9, MIG-4: remove a user from the client account, from inside it.
    pub fn remove_user(
        &self,
        meta: &CommandMeta,
        client_id: &ClientId,
        email: &Email,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{client_id}/user/{email}");
        self.execute(meta, CommandName::UserRemove, &target, |ctx| {
            let mut client = ctx.client_record(client_id)?;
            let user = ctx.member(&client, email)?;
            ctx.authorize(
                "user.remove",
                account(client_id),
                context([("target", user_ref(email))]),
            )?;
            ctx.keep_a_super_admin(&client, email, None)?;
            ctx.record_activity(&mut client)?;
            client.users.retain(|u| &u.email != email);
            ctx.emit(
                EventKind::UserRemoved,
                Some(client_id),
                json!({"client": client_id, "email": email, "removed_by": ctx.actor}),
            );
            if user.partner.is_some() {
                ctx.partner_users_removed(&mut client);
            }
            ctx.save_client(&client)?;
            Ok((
                false,
                json!({"client": client_id, "email": email, "outcome": "removed"}),
            ))
        })
    }
}
