//! `POST /v1/clients/{client}/users` (SEAT-6, SEAT-7): a user with `users.add_edit` creates a
//! user with a seat and one of the client's permission sets; the user gets a `user.created`
//! event (the e-mail notice).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{partner_admins_keep_the_seat, saved_user, seat_ineligible};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, body_with_actor, conflict,
    context, invalid, user_ref,
};
use crate::domain::{
    ClientId, ClientUserRecord, Email, PaidHub, Permission, PermissionSetName, Role, Seat, Status,
    catalogue::role_for_set,
};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserBody {
    pub actor: Email,
    pub email: Email,
    pub seat: Seat,
    pub permission_set: PermissionSetName,
    /// Paid hub licences besides the seat (SEAT-9); giving any needs SEAT-8's rights.
    #[serde(default)]
    pub paid_hubs: Vec<PaidHub>,
}

/// The command.
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub client: ClientId,
    pub body: CreateUserBody,
}

/// The answer: the user's record, and what of the set the actor could not give (PERM-2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: ClientUserRecord,
    pub withheld: BTreeSet<Permission>,
}

body_with_actor!(CreateUserBody);

impl Command for CreateUser {
    type Path = (ClientId,);
    type Body = CreateUserBody;
    type Answer = CreatedUser;

    fn new((client,): Self::Path, body: CreateUserBody) -> Self {
        CreateUser { client, body }
    }

    fn name(&self) -> CommandName {
        CommandName::UserCreate
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.body.email)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<CreatedUser>> {
        let (client_id, body) = (&self.client, &self.body);
        let mut client = ctx.client_record(client_id)?;
        if client.users.iter().any(|u| u.email == body.email) {
            return Err(conflict(
                format!("`{}` is already a user of `{client_id}`", body.email),
                &[],
            ));
        }
        let set = ctx.permission_set(&body.permission_set, &client.permission_sets)?;
        let role = role_for_set(&body.permission_set);
        ctx.authorize(
            "user.create",
            account(client_id),
            context([
                ("target", user_ref(&body.email)),
                ("seat", json!(body.seat.as_str())),
                ("role", json!(role.as_str())),
            ]),
        )?;
        // What costs money is authorized as such, however it is given: a paid seat as a seat
        // change (SEAT-8), paid licences as a licence change (SEAT-9).
        if body.seat.is_paid() {
            ctx.authorize_seat(client_id, &body.email, body.seat)?;
        }
        let paid_hubs = PaidHub::normalized(&body.paid_hubs);
        if !paid_hubs.is_empty() {
            ctx.authorize_paid_hubs(client_id, &body.email, &paid_hubs)?;
        }
        if body.seat == Seat::Partner && !ctx.partner_seat_eligible(&body.email, client_id)? {
            return Err(seat_ineligible(&body.email, client_id));
        }
        let partner = match role {
            Role::PartnerAdmin => Some(ctx.employer_of(&body.email)?.ok_or_else(|| {
                invalid(format!(
                    "`{}` is not a partner employee; the partner admin set is for partner employees (PA-2)",
                    body.email
                ))
            })?),
            _ => None,
        };
        if let Some(p) = &partner {
            client.managed_by_no_other(p, ctx.now)?;
        }
        let clamped = ctx.grant_clamp(client_id, &body.email, &BTreeSet::new(), &set)?;
        let user = ClientUserRecord {
            email: body.email.clone(),
            role,
            seat: body.seat,
            permissions: clamped.permissions.iter().cloned().collect(),
            status: Status::Active,
            partner: partner.clone(),
            keep_billing: false,
            paid_hubs,
        };
        partner_admins_keep_the_seat(&user)?;
        client.set_user(user.clone());
        if let Some(p) = &partner {
            client.partner_user_added(p, ctx.now);
        }
        // Saved as linked to its partner when it is a verified employee (LINK-3).
        let saved = ctx.save_client(&client)?;
        let user = saved_user(&saved, user);
        ctx.emit(
            EventKind::UserCreated,
            Some(client_id),
            json!({"client": client_id, "email": body.email, "role": role.as_str(),
                   "seat": body.seat, "created_by": ctx.actor}),
        );
        Ok(Applied::created_if(
            true,
            CreatedUser {
                user,
                withheld: clamped.withheld,
            },
        ))
    }
}
