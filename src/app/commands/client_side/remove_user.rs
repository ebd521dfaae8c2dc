//! `DELETE /v1/clients/{client}/users/{email}` (REM-9, MIG-4): remove a user from the client
//! account, from inside it.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::commands::cam::ActorOnly;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, context, user_ref,
};
use crate::domain::{ClientId, Email};

/// The command.
#[derive(Debug, Clone)]
pub struct RemoveUser {
    pub client: ClientId,
    pub email: Email,
}

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedUser {
    pub client: ClientId,
    pub email: Email,
    /// Always `removed`.
    pub outcome: &'static str,
}

impl Command for RemoveUser {
    type Path = (ClientId, Email);
    type Body = ActorOnly;
    type Answer = RemovedUser;

    fn new((client, email): Self::Path, _: ActorOnly) -> Self {
        RemoveUser { client, email }
    }

    fn name(&self) -> CommandName {
        CommandName::UserRemove
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.client, self.email)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<RemovedUser>> {
        let (client_id, email) = (&self.client, &self.email);
        let mut client = ctx.client_record(client_id)?;
        let user = ctx.member(&client, email)?;
        ctx.authorize(
            "user.remove",
            account(client_id),
            context([("target", user_ref(email))]),
        )?;
        client.keeps_a_super_admin(email, None)?;
        ctx.record_activity(&mut client)?;
        client.users.retain(|u| &u.email != email);
        ctx.emit(
            EventKind::UserRemoved,
            Some(client_id),
            json!({"client": client_id, "email": email, "removed_by": ctx.actor}),
        );
        if user.partner.is_some() {
            ctx.partner_users_removed(&mut client);
        }
        ctx.save_client(&client)?;
        Ok(Applied::changed(RemovedUser {
            client: client_id.clone(),
            email: email.clone(),
            outcome: "removed",
        }))
    }
}
