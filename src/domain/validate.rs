//! Structural validation of a state document: the rules that span records.
//!
//! Parsing ([`super::state`]) guarantees every field has the right shape; this module checks
//! what no single field can: that references resolve, that nothing is duplicated, and the
//! account invariants (MIG-4 at least one active super admin, SEAT-5 partner admins hold the
//! partner seat). It reports every problem at once, each with its path and rule id, so an
//! operator fixes a document in one round.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::catalogue::{Catalogue, PARTNER_ADMIN_SET, Permission, SUPER_ADMIN_SET};
use super::enums::{Role, Seat, Status};
use super::ids::{Email, PartnerId};
use super::relationship::RelationshipHistory;
use super::state::{PermissionSetRecord, StateDocument};
use super::time::Timestamp;

/// One thing wrong with a state document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Where: `clients[0].users[1]`.
    pub path: String,
    /// The rule the problem breaks, when one does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Some(rule) => write!(f, "{}: {} ({rule})", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Collects problems as the checks walk the document.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, rule: Option<&'static str>, message: String) {
        self.0.push(Problem {
            path: path.into(),
            rule,
            message,
        });
    }
}

/// Checks a state document against the rules that span records. `Ok` when there is nothing to
/// report; otherwise every problem found.
pub fn validate(doc: &StateDocument, catalogue: &Catalogue) -> Result<(), Vec<Problem>> {
    let mut problems = Problems::default();
    let employers = check_partners(doc, catalogue, &mut problems);
    check_clients(doc, catalogue, &employers, &mut problems);
    if problems.0.is_empty() {
        Ok(())
    } else {
        Err(problems.0)
    }
}

/// Checks the partners; returns which partner employs each e-mail.
fn check_partners(
    doc: &StateDocument,
    catalogue: &Catalogue,
    problems: &mut Problems,
) -> BTreeMap<Email, PartnerId> {
    let mut seen_ids = BTreeSet::new();
    let mut employers: BTreeMap<Email, PartnerId> = BTreeMap::new();
    let client_ids: BTreeSet<_> = doc.clients.iter().map(|c| &c.id).collect();

    for (i, partner) in doc.partners.iter().enumerate() {
        let path = format!("partners[{i}]");
        if !seen_ids.insert(&partner.id) {
            problems.push(
                &path,
                None,
                format!("partner `{}` appears more than once", partner.id),
            );
        }
        for (d, domain) in partner.email_domains.iter().enumerate() {
            if domain.is_empty()
                || domain.contains('@')
                || domain.chars().any(|c| c.is_whitespace() || c.is_control())
                || *domain != domain.to_ascii_lowercase()
            {
                problems.push(
                    format!("{path}.email_domains[{d}]"),
                    None,
                    format!(
                        "`{}` is not a lower-case e-mail domain",
                        domain.escape_debug()
                    ),
                );
            }
        }
        let mut seen_emails = BTreeSet::new();
        for (e, employee) in partner.employees.iter().enumerate() {
            let epath = format!("{path}.employees[{e}]");
            if !seen_emails.insert(&employee.email) {
                problems.push(
                    &epath,
                    None,
                    format!(
                        "employee `{}` appears more than once in partner `{}`",
                        employee.email, partner.id
                    ),
                );
                continue;
            }
            if let Some(other) = employers.get(&employee.email) {
                problems.push(
                    &epath,
                    None,
                    format!(
                        "`{}` is already an employee of partner `{other}`; an e-mail belongs to one partner",
                        employee.email
                    ),
                );
            } else {
                employers.insert(employee.email.clone(), partner.id.clone());
            }
        }
        check_permission_sets(
            &partner.permission_sets,
            &format!("{path}.permission_sets"),
            catalogue,
            problems,
        );
        for client in partner.crm_names.keys() {
            if !client_ids.contains(client) {
                problems.push(
                    format!("{path}.crm_names"),
                    None,
                    format!("CRM name given for unknown client `{client}`"),
                );
            }
        }
    }
    employers
}

fn check_permission_sets(
    sets: &[PermissionSetRecord],
    path: &str,
    catalogue: &Catalogue,
    problems: &mut Problems,
) {
    let mut seen = BTreeSet::new();
    for (s, set) in sets.iter().enumerate() {
        let spath = format!("{path}[{s}]");
        if [SUPER_ADMIN_SET, PARTNER_ADMIN_SET].contains(&set.name.as_str()) {
            problems.push(
                &spath,
                None,
                format!(
                    "`{}` is a built-in permission set and cannot be redefined",
                    set.name
                ),
            );
        }
        if !seen.insert(&set.name) {
            problems.push(
                &spath,
                None,
                format!("permission set `{}` appears more than once", set.name),
            );
        }
        check_permissions(&set.permissions, &spath, catalogue, problems);
    }
}

/// The longest permission list a permission set or a user may hold.
pub const MAX_PERMISSIONS: usize = 1000;

fn check_permissions(
    permissions: &[Permission],
    path: &str,
    catalogue: &Catalogue,
    problems: &mut Problems,
) {
    // The catalogue is small; a list this long can only be repetition, and every uncached
    // check of the user would turn it into a Cedar set.
    if permissions.len() > MAX_PERMISSIONS {
        problems.push(
            format!("{path}.permissions"),
            None,
            format!(
                "at most {MAX_PERMISSIONS} permissions, got {}",
                permissions.len()
            ),
        );
        return;
    }
    for (p, permission) in permissions.iter().enumerate() {
        if !catalogue.contains(permission) {
            problems.push(
                format!("{path}.permissions[{p}]"),
                None,
                format!("unknown permission `{permission}`"),
            );
        }
    }
}

fn check_clients(
    doc: &StateDocument,
    catalogue: &Catalogue,
    employers: &BTreeMap<Email, PartnerId>,
    problems: &mut Problems,
) {
    let partner_ids: BTreeSet<_> = doc.partners.iter().map(|p| &p.id).collect();
    let mut seen_ids = BTreeSet::new();

    for (i, client) in doc.clients.iter().enumerate() {
        let path = format!("clients[{i}]");
        if !seen_ids.insert(&client.id) {
            problems.push(
                &path,
                None,
                format!("client `{}` appears more than once", client.id),
            );
        }
        if let Some(partner) = client
            .managed_by
            .as_ref()
            .filter(|p| !partner_ids.contains(p))
        {
            problems.push(
                format!("{path}.managed_by"),
                None,
                format!("unknown partner `{partner}`"),
            );
        }
        check_permission_sets(
            &client.permission_sets,
            &format!("{path}.permission_sets"),
            catalogue,
            problems,
        );

        let mut seen_emails = BTreeSet::new();
        let mut active_super_admins = 0usize;
        let mut linked_partners = BTreeSet::new();
        for (u, user) in client.users.iter().enumerate() {
            let upath = format!("{path}.users[{u}]");
            if !seen_emails.insert(&user.email) {
                problems.push(
                    &upath,
                    None,
                    format!(
                        "`{}` is a user of client `{}` more than once",
                        user.email, client.id
                    ),
                );
            }
            check_permissions(&user.permissions, &upath, catalogue, problems);
            if user.role == Role::SuperAdmin && user.status == Status::Active {
                active_super_admins += 1;
            }
            if user.role == Role::PartnerAdmin && user.seat != Seat::Partner {
                problems.push(
                    &upath,
                    Some("SEAT-5"),
                    format!(
                        "partner admin `{}` must hold the partner seat, not `{}`",
                        user.email, user.seat
                    ),
                );
            }
            match &user.partner {
                None if user.role == Role::PartnerAdmin => problems.push(
                    &upath,
                    Some("PA-2"),
                    format!("partner admin `{}` is not linked to a partner", user.email),
                ),
                None => {}
                Some(partner) if !partner_ids.contains(partner) => problems.push(
                    format!("{upath}.partner"),
                    None,
                    format!("`{}` is linked to unknown partner `{partner}`", user.email),
                ),
                Some(partner) => {
                    linked_partners.insert(partner);
                    if employers.get(&user.email) != Some(partner) {
                        problems.push(
                            format!("{upath}.partner"),
                            Some("LINK-1"),
                            format!(
                                "`{}` is linked to partner `{partner}` but is not one of its employees",
                                user.email
                            ),
                        );
                    }
                }
            }
        }
        if active_super_admins == 0 {
            problems.push(
                &path,
                Some("MIG-4"),
                format!("client `{}` has no active super admin", client.id),
            );
        }
        match (linked_partners.len(), &client.managed_by) {
            (0, _) => {}
            (1, Some(managing)) if linked_partners.contains(managing) => {}
            (1, None) => {}
            _ => problems.push(
                &path,
                Some("LINK-2"),
                format!(
                    "client `{}` has partner users of {} but is managed by {}; a client is managed by at most one partner",
                    client.id,
                    linked_partners
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    client
                        .managed_by
                        .as_ref()
                        .map_or("no partner".to_owned(), |p| format!("`{p}`"))
                ),
            ),
        }
        if let Some(history) = &client.relationship {
            check_relationships(
                history,
                &format!("{path}.relationship"),
                &partner_ids,
                problems,
            );
        }
        let mut seen_assets = BTreeSet::new();
        for (a, asset) in client.assets.iter().enumerate() {
            if !seen_assets.insert(&asset.id) {
                problems.push(
                    format!("{path}.assets[{a}]"),
                    None,
                    format!("asset `{}` appears more than once", asset.id),
                );
            }
        }
    }
}

/// A client's relationship history (REL-4, REL-5): known partners, periods oldest first, each
/// period's ending spans in order with only the last one open, every period but the last ended.
fn check_relationships(
    history: &RelationshipHistory,
    path: &str,
    partner_ids: &BTreeSet<&PartnerId>,
    problems: &mut Problems,
) {
    let count = history.periods.len();
    let mut previous_end: Option<Timestamp> = None;
    for (i, period) in history.periods.iter().enumerate() {
        let path = format!("{path}.periods[{i}]");
        if !partner_ids.contains(&period.partner) {
            problems.push(
                format!("{path}.partner"),
                None,
                format!("unknown partner `{}`", period.partner),
            );
        }
        if previous_end.is_some_and(|end| period.started_at < end) {
            problems.push(
                format!("{path}.started_at"),
                Some("REL-4"),
                "a relationship starts after the previous one ended (periods are oldest first)"
                    .into(),
            );
        }
        if i + 1 < count && period.ended_at.is_none() {
            problems.push(
                format!("{path}.ended_at"),
                Some("REL-4"),
                "every relationship but the latest has ended".into(),
            );
        }
        if period.ended_at.is_some_and(|end| end < period.started_at) {
            problems.push(
                format!("{path}.ended_at"),
                None,
                "ends before it started".into(),
            );
        }
        let mut previous = period.started_at;
        let spans = period.ending_spans.len();
        for (j, span) in period.ending_spans.iter().enumerate() {
            let until_ok = span.until.is_none_or(|until| until >= span.since);
            if span.since < previous || !until_ok || (span.until.is_none() && j + 1 < spans) {
                problems.push(
                    format!("{path}.ending_spans[{j}]"),
                    None,
                    "ending spans follow one another within the relationship, and only the last may be open"
                        .into(),
                );
            }
            previous = span.until.unwrap_or(span.since).max(previous);
        }
        previous_end = period.ended_at.or(Some(period.started_at));
    }
}

#[cfg(test)]
mod tests;
