//! `PUT /v1/clients/{client}/partner-users/{employee}/permission-set` (PERM-1..3): a partner
//! admin applies a permission set to a partner user of its partner (grant only what you hold).

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, PermissionsApplied, account,
    body_with_actor, context, user_ref,
};
use crate::domain::{ClientId, Email, PermissionSetName, catalogue::role_for_set};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPartnerPermissionSetBody {
    pub actor: Email,
    pub permission_set: PermissionSetName,
}

/// The command.
#[derive(Debug, Clone)]
pub struct SetPartnerPermissionSet {
    pub client: ClientId,
    pub employee: Email,
    pub body: SetPartnerPermissionSetBody,
}

body_with_actor!(SetPartnerPermissionSetBody);

impl Command for SetPartnerPermissionSet {
    type Path = (ClientId, Email);
    type Body = SetPartnerPermissionSetBody;
    type Answer = PermissionsApplied;

    fn new((client, employee): Self::Path, body: SetPartnerPermissionSetBody) -> Self {
        SetPartnerPermissionSet {
            client,
            employee,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerUserSetPermissionSet
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.employee)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<PermissionsApplied>> {
        let (client_id, employee) = (&self.client, &self.employee);
        let mut client = ctx.client_record(client_id)?;
        let existing = ctx.member(&client, employee)?;
        let partner_id = ctx.actor_partner()?;
        let partner = ctx.partner_record(&partner_id)?;
        let set = ctx.permission_set(&self.body.permission_set, &partner.permission_sets)?;
        let role = role_for_set(&self.body.permission_set);
        ctx.authorize(
            "partner_user.set_permission_set",
            account(client_id),
            context([
                ("target", user_ref(employee)),
                ("role", json!(role.as_str())),
            ]),
        )?;
        let (user, clamped) =
            ctx.apply_cam_set(&client, &partner_id, employee, Some(&existing), &set, role)?;
        client.keeps_a_super_admin(employee, Some(&user))?;
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
        let seat = user.seat;
        client.set_user(user);
        ctx.record_activity(&mut client)?;
        ctx.save_client(&client)?;
        Ok(Applied::changed(PermissionsApplied {
            clamped,
            role,
            seat: Some(seat),
        }))
    }
}
