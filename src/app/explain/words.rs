//! An explanation in words: the facts the store holds about a request's principal and
//! resource, and the one-sentence summary a support engineer reads. It owns the wording and
//! may only read the snapshot it is given; the decision itself is the policies'.

use crate::domain::{ClientId, Email, PaidHub};
use crate::policy::{CheckRequest, EntityKind, Explanation, Held};
use crate::store::Snapshot;

/// Words for a role name (`partner_admin` → `partner admin`).
fn words(name: &str) -> String {
    name.replace('_', " ")
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// What the store says about the principal and the resource of a request.
pub(super) fn facts(directory: &dyn Snapshot, request: &CheckRequest) -> Vec<String> {
    let mut facts = Vec::new();
    let user = (request.principal.kind == EntityKind::User)
        .then(|| Email::parse(&request.principal.id).ok())
        .flatten();
    let client = (request.resource.kind == EntityKind::Account)
        .then(|| ClientId::parse(&*request.resource.id).ok())
        .flatten();
    if let Some(email) = &user {
        match directory.user(email) {
            Ok(Some(info)) => {
                if let Some(job) = info.employment {
                    facts.push(format!(
                        "{email} is an employee of partner {}{}",
                        job.partner,
                        if job.super_admin {
                            " (a super admin of the partner account)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            Ok(None) => facts.push(format!("{email} is not known to the store")),
            Err(e) => facts.push(format!("{email} could not be read: {e}")),
        }
    }
    if let Some(id) = &client {
        match directory.client(id) {
            Ok(Some(info)) => facts.push(match &info.managed_by {
                Some(partner) => format!(
                    "{id} is a {} account managed by partner {partner}",
                    words(info.pricing_model.as_str())
                ),
                None => format!(
                    "{id} is a {} account with no managing partner",
                    words(info.pricing_model.as_str())
                ),
            }),
            Ok(None) => facts.push(format!("{id} is not known to the store")),
            Err(e) => facts.push(format!("{id} could not be read: {e}")),
        }
    }
    if let (Some(email), Some(id)) = (&user, &client) {
        match directory.membership(id, email) {
            Ok(Some(member)) => {
                let role = words(member.role.as_str());
                let permissions = if member.permissions.is_empty() {
                    "no permissions".to_owned()
                } else {
                    format!(
                        "permissions {}",
                        member
                            .permissions
                            .iter()
                            .map(|p| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                // SEAT-9: paid hub licences are held besides the seat.
                let licences = if member.paid_hubs.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", paid {} licence{}",
                        member
                            .paid_hubs
                            .iter()
                            .map(|h| match h {
                                PaidHub::Sales => "Sales Hub",
                                PaidHub::Service => "Service Hub",
                            })
                            .collect::<Vec<_>>()
                            .join(" and "),
                        if member.paid_hubs.len() == 1 { "" } else { "s" }
                    )
                };
                facts.push(format!(
                    "{email} is {} {role} in {id} ({} seat{licences}, {}{}; {permissions})",
                    article(&role),
                    words(member.seat.as_str()),
                    member.status,
                    member
                        .partner
                        .as_ref()
                        .map(|p| format!(", partner user of {p}"))
                        .unwrap_or_default(),
                ));
            }
            Ok(None) => facts.push(format!("{email} is not a user of {id}")),
            Err(e) => facts.push(format!("the membership could not be read: {e}")),
        }
    }
    facts
}

/// One sentence: the verdict and what decided it.
pub(super) fn summary(
    request: &CheckRequest,
    explanation: &Explanation,
    engine: &crate::policy::PolicyEngine,
) -> String {
    let who = &request.principal.id;
    let what = &request.action;
    let whom = &request.resource.id;
    let cite = |id: &str, rules: &[String], description: &str| {
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!(" ({})", rules.join(", "))
        };
        let description = description.trim().trim_end_matches('.');
        if description.is_empty() {
            format!("`{id}`{rules}")
        } else {
            format!("`{id}`{rules}: {description}")
        }
    };
    let decision = &explanation.decision;
    if decision.allowed {
        let by: Vec<String> = explanation
            .determining
            .iter()
            .map(|p| cite(&p.id, &p.rules, &p.description))
            .collect();
        return format!(
            "Allowed: {who} may `{what}` in {whom}, permitted by {}.",
            by.join("; and by ")
        );
    }
    if !explanation.determining.is_empty() {
        let by: Vec<String> = explanation
            .determining
            .iter()
            .map(|p| cite(&p.id, &p.rules, &p.description))
            .collect();
        return format!(
            "Denied: {who} may not `{what}` in {whom}, forbidden by {}.",
            by.join("; and by ")
        );
    }
    if !decision.errors.is_empty() {
        return format!(
            "Denied: {who} may not `{what}` in {whom}: {}.",
            decision.errors.join("; ")
        );
    }
    let mut why: Vec<String> = Vec::new();
    for candidate in explanation.candidates.iter().filter(|c| c.scope_matches) {
        let failed: Vec<String> = candidate
            .failed()
            .map(|c| match c.outcome {
                Held::Error => format!("{} fails to evaluate", c.condition),
                _ => format!("{} is false", c.condition),
            })
            .collect();
        if !failed.is_empty() {
            why.push(format!(
                "`{}` requires {}",
                candidate.id,
                failed.join(" and ")
            ));
        }
    }
    let rules = engine
        .action(what)
        .map(|a| a.rules.join(", "))
        .filter(|r| !r.is_empty())
        .map(|r| format!(" (see {r})"))
        .unwrap_or_default();
    if why.is_empty() {
        format!("Denied: no policy permits {who} to `{what}` in {whom}{rules}.")
    } else {
        format!(
            "Denied: no policy permits {who} to `{what}` in {whom}{rules}: {}.",
            why.join("; ")
        )
    }
}
