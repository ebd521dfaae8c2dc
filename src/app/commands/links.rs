//! Access links (PA-1, PA-3..5) and manual links (LINK-1, LINK-2).
//!
//! A link token is 256 random bits, shown once and stored only as its SHA-256 digest, bound to
//! (partner, employee). It works for any number of clients until rotated; rotating revokes every
//! earlier token of that employee. "Shown once" holds for idempotent replays too: the
//! idempotency table keeps the issuing answer without its token, a replay answers
//! `token_withheld: true` while the link is live and a 409 once it is revoked, and the token in
//! an approval's path is redacted before the request is logged (`crate::http`).

use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    CommandAnswer, CommandMeta, CommandName, EventKind, account_ref, context, hex, json_bytes,
    not_found, partner_ref, sha256_hex, user_ref,
};
use crate::app::{App, AppError};
use crate::domain::{
    ClientId, ClientUserRecord, Email, PartnerId, Role, Seat, Status, Timestamp,
    catalogue::PARTNER_ADMIN_SET,
};
use crate::policy::{EntityKind, EntityRef};
use crate::store::Aux;

/// What the store keeps of a link (under its token's digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessLink {
    partner: PartnerId,
    employee: Email,
    created_at: Timestamp,
    created_by: Email,
}

/// `POST /v1/partners/{partner}/access-links`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueLink {
    pub actor: Email,
    /// Whose link: another employee of the partner ("on behalf of"); default the actor.
    #[serde(default)]
    pub employee: Option<Email>,
    /// Revoke every earlier link of the employee.
    #[serde(default)]
    pub rotate: bool,
}

/// `POST /v1/access-links/{token}/approve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveLink {
    pub actor: Email,
    pub client: ClientId,
}

/// `POST /v1/partners/{partner}/employees/{employee}/link`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEmployee {
    pub actor: Email,
    pub client: ClientId,
}

fn employee_key(partner: &PartnerId, employee: &Email) -> String {
    format!("{partner}/{employee}")
}

fn user_json(user: &ClientUserRecord) -> Value {
    serde_json::to_value(user).unwrap_or(Value::Null)
}

impl App {
    /// PA-1, PA-3: a CAM user gets its own access link or a colleague's.
    pub fn issue_access_link(
        &self,
        meta: &CommandMeta,
        partner: &PartnerId,
        body: &IssueLink,
    ) -> Result<CommandAnswer, AppError> {
        let employee = body.employee.clone().unwrap_or_else(|| meta.actor.clone());
        let target = format!("partner/{partner}/employee/{employee}");
        self.execute(meta, CommandName::AccessLinkIssue, &target, |ctx| {
            ctx.partner_record(partner)?;
            ctx.authorize(
                "access_link.issue",
                EntityRef::new(EntityKind::Partner, partner.as_str()),
                context([("target", user_ref(&employee))]),
            )?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let token = format!("pal_{}", hex(&bytes));
            let digest = sha256_hex(&token);
            let key = employee_key(partner, &employee);
            let mut digests: Vec<String> = match ctx.tx().aux(Aux::EmployeeLinks, &key)? {
                Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
                None => Vec::new(),
            };
            if body.rotate {
                for old in digests.drain(..) {
                    ctx.tx().remove_aux(Aux::AccessLinks, &old)?;
                }
            }
            digests.push(digest.clone());
            let link = AccessLink {
                partner: partner.clone(),
                employee: employee.clone(),
                created_at: ctx.now,
                created_by: ctx.actor.clone(),
            };
            ctx.tx()
                .put_aux(Aux::AccessLinks, &digest, &json_bytes(&link)?)?;
            ctx.tx()
                .put_aux(Aux::EmployeeLinks, &key, &json_bytes(&digests)?)?;
            ctx.answer_carries_link(digest);
            Ok((
                true,
                json!({"token": token, "employee": employee, "partner": partner,
                       "rotated": body.rotate}),
            ))
        })
    }

    /// PA-2, PA-4, PA-5: a client approves a link; the employee becomes (or is upgraded to) a
    /// partner admin there with the partner seat, linked to the partner.
    pub fn approve_access_link(
        &self,
        meta: &CommandMeta,
        token: &str,
        body: &ApproveLink,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{}", body.client);
        self.execute(meta, CommandName::AccessLinkApprove, &target, |ctx| {
            let mut client = ctx.client_record(&body.client)?;
            let link: AccessLink = match ctx.tx().aux(Aux::AccessLinks, &sha256_hex(token))? {
                Some(bytes) => serde_json::from_slice(&bytes)
                    .map_err(|_| not_found("unknown or revoked access link"))?,
                None => return Err(not_found("unknown or revoked access link")),
            };
            let employment = ctx.employment(&link.employee)?;
            if employment.partner != link.partner {
                return Err(not_found(format!(
                    "`{}` is no longer an employee of partner `{}`",
                    link.employee, link.partner
                )));
            }
            ctx.managed_by_no_other(&client, &link.partner)?;
            ctx.authorize(
                "access_link.approve",
                EntityRef::new(EntityKind::Account, client.id.as_str()),
                context([
                    ("target", user_ref(&link.employee)),
                    ("partner", partner_ref(&link.partner)),
                ]),
            )?;
            if !ctx.partner_seat_eligible(&link.employee, &client.id)? {
                return Err(super::conflict(
                    format!(
                        "`{}` cannot become partner admin of `{}`: a partner admin must hold the partner seat, and `{}` is not eligible for it (an approved partner domain of a solutions partner or provider is required)",
                        link.employee, client.id, link.employee
                    ),
                    &["SEAT-5", "SEAT-2", "PA-4"],
                ));
            }
            let template = ctx
                .catalogue()
                .template(PARTNER_ADMIN_SET)
                .cloned()
                .unwrap_or_default();
            let existing = client.users.iter().find(|u| u.email == link.employee).cloned();
            let upgraded = ClientUserRecord {
                email: link.employee.clone(),
                role: Role::PartnerAdmin,
                seat: Seat::Partner,
                permissions: template.into_iter().collect(),
                status: Status::Active,
                partner: Some(link.partner.clone()),
                keep_billing: false,
                // Paid licences are the client's to give; an upgrade keeps those it held.
                paid_hubs: existing.as_ref().map(|u| u.paid_hubs.clone()).unwrap_or_default(),
            };
            ctx.keep_a_super_admin(&client, &link.employee, Some(&upgraded))?;
            let outcome = if existing.is_some() { "upgraded" } else { "created" };
            client.users.retain(|u| u.email != link.employee);
            client.users.push(upgraded.clone());
            ctx.partner_user_added(&mut client, &link.partner);
            ctx.save_client(&client)?;
            ctx.emit(
                EventKind::AccessLinkApproved,
                Some(&client.id),
                json!({"client": client.id, "partner": link.partner, "employee": link.employee,
                       "approved_by": ctx.actor}),
            );
            if existing.is_none() {
                ctx.emit(
                    EventKind::UserCreated,
                    Some(&client.id),
                    json!({"client": client.id, "email": link.employee, "role": "partner_admin",
                           "seat": "partner"}),
                );
            } else {
                ctx.emit(
                    EventKind::PermissionsChanged,
                    Some(&client.id),
                    json!({"client": client.id, "email": link.employee,
                           "permissions": upgraded.permissions, "role": "partner_admin"}),
                );
            }
            let mut answer = user_json(&upgraded);
            if let Value::Object(map) = &mut answer {
                map.insert("client".into(), json!(client.id));
                map.insert("outcome".into(), json!(outcome));
            }
            Ok((existing.is_none(), answer))
        })
    }

    /// LINK-1, LINK-2: a CAM user links an existing client user who is one of its employees.
    /// Nothing else about the user changes.
    pub fn link_employee(
        &self,
        meta: &CommandMeta,
        partner: &PartnerId,
        employee: &Email,
        body: &LinkEmployee,
    ) -> Result<CommandAnswer, AppError> {
        let target = format!("client/{}/user/{employee}", body.client);
        self.execute(meta, CommandName::EmployeeLink, &target, |ctx| {
            ctx.partner_record(partner)?;
            let mut client = ctx.client_record(&body.client)?;
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
                    super::conflict(
                        format!(
                            "`{employee}` is not a user of client `{}`; nothing to link",
                            client.id
                        ),
                        &["LINK-2"],
                    )
                })?;
            ctx.managed_by_no_other(&client, partner)?;
            let outcome = if user.partner.as_ref() == Some(partner) {
                "already_linked"
            } else {
                user.partner = Some(partner.clone());
                "linked"
            };
            client.users.retain(|u| &u.email != employee);
            client.users.push(user.clone());
            ctx.partner_user_added(&mut client, partner);
            ctx.save_client(&client)?;
            Ok((
                false,
                json!({"client": client.id, "employee": employee, "partner": partner,
                       "outcome": outcome, "user": user_json(&user)}),
            ))
        })
    }
}
