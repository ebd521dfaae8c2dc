//! `POST /v1/clients/{client}/partner-users` (ADD-1..3, ADD-6, PERM-2): a partner admin adds
//! employees of its partner with one permission set. One transaction: all are added, or none.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::AppError;
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, EventKind, account, body_with_actor, conflict,
    context, list_size, user_ref,
};
use crate::domain::{
    ClientId, Email, Permission, PermissionSetName, Role, Seat, Status, catalogue::role_for_set,
};

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPartnerUsersBody {
    pub actor: Email,
    pub employees: Vec<Email>,
    pub permission_set: PermissionSetName,
}

/// The command.
#[derive(Debug, Clone)]
pub struct AddPartnerUsers {
    pub client: ClientId,
    pub body: AddPartnerUsersBody,
}

/// What happened to one employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AddOutcome {
    Added,
    /// An active user of the account already: left as it is (ADD-6).
    AlreadyMember,
}

/// One employee's result.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddedUser {
    pub employee: Email,
    pub outcome: AddOutcome,
    pub permissions: Vec<Permission>,
    pub withheld: Vec<Permission>,
    pub seat: Seat,
}

/// The answer: one result per employee named (each once), in the order named.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Added {
    pub results: Vec<AddedUser>,
}

body_with_actor!(AddPartnerUsersBody);

impl Command for AddPartnerUsers {
    type Path = (ClientId,);
    type Body = AddPartnerUsersBody;
    type Answer = Added;

    fn new((client,): Self::Path, body: AddPartnerUsersBody) -> Self {
        AddPartnerUsers { client, body }
    }

    fn name(&self) -> CommandName {
        CommandName::PartnerUsersAdd
    }

    fn target(&self) -> String {
        format!("client/{}", self.client)
    }

    fn check(&self) -> Result<(), AppError> {
        list_size("employees", "e-mails", self.body.employees.len())
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<Added>> {
        let client_id = &self.client;
        let body = &self.body;
        let mut client = ctx.client_record(client_id)?;
        let partner_id = ctx.actor_partner()?;
        let partner = ctx.partner_record(&partner_id)?;
        let set = ctx.permission_set(&body.permission_set, &partner.permission_sets)?;
        let role = role_for_set(&body.permission_set);
        client.managed_by_no_other(&partner_id, ctx.now)?;
        let mut seen = BTreeSet::new();
        let mut results = Vec::new();
        for employee in &body.employees {
            if !seen.insert(employee) {
                continue;
            }
            ctx.employment(employee)?;
            ctx.authorize(
                "partner_users.add",
                account(client_id),
                context([
                    ("target", user_ref(employee)),
                    ("role", json!(role.as_str())),
                ]),
            )?;
            let existing = client.users.iter().find(|u| &u.email == employee).cloned();
            // ADD-6: an active user of the account is left as it is (linking an unlinked one
            // is LINK-1's job).
            if let Some(user) = existing.as_ref().filter(|u| u.status == Status::Active) {
                results.push(AddedUser {
                    employee: employee.clone(),
                    outcome: AddOutcome::AlreadyMember,
                    permissions: user.permissions.clone(),
                    withheld: Vec::new(),
                    seat: user.seat,
                });
                continue;
            }
            if existing
                .as_ref()
                .is_some_and(|u| u.role == Role::SuperAdmin)
            {
                return Err(conflict(
                    format!(
                        "`{employee}` is a super admin of `{client_id}`; change it to partner admin instead (MIG-1)"
                    ),
                    &["MIG-1", "MIG-4"],
                ));
            }
            let (mut user, clamped) = ctx.apply_cam_set(
                &client,
                &partner_id,
                employee,
                existing.as_ref(),
                &set,
                role,
            )?;
            user.status = Status::Active;
            client.set_user(user.clone());
            ctx.emit(
                if existing.is_some() {
                    EventKind::PermissionsChanged
                } else {
                    EventKind::UserCreated
                },
                Some(client_id),
                json!({"client": client_id, "email": employee, "role": role.as_str(),
                       "seat": user.seat, "permissions": user.permissions}),
            );
            results.push(AddedUser {
                employee: employee.clone(),
                outcome: AddOutcome::Added,
                permissions: clamped.permissions.into_iter().collect(),
                withheld: clamped.withheld.into_iter().collect(),
                seat: user.seat,
            });
        }
        let created = results.iter().any(|r| r.outcome == AddOutcome::Added);
        if created {
            client.partner_user_added(&partner_id, ctx.now);
            ctx.save_client(&client)?;
        }
        // Nothing added: the state stays as it was (no relationship activity either).
        Ok(Applied::created_if(created, Added { results }))
    }
}
