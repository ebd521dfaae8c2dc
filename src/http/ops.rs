//! Operations: health, readiness, metrics, the OpenAPI document, and what is loaded.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ErrorBody;
use crate::app::{ActionInfo, App, PolicyInfo, Readiness};
use crate::domain::PolicyVersion;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyAnswer {
    pub ready: bool,
    /// The store can be read.
    pub store: bool,
    /// The store takes writes: its file is not known damaged, is still the file the sidecar
    /// opened, and its last write reached the disk.
    pub writable: bool,
    /// Policies are loaded.
    pub policies: bool,
    /// Why the store does not take writes, when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// How long readiness waits for the store.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// The store is open, readable and writable, and policies are loaded (503 otherwise, saying
/// what fails).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = ReadyAnswer), (status = 503, body = ReadyAnswer)))]
pub async fn readyz(State(app): State<Arc<App>>) -> Response {
    // A probe that hangs is a failing probe: the store gets READY_DEADLINE to answer.
    let own = std::time::Instant::now() + READY_DEADLINE;
    let deadline = Some(crate::app::deadline::current().map_or(own, |d| d.min(own)));
    let readiness = tokio::task::spawn_blocking(move || {
        crate::app::deadline::carry(deadline, || app.readiness())
    })
    .await;
    let Ok(readiness) = readiness else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(ReadyAnswer {
                ready: false,
                store: false,
                writable: false,
                policies: false,
                problem: Some("the readiness probe failed".into()),
            }),
        )
            .into_response();
    };
    let ready = readiness.ready();
    let Readiness {
        store,
        writable,
        policies,
        problem,
    } = readiness;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(ReadyAnswer {
            ready,
            store,
            writable,
            policies,
            problem,
        }),
    )
        .into_response()
}

/// Prometheus metrics: decisions by action and outcome, check latency, cache hits and misses,
/// store errors, policy reloads, HTTP requests.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, body = ErrorBody)))]
pub async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::telemetry::render_metrics(),
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = std::collections::HashMap<String, serde_json::Value>),
              (status = 401, body = ErrorBody)))]
pub async fn openapi() -> Response {
    axum::Json(super::openapi_document()).into_response()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionsAnswer {
    #[schema(value_type = Vec<ActionDescription>)]
    pub actions: Vec<ActionInfo>,
}

/// A declared action, as `GET /v1/schema/actions` lists it (the shape of the policy engine's
/// `ActionInfo`, which `policy` keeps free of OpenAPI; `tests/service/openapi_shapes.rs`
/// holds the two together).
#[derive(ToSchema)]
#[schema(as = ActionInfo)]
#[allow(
    dead_code,
    reason = "never built: it describes `policy::ActionInfo` on the wire"
)]
pub struct ActionDescription {
    name: String,
    description: String,
    /// The rule ids its `@rules` annotation names.
    rules: Vec<String>,
    principal_types: Vec<String>,
    resource_types: Vec<String>,
    /// Whether it is a permission of the catalogue.
    permission: bool,
}

/// A policy, as `GET /v1/policies` lists it and an explanation names it (the shape of the
/// policy engine's `PolicyInfo`).
#[derive(ToSchema)]
#[schema(as = PolicyInfo)]
#[allow(
    dead_code,
    reason = "never built: it describes `policy::PolicyInfo` on the wire"
)]
pub struct PolicyDescription {
    /// Its `@id`.
    id: String,
    /// `permit` or `forbid`.
    effect: String,
    /// The rule ids its `@rules` annotation names.
    rules: Vec<String>,
    file: String,
    line: usize,
    description: String,
    text: String,
}

/// Every declared action with its description, rule ids, principal and resource types.
#[utoipa::path(get, path = "/v1/schema/actions", tag = "policies",
    responses((status = 200, body = ActionsAnswer), (status = 401, body = ErrorBody)))]
pub async fn actions(State(app): State<Arc<App>>) -> axum::Json<ActionsAnswer> {
    axum::Json(ActionsAnswer {
        actions: app.engine().actions().cloned().collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoliciesAnswer {
    /// The version of the set: the SHA-256 of its schema and policy files, as every decision
    /// answer's `policy_version` says it.
    #[schema(value_type = String)]
    pub version: PolicyVersion,
    #[schema(value_type = Vec<PolicyDescription>)]
    pub policies: Vec<PolicyInfo>,
}

/// The version of the policy set, and every loaded policy: id, effect, rule ids, source file and
/// line, description and text.
#[utoipa::path(get, path = "/v1/policies", tag = "policies",
    responses((status = 200, body = PoliciesAnswer), (status = 401, body = ErrorBody)))]
pub async fn policies(State(app): State<Arc<App>>) -> axum::Json<PoliciesAnswer> {
    let engine = app.engine();
    axum::Json(PoliciesAnswer {
        version: engine.version().clone(),
        policies: engine.policies().to_vec(),
    })
}
