//! `PUT` and `DELETE /v1/clients/{client}/partner-users/{employee}/permissions/{permission}`
//! (PERM-4 with PERM-1..3): add or remove one permission of a partner user of the actor's
//! partner from the CAM, without applying a whole set. The role stays (a partner admin with one
//! permission more or less is still a partner admin); the change is clamped by
//! grant-only-what-you-hold (a permission the actor may not give is `withheld`, one it may not
//! take away is `kept`), and an eligible user gets the partner seat (PERM-3).
//!
//! The run is [`OnePermission`]'s; this file says what the CAM's side adds: the actor must be a
//! partner employee (PA-1), and the set is applied as the CAM applies one (with the seat).

use std::collections::BTreeSet;

use crate::app::commands::one_permission::{OnePermission, PermissionSide};
use crate::app::commands::{Clamped, CmdResult, CommandName, Ctx};
use crate::domain::{ClientRecord, ClientUserRecord, Email, PartnerId, Permission};

/// The CAM's side: a partner user of the actor's partner.
#[derive(Debug, Clone)]
pub struct PartnerSide;

/// `PUT`: add the permission.
pub type GrantPartnerPermission = OnePermission<PartnerSide, true>;

/// `DELETE`: remove the permission.
pub type RevokePartnerPermission = OnePermission<PartnerSide, false>;

impl PermissionSide for PartnerSide {
    type Prepared = PartnerId;
    const ACTION: &'static str = "partner_user.set_permission";
    const GRANT: CommandName = CommandName::PartnerUserGrantPermission;
    const REVOKE: CommandName = CommandName::PartnerUserRevokePermission;
    const ANSWERS_SEAT: bool = true;

    fn prepare(ctx: &mut Ctx<'_>) -> CmdResult<PartnerId> {
        ctx.actor_partner()
    }

    fn apply(
        ctx: &mut Ctx<'_>,
        partner_id: PartnerId,
        client: &ClientRecord,
        email: &Email,
        existing: &ClientUserRecord,
        wanted: &BTreeSet<Permission>,
    ) -> CmdResult<(ClientUserRecord, Clamped)> {
        ctx.apply_cam_set(
            client,
            &partner_id,
            email,
            Some(existing),
            wanted,
            existing.role,
        )
    }
}
