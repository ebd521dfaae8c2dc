//! `POST /v1/partners/{partner}/employees/{employee}/link` (LINK-1, LINK-2): a CAM user links
//! an existing client user who is one of its employees. Nothing else about the user changes.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, account_ref, body_with_actor, conflict, context,
    not_found, user_ref,
};
use crate::domain::{ClientId, ClientUserRecord, Email, PartnerId};
use crate::policy::{EntityKind, EntityRef};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkEmployeeBody {
    pub actor: Email,
    pub client: ClientId,
}

/// The command.
#[derive(Debug, Clone)]
pub struct LinkEmployee {
    pub partner: PartnerId,
    pub employee: Email,
    pub body: LinkEmployeeBody,
}

/// Whether the user was linked now or already was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkOutcome {
    Linked,
    AlreadyLinked,
}

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Linked {
    pub client: ClientId,
    pub employee: Email,
    pub partner: PartnerId,
    pub outcome: LinkOutcome,
    pub user: ClientUserRecord,
}

body_with_actor!(LinkEmployeeBody);

impl Command for LinkEmployee {
    type Path = (PartnerId, Email);
    type Body = LinkEmployeeBody;
    type Answer = Linked;

    fn new((partner, employee): Self::Path, body: LinkEmployeeBody) -> Self {
        LinkEmployee {
            partner,
            employee,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::EmployeeLink
    }

    fn target(&self) -> String {
        format!("client/{}/user/{}", self.body.client, self.employee)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<Linked>> {
        let (partner, employee) = (&self.partner, &self.employee);
        ctx.partner_record(partner)?;
        let mut client = ctx.client_record(&self.body.client)?;
        let employment = ctx.employment(employee)?;
        if &employment.partner != partner {
            return Err(not_found(format!(
                "`{employee}` is not an employee of partner `{partner}`"
            )));
        }
        ctx.authorize(
            "employee.link",
            EntityRef::new(EntityKind::Partner, partner.as_str()),
            context([
                ("target", user_ref(employee)),
                ("client", account_ref(&client.id)),
            ]),
        )?;
        let mut user = client
            .users
            .iter()
            .find(|u| &u.email == employee)
            .cloned()
            .ok_or_else(|| {
                conflict(
                    format!(
                        "`{employee}` is not a user of client `{}`; nothing to link",
                        client.id
                    ),
                    &["LINK-2"],
                )
            })?;
        client.managed_by_no_other(partner, ctx.now)?;
        let outcome = if user.partner.as_ref() == Some(partner) {
            LinkOutcome::AlreadyLinked
        } else {
            user.partner = Some(partner.clone());
            LinkOutcome::Linked
        };
        client.users.retain(|u| &u.email != employee);
        client.users.push(user.clone());
        client.partner_user_added(partner, ctx.now);
        ctx.save_client(&client)?;
        Ok(Applied::changed(Linked {
            client: client.id,
            employee: employee.clone(),
            partner: partner.clone(),
            outcome,
            user,
        }))
    }
}
