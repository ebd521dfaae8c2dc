//! `POST /v1/clients/{client}/partner-admins` (MIG-1..4): a super admin (itself, or a colleague
//! of the same partner once partner admin) becomes partner admin, keeping billing if asked.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, body_with_actor, conflict,
    context, not_found, user_ref,
};
use crate::domain::{
    ClientId, ClientUserRecord, Email, Permission, Role, Seat,
    catalogue::{BILLING_PERMISSIONS, PARTNER_ADMIN_SET},
};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateToPartnerAdminBody {
    pub actor: Email,
    pub user: Email,
    #[serde(default)]
    pub keep_billing: bool,
}

/// The command.
#[derive(Debug, Clone)]
pub struct MigrateToPartnerAdmin {
    pub client: ClientId,
    pub body: MigrateToPartnerAdminBody,
}

body_with_actor!(MigrateToPartnerAdminBody);

impl Command for MigrateToPartnerAdmin {
    type Path = (ClientId,);
    type Body = MigrateToPartnerAdminBody;
    /// The user's record as migrated.
    type Answer = ClientUserRecord;

    fn new((client,): Self::Path, body: MigrateToPartnerAdminBody) -> Self {
        MigrateToPartnerAdmin { client, body }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerAdminMigrate
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.body.user)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<ClientUserRecord>> {
        let (client_id, body) = (&self.client, &self.body);
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
            .ok_or_else(|| not_found(format!("`{}` is not a partner employee", body.user)))?;
        client.managed_by_no_other(&partner, ctx.now)?;
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
        client.keeps_a_super_admin(&body.user, Some(&user))?;
        client.set_user(user.clone());
        client.partner_user_added(&partner, ctx.now);
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
        Ok(Applied::changed(user))
    }
}
