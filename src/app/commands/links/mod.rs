//! Access links (PA-1, PA-3..5) and manual links (LINK-1, LINK-2).
//!
//! A link token is 256 random bits, shown once and stored only as its SHA-256 digest, bound to
//! (partner, employee). It works for any number of clients until rotated; rotating revokes every
//! earlier token of that employee. "Shown once" holds for idempotent replays too: the
//! idempotency table keeps the issuing answer without its token, a replay answers
//! `token_withheld: true` while the link is live and a 409 once it is revoked, and the token in
//! an approval's path is redacted before the request is logged (`crate::http`).

mod approve_access_link;
mod issue_access_link;
mod link_employee;

use serde::{Deserialize, Serialize};

pub use approve_access_link::{
    ApprovalOutcome, ApproveAccessLink, ApproveAccessLinkBody, Approved,
};
pub use issue_access_link::{IssueAccessLink, IssueAccessLinkBody, IssuedLink};
pub use link_employee::{LinkEmployee, LinkEmployeeBody, LinkOutcome, Linked};

use crate::domain::{Email, PartnerId, Timestamp};

/// What the store keeps of a link (under its token's digest).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccessLink {
    partner: PartnerId,
    employee: Email,
    created_at: Timestamp,
    created_by: Email,
}

/// The key of an employee's current link digests in `Aux::EmployeeLinks`.
fn employee_key(partner: &PartnerId, employee: &Email) -> String {
    format!("{partner}/{employee}")
}
