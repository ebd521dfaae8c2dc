//! Questions hosts and support engineers ask besides allow/deny: *why* (an explanation in
//! words), *what may this user do here* (every action on one account) and *where may this user
//! do this* (every account for one action, paged).
//!
//! All three read one consistent snapshot of the store (not the check-path cache: they are
//! not on the hot path, and an explanation must describe the state it was decided on).

mod words;

use serde::Serialize;

use super::{App, AppError};
use crate::domain::{ClientId, Email, PolicyVersion};
use crate::policy::{CheckError, CheckRequest, EntityKind, EntityRef, Explanation};
use crate::store::{SearchKind, Snapshot, StoreError};
use words::{facts, summary};

/// An explanation with the facts it rests on and a summary in words.
#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    #[serde(flatten)]
    pub explanation: Explanation,
    /// One sentence a support engineer can read.
    pub summary: String,
    /// What the store says about the principal and the resource.
    pub facts: Vec<String>,
    pub revision: u64,
    /// The policy set that decided.
    pub policy_version: PolicyVersion,
}

/// Every action a principal may take on a resource.
#[derive(Debug, Clone, Serialize)]
pub struct ActionsAllowed {
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
    pub revision: u64,
    /// The policy set that decided.
    pub policy_version: PolicyVersion,
}

/// One page of the accounts where a user may take an action.
#[derive(Debug, Clone, Serialize)]
pub struct AccountsPage {
    /// The accounts on this page where the action is allowed, in id order.
    pub accounts: Vec<AllowedAccount>,
    /// Where the next page starts; `None` when every account has been considered.
    pub next: Option<String>,
    pub revision: u64,
    /// The policy set that decided.
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllowedAccount {
    pub id: ClientId,
    /// The policies that allowed it.
    pub reasons: Vec<String>,
}

/// What the playground's pickers found (`GET /v1/search`).
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub kind: SearchKind,
    /// The first matches in id order.
    pub matches: Vec<FoundItem>,
    /// More ids start with the query than were returned: type more of it.
    pub more: bool,
    pub revision: u64,
}

/// One match: its id and a few words on what it is.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FoundItem {
    pub id: String,
    pub label: String,
}

/// The most matches one search returns.
pub const MAX_SEARCH: usize = 50;

/// The most decisions one page of `accounts` evaluates: a page may hold fewer accounts than
/// asked for (with a `next` cursor), never an unbounded amount of work.
pub const MAX_SCAN: usize = 5_000;

fn undecidable(e: CheckError) -> AppError {
    match e {
        CheckError::UnknownAction { .. } => super::checks::unknown_action(&e),
        CheckError::InvalidRequest(message) => AppError::invalid(message),
        CheckError::Slice(e) => {
            AppError::Unavailable(crate::store::StoreError::Read(e.to_string()))
        }
    }
}

impl App {
    fn read_snapshot(&self) -> Result<Box<dyn Snapshot + '_>, AppError> {
        self.store.snapshot().map_err(|e| {
            self.store_failed(&e);
            self.unavailable(e)
        })
    }

    /// Decides a request and explains the decision (`POST /v1/explain`), under the policy set
    /// `pinned` names when it names one (409 under another, before anything is decided).
    pub fn explain(
        &self,
        request: &CheckRequest,
        pinned: Option<&str>,
    ) -> Result<Explained, AppError> {
        let engine = self.engine();
        if let Some(expected) = pinned {
            super::expect_policy_version(engine.version(), expected)?;
        }
        let snapshot = self.read_snapshot()?;
        let explanation = engine.explain(request, &*snapshot).map_err(undecidable)?;
        let facts = facts(&*snapshot, request);
        let summary = summary(request, &explanation, &engine);
        Ok(Explained {
            explanation,
            summary,
            facts,
            revision: snapshot.revision(),
            policy_version: engine.version().clone(),
        })
    }

    /// The first `limit` (at most [`MAX_SEARCH`]) ids of `kind` starting with `query`, with a
    /// label each (`GET /v1/search`): the playground's searchable pickers. E-mails are
    /// compared in lower case, as they are stored.
    pub fn search(&self, kind: SearchKind, query: &str, limit: usize) -> Result<Found, AppError> {
        let limit = limit.clamp(1, MAX_SEARCH);
        let prefix = match kind {
            SearchKind::User => query.trim().to_ascii_lowercase(),
            SearchKind::Account | SearchKind::Partner => query.trim().to_owned(),
        };
        let snapshot = self.read_snapshot()?;
        let failed = |e: StoreError| {
            self.store_failed(&e);
            self.unavailable(e)
        };
        let mut ids = snapshot.search(kind, &prefix, limit + 1).map_err(failed)?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut matches = Vec::with_capacity(ids.len());
        for id in ids {
            let label = label(&*snapshot, kind, &id).map_err(failed)?;
            matches.push(FoundItem { id, label });
        }
        Ok(Found {
            kind,
            matches,
            more,
            revision: snapshot.revision(),
        })
    }

    /// Every declared action the principal may or may not take on the resource
    /// (`POST /v1/actions_allowed`): the actions whose principal and resource types fit and
    /// that need no context.
    pub fn actions_allowed(
        &self,
        principal: &EntityRef,
        resource: &EntityRef,
    ) -> Result<ActionsAllowed, AppError> {
        let engine = self.engine();
        let snapshot = self.read_snapshot()?;
        let mut answer = ActionsAllowed {
            allowed: Vec::new(),
            denied: Vec::new(),
            revision: snapshot.revision(),
            policy_version: engine.version().clone(),
        };
        for action in engine.actions() {
            let fits = action
                .principal_types
                .iter()
                .any(|t| t == principal.kind.type_name())
                && action
                    .resource_types
                    .iter()
                    .any(|t| t == resource.kind.type_name());
            if !fits || engine.needs_context(&action.name) {
                continue;
            }
            let request = CheckRequest {
                principal: principal.clone(),
                action: action.name.clone(),
                resource: resource.clone(),
                context: serde_json::Map::new(),
            };
            let decision = engine.decide(&request, &*snapshot).map_err(undecidable)?;
            if decision.allowed {
                answer.allowed.push(action.name.clone());
            } else {
                answer.denied.push(action.name.clone());
            }
        }
        Ok(answer)
    }

    /// The accounts where `email` may take `action`, from `after` on, at most `limit`
    /// (`GET /v1/users/{email}/accounts`). Complete: when the policies grant the action only
    /// through a membership (every permit of it requires `principal.hasTag(resource.key)`),
    /// the candidates are the user's accounts; otherwise every account is considered.
    pub fn accounts_allowed(
        &self,
        email: &Email,
        action: &str,
        after: Option<&ClientId>,
        limit: usize,
    ) -> Result<AccountsPage, AppError> {
        let engine = self.engine();
        let action = engine.resolve(action).map_err(undecidable)?;
        if action.needs_context() {
            return Err(AppError::invalid(format!(
                "action `{}` needs a context; ask /v1/is_authorized per account",
                action.name()
            )));
        }
        let snapshot = self.read_snapshot()?;
        let read = |e: crate::store::StoreError| {
            self.store_failed(&e);
            self.unavailable(e)
        };
        let mut candidates = if action.membership_scoped() {
            snapshot.clients_of_user(email).map_err(read)?
        } else {
            snapshot.client_ids().map_err(read)?
        };
        candidates.sort();
        let limit = limit.clamp(1, super::reads::MAX_PAGE);
        let mut page = AccountsPage {
            accounts: Vec::new(),
            next: None,
            revision: snapshot.revision(),
            policy_version: engine.version().clone(),
        };
        let start = after.map_or(0, |a| candidates.partition_point(|c| c <= a));
        for (scanned, client) in candidates[start..].iter().enumerate() {
            if page.accounts.len() == limit || scanned == MAX_SCAN {
                // More candidates remain: say where to go on, never truncate silently.
                page.next = page.accounts.last().map(|a| a.id.to_string()).or_else(|| {
                    (start + scanned)
                        .checked_sub(1)
                        .map(|i| candidates[i].to_string())
                });
                break;
            }
            let request = CheckRequest {
                principal: EntityRef::new(EntityKind::User, email.as_str()),
                action: action.name().to_owned(),
                resource: EntityRef::new(EntityKind::Account, client.as_str()),
                context: serde_json::Map::new(),
            };
            let decision = engine.decide(&request, &*snapshot).map_err(undecidable)?;
            if decision.allowed {
                page.accounts.push(AllowedAccount {
                    id: client.clone(),
                    reasons: decision.reasons,
                });
            }
        }
        Ok(page)
    }
}

/// A few words on what a search match is, from point lookups.
fn label(snapshot: &dyn Snapshot, kind: SearchKind, id: &str) -> Result<String, StoreError> {
    Ok(match kind {
        SearchKind::User => {
            let Ok(email) = Email::parse(id) else {
                return Ok(String::new());
            };
            let accounts = snapshot.clients_of_user(&email)?.len();
            let employment = snapshot.user(&email)?.and_then(|u| u.employment);
            let member = match accounts {
                0 => String::new(),
                1 => "user in 1 client account".to_owned(),
                n => format!("user in {n} client accounts"),
            };
            match employment {
                Some(e) => {
                    let role = if e.super_admin {
                        "super admin"
                    } else {
                        "employee"
                    };
                    if member.is_empty() {
                        format!("{role} of partner {}", e.partner)
                    } else {
                        format!("{role} of partner {}, {member}", e.partner)
                    }
                }
                None => member,
            }
        }
        SearchKind::Account => {
            let Ok(client) = ClientId::parse(id) else {
                return Ok(String::new());
            };
            match snapshot.client(&client)?.and_then(|c| c.managed_by) {
                Some(partner) => format!("client account managed by {partner}"),
                None => "client account, not managed by a partner".to_owned(),
            }
        }
        SearchKind::Partner => {
            let Ok(partner) = crate::domain::PartnerId::parse(id) else {
                return Ok(String::new());
            };
            match snapshot.partner(&partner)? {
                Some(p) => format!("partner account ({})", p.tier),
                None => String::new(),
            }
        }
    })
}
