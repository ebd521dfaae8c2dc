//! `POST /v1/is_authorized` and `POST /v1/is_authorized/batch`.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::check_body::{FastBatch, FastCheck, FastItem, Object};
use super::error::{ApiError, ErrorBody, JsonBody, bounded, parse_body};
use crate::app::CheckRequest;
use crate::app::{App, AppError, Checked, Checker, Consistency};
use crate::domain::{PolicyVersion, Verdict};

/// The most checks one batch may carry.
pub const MAX_BATCH: usize = 1000;

/// One check: entity references in Cedar's JSON form (`{"type": "Hub::User", "id": "..."}`) or
/// string form (`Hub::User::"..."`); the action by name or reference.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBody {
    #[schema(value_type = EntityReference, example = json!({"type": "Hub::User", "id": "ann@acme.example"}))]
    pub principal: Value,
    #[schema(value_type = EntityReference, example = json!({"type": "Hub::Action", "id": "reports.access"}))]
    pub action: Value,
    #[schema(value_type = EntityReference, example = json!({"type": "Hub::Account", "id": "c-globex"}))]
    pub resource: Value,
    /// Extra facts for the policies; entity references in it are looked up too.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub context: Option<Value>,
    /// How fresh the state behind the decision must be (default: `minimize_latency`).
    #[serde(default)]
    #[schema(value_type = Option<ConsistencyWire>)]
    pub consistency: Option<ConsistencyBody>,
    /// The policy set the caller expects to decide (a `policy_version` of an earlier answer,
    /// or of `GET /v1/policies`): a sidecar on another set answers 409 and decides nothing.
    #[serde(default)]
    #[schema(example = "3f1c0e9a…")]
    pub policy_version: Option<String>,
}

/// An entity reference: Cedar's JSON form, `{"type": "Hub::User", "id": "ann@acme.example"}`, or
/// its string form, `Hub::User::"ann@acme.example"`; an action may also be named alone
/// (`"reports.access"`). Only describes the wire (the body is read as JSON and each reference
/// parsed where it is used, so that a bad one is named).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(
    dead_code,
    reason = "never built: it describes what a `principal`, `action` or `resource` may be"
)]
pub enum EntityReference {
    /// The string form, or an action's name.
    Text(String),
    /// Cedar's JSON form.
    Uid(EntityUid),
    /// Cedar's escaped JSON form, `{"__entity": {"type": ..., "id": ...}}`.
    Escaped {
        #[serde(rename = "__entity")]
        entity: EntityUid,
    },
}

/// An entity's type and id; no other member.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "never built: it describes an entity reference's JSON form"
)]
pub struct EntityUid {
    /// The entity type, `Hub::User`, `Hub::Account`, `Hub::Partner` or `Hub::Action`.
    #[serde(rename = "type")]
    entity_type: String,
    id: String,
}

/// How fresh the state behind a decision must be: exactly one of the three. (Describes the
/// wire; [`ConsistencyBody`] reads it and names a body with none or several.)
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(as = Consistency)]
#[allow(
    dead_code,
    reason = "never built: it describes `consistency` on the wire"
)]
pub enum ConsistencyWire {
    /// This sidecar's cache, within the staleness bound (the default).
    MinimizeLatency {
        #[schema(value_type = bool, example = true)]
        minimize_latency: bool,
    },
    /// A state that includes this revision (a command's answer), or a 503.
    AtLeastAsFresh {
        #[schema(example = 42)]
        at_least_as_fresh: u64,
    },
    /// The latest committed state, read from the store.
    FullyConsistent {
        #[schema(value_type = bool, example = true)]
        fully_consistent: bool,
    },
}

/// One of: `{"minimize_latency": true}` (the default: this sidecar's cache), `{"at_least_as_fresh":
/// REVISION}` (a command's `revision`: the decision sees that write or a later one, never an
/// older state), `{"fully_consistent": true}` (the latest committed state, from the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyBody {
    #[schema(example = 42)]
    pub at_least_as_fresh: Option<u64>,
    pub fully_consistent: Option<bool>,
    pub minimize_latency: Option<bool>,
}

impl ConsistencyBody {
    pub(super) fn to_consistency(&self) -> Result<Consistency, ApiError> {
        match (
            self.at_least_as_fresh,
            self.fully_consistent,
            self.minimize_latency,
        ) {
            (Some(revision), None, None) => Ok(Consistency::AtLeastAsFresh(revision)),
            (None, Some(true), None) => Ok(Consistency::FullyConsistent),
            (None, None, Some(true)) => Ok(Consistency::MinimizeLatency),
            _ => Err(ApiError::invalid(
                "consistency: give exactly one of `at_least_as_fresh: REVISION`, \
                 `fully_consistent: true`, `minimize_latency: true`",
            )),
        }
    }
}

/// Waits (async) for the revision an `at_least_as_fresh` check asks for.
async fn reach(app: &Arc<App>, consistency: Consistency) -> Result<(), ApiError> {
    match consistency {
        Consistency::AtLeastAsFresh(revision) => app
            .clone()
            .reach_revision(revision)
            .await
            .map_err(ApiError::from),
        Consistency::MinimizeLatency | Consistency::FullyConsistent => Ok(()),
    }
}

/// The consistency a body asks for.
fn consistency_of(body: Option<&ConsistencyBody>) -> Result<Consistency, ApiError> {
    body.map_or(
        Ok(Consistency::MinimizeLatency),
        ConsistencyBody::to_consistency,
    )
}

impl CheckBody {
    pub(super) fn to_request(&self) -> Result<CheckRequest, ApiError> {
        let context = match &self.context {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(ApiError::invalid("context: expected a JSON object")),
        };
        CheckRequest::from_parts(&self.principal, &self.action, &self.resource, context)
            .map_err(ApiError::invalid)
    }
}

/// A decision.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckAnswer {
    #[schema(example = "Allow")]
    pub decision: Verdict,
    pub diagnostics: Diagnostics,
    /// Unique id of this decision, for joining with logs.
    pub decision_id: String,
    /// The store revision the decision was evaluated at.
    pub revision: u64,
    /// The policy set that decided (the SHA-256 of its files). In a batch it is said once,
    /// for every answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub policy_version: Option<PolicyVersion>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Diagnostics {
    /// The ids of the policies that determined the decision.
    pub reasons: Vec<String>,
    /// Unknown entities, policies that failed to evaluate, a store that could not be read.
    pub errors: Vec<String>,
}

impl From<Checked> for CheckAnswer {
    fn from(c: Checked) -> Self {
        CheckAnswer {
            decision: c.decision.verdict(),
            diagnostics: Diagnostics {
                reasons: c.decision.reasons,
                errors: c.decision.errors.into_iter().map(bounded).collect(),
            },
            decision_id: c.decision_id,
            revision: c.revision,
            policy_version: Some(c.policy_version),
        }
    }
}

/// Decides one check.
#[utoipa::path(
    post, path = "/v1/is_authorized", tag = "checks",
    request_body = CheckBody,
    responses(
        (status = 200, description = "The decision", body = CheckAnswer),
        (status = 400, description = "Malformed request or undeclared action", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 409, description = "The request expects another `policy_version`: nothing was decided", body = ErrorBody),
        (status = 503, description = "The consistency asked for cannot be met now (`at_least_as_fresh` a revision the store has not reached in time, `fully_consistent` with the store or its change feed unreachable): nothing was decided", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
    )
)]
pub async fn is_authorized(
    State(app): State<Arc<App>>,
    JsonBody(bytes): JsonBody,
) -> Result<axum::Json<CheckAnswer>, ApiError> {
    let (request, consistency, pinned) = match FastCheck::read(&bytes) {
        Some(fast) => fast.into_parts(),
        None => {
            let body: CheckBody = parse_body(&bytes)?;
            (body.to_request()?, body.consistency, body.policy_version)
        }
    };
    let consistency = consistency_of(consistency.as_ref())?;
    let check = move |checker: Checker<'_>| {
        if let Some(expected) = &pinned {
            checker.expect_policy_version(expected)?;
        }
        checker.check(&request)
    };
    let checked = if consistency == Consistency::MinimizeLatency {
        // The fast path runs on the request's own task: a warm check never leaves it.
        check(app.checker())?
    } else {
        // Waiting for a revision holds no thread; the check itself reads the store, off the
        // async workers.
        reach(&app, consistency).await?;
        super::blocking(move || check(app.checker_with(consistency)?)).await?
    };
    record_check(&checked);
    Ok(axum::Json(checked.into()))
}

/// Fills the request's span with a decision, its policies and its store time, when traces
/// are exported (otherwise the check span is not even made: see `router`).
pub(super) fn record_check(checked: &Checked) {
    if crate::telemetry::traces_enabled() {
        let span = tracing::Span::current();
        span.record("decision", checked.decision.verdict().as_str());
        span.record("policy_ids", checked.decision.reasons.join(",").as_str());
        span.record("store_us", micros(checked.store_time));
    }
}

/// A duration in whole microseconds, for a span attribute.
pub(super) fn micros(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Fills a batch's span: `decision` is `Allow` or `Deny` when every answer is, else `Mixed`
/// (with `allowed` and `denied` counts); `policy_ids` every policy that decided an answer,
/// each once; `store_us` the batch's time in the store.
fn record_batch(answer: &BatchAnswer, store_time: std::time::Duration) {
    let span = tracing::Span::current();
    let allowed = answer
        .results
        .iter()
        .filter(|r| r.answer.decision == Verdict::Allow)
        .count();
    let denied = answer.results.len() - allowed;
    let decision = match (allowed, denied) {
        (_, 0) => "Allow",
        (0, _) => "Deny",
        _ => "Mixed",
    };
    let mut ids: Vec<&str> = answer
        .results
        .iter()
        .flat_map(|r| r.answer.diagnostics.reasons.iter().map(String::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    span.record("decision", decision);
    span.record("policy_ids", ids.join(",").as_str());
    span.record("store_us", micros(store_time));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1 to 1,000 checks.
    #[schema(value_type = Vec<CheckBody>)]
    pub requests: Vec<Value>,
    /// For every check of the batch (see `CheckBody`); not given per item.
    #[serde(default)]
    #[schema(value_type = Option<ConsistencyWire>)]
    pub consistency: Option<ConsistencyBody>,
    /// The policy set the caller expects for every check of the batch (see `CheckBody`); not
    /// given per item.
    #[serde(default)]
    pub policy_version: Option<String>,
}

/// One answer of a batch: a decision, and for a bad item an `error` (its decision is `Deny`).
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchItem {
    #[serde(flatten)]
    pub answer: CheckAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemError {
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    /// In request order.
    pub results: Vec<BatchItem>,
    /// The policy set that decided every answer of the batch.
    #[schema(value_type = String)]
    pub policy_version: PolicyVersion,
}

/// Decides up to 1,000 checks; a bad item gets an `error` and does not fail the others.
#[utoipa::path(
    post, path = "/v1/is_authorized/batch", tag = "checks",
    request_body = BatchBody,
    responses(
        (status = 200, description = "One answer per check, in order", body = BatchAnswer),
        (status = 400, description = "Not a batch, or empty, or over 1,000 checks", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 409, description = "The batch expects another `policy_version`: nothing was decided", body = ErrorBody),
        (status = 503, description = "The consistency asked for cannot be met now (`at_least_as_fresh` a revision the store has not reached in time, `fully_consistent` with the store or its change feed unreachable): nothing was decided", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
    )
)]
pub async fn is_authorized_batch(
    State(app): State<Arc<App>>,
    JsonBody(bytes): JsonBody,
) -> Result<axum::Json<BatchAnswer>, ApiError> {
    let (items, consistency, pinned) = match FastBatch::read(&bytes) {
        Some(fast) => (
            Items::Read(fast.requests),
            fast.consistency,
            fast.policy_version,
        ),
        None => {
            let body: BatchBody = parse_body(&bytes)?;
            (
                Items::Values(body.requests),
                body.consistency,
                body.policy_version,
            )
        }
    };
    if items.len() == 0 || items.len() > MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "requests: expected 1 to {MAX_BATCH} checks, got {}",
            items.len()
        )));
    }
    let consistency = consistency_of(consistency.as_ref())?;
    let requests = items.into_requests();
    let decide = move |checker: Checker<'_>| {
        if let Some(expected) = &pinned {
            checker.expect_policy_version(expected)?;
        }
        let answer = BatchAnswer {
            results: decide_batch(&checker, requests),
            policy_version: checker.policy_version().clone(),
        };
        Ok((answer, checker.store_time()))
    };
    let (answer, store_time) = if consistency == Consistency::MinimizeLatency {
        decide(app.checker())?
    } else {
        reach(&app, consistency).await?;
        super::blocking(move || decide(app.checker_with(consistency)?)).await?
    };
    if crate::telemetry::traces_enabled() {
        record_batch(&answer, store_time);
    }
    Ok(axum::Json(answer))
}

/// A batch's items: read the fast way (every one in the common shape, see
/// [`super::check_body`]), or as JSON values, each then read on its own so that a bad one
/// gets its own error.
enum Items {
    Read(Vec<Object<FastItem>>),
    Values(Vec<Value>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Read(items) => items.len(),
            Items::Values(items) => items.len(),
        }
    }

    /// Each item's request, or why it is not one.
    fn into_requests(self) -> Vec<Result<CheckRequest, AppError>> {
        match self {
            Items::Read(items) => items
                .into_iter()
                .map(|item| Ok(item.into_request()))
                .collect(),
            Items::Values(items) => items.iter().map(item_request).collect(),
        }
    }
}

/// The request of one batch item given as a JSON value, or why it is not one.
fn item_request(item: &Value) -> Result<CheckRequest, AppError> {
    Some(item)
        .filter(|item| item.is_object())
        .ok_or_else(|| AppError::invalid("a check is a JSON object"))
        .and_then(|item| CheckBody::deserialize(item).map_err(|e| AppError::invalid(e.to_string())))
        .and_then(|b| match (&b.consistency, &b.policy_version) {
            (Some(_), _) => Err(AppError::invalid(
                "consistency: give it once for the whole batch, not per check",
            )),
            (_, Some(_)) => Err(AppError::invalid(
                "policy_version: give it once for the whole batch, not per check",
            )),
            (None, None) => Ok(b),
        })
        .and_then(|b| b.to_request().map_err(|e| AppError::invalid(e.message())))
}

/// Decides every item of a batch with one checker: one policy set, one view of the state
/// (every answer has the same revision), and items of the same principal and account share a
/// slice.
fn decide_batch(
    checker: &Checker<'_>,
    requests: Vec<Result<CheckRequest, AppError>>,
) -> Vec<BatchItem> {
    requests
        .into_iter()
        .enumerate()
        .map(|(i, request)| {
            let outcome = request.and_then(|request| checker.check(&request));
            match outcome {
                Ok(checked) => BatchItem {
                    answer: CheckAnswer {
                        // Said once, in the batch's answer.
                        policy_version: None,
                        ..checked.into()
                    },
                    error: None,
                },
                Err(e) => BatchItem {
                    answer: CheckAnswer {
                        decision: Verdict::Deny,
                        diagnostics: Diagnostics {
                            reasons: Vec::new(),
                            errors: vec![bounded(format!("requests[{i}]: {e}"))],
                        },
                        decision_id: uuid::Uuid::now_v7().to_string(),
                        revision: checker.revision(),
                        policy_version: None,
                    },
                    error: Some(ItemError {
                        code: "invalid_request",
                        message: bounded(format!("requests[{i}]: {e}")),
                    }),
                },
            }
        })
        .collect()
}
