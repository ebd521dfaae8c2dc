//! `PUT /v1/clients/{client}/users/{email}/permission-set` (SEAT-4): apply one of the client's
//! permission sets to a user (grant only what you hold, PERM-2).

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::partner_admins_keep_the_seat;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, PermissionsApplied, account,
    body_with_actor, context, invalid, user_ref,
};
use crate::domain::{
    ClientId, ClientUserRecord, Email, Permission, PermissionSetName, Role, catalogue::role_for_set,
};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClientPermissionSetBody {
    pub actor: Email,
    pub permission_set: PermissionSetName,
}

/// The command.
#[derive(Debug, Clone)]
pub struct SetClientPermissionSet {
    pub client: ClientId,
    pub email: Email,
    pub body: SetClientPermissionSetBody,
}

body_with_actor!(SetClientPermissionSetBody);

impl Command for SetClientPermissionSet {
    type Path = (ClientId, Email);
    type Body = SetClientPermissionSetBody;
    type Answer = PermissionsApplied;

    fn new((client, email): Self::Path, body: SetClientPermissionSetBody) -> Self {
        SetClientPermissionSet {
            client,
            email,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::UserSetPermissionSet
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.email)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<PermissionsApplied>> {
        let (client_id, email) = (&self.client, &self.email);
        let mut client = ctx.client_record(client_id)?;
        let existing = ctx.member(&client, email)?;
        let set = ctx.permission_set(&self.body.permission_set, &client.permission_sets)?;
        let role = role_for_set(&self.body.permission_set);
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
        // Becoming a partner admin links the user to its employer: that partner must not be a
        // second one in a client another partner manages (LINK-2).
        let newly_linked = partner.clone().filter(|_| existing.partner.is_none());
        if let Some(p) = &newly_linked {
            client.managed_by_no_other(p, ctx.now)?;
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
        partner_admins_keep_the_seat(&user)?;
        client.keeps_a_super_admin(email, Some(&user))?;
        client.set_user(user.clone());
        if let Some(p) = &newly_linked {
            client.partner_user_added(p, ctx.now);
        }
        ctx.record_activity(&mut client)?;
        ctx.save_client(&client)?;
        ctx.emit(
            EventKind::PermissionsChanged,
            Some(client_id),
            json!({"client": client_id, "email": email, "role": role.as_str(),
                   "permissions": user.permissions}),
        );
        Ok(Applied::changed(PermissionsApplied {
            clamped,
            role,
            seat: None,
        }))
    }
}
