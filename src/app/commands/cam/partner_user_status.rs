//! `POST /v1/clients/{client}/partner-users/{employee}/deactivate` (REM-2, REM-4, MIG-4: the
//! relationship goes on) and `.../reactivate` (REM-3, REM-7).

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{ActorOnly, all_deactivated};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, context, user_ref,
};
use crate::domain::{ClientId, Email, Status};

/// Deactivate a partner user.
#[derive(Debug, Clone)]
pub struct DeactivatePartnerUser {
    pub client: ClientId,
    pub employee: Email,
}

/// Reactivate a partner user.
#[derive(Debug, Clone)]
pub struct ReactivatePartnerUser {
    pub client: ClientId,
    pub employee: Email,
}

/// Whether the status changed or already was the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusOutcome {
    Changed,
    Unchanged,
}

/// The answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusChange {
    pub client: ClientId,
    pub email: Email,
    pub status: Status,
    pub outcome: StatusOutcome,
}

macro_rules! status_command {
    ($t:ident, $name:ident, $status:expr) => {
        impl Command for $t {
            type Path = (ClientId, Email);
            type Body = ActorOnly;
            type Answer = StatusChange;

            fn new((client, employee): Self::Path, _: ActorOnly) -> Self {
                $t { client, employee }
            }

            fn name(&self) -> CommandName {
                CommandName::$name
            }

            fn target(&self) -> String {
                format!("client/{}/user/{}", self.client, self.employee)
            }

            fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<StatusChange>> {
                set_status(ctx, self.name(), &self.client, &self.employee, $status)
            }
        }
    };
}

status_command!(
    DeactivatePartnerUser,
    PartnerUserDeactivate,
    Status::Deactivated
);
status_command!(ReactivatePartnerUser, PartnerUserReactivate, Status::Active);

fn set_status(
    ctx: &mut Ctx<'_>,
    command: CommandName,
    client_id: &ClientId,
    employee: &Email,
    status: Status,
) -> CmdResult<Applied<StatusChange>> {
    let event = match status {
        Status::Active => EventKind::UserReactivated,
        Status::Deactivated => EventKind::UserDeactivated,
    };
    let mut client = ctx.client_record(client_id)?;
    let mut user = ctx.member(&client, employee)?;
    let mut pairs = context([("target", user_ref(employee))]);
    if status == Status::Active {
        pairs.insert(
            "all_partner_users_deactivated".into(),
            json!(all_deactivated(&client, user.partner.as_ref())),
        );
    }
    // The command is the policies' action of the same name.
    ctx.authorize(command.as_str(), account(client_id), pairs)?;
    let answer = |outcome| StatusChange {
        client: client_id.clone(),
        email: employee.clone(),
        status,
        outcome,
    };
    if user.status == status {
        return Ok(Applied::changed(answer(StatusOutcome::Unchanged)));
    }
    user.status = status;
    client.keeps_a_super_admin(employee, Some(&user))?;
    client.set_user(user);
    ctx.record_activity(&mut client)?;
    ctx.save_client(&client)?;
    ctx.emit(
        event,
        Some(client_id),
        json!({"client": client_id, "email": employee}),
    );
    Ok(Applied::changed(answer(StatusOutcome::Changed)))
}
