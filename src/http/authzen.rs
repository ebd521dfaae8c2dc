//! The OpenID AuthZEN Authorization API (evaluation and evaluations), mapped onto the same
//! engine, so AuthZEN clients and policy enforcement points work unchanged.
//!
//! Mapping: `subject` (type `user` or `Hub::User`) is the principal; `action.name` the action;
//! `resource` (type `account`/`client` or `Hub::Account`, `partner` or `Hub::Partner`) the
//! resource; `context` the context. The answer's `context` carries the decision id, the reasons
//! and the store revision. `properties` of subject, action and resource are accepted and
//! ignored: the sidecar reads every attribute from its own store, never from the caller.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

use super::error::{ApiError, ApiJson, ErrorBody};
use crate::app::{App, CheckRequest, Checked, EntityKind, EntityRef};

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Resource {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Action {
    pub name: String,
}

/// An AuthZEN access evaluation request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EvaluationRequest {
    pub subject: Subject,
    pub action: Action,
    pub resource: Resource,
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub context: Option<Map<String, Value>>,
}

/// An AuthZEN access evaluation answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluationResponse {
    pub decision: bool,
    /// `id` (the decision id), `reasons`, `errors`, `revision`, `policy_version` and
    /// `reason_admin`.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub context: Value,
}

/// One item of an evaluations request: each field, when present, overrides the defaults.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EvaluationItem {
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default)]
    pub resource: Option<Resource>,
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub context: Option<Map<String, Value>>,
}

/// An AuthZEN access evaluations (boxcar) request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EvaluationsRequest {
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default)]
    pub resource: Option<Resource>,
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub context: Option<Map<String, Value>>,
    #[serde(default)]
    pub evaluations: Option<Vec<EvaluationItem>>,
    /// `evaluations_semantic`: `execute_all` (default), `deny_on_first_deny` or
    /// `permit_on_first_permit`.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub options: Option<Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvaluationsResponse {
    pub evaluations: Vec<EvaluationResponse>,
}

fn subject_ref(subject: &Subject) -> Result<EntityRef, ApiError> {
    match subject.kind.as_str() {
        "user" | "User" | "Hub::User" => Ok(EntityRef::new(EntityKind::User, subject.id.as_str())),
        other => Err(ApiError::invalid(format!(
            "subject.type `{other}` is not known: expected `user`"
        ))),
    }
}

fn resource_ref(resource: &Resource) -> Result<EntityRef, ApiError> {
    let kind = match resource.kind.as_str() {
        "account" | "client" | "Account" | "Hub::Account" => EntityKind::Account,
        "partner" | "Partner" | "Hub::Partner" => EntityKind::Partner,
        other => {
            return Err(ApiError::invalid(format!(
                "resource.type `{other}` is not known: expected `account` or `partner`"
            )));
        }
    };
    Ok(EntityRef::new(kind, resource.id.as_str()))
}

fn to_request(
    subject: &Subject,
    action: &Action,
    resource: &Resource,
    context: Option<&Map<String, Value>>,
) -> Result<CheckRequest, ApiError> {
    let principal = subject_ref(subject)?;
    let resource = resource_ref(resource)?;
    CheckRequest::from_parts(
        &principal.to_json(),
        &Value::String(action.name.clone()),
        &resource.to_json(),
        context.cloned().unwrap_or_default(),
    )
    .map_err(ApiError::invalid)
}

fn answer(checked: Checked) -> EvaluationResponse {
    let reason = if checked.decision.reasons.is_empty() {
        if checked.decision.allowed {
            "allowed".to_owned()
        } else {
            "no policy permits this".to_owned()
        }
    } else {
        format!("decided by {}", checked.decision.reasons.join(", "))
    };
    EvaluationResponse {
        decision: checked.decision.allowed,
        context: json!({
            "id": checked.decision_id,
            "reason_admin": {"en": reason},
            "reasons": checked.decision.reasons,
            "errors": checked.decision.errors.into_iter().map(super::error::bounded).collect::<Vec<_>>(),
            "revision": checked.revision,
            "policy_version": checked.policy_version,
        }),
    }
}

/// AuthZEN: one access evaluation.
#[utoipa::path(
    post, path = "/access/v1/evaluation", tag = "authzen",
    request_body = EvaluationRequest,
    responses(
        (status = 200, body = EvaluationResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn evaluation(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<EvaluationRequest>,
) -> Result<axum::Json<EvaluationResponse>, ApiError> {
    let request = to_request(
        &body.subject,
        &body.action,
        &body.resource,
        body.context.as_ref(),
    )?;
    let checked = app.check(&request)?;
    super::checks::record_check(&checked);
    Ok(axum::Json(answer(checked)))
}

/// AuthZEN: several access evaluations in one call; each item's fields override the defaults
/// given at the top level.
#[utoipa::path(
    post, path = "/access/v1/evaluations", tag = "authzen",
    request_body = EvaluationsRequest,
    responses(
        (status = 200, body = EvaluationsResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
pub async fn evaluations(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<EvaluationsRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;

    let semantic = body
        .options
        .as_ref()
        .and_then(|o| o.get("evaluations_semantic"))
        .and_then(Value::as_str)
        .unwrap_or("execute_all");
    if ![
        "execute_all",
        "deny_on_first_deny",
        "permit_on_first_permit",
    ]
    .contains(&semantic)
    {
        return Err(ApiError::invalid(format!(
            "options.evaluations_semantic `{semantic}` is not known"
        )));
    }
    let items = match &body.evaluations {
        None => {
            // No `evaluations`: a single evaluation, answered in its own shape.
            let missing = |what: &str| ApiError::invalid(format!("`{what}` is required"));
            let request = to_request(
                body.subject.as_ref().ok_or_else(|| missing("subject"))?,
                body.action.as_ref().ok_or_else(|| missing("action"))?,
                body.resource.as_ref().ok_or_else(|| missing("resource"))?,
                body.context.as_ref(),
            )?;
            return Ok(axum::Json(answer(app.check(&request)?)).into_response());
        }
        Some(items) => items,
    };
    if items.len() > super::checks::MAX_BATCH {
        return Err(ApiError::invalid(format!(
            "evaluations: at most {} items",
            super::checks::MAX_BATCH
        )));
    }
    let mut evaluations = Vec::with_capacity(items.len());
    let checker = app.checker();
    for (i, item) in items.iter().enumerate() {
        let missing = |what: &str| {
            ApiError::invalid(format!(
                "evaluations[{i}]: no `{what}` in the item nor at the top level"
            ))
        };
        let subject = item
            .subject
            .as_ref()
            .or(body.subject.as_ref())
            .ok_or_else(|| missing("subject"))?;
        let action = item
            .action
            .as_ref()
            .or(body.action.as_ref())
            .ok_or_else(|| missing("action"))?;
        let resource = item
            .resource
            .as_ref()
            .or(body.resource.as_ref())
            .ok_or_else(|| missing("resource"))?;
        let context = item.context.as_ref().or(body.context.as_ref());
        let request = to_request(subject, action, resource, context)
            .map_err(|e| ApiError::invalid(format!("evaluations[{i}]: {}", e.message())))?;
        let response = answer(checker.check(&request)?);
        let decision = response.decision;
        evaluations.push(response);
        if (semantic == "deny_on_first_deny" && !decision)
            || (semantic == "permit_on_first_permit" && decision)
        {
            break;
        }
    }
    Ok(axum::Json(EvaluationsResponse { evaluations }).into_response())
}
