//! `POST /v1/clients/{client}/partner-users/reactivate-all` (REM-7, REM-3): when every partner
//! user of the actor's partner in the client is deactivated, a partner admin there (itself
//! deactivated) reactivates them all in one command. Whether "all are deactivated" is decided
//! once, on the state the command starts from, so the first reactivation does not lock the
//! actor out of the rest or of itself. An active partner admin may use it too, to reactivate
//! every deactivated partner user at once.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{ActorOnly, all_deactivated, managed_partner_users};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, context, user_ref,
};
use crate::domain::{ClientId, ClientUserRecord, Email, PartnerId, Status};

/// The command.
#[derive(Debug, Clone)]
pub struct ReactivateAllPartnerUsers {
    pub client: ClientId,
}

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReactivatedAll {
    pub client: ClientId,
    pub partner: PartnerId,
    pub reactivated: Vec<Email>,
}

impl Command for ReactivateAllPartnerUsers {
    type Path = (ClientId,);
    type Body = ActorOnly;
    type Answer = ReactivatedAll;

    fn new((client,): Self::Path, _: ActorOnly) -> Self {
        ReactivateAllPartnerUsers { client }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerUsersReactivateAll
    }

    fn target(&self) -> String {
        format!("client/{}", self.client)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<ReactivatedAll>> {
        let client_id = &self.client;
        let mut client = ctx.client_record(client_id)?;
        let partner = ctx.actor_partner()?;
        let all = all_deactivated(&client, Some(&partner));
        let deactivated: Vec<ClientUserRecord> = managed_partner_users(&client, &partner)
            .filter(|u| u.status == Status::Deactivated)
            .cloned()
            .collect();
        // Nobody to reactivate still needs the right to (asked about the actor itself), so the
        // answer says nothing to whoever may not ask.
        let actor = ctx.actor.clone();
        let asked: Vec<&Email> = if deactivated.is_empty() {
            vec![&actor]
        } else {
            deactivated.iter().map(|u| &u.email).collect()
        };
        for email in asked {
            ctx.authorize(
                "partner_user.reactivate",
                account(client_id),
                context([
                    ("target", user_ref(email)),
                    ("all_partner_users_deactivated", json!(all)),
                ]),
            )?;
        }
        let mut reactivated = Vec::new();
        for mut user in deactivated {
            user.status = Status::Active;
            ctx.emit(
                EventKind::UserReactivated,
                Some(client_id),
                json!({"client": client_id, "email": user.email}),
            );
            reactivated.push(user.email.clone());
            client.set_user(user);
        }
        if !reactivated.is_empty() {
            ctx.record_activity(&mut client)?;
            ctx.save_client(&client)?;
        }
        Ok(Applied::changed(ReactivatedAll {
            client: client_id.clone(),
            partner,
            reactivated,
        }))
    }
}
