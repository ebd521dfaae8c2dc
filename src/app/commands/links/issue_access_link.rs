//! `POST /v1/partners/{partner}/access-links` (PA-1, PA-3): a CAM user gets its own access
//! link or a colleague's; `rotate` revokes the employee's earlier links.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{AccessLink, employee_key};
use crate::app::commands::{
    Applied, CmdResult, Command, CommandName, Ctx, body_with_actor, context, hex, json_bytes,
    sha256_hex, user_ref,
};
use crate::domain::{Email, PartnerId};
use crate::policy::{EntityKind, EntityRef};
use crate::store::Aux;

/// The body.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueAccessLinkBody {
    pub actor: Email,
    /// Whose link: another employee of the partner ("on behalf of"); default the actor.
    #[serde(default)]
    pub employee: Option<Email>,
    /// Revoke every earlier link of the employee.
    #[serde(default)]
    pub rotate: bool,
}

/// The command.
#[derive(Debug, Clone)]
pub struct IssueAccessLink {
    pub partner: PartnerId,
    pub body: IssueAccessLinkBody,
}

/// The answer: the token, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedLink {
    /// The link's token; absent from an idempotent replay of the answer (`token_withheld`).
    #[schema(required = false, example = "pal_3f5c…")]
    pub token: String,
    pub employee: Email,
    pub partner: PartnerId,
    pub rotated: bool,
    /// `true` in an idempotent replay of the answer, which has no `token` (it is shown once);
    /// absent otherwise.
    // The command answers `false`, left out; the idempotency table's replay sets it
    // (`journal.rs`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub token_withheld: bool,
}

body_with_actor!(IssueAccessLinkBody);

impl IssueAccessLink {
    /// Whose link it is: the named employee, or the actor.
    fn employee(&self) -> &Email {
        self.body.employee.as_ref().unwrap_or(&self.body.actor)
    }
}

impl Command for IssueAccessLink {
    type Path = (PartnerId,);
    type Body = IssueAccessLinkBody;
    type Answer = IssuedLink;

    fn new((partner,): Self::Path, body: IssueAccessLinkBody) -> Self {
        IssueAccessLink { partner, body }
    }

    fn name(&self) -> CommandName {
        CommandName::AccessLinkIssue
    }

    fn target(&self) -> String {
        format!("partner/{}/employee/{}", self.partner, self.employee())
    }

    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<IssuedLink>> {
        let partner = &self.partner;
        let employee = self.employee().clone();
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
        if self.body.rotate {
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
        Ok(Applied::created_if(
            true,
            IssuedLink {
                token,
                employee,
                partner: partner.clone(),
                rotated: self.body.rotate,
                token_withheld: false,
            },
        ))
    }
}
