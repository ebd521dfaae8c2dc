//! `PUT /v1/clients/{client}/users/{email}/paid-hubs` (SEAT-9, SEAT-8): set a user's paid Sales
//! Hub / Service Hub licences, held besides its seat (a partner admin keeps its partner seat
//! and can still use paid features on legacy pricing). Needs SEAT-8's rights.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::saved_user;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, body_with_actor,
};
use crate::domain::{ClientId, ClientUserRecord, Email, PaidHub};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPaidHubsBody {
    pub actor: Email,
    pub paid_hubs: Vec<PaidHub>,
}

/// The command.
#[derive(Debug, Clone)]
pub struct SetPaidHubs {
    pub client: ClientId,
    pub email: Email,
    pub body: SetPaidHubsBody,
}

body_with_actor!(SetPaidHubsBody);

impl Command for SetPaidHubs {
    type Path = (ClientId, Email);
    type Body = SetPaidHubsBody;
    /// The user's record with its licences.
    type Answer = ClientUserRecord;

    fn new((client, email): Self::Path, body: SetPaidHubsBody) -> Self {
        SetPaidHubs {
            client,
            email,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::UserSetPaidHubs
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.email)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<ClientUserRecord>> {
        let (client_id, email) = (&self.client, &self.email);
        let hubs = PaidHub::normalized(&self.body.paid_hubs);
        let mut client = ctx.client_record(client_id)?;
        let mut user = ctx.member(&client, email)?;
        ctx.authorize_paid_hubs(client_id, email, &hubs)?;
        let from = std::mem::replace(&mut user.paid_hubs, hubs.clone());
        if from != hubs {
            ctx.emit(
                EventKind::PaidHubsChanged,
                Some(client_id),
                json!({"client": client_id, "email": email, "from": from, "to": hubs}),
            );
            client.set_user(user.clone());
            ctx.record_activity(&mut client)?;
            let saved = ctx.save_client(&client)?;
            user = saved_user(&saved, user);
        }
        Ok(Applied::changed(user))
    }
}
