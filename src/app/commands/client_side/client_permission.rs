//! `PUT` and `DELETE /v1/clients/{client}/users/{email}/permissions/{permission}` (PERM-4,
//! SEAT-4): add or remove one permission of a user from inside the client account, without
//! applying a whole set; the role stays. Needs SEAT-4's rights (for a partner-seat user,
//! `users.add_edit` and `billing.edit`, or a super admin); a super admin grants and removes any
//! permission, anyone else only what it holds (PERM-2).

use std::collections::BTreeSet;

use serde_json::json;

use crate::app::commands::cam::ActorOnly;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, PermissionsApplied, account, context,
    user_ref, with_one,
};
use crate::domain::{ClientId, ClientUserRecord, Email, Permission};

/// `PUT`: add the permission.
#[derive(Debug, Clone)]
pub struct GrantClientPermission {
    pub client: ClientId,
    pub email: Email,
    pub permission: Permission,
}

/// `DELETE`: remove the permission.
#[derive(Debug, Clone)]
pub struct RevokeClientPermission {
    pub client: ClientId,
    pub email: Email,
    pub permission: Permission,
}

macro_rules! client_permission {
    ($t:ident, $name:ident, $grant:literal) => {
        impl Command for $t {
            type Path = (ClientId, Email, Permission);
            type Body = ActorOnly;
            type Answer = PermissionsApplied;

            fn new((client, email, permission): Self::Path, _: ActorOnly) -> Self {
                $t {
                    client,
                    email,
                    permission,
                }
            }

            fn name(&self) -> CommandName {
                CommandName::$name
            }

            fn target(&self) -> String {
                format!(
                    "client/{}/user/{}/permission/{}",
                    self.client, self.email, self.permission
                )
            }

            fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<PermissionsApplied>> {
                set_one(ctx, &self.client, &self.email, &self.permission, $grant)
            }
        }
    };
}

client_permission!(GrantClientPermission, UserGrantPermission, true);
client_permission!(RevokeClientPermission, UserRevokePermission, false);

fn set_one(
    ctx: &mut Ctx<'_>,
    client_id: &ClientId,
    email: &Email,
    permission: &Permission,
    grant: bool,
) -> CmdResult<Applied<PermissionsApplied>> {
    ctx.catalogue_permission(permission)?;
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
    let role = user.role;
    client.set_user(user);
    ctx.record_activity(&mut client)?;
    ctx.save_client(&client)?;
    Ok(Applied::changed(PermissionsApplied {
        clamped,
        role,
        seat: None,
    }))
}
