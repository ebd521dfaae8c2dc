//! The Client Access Manager's reads over HTTP (a partner's clients and employees, a client's
//! users, the managed relationship and its history) and the pages of the audit log and the
//! outbox. Each handler parses its query, calls the read in [`crate::app`] and answers JSON; it
//! owns the reads' wire types and may not change anything.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::app::App;
use crate::app::commands::{AuditRecord, Event};
use crate::app::reads::{AccessFilter, ClientUsers, Page, PartnerClients, PartnerEmployees};
use crate::domain::{
    ClientId, Email, PartnerId, PeriodView, RelationshipState, RelationshipView, Timestamp,
};
use crate::http::error::{ApiError, ApiPath, ApiQuery, ErrorBody};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActorQuery {
    /// The person reading, as the host authenticated them.
    #[param(value_type = String)]
    pub actor: Email,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClientsQuery {
    #[param(value_type = String)]
    pub actor: Email,
    /// `partner_admin`, `partner_user` or `deactivated`.
    #[param(value_type = Option<String>)]
    pub access: Option<AccessFilter>,
}

/// An answer as a JSON map, whose members are sorted by name: the bytes the CAM's lists and
/// the logs have always been answered with (their document gives the typed shape).
fn sorted_json(answer: impl Serialize) -> axum::Json<Value> {
    axum::Json(serde_json::to_value(answer).unwrap_or(Value::Null))
}

/// Clients the partner's employees can access (PA-1 `view`).
#[utoipa::path(get, path = "/v1/partners/{partner}/clients", tag = "reads",
    params(("partner" = String, Path), ClientsQuery),
    responses((status = 200, body = PartnerClients), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn partner_clients(
    State(app): State<Arc<App>>,
    ApiPath(partner): ApiPath<PartnerId>,
    ApiQuery(query): ApiQuery<ClientsQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    crate::http::blocking(move || app.partner_clients(&query.actor, &partner, query.access))
        .await
        .map(sorted_json)
}

/// The partner's employees, verified ones marked, with the clients each is a user of.
#[utoipa::path(get, path = "/v1/partners/{partner}/employees", tag = "reads",
    params(("partner" = String, Path), ActorQuery),
    responses((status = 200, body = PartnerEmployees), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn partner_employees(
    State(app): State<Arc<App>>,
    ApiPath(partner): ApiPath<PartnerId>,
    ApiQuery(query): ApiQuery<ActorQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    crate::http::blocking(move || app.partner_employees(&query.actor, &partner))
        .await
        .map(sorted_json)
}

/// The users of a client account.
#[utoipa::path(get, path = "/v1/clients/{client}/users", tag = "reads",
    params(("client" = String, Path), ActorQuery),
    responses((status = 200, body = ClientUsers), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn client_users(
    State(app): State<Arc<App>>,
    ApiPath(client): ApiPath<ClientId>,
    ApiQuery(query): ApiQuery<ActorQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    crate::http::blocking(move || app.client_users(&query.actor, &client))
        .await
        .map(sorted_json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    /// An RFC 3339 instant (default: now).
    #[param(value_type = Option<String>)]
    pub at: Option<Timestamp>,
}

/// The managed relationship of a client at an instant (REL-5).
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipAnswer {
    #[schema(example = "c-globex")]
    pub client: ClientId,
    /// The instant asked about (`at=`, default now).
    #[schema(example = "2026-03-01T00:00:00Z")]
    pub at: Timestamp,
    /// The partner of the relationship that held then; null when `none`.
    #[schema(required = true, example = "p-acme")]
    pub partner: Option<PartnerId>,
    /// `active`, `ending`, `ended` or `none`.
    #[schema(example = "ending")]
    pub state: RelationshipState,
    /// When that relationship started (a relationship started after an `ended` one has its
    /// own, REL-4).
    #[schema(required = true, example = "2025-09-01T08:00:00Z")]
    pub started_at: Option<Timestamp>,
    /// When an `ending` relationship ends, or an `ended` one ended: 60 days after the last
    /// activity (REL-2).
    #[schema(required = true, example = "2026-04-20T10:30:00Z")]
    pub ends_at: Option<Timestamp>,
    /// The last qualifying activity recorded as of `at` (never later than `at`).
    #[schema(required = true, example = "2026-02-19T10:30:00Z")]
    pub last_activity_at: Option<Timestamp>,
}

impl RelationshipAnswer {
    fn new(client: ClientId, at: Timestamp, view: RelationshipView) -> Self {
        RelationshipAnswer {
            client,
            at,
            partner: view.partner,
            state: view.state,
            started_at: view.started_at,
            ends_at: view.ends_at,
            last_activity_at: view.last_activity_at,
        }
    }
}

/// The managed relationship at an instant, past or future: `active`, `ending`, `ended` or
/// `none`. A past instant is answered from the recorded history (REL-5).
#[utoipa::path(get, path = "/v1/clients/{client}/relationship", tag = "reads",
    params(("client" = String, Path), AtQuery),
    responses((status = 200, body = RelationshipAnswer, example = json!({
                  "client": "c-globex", "at": "2026-03-01T00:00:00Z", "partner": "p-acme",
                  "state": "ending", "started_at": "2025-09-01T08:00:00Z",
                  "ends_at": "2026-04-20T10:30:00Z", "last_activity_at": "2026-02-19T10:30:00Z"})),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn relationship(
    State(app): State<Arc<App>>,
    ApiPath(client): ApiPath<ClientId>,
    ApiQuery(query): ApiQuery<AtQuery>,
) -> Result<axum::Json<RelationshipAnswer>, ApiError> {
    let id = client.clone();
    let (at, view) = crate::http::blocking(move || app.relationship(&id, query.at)).await?;
    Ok(axum::Json(RelationshipAnswer::new(client, at, view)))
}

/// One relationship of a client's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipPeriodAnswer {
    #[schema(example = "p-acme")]
    pub partner: PartnerId,
    /// Its state now: `active`, `ending` or `ended`.
    #[schema(example = "ended")]
    pub state: RelationshipState,
    /// Null only for a client imported as managed without a history, until its first command.
    #[schema(required = true, example = "2025-09-01T08:00:00Z")]
    pub started_at: Option<Timestamp>,
    /// Since when no partner user of the partner is in the account; null while active.
    #[schema(required = true, example = "2025-10-02T09:00:00Z")]
    pub ending_since: Option<Timestamp>,
    /// When it ended; null unless ended.
    #[schema(required = true, example = "2025-12-01T09:00:00Z")]
    pub ended_at: Option<Timestamp>,
    /// The last qualifying activity recorded in it.
    #[schema(required = true, example = "2025-10-02T09:00:00Z")]
    pub last_activity_at: Option<Timestamp>,
}

impl From<PeriodView> for RelationshipPeriodAnswer {
    fn from(p: PeriodView) -> Self {
        RelationshipPeriodAnswer {
            partner: p.partner,
            state: p.state,
            started_at: p.started_at,
            ending_since: p.ending_since,
            ended_at: p.ended_at,
            last_activity_at: p.last_activity_at,
        }
    }
}

/// Every managed relationship of a client, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelationshipHistoryAnswer {
    #[schema(example = "c-globex")]
    pub client: ClientId,
    pub relationships: Vec<RelationshipPeriodAnswer>,
}

/// Every managed relationship of the client, oldest first: partner, start, since when it is
/// ending, end (REL-4, REL-5).
#[utoipa::path(get, path = "/v1/clients/{client}/relationship/history", tag = "reads",
    params(("client" = String, Path)),
    responses((status = 200, body = RelationshipHistoryAnswer, example = json!({
                  "client": "c-globex",
                  "relationships": [
                      {"partner": "p-acme", "state": "ended", "started_at": "2025-01-10T08:00:00Z",
                       "ending_since": "2025-03-02T09:00:00Z", "ended_at": "2025-05-01T09:00:00Z",
                       "last_activity_at": "2025-03-02T09:00:00Z"},
                      {"partner": "p-acme", "state": "active", "started_at": "2025-09-01T08:00:00Z",
                       "ending_since": null, "ended_at": null,
                       "last_activity_at": "2026-02-19T10:30:00Z"}]})),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn relationship_history(
    State(app): State<Arc<App>>,
    ApiPath(client): ApiPath<ClientId>,
) -> Result<axum::Json<RelationshipHistoryAnswer>, ApiError> {
    let id = client.clone();
    let periods = crate::http::blocking(move || app.relationship_history(&id)).await?;
    Ok(axum::Json(RelationshipHistoryAnswer {
        client,
        relationships: periods.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only records of this client (audit only).
    #[param(value_type = Option<String>)]
    pub client: Option<ClientId>,
    /// The cursor: records after this sequence number.
    pub after: Option<u64>,
    /// Records per page (1 to 1,000; default 100).
    pub limit: Option<usize>,
}

/// A page `limit`: 1 to 1,000, 100 when absent; anything else is a 400 (never silently
/// clamped, so a caller always gets what it asked for or learns why not).
fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    let max = crate::app::reads::MAX_PAGE;
    match limit {
        None => Ok(100),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(format!(
            "limit: expected 1 to {max}, got {n}"
        ))),
    }
}

/// Audit records, oldest first, with a cursor (admin token).
#[utoipa::path(get, path = "/v1/audit", tag = "admin", params(LogQuery),
    responses((status = 200, description = "`records` and `next` (the cursor for `after=`, null at the end)", body = Page<AuditRecord>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn audit(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    let limit = page_limit(query.limit)?;
    let page = crate::http::blocking(move || {
        app.audit(query.client.as_ref(), query.after.unwrap_or(0), limit)
    })
    .await?;
    Ok(sorted_json(page))
}

/// Outbox events, oldest first, with a cursor (admin token).
#[utoipa::path(get, path = "/v1/events", tag = "admin", params(LogQuery),
    responses((status = 200, description = "`records` and `next` (the cursor for `after=`, null at the end)", body = Page<Event>),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn events(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<axum::Json<Value>, ApiError> {
    if query.client.is_some() {
        return Err(ApiError::invalid("client: not a filter of the events"));
    }
    let limit = page_limit(query.limit)?;
    let page = crate::http::blocking(move || app.events(query.after.unwrap_or(0), limit)).await?;
    Ok(sorted_json(page))
}
