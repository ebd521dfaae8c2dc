//! Versioned policy sets (admin token): push a set, list the versions, read one, activate one.
//! The use cases are [`crate::app::policies`]'s; here only the wire shapes and the statuses.
//!
//! Errors: 400 `invalid_request` for a malformed request, a set that does not validate
//! (`details`: every error with file and line), a failing policy test (`details`: each failure
//! with file, case and message) or a schema that would orphan stored permissions (`details`, as
//! a reload gives); 404 for an unknown version; 409 for a version prefix that names several,
//! and for an activation on a sidecar that serves its policy directory; 503 when the store
//! fails (nothing changed).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::admin::{ADMIN_ACTOR, load_error_details, orphan_details};
use super::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::app::impact::{DEFAULT_EXAMPLES, ImpactReport};
use crate::app::{
    Activated, App, PolicyError, PolicyFile, PolicyFileKind, PolicyHistory, PolicyPush, Pushed,
    StoredPolicySet, TestSource,
};

/// `PUT /v1/admin/policies`: a policy set, the tests to run against it, and whether to
/// activate it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PushBody {
    /// The files, by file name: `.cedarschema` files are the schema, `.cedar` files the
    /// policies (at least one of each, plain names).
    pub files: BTreeMap<String, String>,
    /// Declarative policy test files, by name: each one's JSON contents (as
    /// `partner-access test` reads them, with the state inline). A failing case refuses the
    /// push.
    #[serde(default)]
    pub tests: BTreeMap<String, serde_json::Value>,
    /// Activate the version once stored (refused, before anything is stored, on a sidecar
    /// serving its policy directory).
    #[serde(default)]
    pub activate: bool,
    /// Who pushes, for the history and the audit log [default: `admin-token`].
    #[serde(default)]
    pub actor: Option<String>,
}

/// What `PUT /v1/admin/policies` did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PushAnswer {
    #[serde(flatten)]
    pub pushed: Pushed,
    /// The activation, when `activate` was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activated: Option<Activated>,
}

/// `POST /v1/admin/policies/impact`: which stored versions to compare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactBody {
    /// The version before: its hash or a unique prefix of 8 hex digits or more [default: the
    /// active version].
    #[serde(default)]
    pub from: Option<String>,
    /// The version after.
    pub to: String,
    /// How many examples each group shows [default: 5, at most 1000].
    #[serde(default)]
    pub examples: Option<usize>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActivateQuery {
    /// Who activates, for the history and the audit log [default: `admin-token`].
    pub actor: Option<String>,
}

/// A policy command's refusal, in the API's error shape.
pub(super) fn policy_error(e: PolicyError) -> ApiError {
    let message = e.to_string();
    match e {
        PolicyError::BadInput(_) => ApiError::invalid(message),
        PolicyError::Invalid(errors) => {
            ApiError::invalid(message).with_details(load_error_details(&errors))
        }
        PolicyError::TestsFailed(failures) => ApiError::invalid(message).with_details(
            failures
                .iter()
                .filter_map(|f| serde_json::to_value(f).ok())
                .collect(),
        ),
        PolicyError::Orphans(orphans) => ApiError::invalid(format!(
            "the policy version was not activated: {orphans}; the old set keeps serving"
        ))
        .with_details(orphan_details(&orphans)),
        PolicyError::UnknownVersion(_) => ApiError::not_found(message),
        PolicyError::AmbiguousVersion { .. } | PolicyError::DirectoryMode => {
            ApiError::conflict(message)
        }
        // The activation's commit was sent and not confirmed: it may be in force (see
        // `GET /v1/admin/policies/versions`).
        e if e.is_outcome_unknown() => ApiError::outcome_unknown(message),
        PolicyError::ImpactNotAcknowledged(_) => ApiError::conflict(message),
        PolicyError::NoActiveVersion | PolicyError::Store(_) | PolicyError::TooLong(_) => {
            ApiError::unavailable(message)
        }
    }
}

/// Validates a policy set strictly, runs the tests given against it, and stores it as an
/// immutable version (the same files again: nothing stored, the version answered); with
/// `activate`, then makes it the active one as `.../activate` does.
#[utoipa::path(
    put, path = "/v1/admin/policies", tag = "admin",
    request_body = PushBody,
    responses(
        (status = 200, body = PushAnswer),
        (status = 400, description = "Malformed request, a set that does not validate (`details`: every error with file and line), a failing test (`details`: file, case, message), or (with `activate`) a schema that would orphan stored permissions (the version is then stored, not activated)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "`activate` on a sidecar serving its policy directory; nothing stored", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn push(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<PushBody>,
) -> Result<axum::Json<PushAnswer>, ApiError> {
    let mut files = Vec::with_capacity(body.files.len());
    for (name, text) in body.files {
        let kind = PolicyFileKind::of_name(&name).ok_or_else(|| {
            ApiError::invalid(format!(
                "files: `{}` is neither a `.cedarschema` nor a `.cedar` file",
                name.escape_debug()
            ))
        })?;
        files.push(PolicyFile { name, kind, text });
    }
    let tests = body
        .tests
        .into_iter()
        .map(|(name, value)| TestSource::Text {
            name,
            text: value.to_string(),
        })
        .collect();
    let request = PolicyPush {
        files,
        tests,
        actor: body.actor.unwrap_or_else(|| ADMIN_ACTOR.to_owned()),
    };
    let activate = body.activate;
    let answer = super::blocking(move || Ok(app.push_policies(&request, activate))).await?;
    let (pushed, activated) = answer.map_err(policy_error)?;
    Ok(axum::Json(PushAnswer { pushed, activated }))
}

/// The stored policy versions (oldest push first, with who pushed each, when, the tests it
/// passed, and which is active) and every activation (oldest first).
#[utoipa::path(
    get, path = "/v1/admin/policies/versions", tag = "admin",
    responses(
        (status = 200, body = PolicyHistory),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn versions(State(app): State<Arc<App>>) -> Result<axum::Json<PolicyHistory>, ApiError> {
    let history = super::blocking(move || Ok(app.policy_history())).await?;
    history.map(axum::Json).map_err(policy_error)
}

/// One stored version with its files: its hash, or a unique prefix of at least 8 hex digits.
#[utoipa::path(
    get, path = "/v1/admin/policies/versions/{version}", tag = "admin",
    params(("version" = String, Path, description = "the version's hash, or a unique prefix of it (8 hex digits or more)")),
    responses(
        (status = 200, body = StoredPolicySet),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The prefix names several versions", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn version(
    State(app): State<Arc<App>>,
    ApiPath(version): ApiPath<String>,
) -> Result<axum::Json<StoredPolicySet>, ApiError> {
    let set = super::blocking(move || Ok(app.stored_policy_set(&version))).await?;
    set.map(axum::Json).map_err(policy_error)
}

/// Makes a stored version the active one, on this sidecar at once and on every sidecar of a
/// fleet serving the store's policies within the staleness bound: atomically with the check
/// that the stored state holds no permission its schema lacks. Rollback is activating an
/// earlier version. Activating the active version changes nothing (`changed: false`).
#[utoipa::path(
    post, path = "/v1/admin/policies/versions/{version}/activate", tag = "admin",
    params(("version" = String, Path, description = "the version's hash, or a unique prefix of it (8 hex digits or more)"), ActivateQuery),
    responses(
        (status = 200, body = Activated),
        (status = 400, description = "A malformed version, or a schema that would orphan stored permissions (`details`, as a reload gives); nothing changed", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "This sidecar serves its policy directory (start it with `--policies-from-store`), or the prefix names several versions", body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn activate(
    State(app): State<Arc<App>>,
    ApiPath(version): ApiPath<String>,
    ApiQuery(query): ApiQuery<ActivateQuery>,
) -> Result<axum::Json<Activated>, ApiError> {
    let actor = query.actor.unwrap_or_else(|| ADMIN_ACTOR.to_owned());
    let activated = super::blocking(move || Ok(app.activate_policies(&version, &actor))).await?;
    activated.map(axum::Json).map_err(policy_error)
}

/// The impact of replacing one stored version by another on the store's state: every check
/// decision (client user × check action × member account) that changes, grouped by action,
/// direction and the policies and rule ids that decided before and after, with counts per
/// action and per role and the first examples of each group. Runs on a blocking thread within
/// the request's deadline (past it: 503, nothing changed); `partner-access policies diff` has no
/// deadline.
#[utoipa::path(
    post, path = "/v1/admin/policies/impact", tag = "admin",
    request_body = ImpactBody,
    responses(
        (status = 200, body = ImpactReport),
        (status = 400, description = "A malformed version or body, or too many examples", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No stored version starts with `from` or `to`", body = ErrorBody),
        (status = 409, description = "A prefix names several versions", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, description = "The store failed, has no active version (with `from` omitted), or the analysis ran out of time", body = ErrorBody),
    )
)]
pub async fn impact(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<ImpactBody>,
) -> Result<axum::Json<ImpactReport>, ApiError> {
    let examples = body.examples.unwrap_or(DEFAULT_EXAMPLES);
    let report =
        super::blocking(move || Ok(app.policy_impact(body.from.as_deref(), &body.to, examples)))
            .await?;
    report.map(axum::Json).map_err(policy_error)
}
