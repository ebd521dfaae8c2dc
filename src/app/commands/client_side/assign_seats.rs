//! `POST /v1/clients/{client}/seats` (SEAT-3): the partner seat for several users at once, only
//! if every one is eligible; otherwise nothing changes and the ineligible users are named.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, body_with_actor, conflict, list_size,
};
use crate::domain::{ClientId, Email, Seat};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignSeatsBody {
    pub actor: Email,
    pub users: Vec<Email>,
    pub seat: Seat,
}

/// The command.
#[derive(Debug, Clone)]
pub struct AssignSeats {
    pub client: ClientId,
    pub body: AssignSeatsBody,
}

/// The answer: the users as named.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeatsAssigned {
    pub client: ClientId,
    pub seat: Seat,
    pub users: Vec<Email>,
}

body_with_actor!(AssignSeatsBody);

impl Command for AssignSeats {
    type Path = (ClientId,);
    type Body = AssignSeatsBody;
    type Answer = SeatsAssigned;

    fn new((client,): Self::Path, body: AssignSeatsBody) -> Self {
        AssignSeats { client, body }
    }

    fn name(&self) -> CommandName {
        CommandName::UserAssignSeats
    }

    fn target(&self) -> String {
        format!("client/{}", self.client)
    }

    fn check(&self) -> Result<(), AppError> {
        list_size("users", "e-mails", self.body.users.len())?;
        if self.body.seat != Seat::Partner {
            return Err(AppError::invalid(
                "seat: the bulk assignment is for the partner seat (`partner`); change other seats one user at a time",
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<SeatsAssigned>> {
        let client_id = &self.client;
        let mut client = ctx.client_record(client_id)?;
        let mut ineligible = Vec::new();
        let mut users = Vec::new();
        for email in self.body.users.iter().collect::<BTreeSet<_>>() {
            let user = ctx.member(&client, email)?;
            ctx.authorize_seat(client_id, email, Seat::Partner)?;
            if !ctx.partner_seat_eligible(email, client_id)? {
                ineligible.push(email.to_string());
            }
            users.push(user);
        }
        if !ineligible.is_empty() {
            return Err(conflict(
                format!(
                    "nothing was assigned: not eligible for the partner seat: {}",
                    ineligible.join(", ")
                ),
                &["SEAT-3", "SEAT-2"],
            ));
        }
        for mut user in users {
            if user.seat != Seat::Partner {
                ctx.emit(
                    EventKind::SeatChanged,
                    Some(client_id),
                    json!({"client": client_id, "email": user.email, "from": user.seat, "to": "partner"}),
                );
                user.seat = Seat::Partner;
                client.set_user(user);
            }
        }
        ctx.record_activity(&mut client)?;
        ctx.save_client(&client)?;
        Ok(Applied::changed(SeatsAssigned {
            client: client_id.clone(),
            seat: Seat::Partner,
            users: self.body.users.clone(),
        }))
    }
}
