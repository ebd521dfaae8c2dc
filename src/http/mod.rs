//! The HTTP layer: routes, wire types, one `ApiError`, the playground page (`/ui`), and the
//! server's connections ([`serve`]).
//!
//! Owns: everything HTTP, the only imports of `axum`, `hyper`, `tower`, `tower_http` and
//! `utoipa_axum`, and the OpenAPI document (built with `utoipa`, from the schemas the types
//! of `app` and `domain` derive where they are defined). May name: `app` (the use cases, and the policy and store types they re-export),
//! `domain`, `config` (token files) and `telemetry` (metrics). May not: name `policy`, `store`
//! or `cache`, or import Cedar, redb or a PostgreSQL driver.
//!
//! Every route is one row of [`routes`]: method, path, who may call it, handler. The router is
//! built from that table, and the tests enumerate the same table to prove that every route but
//! the health probes needs a token. Handlers are thin: parse, call the use case in
//! [`crate::app`], translate the answer. Blocking store work runs on the blocking pool.

mod admin;
mod auth;
mod authzen;
mod checks;
mod commands;
mod error;
mod explain;
mod ops;
mod policies;
mod serve;
mod stream;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use crate::app::{App, AppError};

pub use auth::{Access, Auth, ReloadError, Scope, TokenCounts, TokenSources};
pub use checks::MAX_BATCH;
pub use error::ApiError;
pub use serve::{DRAIN_TIMEOUT, Listener, MAX_CONNECTIONS, UnixSocket, serve};

/// Limits and credentials of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub auth: Arc<Auth>,
    /// The largest request body accepted (413 above it).
    pub body_limit: usize,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Serve the playground page at `/ui` (its data still needs a token).
    pub playground: bool,
    /// How many connections are served at once, and how long one may sit idle.
    pub connections: ConnectionLimits,
    /// Host names answered besides loopback ones when no token is configured.
    pub allowed_hosts: Vec<String>,
}

/// What one sidecar holds open for its clients (see [`serve`]).
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections served at once; one more is answered a fast 503 and closed.
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers, and how long it may sit
    /// idle between requests, before it is closed.
    pub header_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
        }
    }
}

/// One route of the API: its method and path as its handler's OpenAPI operation declares
/// them (`#[utoipa::path]`), the token scope it needs, the handler, and its part of the
/// OpenAPI document with that scope as its security requirement. The router and the document
/// are both built from [`routes`], so a route, its documentation and its scope cannot drift.
pub struct Route {
    pub method: Method,
    pub path: String,
    pub access: Access,
    handler: MethodRouter<Arc<App>>,
    doc: utoipa::openapi::path::Paths,
    schemas: Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
}

/// The route of one handler (collected with `utoipa_axum::routes!`, which reads its
/// `#[utoipa::path]`), guarded by `access`.
fn route(access: Access, (schemas, mut doc, handler): UtoipaMethodRouter<Arc<App>>) -> Route {
    use utoipa::openapi::security::SecurityRequirement;
    let mut found = None;
    for (path, item) in doc.paths.iter_mut() {
        for (method, operation) in [
            (Method::GET, item.get.as_mut()),
            (Method::POST, item.post.as_mut()),
            (Method::PUT, item.put.as_mut()),
            (Method::DELETE, item.delete.as_mut()),
        ] {
            if let Some(operation) = operation {
                operation.security = access
                    .scope()
                    .map(|scope| vec![SecurityRequirement::new("bearer", [scope.name()])]);
                found = Some((method, path.clone()));
            }
        }
    }
    // A handler without `#[utoipa::path]` does not compile here; one whose operation is not a
    // GET, POST, PUT or DELETE, or `routes!` given several handlers, is caught by the test
    // `each_route_is_one_documented_operation`.
    let (method, path) = found.unwrap_or((Method::GET, String::new()));
    Route {
        method,
        path,
        access,
        handler,
        doc,
        schemas,
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Access::{Admin, Caller, Check, Public};
    vec![
        route(Public, routes!(ops::healthz)),
        route(Public, routes!(ops::readyz)),
        route(Check, routes!(ops::metrics)),
        route(Check, routes!(ops::openapi)),
        route(Check, routes!(ops::actions)),
        route(Caller, routes!(explain::search)),
        // The playground's static files: public, they carry no data (see `ui`).
        route(Public, routes!(ui::index)),
        route(Public, routes!(ui::index_slash)),
        route(Public, routes!(ui::script)),
        route(Public, routes!(ui::style)),
        route(Check, routes!(ops::policies)),
        route(Check, routes!(checks::is_authorized)),
        route(Check, routes!(checks::is_authorized_batch)),
        route(Caller, routes!(explain::explain)),
        route(Check, routes!(explain::actions_allowed)),
        route(Caller, routes!(explain::accounts)),
        route(Check, routes!(authzen::evaluation)),
        route(Check, routes!(authzen::evaluations)),
        route(Admin, routes!(admin::import)),
        route(Admin, routes!(admin::export)),
        route(Admin, routes!(admin::backup)),
        route(Admin, routes!(admin::put_partner)),
        route(Admin, routes!(admin::put_employee)),
        route(Admin, routes!(admin::put_client)),
        route(Admin, routes!(admin::put_user)),
        route(Admin, routes!(admin::put_asset)),
        route(Admin, routes!(admin::reload)),
        route(Admin, routes!(policies::push)),
        route(Admin, routes!(policies::versions)),
        route(Admin, routes!(policies::version)),
        route(Admin, routes!(policies::activate)),
        route(Admin, routes!(policies::impact)),
        route(Admin, routes!(commands::audit)),
        route(Admin, routes!(commands::events)),
        route(Admin, routes!(stream::events_stream)),
        // Commands.
        route(Caller, routes!(commands::issue_access_link)),
        route(Caller, routes!(commands::approve_access_link)),
        route(Caller, routes!(commands::add_partner_users)),
        route(Caller, routes!(commands::link_employee)),
        route(Caller, routes!(commands::set_partner_permission_set)),
        route(Caller, routes!(commands::deactivate_partner_user)),
        route(Caller, routes!(commands::reactivate_partner_user)),
        route(Caller, routes!(commands::reactivate_all_partner_users)),
        route(Caller, routes!(commands::grant_partner_permission)),
        route(Caller, routes!(commands::revoke_partner_permission)),
        route(Caller, routes!(commands::employee_removal_preview)),
        route(Caller, routes!(commands::remove_employee)),
        route(Caller, routes!(commands::client_removal_preview)),
        route(Caller, routes!(commands::remove_all_partner_users)),
        route(Caller, routes!(commands::migrate_to_partner_admin)),
        route(Caller, routes!(commands::create_user)),
        route(Caller, routes!(commands::set_seat)),
        route(Caller, routes!(commands::set_client_permission_set)),
        route(Caller, routes!(commands::grant_client_permission)),
        route(Caller, routes!(commands::revoke_client_permission)),
        route(Caller, routes!(commands::set_paid_hubs)),
        route(Caller, routes!(commands::assign_seats)),
        route(Caller, routes!(commands::remove_user)),
        // Reads.
        route(Caller, routes!(commands::partner_clients)),
        route(Caller, routes!(commands::partner_employees)),
        route(Caller, routes!(commands::client_users)),
        route(Caller, routes!(commands::relationship)),
        route(Caller, routes!(commands::relationship_history)),
    ]
}

/// The whole HTTP application over `app`.
pub fn router(app: Arc<App>, options: &HttpOptions) -> Router {
    let mut router = Router::new();
    for r in routes() {
        if !options.playground && r.path.starts_with("/ui") {
            continue;
        }
        let guarded = r.handler.layer(axum::middleware::from_fn_with_state(
            (options.auth.clone(), r.access),
            auth::require,
        ));
        router = router.route(&r.path, guarded);
    }
    let request_id = HeaderName::from_static("x-request-id");
    let hosts = Arc::new(auth::HostCheck::new(&options.auth, &options.allowed_hosts));
    router
        .layer(axum::middleware::from_fn_with_state(
            hosts,
            auth::check_host,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::Extension(error::BodyLimit(options.body_limit)))
        .layer(axum::middleware::from_fn_with_state(
            options.request_timeout,
            time_limit,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // Method and path only: headers (and the bearer token in them) are never logged,
                // and an access-link token in the path is replaced by a digest prefix.
                let raw = request.uri().path();
                let path = redact_path(raw);
                if is_check_path(raw) {
                    // The hot path: a span costs a formatted allocation per request, so checks
                    // get one only when debug logging is on. Their errors name the request.
                    tracing::debug_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        path = %path,
                    )
                } else {
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        path = %path,
                    )
                }
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Answers a request that takes longer than `limit` with a 503 in the error shape (and
/// `Retry-After`), like every other error. A command's transaction may still commit after the
/// answer: the message says so, and a retry with the same `Idempotency-Key` gets its outcome.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // The store gives up a little before the request does, so that a command answers with
    // where it stopped (nothing applied, or outcome unknown) rather than this generic timeout.
    let margin = (limit / 10).min(Duration::from_millis(500));
    let store_deadline = std::time::Instant::now() + limit.saturating_sub(margin);
    let handled = crate::app::deadline::scope(store_deadline, next.run(request));
    match tokio::time::timeout(limit, handled).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!("partner_access_request_timeouts_total").increment(1);
            let mut response = ApiError::unavailable(format!(
                "the request took longer than {} ms and was abandoned; a command may still have \
                 been applied (retry it with the same Idempotency-Key to learn its outcome)",
                limit.as_millis()
            ))
            .into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
            response
        }
    }
}

/// A request path as it may be logged. An access-link token is a secret
/// (`/v1/access-links/{token}/approve`), so the segment after an `access-links` segment, and
/// any segment that looks like a token (`pal_…`) wherever it is, becomes `<redacted:…>` with
/// the first 8 hex digits of the segment's SHA-256: enough to tell two requests apart, useless
/// to approve with. The marker is compared percent-decoded and case-insensitively, so a
/// misspelt path that routes nowhere is redacted too.
pub fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;

    use sha2::{Digest, Sha256};
    let mut out = String::with_capacity(path.len());
    let mut redacted = false;
    let mut after_marker = false;
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let decoded = percent_decoded(segment);
        let looks_like_token = decoded
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"pal_"));
        if (after_marker || looks_like_token) && !segment.is_empty() {
            let digest = Sha256::digest(segment.as_bytes());
            out.push_str("<redacted:");
            for b in &digest[..4] {
                let _ = write!(out, "{b:02x}");
            }
            out.push('>');
            redacted = true;
        } else {
            out.push_str(segment);
        }
        after_marker = decoded.eq_ignore_ascii_case(b"access-links");
    }
    if redacted {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// The bytes of a path segment with `%XX` escapes decoded (a malformed escape is kept as is).
fn percent_decoded(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The decision endpoints, which hosts call on every request they serve.
fn is_check_path(path: &str) -> bool {
    matches!(
        path,
        "/v1/is_authorized"
            | "/v1/is_authorized/batch"
            | "/access/v1/evaluation"
            | "/access/v1/evaluations"
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such path (see GET /openapi.json)")
}

async fn method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(serde_json::json!({"error": {
            "code": "invalid_request",
            "message": "this method is not allowed on this path (see GET /openapi.json)"
        }})),
    )
}

/// A panic inside a handler: answered 503, never an Allow, and logged.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    metrics::counter!("partner_access_panics_total").increment(1);
    tracing::error!("a handler panicked; answered 503");
    ApiError::unavailable("internal error; nothing was applied").into_response()
}

/// Runs blocking store work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, ApiError> {
    let deadline = crate::app::deadline::current();
    match tokio::task::spawn_blocking(move || crate::app::deadline::carry(deadline, work)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::unavailable("internal error; nothing was applied"))
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partner-access",
        description = "Cedar-policy authorization sidecar for partner access to client accounts. \
                       Errors are `{\"error\": {\"code\", \"message\", \"rules\"?, \"details\"?}}`."
    ),
    components(schemas(
        error::ErrorBody, error::ErrorDetail,
        checks::CheckBody, checks::CheckAnswer, checks::Diagnostics, checks::BatchBody,
        checks::BatchAnswer, checks::BatchItem, checks::ItemError,
        explain::ExplainAnswer, explain::ActionsAllowedBody, explain::ActionsAllowedAnswer,
        explain::AccountsAnswer, explain::SearchAnswer,
        authzen::EvaluationRequest, authzen::EvaluationResponse, authzen::EvaluationsRequest,
        authzen::EvaluationsResponse, authzen::EvaluationItem, authzen::Subject,
        authzen::Action, authzen::Resource,
        admin::WriteAnswer, admin::ReloadAnswer,
        commands::RelationshipAnswer, commands::RelationshipHistoryAnswer,
        commands::RelationshipPeriodAnswer,
        ops::Health, ops::ReadyAnswer, ops::ActionsAnswer, ops::PoliciesAnswer,
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "checks", description = "Allow/deny decisions"),
        (name = "authzen", description = "OpenID AuthZEN Authorization API"),
        (name = "admin", description = "State and policy administration, audit log and outbox (admin token)"),
        (name = "commands", description = "The Client Access Manager's state changes, authorized by the policies"),
        (name = "reads", description = "The Client Access Manager's lists and the managed relationship"),
        (name = "policies", description = "What is loaded"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token of the scope each operation lists: `check` (decisions), \
                         `caller` (also commands and reads of the state) or `admin` (also \
                         administration); each scope includes the ones before it",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document: the handlers' operations as the route table collects them, each with
/// its route's scope as its security requirement, and the schemas they use.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    let components = openapi.components.get_or_insert_with(Default::default);
    for r in routes() {
        openapi.paths.merge(r.doc);
        components.schemas.extend(r.schemas);
    }
    open_flattened(&mut components.schemas);
    openapi
}

/// Lets the members of a flattened schema sit beside others. utoipa writes a type that denies
/// unknown fields when it is read (`ClientUserRecord`) as `additionalProperties: false`, and a
/// flattened member (`#[serde(flatten)]`, every command answer with its `revision`) as one
/// part of an `allOf`: that part would then refuse the other parts' members. So the parts of
/// each `allOf` of the components, inline or named, no longer forbid other members.
fn open_flattened(
    schemas: &mut std::collections::BTreeMap<
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    >,
) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AdditionalProperties, Object, Schema};
    fn open(object: &mut Object) {
        if matches!(
            object.additional_properties.as_deref(),
            Some(AdditionalProperties::FreeForm(false))
        ) {
            object.additional_properties = None;
        }
    }
    let mut named = Vec::new();
    for schema in schemas.values_mut() {
        if let RefOr::T(Schema::AllOf(all_of)) = schema {
            for part in &mut all_of.items {
                match part {
                    RefOr::T(Schema::Object(object)) => open(object),
                    RefOr::Ref(reference) => named.push(
                        reference
                            .ref_location
                            .trim_start_matches("#/components/schemas/")
                            .to_owned(),
                    ),
                    _ => {}
                }
            }
        }
    }
    for name in named {
        if let Some(RefOr::T(Schema::Object(object))) = schemas.get_mut(&name) {
            open(object);
        }
    }
}

#[cfg(test)]
mod route_table_tests {
    #![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

    use super::routes;

    /// Each entry of the table is exactly one operation (one path, one of GET, POST, PUT or
    /// DELETE), so the route, its document and its scope are one thing.
    #[test]
    fn each_route_is_one_documented_operation() {
        for route in routes() {
            assert_eq!(route.doc.paths.len(), 1, "{}", route.path);
            let item = route.doc.paths.values().next().unwrap();
            let operations = [&item.get, &item.post, &item.put, &item.delete]
                .into_iter()
                .filter(|o| o.is_some())
                .count();
            assert_eq!(operations, 1, "{} {}", route.method, route.path);
            assert!(route.path.starts_with('/'), "{:?}", route.path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

    use proptest::prelude::*;

    use super::redact_path;

    #[test]
    fn paths_without_tokens_are_kept_as_they_are() {
        for path in [
            "/v1/is_authorized",
            "/v1/partners/p1/access-links",
            "/v1/clients/c1/users/a@b.example",
            "/",
            "",
        ] {
            assert!(
                matches!(redact_path(path), std::borrow::Cow::Borrowed(p) if p == path),
                "{path}"
            );
        }
    }

    #[test]
    fn the_same_token_redacts_the_same_way() {
        let a = redact_path("/v1/access-links/pal_00ff/approve");
        let b = redact_path("/v1/access-links/pal_00ff/approve");
        assert_eq!(a, b);
        assert!(a.starts_with("/v1/access-links/<redacted:"), "{a}");
        assert!(a.ends_with(">/approve"), "{a}");
    }

    /// A marker segment as a client might spell it: any case, any byte percent-escaped.
    fn marker() -> impl Strategy<Value = String> {
        proptest::collection::vec((any::<bool>(), any::<bool>()), 12).prop_map(|choices| {
            "access-links"
                .bytes()
                .zip(choices)
                .map(|(b, (upper, escape))| {
                    let b = if upper { b.to_ascii_uppercase() } else { b };
                    if escape {
                        format!("%{b:02X}")
                    } else {
                        char::from(b).to_string()
                    }
                })
                .collect()
        })
    }

    proptest! {
        /// Whatever the token and wherever the marker, the token's text is not in the log.
        #[test]
        fn a_token_after_the_marker_never_reaches_the_log(
            before in proptest::collection::vec("[a-z0-9]{1,8}", 0..3),
            marker in marker(),
            token in "[A-Za-z0-9_.~%-]{12,80}",
            after in proptest::collection::vec("[a-z]{1,8}", 0..3),
        ) {
            let mut path = String::new();
            for s in &before {
                path.push('/');
                path.push_str(s);
            }
            path.push('/');
            path.push_str(&marker);
            path.push('/');
            path.push_str(&token);
            for s in &after {
                path.push('/');
                path.push_str(s);
            }
            let logged = redact_path(&path);
            prop_assert!(!logged.contains(&token), "{path} logged as {logged}");
        }

        /// A token-shaped segment is redacted wherever it is, with or without the marker.
        #[test]
        fn a_token_shaped_segment_is_redacted_anywhere(
            before in proptest::collection::vec("[a-z0-9-]{1,8}", 0..4),
            token in "[Pp][Aa][Ll]_[0-9a-f]{8,64}",
            after in proptest::collection::vec("[a-z]{1,8}", 0..3),
        ) {
            let path = format!(
                "/{}/{token}/{}",
                before.join("/"),
                after.join("/")
            );
            let logged = redact_path(&path);
            prop_assert!(!logged.contains(&token), "{path} logged as {logged}");
        }
    }
}
