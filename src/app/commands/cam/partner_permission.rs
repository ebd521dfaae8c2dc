//! `PUT` and `DELETE /v1/clients/{client}/partner-users/{employee}/permissions/{permission}`
//! (PERM-4 with PERM-1..3): add or remove one permission of a partner user of the actor's
//! partner from the CAM, without applying a whole set. The role stays (a partner admin with one
//! permission more or less is still a partner admin); the change is clamped by
//! grant-only-what-you-hold (a permission the actor may not give is `withheld`, one it may not
//! take away is `kept`), and an eligible user gets the partner seat (PERM-3).

use std::collections::BTreeSet;

use serde_json::json;

use super::ActorOnly;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, PermissionsApplied, account, context,
    user_ref, with_one,
};
use crate::domain::{ClientId, Email, Permission};

/// `PUT`: add the permission.
#[derive(Debug, Clone)]
pub struct GrantPartnerPermission {
    pub client: ClientId,
    pub employee: Email,
    pub permission: Permission,
}

/// `DELETE`: remove the permission.
#[derive(Debug, Clone)]
pub struct RevokePartnerPermission {
    pub client: ClientId,
    pub employee: Email,
    pub permission: Permission,
}

macro_rules! partner_permission {
    ($t:ident, $name:ident, $grant:literal) => {
        impl Command for $t {
            type Path = (ClientId, Email, Permission);
            type Body = ActorOnly;
            type Answer = PermissionsApplied;

            fn new((client, employee, permission): Self::Path, _: ActorOnly) -> Self {
                $t {
                    client,
                    employee,
                    permission,
                }
            }

            fn name(&self) -> CommandName {
                CommandName::$name
            }

            fn target(&self) -> String {
                format!(
                    "client/{}/user/{}/permission/{}",
                    self.client, self.employee, self.permission
                )
            }

            fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<PermissionsApplied>> {
                set_one(ctx, &self.client, &self.employee, &self.permission, $grant)
            }
        }
    };
}

partner_permission!(GrantPartnerPermission, PartnerUserGrantPermission, true);
partner_permission!(RevokePartnerPermission, PartnerUserRevokePermission, false);

fn set_one(
    ctx: &mut Ctx<'_>,
    client_id: &ClientId,
    employee: &Email,
    permission: &Permission,
    grant: bool,
) -> CmdResult<Applied<PermissionsApplied>> {
    ctx.catalogue_permission(permission)?;
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
    let (role, seat) = (user.role, user.seat);
    client.set_user(user);
    ctx.record_activity(&mut client)?;
    ctx.save_client(&client)?;
    Ok(Applied::changed(PermissionsApplied {
        clamped,
        role,
        seat: Some(seat),
    }))
}
