//! The Client Access Manager's commands on partner users: adding employees (ADD), permission
//! sets and single permissions (PERM), deactivation and reactivation, one by one or all at
//! once (REM-2, REM-3, REM-7), and removal with preview (REM-1, REM-5, REM-6, REM-8). Every one
//! of them is a CAM command: the policies ask PA-1 of its actor as well as its own rule.
//!
//! This file holds what they share: the body of the commands that carry only the actor, the
//! actor's partner, a set applied from the CAM, and removing one partner user.

mod add_partner_users;
mod client_removal;
mod employee_removal;
mod partner_permission;
mod partner_user_status;
mod reactivate_all;
mod set_partner_permission_set;

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

pub use add_partner_users::{AddOutcome, AddPartnerUsers, AddPartnerUsersBody, Added, AddedUser};
pub use client_removal::{
    ClientRemovalPreview, ClientRemovalPreviewed, PartnerUserPreview, RemoveAllBody,
    RemoveAllPartnerUsers, RemovedAll,
};
pub use employee_removal::{
    EmployeeClientPreview, EmployeeRemovalPreview, EmployeeRemovalPreviewed, RemoveEmployee,
    RemoveEmployeeBody, RemovedEmployee,
};
pub use partner_permission::{GrantPartnerPermission, RevokePartnerPermission};
pub use partner_user_status::{
    DeactivatePartnerUser, ReactivatePartnerUser, StatusChange, StatusOutcome,
};
pub use reactivate_all::{ReactivateAllPartnerUsers, ReactivatedAll};
pub use set_partner_permission_set::{SetPartnerPermissionSet, SetPartnerPermissionSetBody};

use super::{
    CmdError, CmdResult, Ctx, EventKind, account, body_with_actor, conflict, context, user_ref,
};
use crate::app::AppError;
use crate::domain::{
    AssetId, ClientRecord, ClientUserRecord, Email, PartnerId, Permission, Role, Seat, Status,
};

/// A body that carries only the actor.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActorOnly {
    pub actor: Email,
}

body_with_actor!(ActorOnly);

/// An asset a user owns in a client, as a removal preview lists it for review (REM-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OwnedAsset {
    pub id: AssetId,
    pub kind: String,
    pub name: String,
}

/// The assets a user owns in a client.
fn assets_of(client: &ClientRecord, email: &Email) -> Vec<OwnedAsset> {
    client
        .assets
        .iter()
        .filter(|a| &a.owner == email)
        .map(|a| OwnedAsset {
            id: a.id.clone(),
            kind: a.kind.clone(),
            name: a.name.clone(),
        })
        .collect()
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

    /// Removes one partner user from a client: authorized per user, MIG-4, event,
    /// relationship.
    fn remove_partner_user(&mut self, client: &mut ClientRecord, email: &Email) -> CmdResult<()> {
        let user = self.member(client, email)?;
        let all = all_deactivated(client, user.partner.as_ref());
        self.authorize(
            "partner_user.remove",
            account(&client.id),
            context([
                ("target", user_ref(email)),
                ("all_partner_users_deactivated", json!(all)),
            ]),
        )?;
        client.keeps_a_super_admin(email, None)?;
        self.record_activity(client)?;
        client.users.retain(|u| &u.email != email);
        self.emit(
            EventKind::UserRemoved,
            Some(&client.id),
            json!({"client": client.id, "email": email, "assets": assets_of(client, email)}),
        );
        self.partner_users_removed(client);
        Ok(())
    }
}
