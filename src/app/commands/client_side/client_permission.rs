//! `PUT` and `DELETE /v1/clients/{client}/users/{email}/permissions/{permission}` (PERM-4,
//! SEAT-4): add or remove one permission of a user from inside the client account, without
//! applying a whole set; the role stays. Needs SEAT-4's rights (for a partner-seat user,
//! `users.add_edit` and `billing.edit`, or a super admin); a super admin grants and removes any
//! permission, anyone else only what it holds (PERM-2).
//!
//! The run is [`OnePermission`]'s; this file says what the client account's side does: only
//! the permissions change (never the seat).

use std::collections::BTreeSet;

use crate::app::commands::one_permission::{OnePermission, PermissionSide};
use crate::app::commands::{Clamped, CmdResult, CommandName, Ctx};
use crate::domain::{ClientRecord, ClientUserRecord, Email, Permission};

/// The client account's side: any user of the client.
#[derive(Debug, Clone)]
pub struct ClientSide;

/// `PUT`: add the permission.
pub type GrantClientPermission = OnePermission<ClientSide, true>;

/// `DELETE`: remove the permission.
pub type RevokeClientPermission = OnePermission<ClientSide, false>;

impl PermissionSide for ClientSide {
    type Prepared = ();
    const ACTION: &'static str = "user.set_permission";
    const GRANT: CommandName = CommandName::UserGrantPermission;
    const REVOKE: CommandName = CommandName::UserRevokePermission;
    const ANSWERS_SEAT: bool = false;

    fn prepare(_: &mut Ctx<'_>) -> CmdResult<()> {
        Ok(())
    }

    fn apply(
        ctx: &mut Ctx<'_>,
        (): (),
        client: &ClientRecord,
        email: &Email,
        existing: &ClientUserRecord,
        wanted: &BTreeSet<Permission>,
    ) -> CmdResult<(ClientUserRecord, Clamped)> {
        let current: BTreeSet<Permission> = existing.permissions.iter().cloned().collect();
        let clamped = ctx.grant_clamp(&client.id, email, &current, wanted)?;
        let user = ClientUserRecord {
            permissions: clamped.permissions.iter().cloned().collect(),
            ..existing.clone()
        };
        Ok((user, clamped))
    }
}
