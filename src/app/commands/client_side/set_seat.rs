//! `PUT /v1/clients/{client}/users/{email}/seat` (SEAT-5, SEAT-8): change a user's seat.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{partner_admins_keep_the_seat, saved_user, seat_ineligible};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, body_with_actor,
};
use crate::domain::{ClientId, ClientUserRecord, Email, Seat};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSeatBody {
    pub actor: Email,
    pub seat: Seat,
}

/// The command.
#[derive(Debug, Clone)]
pub struct SetSeat {
    pub client: ClientId,
    pub email: Email,
    pub body: SetSeatBody,
}

body_with_actor!(SetSeatBody);

impl Command for SetSeat {
    type Path = (ClientId, Email);
    type Body = SetSeatBody;
    /// The user's record with its new seat.
    type Answer = ClientUserRecord;

    fn new((client, email): Self::Path, body: SetSeatBody) -> Self {
        SetSeat {
            client,
            email,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::UserSetSeat
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.email)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<ClientUserRecord>> {
        let (client_id, email, seat) = (&self.client, &self.email, self.body.seat);
        let mut client = ctx.client_record(client_id)?;
        let mut user = ctx.member(&client, email)?;
        ctx.authorize_seat(client_id, email, seat)?;
        if seat == Seat::Partner && !ctx.partner_seat_eligible(email, client_id)? {
            return Err(seat_ineligible(email, client_id));
        }
        let from = user.seat;
        user.seat = seat;
        partner_admins_keep_the_seat(&user)?;
        client.set_user(user.clone());
        ctx.record_activity(&mut client)?;
        let saved = ctx.save_client(&client)?;
        let user = saved_user(&saved, user);
        if from != seat {
            ctx.emit(
                EventKind::SeatChanged,
                Some(client_id),
                json!({"client": client_id, "email": email, "from": from, "to": seat}),
            );
        }
        Ok(Applied::changed(user))
    }
}
