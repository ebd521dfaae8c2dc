//! Administration (admin token): import, export, upserts, policy reload.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiBody, ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::app::{
    App, AssetUpsert, ClientUpsert, EmployeeUpsert, ImportMode, LoadErrors, PartnerUpsert,
    ReloadError, UserUpsert,
};
use crate::domain::{AssetId, ClientId, Email, OrphanedPermissions, PartnerId, StateDocument};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `replace` (the document becomes the whole state), `merge` (partners and clients in the
    /// document replace those with the same id) or `empty` (as `replace`, only into a store
    /// that holds no partner and no client: 409 otherwise). Default `replace`.
    #[param(value_type = Option<String>)]
    pub mode: Option<ImportMode>,
}

/// Who the audit log names for what the admin token does: the token is the only identity an
/// administration request has.
pub(super) const ADMIN_ACTOR: &str = "admin-token";

/// The answer to every write: the store revision it produced.
#[derive(Debug, Serialize, ToSchema)]
pub struct WriteAnswer {
    pub revision: u64,
}

/// Loads a state document, all or nothing: every problem is reported and nothing changes.
#[utoipa::path(
    post, path = "/v1/admin/import", tag = "admin",
    params(ImportQuery),
    request_body(content = crate::domain::StateDocument, description = "A state document (see the README)"),
    responses(
        (status = 200, body = WriteAnswer),
        (status = 400, description = "Malformed or invalid document; `details` lists every problem", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn import(
    State(app): State<Arc<App>>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    ApiBody(body): ApiBody,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::invalid("body is not UTF-8"))?;
    let doc = StateDocument::from_json_str(text).map_err(|e| ApiError::invalid(e.to_string()))?;
    let mode = query.mode.unwrap_or(ImportMode::Replace);
    let revision = super::blocking(move || app.import(&doc, mode, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

/// The whole state as a state document; `import` of it gives the same state back.
#[utoipa::path(
    get, path = "/v1/admin/export", tag = "admin",
    responses(
        (status = 200, description = "The state document; header `x-revision` gives its revision", body = crate::domain::StateDocument),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn export(State(app): State<Arc<App>>) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (doc, revision) = super::blocking(move || app.export()).await?;
    let mut response = axum::Json(doc).into_response();
    if let Ok(value) = revision.to_string().parse() {
        response.headers_mut().insert("x-revision", value);
    }
    Ok(response)
}

/// A consistent copy of the store file as of one revision, taken while the sidecar serves:
/// save it, and restore by stopping the sidecar and putting it back as `state.redb` in the data
/// directory (`partner-access check-store FILE` checks it first). A fleet's PostgreSQL store is
/// backed up with `pg_dump` instead (409).
#[utoipa::path(
    get, path = "/v1/admin/backup", tag = "admin",
    responses(
        (status = 200, description = "The redb store file; header `x-revision` gives its revision", content_type = "application/octet-stream"),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
pub async fn backup(State(app): State<Arc<App>>) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (file, revision) = super::blocking(move || app.backup()).await?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let mut response = axum::body::Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = format!("attachment; filename=\"state-{revision}.redb\"").parse() {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = revision.to_string().parse() {
        headers.insert("x-revision", value);
    }
    Ok(response)
}

/// Creates or replaces a partner (its employees too when `employees` is given).
#[utoipa::path(
    put, path = "/v1/admin/partners/{id}", tag = "admin",
    params(("id" = String, Path, description = "partner id")),
    request_body(content = PartnerUpsert),
    responses((status = 200, body = WriteAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn put_partner(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<PartnerId>,
    ApiJson(body): ApiJson<PartnerUpsert>,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let revision = super::blocking(move || app.upsert_partner(&id, body, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

/// Creates or replaces one employee of a partner.
#[utoipa::path(
    put, path = "/v1/admin/partners/{id}/employees/{email}", tag = "admin",
    params(("id" = String, Path, description = "partner id"), ("email" = String, Path)),
    request_body(content = EmployeeUpsert),
    responses((status = 200, body = WriteAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn put_employee(
    State(app): State<Arc<App>>,
    ApiPath((id, email)): ApiPath<(PartnerId, Email)>,
    ApiJson(body): ApiJson<EmployeeUpsert>,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let revision =
        super::blocking(move || app.upsert_employee(&id, &email, body, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

/// Creates or replaces a client (its users and assets too when given).
#[utoipa::path(
    put, path = "/v1/admin/clients/{id}", tag = "admin",
    params(("id" = String, Path, description = "client id")),
    request_body(content = ClientUpsert),
    responses((status = 200, body = WriteAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn put_client(
    State(app): State<Arc<App>>,
    ApiPath(id): ApiPath<ClientId>,
    ApiJson(body): ApiJson<ClientUpsert>,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let revision = super::blocking(move || app.upsert_client(&id, body, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

/// Creates or replaces one user of a client.
#[utoipa::path(
    put, path = "/v1/admin/clients/{id}/users/{email}", tag = "admin",
    params(("id" = String, Path, description = "client id"), ("email" = String, Path)),
    request_body(content = UserUpsert),
    responses((status = 200, body = WriteAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn put_user(
    State(app): State<Arc<App>>,
    ApiPath((id, email)): ApiPath<(ClientId, Email)>,
    ApiJson(body): ApiJson<UserUpsert>,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let revision = super::blocking(move || app.upsert_user(&id, &email, body, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

/// Creates or replaces one asset of a client.
#[utoipa::path(
    put, path = "/v1/admin/clients/{id}/assets/{asset}", tag = "admin",
    params(("id" = String, Path, description = "client id"), ("asset" = String, Path)),
    request_body(content = AssetUpsert),
    responses((status = 200, body = WriteAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody))
)]
pub async fn put_asset(
    State(app): State<Arc<App>>,
    ApiPath((id, asset)): ApiPath<(ClientId, AssetId)>,
    ApiJson(body): ApiJson<AssetUpsert>,
) -> Result<axum::Json<WriteAnswer>, ApiError> {
    let revision =
        super::blocking(move || app.upsert_asset(&id, &asset, body, ADMIN_ACTOR)).await?;
    Ok(axum::Json(WriteAnswer { revision }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReloadAnswer {
    /// How many policies are now loaded.
    pub policies: usize,
}

/// Re-reads `policies/` and `schema/` (on a sidecar serving the store's policies, the store's
/// active version). An invalid set is refused with every error (file, line),
/// a schema that drops a permission stored users or permission sets hold is refused with what
/// it would orphan, and in both cases the old set keeps serving.
#[utoipa::path(
    post, path = "/v1/admin/policies/reload", tag = "admin",
    responses(
        (status = 200, body = ReloadAnswer),
        (status = 400, description = "The new set does not load (`details` lists every error with file and line), or its schema drops permissions that stored records hold (`details` lists each permission with its holder counts and first holders)", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 503, description = "The store could not be read to check the new schema against it", body = ErrorBody),
    )
)]
pub async fn reload(State(app): State<Arc<App>>) -> Result<axum::Json<ReloadAnswer>, ApiError> {
    match super::blocking(move || Ok(app.reload_policies())).await? {
        Ok(policies) => Ok(axum::Json(ReloadAnswer { policies })),
        Err(ReloadError::Policies(errors)) => Err(ApiError::invalid(format!(
            "the policies were not reloaded ({} errors); the old set keeps serving",
            errors.0.len()
        ))
        .with_details(load_error_details(&errors))),
        Err(ReloadError::Orphans(orphans)) => Err(ApiError::invalid(format!(
            "the policies were not reloaded: {orphans}; the old set keeps serving"
        ))
        .with_details(orphan_details(&orphans))),
        Err(ReloadError::Stored(e)) => Err(super::policies::policy_error(e)),
        Err(ReloadError::Store(e)) => Err(ApiError::unavailable(format!(
            "the policies were not reloaded: the stored state could not be read to check the new schema against it ({e}); the old set keeps serving"
        ))),
    }
}

/// Every load error of a policy set, with file, line and column.
pub(super) fn load_error_details(errors: &LoadErrors) -> Vec<serde_json::Value> {
    errors
        .0
        .iter()
        .map(|e| {
            serde_json::json!({
                "file": e.file.display().to_string(),
                "line": e.position.map(|p| p.0),
                "column": e.position.map(|p| p.1),
                "message": e.message,
            })
        })
        .collect()
}

/// Each permission a schema would orphan, with its holder counts and first holders.
pub(super) fn orphan_details(orphans: &OrphanedPermissions) -> Vec<serde_json::Value> {
    orphans
        .0
        .iter()
        .map(|o| {
            serde_json::json!({
                "permission": o.permission,
                "users": o.users,
                "permission_sets": o.permission_sets,
                "holders": o.holders,
                "message": o.to_string(),
            })
        })
        .collect()
}
