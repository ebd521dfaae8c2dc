//! Removing every partner user of the actor's partner from a client, in two steps (REM-6,
//! REM-7, REM-8, REL-2): `POST /v1/clients/{client}/partner-users/removal-preview` lists them
//! with the assets each owns and a `version`; `.../remove-all` removes them if nothing changed
//! since. The relationship then ends 60 days after the last activity.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ActorOnly, OwnedAsset, assets_of, managed_partner_users};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, account, body_with_actor, conflict, context,
    sha256_hex,
};
use crate::domain::{ClientId, ClientRecord, Email, PartnerId, Role, Status};

/// The preview.
#[derive(Debug, Clone)]
pub struct ClientRemovalPreview {
    pub client: ClientId,
}

/// One partner user of the preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerUserPreview {
    pub email: Email,
    pub role: Role,
    pub status: Status,
    pub assets: Vec<OwnedAsset>,
}

/// The preview's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientRemovalPreviewed {
    pub client: ClientId,
    pub partner: PartnerId,
    pub users: Vec<PartnerUserPreview>,
    /// A digest of `users`: the removal must carry it, and is refused once it changed.
    pub version: String,
}

/// The removal's body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveAllBody {
    pub actor: Email,
    pub version: String,
}

/// The removal.
#[derive(Debug, Clone)]
pub struct RemoveAllPartnerUsers {
    pub client: ClientId,
    pub body: RemoveAllBody,
}

/// The removal's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedAll {
    pub client: ClientId,
    pub removed: Vec<Email>,
    pub count: usize,
}

body_with_actor!(RemoveAllBody);

impl Command for ClientRemovalPreview {
    type Path = (ClientId,);
    type Body = ActorOnly;
    type Answer = ClientRemovalPreviewed;

    fn new((client,): Self::Path, _: ActorOnly) -> Self {
        ClientRemovalPreview { client }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerUsersRemovalPreview
    }

    fn target(&self) -> String {
        format!("client/{}", self.client)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<ClientRemovalPreviewed>> {
        let client = ctx.client_record(&self.client)?;
        let partner = ctx.actor_partner()?;
        ctx.authorize("client.users.view", account(&self.client), context([]))?;
        let (users, version) = preview(&client, &partner);
        Ok(Applied::changed(ClientRemovalPreviewed {
            client: self.client.clone(),
            partner,
            users,
            version,
        }))
    }
}

impl Command for RemoveAllPartnerUsers {
    type Path = (ClientId,);
    type Body = RemoveAllBody;
    type Answer = RemovedAll;

    fn new((client,): Self::Path, body: RemoveAllBody) -> Self {
        RemoveAllPartnerUsers { client, body }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerUsersRemoveAll
    }

    fn target(&self) -> String {
        format!("client/{}", self.client)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<RemovedAll>> {
        let mut client = ctx.client_record(&self.client)?;
        let partner = ctx.actor_partner()?;
        let (users, version) = preview(&client, &partner);
        if version != self.body.version {
            return Err(conflict(
                "the preview is stale: the partner users or their assets changed since; preview again",
                &["REM-6"],
            ));
        }
        let emails: Vec<Email> = managed_partner_users(&client, &partner)
            .map(|u| u.email.clone())
            .collect();
        for email in &emails {
            ctx.remove_partner_user(&mut client, email)?;
        }
        ctx.save_client(&client)?;
        Ok(Applied::changed(RemovedAll {
            client: self.client.clone(),
            removed: emails,
            count: users.len(),
        }))
    }
}

/// The partner users of a client's preview and its version.
fn preview(client: &ClientRecord, partner: &PartnerId) -> (Vec<PartnerUserPreview>, String) {
    let users: Vec<PartnerUserPreview> = managed_partner_users(client, partner)
        .map(|u| PartnerUserPreview {
            email: u.email.clone(),
            role: u.role,
            status: u.status,
            assets: assets_of(client, &u.email),
        })
        .collect();
    let version = sha256_hex(&serde_json::to_string(&users).unwrap_or_default());
    (users, version)
}
