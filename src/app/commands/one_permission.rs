//! `PUT` and `DELETE …/permissions/{permission}` on either side (PERM-4): add or remove one
//! permission of a user without applying a whole set; the role stays. The two sides (the
//! Client Access Manager on a partner user, `cam`, and the client account on its own user,
//! `client_side`) run the same steps in the same order — the permission is in the catalogue,
//! the user is a member, the policies allow it, grant-only-what-you-hold clamps the change —
//! and differ only in what a [`PermissionSide`] says: the policy action, the names in the
//! audit log, and how the clamped permissions are applied.
//!
//! It owns that shared run and [`with_one`]; it may not know either side's rules (PA-1, the
//! partner seat), which stay in the side's own file.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use serde_json::json;

use super::cam::ActorOnly;
use super::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, PermissionsApplied, account, context,
    user_ref,
};
use crate::domain::{ClientId, ClientRecord, ClientUserRecord, Email, Permission};

/// What differs between the two sides of a single-permission change.
pub trait PermissionSide: std::fmt::Debug + Clone + Send + Sync + 'static {
    /// What [`PermissionSide::prepare`] finds out before the policies are asked.
    type Prepared;
    /// The policy action asked.
    const ACTION: &'static str;
    /// The audit names of the grant and of the revoke.
    const GRANT: CommandName;
    const REVOKE: CommandName;
    /// Whether the side answers the user's seat (the CAM's does, PERM-3).
    const ANSWERS_SEAT: bool;

    /// What the side checks after the user is found and before the policies are asked.
    fn prepare(ctx: &mut Ctx<'_>) -> CmdResult<Self::Prepared>;

    /// The user with `wanted` applied as the side applies it (clamped by
    /// grant-only-what-you-hold), and what the clamp did.
    fn apply(
        ctx: &mut Ctx<'_>,
        prepared: Self::Prepared,
        client: &ClientRecord,
        email: &Email,
        existing: &ClientUserRecord,
        wanted: &BTreeSet<Permission>,
    ) -> CmdResult<(ClientUserRecord, super::Clamped)>;
}

/// The command: add (`GRANT`) or remove one permission of a user, on side `S`.
#[derive(Debug, Clone)]
pub struct OnePermission<S: PermissionSide, const GRANT: bool> {
    pub client: ClientId,
    pub email: Email,
    pub permission: Permission,
    side: PhantomData<S>,
}

impl<S: PermissionSide, const GRANT: bool> Command for OnePermission<S, GRANT> {
    type Path = (ClientId, Email, Permission);
    type Body = ActorOnly;
    type Answer = PermissionsApplied;

    fn new((client, email, permission): Self::Path, _: ActorOnly) -> Self {
        OnePermission {
            client,
            email,
            permission,
            side: PhantomData,
        }
    }

    fn name(&self) -> CommandName {
        if GRANT { S::GRANT } else { S::REVOKE }
    }

    fn target(&self) -> String {
        format!(
            "client/{}/user/{}/permission/{}",
            self.client, self.email, self.permission
        )
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<PermissionsApplied>> {
        let (client_id, email, permission) = (&self.client, &self.email, &self.permission);
        ctx.catalogue_permission(permission)?;
        let mut client = ctx.client_record(client_id)?;
        let existing = ctx.member(&client, email)?;
        let prepared = S::prepare(ctx)?;
        ctx.authorize(
            S::ACTION,
            account(client_id),
            context([
                ("target", user_ref(email)),
                ("permission", json!(permission.as_str())),
            ]),
        )?;
        let current: BTreeSet<Permission> = existing.permissions.iter().cloned().collect();
        let wanted = with_one(&current, permission, GRANT);
        let (user, clamped) = S::apply(ctx, prepared, &client, email, &existing, &wanted)?;
        if user.seat != existing.seat {
            ctx.emit(
                EventKind::SeatChanged,
                Some(client_id),
                json!({"client": client_id, "email": email, "from": existing.seat, "to": user.seat}),
            );
        }
        if user.permissions != existing.permissions {
            ctx.emit(
                EventKind::PermissionsChanged,
                Some(client_id),
                json!({"client": client_id, "email": email, "role": user.role,
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
            seat: S::ANSWERS_SEAT.then_some(seat),
        }))
    }
}

/// A user's permissions with one added (`grant`) or taken away.
fn with_one(
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
