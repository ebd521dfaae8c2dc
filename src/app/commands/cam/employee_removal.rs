//! Removing an employee from its clients, in two steps (REM-1, REM-2, REM-5):
//! `POST /v1/partners/{partner}/employees/{employee}/removal-preview` lists every client where
//! the employee is a partner user of the partner, with the assets it owns there, and a
//! `version`; `.../remove` removes it from the chosen clients if nothing changed since.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{ActorOnly, OwnedAsset, all_deactivated, assets_of};
use crate::app::AppError;
use crate::app::commands::{
    Applied, CmdError, CmdResult, Command, CommandName, Ctx, account, body_with_actor, conflict,
    context, invalid, list_size, not_found, sha256_hex, user_ref,
};
use crate::domain::{ClientId, Email, PartnerId, PartnerRecord, Role, Status};
use crate::policy::{EntityKind, EntityRef};

/// The preview.
#[derive(Debug, Clone)]
pub struct EmployeeRemovalPreview {
    pub partner: PartnerId,
    pub employee: Email,
}

/// One client of the preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmployeeClientPreview {
    pub client: ClientId,
    /// The partner's own name for the client, if it has one.
    #[schema(required = true)]
    pub crm_name: Option<String>,
    pub official_name: String,
    pub role: Role,
    pub status: Status,
    pub assets: Vec<OwnedAsset>,
}

/// The preview's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmployeeRemovalPreviewed {
    pub employee: Email,
    pub clients: Vec<EmployeeClientPreview>,
    /// A digest of `clients`: the removal must carry it, and is refused once it changed.
    pub version: String,
}

/// The removal's body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveEmployeeBody {
    pub actor: Email,
    pub clients: Vec<ClientId>,
    pub version: String,
}

/// The removal.
#[derive(Debug, Clone)]
pub struct RemoveEmployee {
    pub partner: PartnerId,
    pub employee: Email,
    pub body: RemoveEmployeeBody,
}

/// The removal's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RemovedEmployee {
    pub employee: Email,
    pub removed_from: Vec<ClientId>,
}

body_with_actor!(RemoveEmployeeBody);

impl Command for EmployeeRemovalPreview {
    type Path = (PartnerId, Email);
    type Body = ActorOnly;
    type Answer = EmployeeRemovalPreviewed;

    fn new((partner, employee): Self::Path, _: ActorOnly) -> Self {
        EmployeeRemovalPreview { partner, employee }
    }

    fn name(&self) -> CommandName {
        CommandName::EmployeeRemovalPreview
    }

    fn target(&self) -> String {
        format!("partner/{}/employee/{}", self.partner, self.employee)
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<EmployeeRemovalPreviewed>> {
        let partner = ctx.partner_record(&self.partner)?;
        let (clients, version) = preview(ctx, &partner, &self.employee)?;
        Ok(Applied::changed(EmployeeRemovalPreviewed {
            employee: self.employee.clone(),
            clients,
            version,
        }))
    }
}

impl Command for RemoveEmployee {
    type Path = (PartnerId, Email);
    type Body = RemoveEmployeeBody;
    type Answer = RemovedEmployee;

    fn new((partner, employee): Self::Path, body: RemoveEmployeeBody) -> Self {
        RemoveEmployee {
            partner,
            employee,
            body,
        }
    }

    fn name(&self) -> CommandName {
        CommandName::EmployeeRemove
    }

    fn target(&self) -> String {
        format!("partner/{}/employee/{}", self.partner, self.employee)
    }

    fn check(&self) -> Result<(), AppError> {
        list_size("clients", "client ids", self.body.clients.len())
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<RemovedEmployee>> {
        let employee = &self.employee;
        let partner = ctx.partner_record(&self.partner)?;
        let (clients, version) = preview(ctx, &partner, employee)?;
        if version != self.body.version {
            return Err(conflict(
                "the preview is stale: the employee's clients or assets changed since; preview again",
                &["REM-5"],
            ));
        }
        let listed: BTreeSet<&ClientId> = clients.iter().map(|c| &c.client).collect();
        let mut removed = Vec::new();
        // A client named twice is removed from once.
        let chosen: BTreeSet<&ClientId> = self.body.clients.iter().collect();
        for client_id in chosen {
            if !listed.contains(client_id) {
                return Err(invalid(format!(
                    "clients: `{client_id}` is not in the preview (the employee is not a partner user there)"
                )));
            }
            let mut client = ctx.client_record(client_id)?;
            ctx.remove_partner_user(&mut client, employee)?;
            ctx.save_client(&client)?;
            removed.push(client_id.clone());
        }
        Ok(Applied::changed(RemovedEmployee {
            employee: employee.clone(),
            removed_from: removed,
        }))
    }
}

/// The clients of an employee's preview and its version. A CAM user of the partner (PA-1
/// `view`) sees every client where the employee is a partner user; anyone else sees the
/// clients where the policies let it remove the employee (a partner admin there, REM-1), and
/// is refused when there are none.
fn preview(
    ctx: &mut Ctx<'_>,
    partner: &PartnerRecord,
    employee: &Email,
) -> CmdResult<(Vec<EmployeeClientPreview>, String)> {
    let actor = ctx.actor.clone();
    let partner_ref = EntityRef::new(EntityKind::Partner, partner.id.as_str());
    let sees_all = ctx
        .decide("partner.view", &actor, partner_ref, context([]))?
        .allowed;
    let mut clients = Vec::new();
    let mut found = false;
    for client_id in ctx.tx().clients_of_user(employee)? {
        let Some(client) = ctx.tx().client_record(&client_id)? else {
            continue;
        };
        let Some(user) = client.users.iter().find(|u| &u.email == employee) else {
            continue;
        };
        if user.partner.as_ref() != Some(&partner.id) {
            continue;
        }
        found = true;
        if !sees_all {
            let all = all_deactivated(&client, Some(&partner.id));
            let may_remove = ctx
                .decide(
                    "partner_user.remove",
                    &actor,
                    account(&client.id),
                    context([
                        ("target", user_ref(employee)),
                        ("all_partner_users_deactivated", json!(all)),
                    ]),
                )?
                .allowed;
            if !may_remove {
                continue;
            }
        }
        clients.push(EmployeeClientPreview {
            client: client.id.clone(),
            crm_name: partner.crm_names.get(&client.id).cloned(),
            official_name: client.official_name.clone(),
            role: user.role,
            status: user.status,
            assets: assets_of(&client, employee),
        });
    }
    if !found {
        return Err(not_found(format!(
            "`{employee}` is not a partner user of partner `{}` in any client",
            partner.id
        )));
    }
    if clients.is_empty() {
        return Err(CmdError::Refused(AppError::Forbidden {
            message: format!(
                "`{actor}` may neither list the partner's employees (PA-1) nor remove `{employee}` from any client (REM-1)"
            ),
            rules: vec!["PA-1".into(), "REM-1".into(), "REM-2".into()],
        }));
    }
    let version = sha256_hex(&serde_json::to_string(&clients).unwrap_or_default());
    Ok((clients, version))
}
