//! `POST /v1/explain`, `POST /v1/actions_allowed` and `GET /v1/users/{email}/accounts`: why a
//! decision, what a user may do in an account, and where a user may do something.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::checks::{CheckBody, Diagnostics};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::app::{
    AccountsPage, ActionsAllowed, App, Candidate, EntityRef, Explained, Found, FoundItem,
    MAX_SEARCH, PolicyInfo, SearchKind,
};
use crate::domain::{ClientId, Email, PolicyVersion, Verdict};

/// A decision with its explanation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExplainAnswer {
    /// `Allow` or `Deny`, exactly as `POST /v1/is_authorized` answers.
    #[schema(example = "Deny")]
    pub decision: Verdict,
    pub diagnostics: Diagnostics,
    /// The verdict and what decided it, in one sentence.
    #[schema(
        example = "Denied: ann@acme.example may not `scim.provision` in c-globex, forbidden by `partner-admin-never-scim-or-migration` (CAP-5): ..."
    )]
    pub summary: String,
    /// What the store says about the principal and the resource.
    pub facts: Vec<String>,
    /// The policies that determined the decision: id, effect, rules, file, line, text.
    #[schema(value_type = Vec<super::ops::PolicyDescription>)]
    pub determining: Vec<PolicyInfo>,
    /// For a Deny: every permit of the action, whether the request is in its scope, and each
    /// condition with its value (`true`, `false`, `error`).
    #[schema(value_type = Vec<std::collections::HashMap<String, serde_json::Value>>)]
    pub candidates: Vec<Candidate>,
    pub revision: u64,
    /// The policy set that decided.
    #[schema(value_type = String)]
    pub policy_version: PolicyVersion,
}

impl From<Explained> for ExplainAnswer {
    fn from(e: Explained) -> Self {
        let decision = e.explanation.decision;
        ExplainAnswer {
            decision: decision.verdict(),
            diagnostics: Diagnostics {
                reasons: decision.reasons,
                errors: decision
                    .errors
                    .into_iter()
                    .map(super::error::bounded)
                    .collect(),
            },
            summary: e.summary,
            facts: e.facts,
            determining: e.explanation.determining,
            candidates: e.explanation.candidates,
            revision: e.revision,
            policy_version: e.policy_version,
        }
    }
}

/// Decides a check and explains it: the deciding policies with their text and rule ids, and
/// for a Deny the permits that could have allowed it and which of their conditions failed.
#[utoipa::path(
    post, path = "/v1/explain", tag = "checks",
    request_body = CheckBody,
    responses(
        (status = 200, description = "The decision and its explanation", body = ExplainAnswer),
        (status = 400, description = "Malformed request or undeclared action", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 409, description = "The request expects another `policy_version`: nothing was explained", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    )
)]
pub async fn explain(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<CheckBody>,
) -> Result<axum::Json<ExplainAnswer>, ApiError> {
    let request = body.to_request()?;
    let pinned = body.policy_version;
    let explained = super::blocking(move || app.explain(&request, pinned.as_deref())).await?;
    Ok(axum::Json(explained.into()))
}

/// A principal and a resource.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionsAllowedBody {
    #[schema(value_type = super::checks::EntityReference, example = json!({"type": "Hub::User", "id": "ann@acme.example"}))]
    pub principal: Value,
    #[schema(value_type = super::checks::EntityReference, example = json!({"type": "Hub::Account", "id": "c-globex"}))]
    pub resource: Value,
}

/// Every action the principal may take on the resource, and every one it may not.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionsAllowedAnswer {
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
    pub revision: u64,
    /// The policy set that decided.
    #[schema(value_type = String)]
    pub policy_version: PolicyVersion,
}

impl From<ActionsAllowed> for ActionsAllowedAnswer {
    fn from(a: ActionsAllowed) -> Self {
        ActionsAllowedAnswer {
            allowed: a.allowed,
            denied: a.denied,
            revision: a.revision,
            policy_version: a.policy_version,
        }
    }
}

/// Every declared action (without required context) the principal may take on the resource,
/// in one call.
#[utoipa::path(
    post, path = "/v1/actions_allowed", tag = "checks",
    request_body = ActionsAllowedBody,
    responses(
        (status = 200, description = "Allowed and denied actions", body = ActionsAllowedAnswer),
        (status = 400, description = "Malformed principal or resource", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    )
)]
pub async fn actions_allowed(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<ActionsAllowedBody>,
) -> Result<axum::Json<ActionsAllowedAnswer>, ApiError> {
    let principal = EntityRef::from_json(&body.principal)
        .map_err(|e| ApiError::invalid(format!("principal: {e}")))?;
    let resource = EntityRef::from_json(&body.resource)
        .map_err(|e| ApiError::invalid(format!("resource: {e}")))?;
    super::blocking(move || app.actions_allowed(&principal, &resource))
        .await
        .map(|a| axum::Json(a.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccountsQuery {
    /// The action (`reports.access`).
    pub action: String,
    /// The `next` of the previous page.
    #[param(value_type = Option<String>)]
    pub after: Option<ClientId>,
    /// Accounts per page, 1 to 1,000 (default 100).
    pub limit: Option<usize>,
}

/// One page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountsAnswer {
    /// `{"id", "reasons"}` per account where the action is allowed, in id order.
    pub accounts: Vec<crate::app::AllowedAccount>,
    /// Pass as `after` for the next page; `null` when every account has been considered.
    pub next: Option<String>,
    pub revision: u64,
    /// The policy set that decided.
    #[schema(value_type = String)]
    pub policy_version: PolicyVersion,
}

impl From<AccountsPage> for AccountsAnswer {
    fn from(p: AccountsPage) -> Self {
        AccountsAnswer {
            accounts: p.accounts,
            next: p.next,
            revision: p.revision,
            policy_version: p.policy_version,
        }
    }
}

/// Every account where the user may take the action, paged with a cursor: complete, never
/// silently truncated (a page may hold fewer than `limit` accounts and still have a `next`).
#[utoipa::path(
    get, path = "/v1/users/{email}/accounts", tag = "checks",
    params(("email" = String, Path), AccountsQuery),
    responses(
        (status = 200, description = "One page of accounts", body = AccountsAnswer),
        (status = 400, description = "Unknown action, bad e-mail or cursor", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    )
)]
pub async fn accounts(
    State(app): State<Arc<App>>,
    ApiPath(email): ApiPath<Email>,
    ApiQuery(query): ApiQuery<AccountsQuery>,
) -> Result<axum::Json<AccountsAnswer>, ApiError> {
    if query.limit == Some(0) || query.limit.is_some_and(|l| l > crate::app::reads::MAX_PAGE) {
        return Err(ApiError::invalid(format!(
            "limit: expected 1 to {}",
            crate::app::reads::MAX_PAGE
        )));
    }
    super::blocking(move || {
        app.accounts_allowed(
            &email,
            &query.action,
            query.after.as_ref(),
            query.limit.unwrap_or(100),
        )
    })
    .await
    .map(|p| axum::Json(p.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// `user` (e-mails of employees and client users), `account` or `partner`.
    #[param(value_type = String, example = "user")]
    pub kind: SearchKind,
    /// The start of the id (`ann`); empty lists the first ids.
    #[serde(default)]
    pub q: String,
    /// Matches to return, 1 to 50 (default 20).
    pub limit: Option<usize>,
}

/// Ids that start with the query.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchAnswer {
    #[schema(value_type = String, example = "user")]
    pub kind: SearchKind,
    /// `{"id", "label"}` per match, in id order.
    pub matches: Vec<FoundItem>,
    /// More ids start with the query than were returned.
    pub more: bool,
    pub revision: u64,
}

impl From<Found> for SearchAnswer {
    fn from(f: Found) -> Self {
        SearchAnswer {
            kind: f.kind,
            matches: f.matches,
            more: f.more,
            revision: f.revision,
        }
    }
}

/// Users, client accounts or partners whose id starts with `q`: the playground's searchable
/// pickers. A range scan of the store's key order: it costs what it returns.
#[utoipa::path(
    get, path = "/v1/search", tag = "checks",
    params(SearchQuery),
    responses(
        (status = 200, description = "The first matches", body = SearchAnswer),
        (status = 400, description = "Unknown kind or limit out of range", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 503, description = "The store cannot be read", body = ErrorBody),
    )
)]
pub async fn search(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<axum::Json<SearchAnswer>, ApiError> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_SEARCH).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit: expected 1 to {MAX_SEARCH}"
        )));
    }
    if query.q.len() > crate::domain::MAX_EMAIL_LEN {
        return Err(ApiError::invalid(format!(
            "q: longer than {} bytes",
            crate::domain::MAX_EMAIL_LEN
        )));
    }
    super::blocking(move || app.search(query.kind, &query.q, limit))
        .await
        .map(|f| axum::Json(f.into()))
}
