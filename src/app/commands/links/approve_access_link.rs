//! `POST /v1/access-links/{token}/approve` (PA-2, PA-4, PA-5): a client approves a link; the
//! employee becomes (or is upgraded to) a partner admin there with the partner seat, linked to
//! the partner.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::AccessLink;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, body_with_actor, conflict, context,
    not_found, partner_ref, sha256_hex, user_ref,
};
use crate::domain::{
    ClientId, ClientUserRecord, Email, Role, Seat, Status, catalogue::PARTNER_ADMIN_SET,
};
use crate::policy::{EntityKind, EntityRef};
use crate::store::Aux;

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveAccessLinkBody {
    pub actor: Email,
    pub client: ClientId,
}

/// The command: the token is the link's, from the path.
#[derive(Debug, Clone)]
pub struct ApproveAccessLink {
    pub token: String,
    pub body: ApproveAccessLinkBody,
}

/// Whether the approval created the user or upgraded an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalOutcome {
    Created,
    Upgraded,
}

/// The answer: the partner admin's record in the client, the client, and the outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Approved {
    #[serde(flatten)]
    pub user: ClientUserRecord,
    pub client: ClientId,
    pub outcome: ApprovalOutcome,
}

body_with_actor!(ApproveAccessLinkBody);

impl Command for ApproveAccessLink {
    type Path = (String,);
    type Body = ApproveAccessLinkBody;
    type Answer = Approved;

    fn new((token,): Self::Path, body: ApproveAccessLinkBody) -> Self {
        ApproveAccessLink { token, body }
    }

    fn name(&self) -> CommandName {
        CommandName::AccessLinkApprove
    }

    fn target(&self) -> String {
        format!("client/{}", self.body.client)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<Approved>> {
        let mut client = ctx.client_record(&self.body.client)?;
        let link: AccessLink = match ctx.tx().aux(Aux::AccessLinks, &sha256_hex(&self.token))? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| not_found("unknown or revoked access link"))?,
            None => return Err(not_found("unknown or revoked access link")),
        };
        let employment = ctx.employment(&link.employee)?;
        if employment.partner != link.partner {
            return Err(not_found(format!(
                "`{}` is no longer an employee of partner `{}`",
                link.employee, link.partner
            )));
        }
        client.managed_by_no_other(&link.partner, ctx.now)?;
        ctx.authorize(
            "access_link.approve",
            EntityRef::new(EntityKind::Account, client.id.as_str()),
            context([
                ("target", user_ref(&link.employee)),
                ("partner", partner_ref(&link.partner)),
            ]),
        )?;
        if !ctx.partner_seat_eligible(&link.employee, &client.id)? {
            return Err(conflict(
                format!(
                    "`{}` cannot become partner admin of `{}`: a partner admin must hold the partner seat, and `{}` is not eligible for it (an approved partner domain of a solutions partner or provider is required)",
                    link.employee, client.id, link.employee
                ),
                &["SEAT-5", "SEAT-2", "PA-4"],
            ));
        }
        let template = ctx
            .catalogue()
            .template(PARTNER_ADMIN_SET)
            .cloned()
            .unwrap_or_default();
        let existing = client
            .users
            .iter()
            .find(|u| u.email == link.employee)
            .cloned();
        let upgraded = ClientUserRecord {
            email: link.employee.clone(),
            role: Role::PartnerAdmin,
            seat: Seat::Partner,
            permissions: template.into_iter().collect(),
            status: Status::Active,
            partner: Some(link.partner.clone()),
            keep_billing: false,
            // Paid licences are the client's to give; an upgrade keeps those it held.
            paid_hubs: existing
                .as_ref()
                .map(|u| u.paid_hubs.clone())
                .unwrap_or_default(),
        };
        client.keeps_a_super_admin(&link.employee, Some(&upgraded))?;
        let outcome = if existing.is_some() {
            ApprovalOutcome::Upgraded
        } else {
            ApprovalOutcome::Created
        };
        client.users.retain(|u| u.email != link.employee);
        client.users.push(upgraded.clone());
        client.partner_user_added(&link.partner, ctx.now);
        ctx.save_client(&client)?;
        ctx.emit(
            EventKind::AccessLinkApproved,
            Some(&client.id),
            json!({"client": client.id, "partner": link.partner, "employee": link.employee,
                   "approved_by": ctx.actor}),
        );
        if existing.is_none() {
            ctx.emit(
                EventKind::UserCreated,
                Some(&client.id),
                json!({"client": client.id, "email": link.employee, "role": "partner_admin",
                       "seat": "partner"}),
            );
        } else {
            ctx.emit(
                EventKind::PermissionsChanged,
                Some(&client.id),
                json!({"client": client.id, "email": link.employee,
                       "permissions": upgraded.permissions, "role": "partner_admin"}),
            );
        }
        Ok(Applied::created_if(
            existing.is_none(),
            Approved {
                user: upgraded,
                client: client.id,
                outcome,
            },
        ))
    }
}
