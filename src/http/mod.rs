//! The HTTP layer: routes, wire types, one `ApiError`, the playground page (`/ui`), and the
//! server's connections ([`serve`]).
//!
//! Owns: everything HTTP, and the only imports of `axum`, `hyper`, `tower`, `tower_http` and
//! `utoipa`. May name: `app` (the use cases, and the policy and store types they re-export),
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
mod serve;
mod ui;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::app::{App, AppError};

pub use auth::{Access, Auth, ReloadError, Scope, TokenCounts, TokenSources};
pub use checks::MAX_BATCH;
pub use error::ApiError;
pub use serve::{DRAIN_TIMEOUT, MAX_CONNECTIONS, serve};

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

/// One route of the API.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    handler: MethodRouter<Arc<App>>,
}

fn route(
    method: Method,
    path: &'static str,
    access: Access,
    handler: MethodRouter<Arc<App>>,
) -> Route {
    Route {
        method,
        path,
        access,
        handler,
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Access::{Admin, Caller, Check, Public};
    vec![
        route(Method::GET, "/healthz", Public, get(ops::healthz)),
        route(Method::GET, "/readyz", Public, get(ops::readyz)),
        route(Method::GET, "/metrics", Check, get(ops::metrics)),
        route(Method::GET, "/openapi.json", Check, get(ops::openapi)),
        route(Method::GET, "/v1/schema/actions", Check, get(ops::actions)),
        route(Method::GET, "/v1/search", Caller, get(explain::search)),
        // The playground's static files: public, they carry no data (see `ui`).
        route(Method::GET, "/ui", Public, get(ui::index)),
        route(Method::GET, "/ui/", Public, get(ui::index_slash)),
        route(Method::GET, "/ui/app.js", Public, get(ui::script)),
        route(Method::GET, "/ui/app.css", Public, get(ui::style)),
        route(Method::GET, "/v1/policies", Check, get(ops::policies)),
        route(
            Method::POST,
            "/v1/is_authorized",
            Check,
            post(checks::is_authorized),
        ),
        route(
            Method::POST,
            "/v1/is_authorized/batch",
            Check,
            post(checks::is_authorized_batch),
        ),
        route(Method::POST, "/v1/explain", Caller, post(explain::explain)),
        route(
            Method::POST,
            "/v1/actions_allowed",
            Check,
            post(explain::actions_allowed),
        ),
        route(
            Method::GET,
            "/v1/users/{email}/accounts",
            Caller,
            get(explain::accounts),
        ),
        route(
            Method::POST,
            "/access/v1/evaluation",
            Check,
            post(authzen::evaluation),
        ),
        route(
            Method::POST,
            "/access/v1/evaluations",
            Check,
            post(authzen::evaluations),
        ),
        route(Method::POST, "/v1/admin/import", Admin, post(admin::import)),
        route(Method::GET, "/v1/admin/export", Admin, get(admin::export)),
        route(Method::GET, "/v1/admin/backup", Admin, get(admin::backup)),
        route(
            Method::PUT,
            "/v1/admin/partners/{id}",
            Admin,
            put(admin::put_partner),
        ),
        route(
            Method::PUT,
            "/v1/admin/partners/{id}/employees/{email}",
            Admin,
            put(admin::put_employee),
        ),
        route(
            Method::PUT,
            "/v1/admin/clients/{id}",
            Admin,
            put(admin::put_client),
        ),
        route(
            Method::PUT,
            "/v1/admin/clients/{id}/users/{email}",
            Admin,
            put(admin::put_user),
        ),
        route(
            Method::PUT,
            "/v1/admin/clients/{id}/assets/{asset}",
            Admin,
            put(admin::put_asset),
        ),
        route(
            Method::POST,
            "/v1/admin/policies/reload",
            Admin,
            post(admin::reload),
        ),
        route(Method::GET, "/v1/audit", Admin, get(commands::audit)),
        route(Method::GET, "/v1/events", Admin, get(commands::events)),
        // Commands.
        route(
            Method::POST,
            "/v1/partners/{partner}/access-links",
            Caller,
            post(commands::issue_access_link),
        ),
        route(
            Method::POST,
            "/v1/access-links/{token}/approve",
            Caller,
            post(commands::approve_access_link),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users",
            Caller,
            post(commands::add_partner_users),
        ),
        route(
            Method::POST,
            "/v1/partners/{partner}/employees/{employee}/link",
            Caller,
            post(commands::link_employee),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/partner-users/{employee}/permission-set",
            Caller,
            put(commands::set_partner_permission_set),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users/{employee}/deactivate",
            Caller,
            post(commands::deactivate_partner_user),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users/{employee}/reactivate",
            Caller,
            post(commands::reactivate_partner_user),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users/reactivate-all",
            Caller,
            post(commands::reactivate_all_partner_users),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}",
            Caller,
            put(commands::grant_partner_permission),
        ),
        route(
            Method::DELETE,
            "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}",
            Caller,
            delete(commands::revoke_partner_permission),
        ),
        route(
            Method::POST,
            "/v1/partners/{partner}/employees/{employee}/removal-preview",
            Caller,
            post(commands::employee_removal_preview),
        ),
        route(
            Method::POST,
            "/v1/partners/{partner}/employees/{employee}/remove",
            Caller,
            post(commands::remove_employee),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users/removal-preview",
            Caller,
            post(commands::client_removal_preview),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-users/remove-all",
            Caller,
            post(commands::remove_all_partner_users),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/partner-admins",
            Caller,
            post(commands::migrate_to_partner_admin),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/users",
            Caller,
            post(commands::create_user),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/users/{email}/seat",
            Caller,
            put(commands::set_seat),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/users/{email}/permission-set",
            Caller,
            put(commands::set_client_permission_set),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/users/{email}/permissions/{permission}",
            Caller,
            put(commands::grant_client_permission),
        ),
        route(
            Method::DELETE,
            "/v1/clients/{client}/users/{email}/permissions/{permission}",
            Caller,
            delete(commands::revoke_client_permission),
        ),
        route(
            Method::PUT,
            "/v1/clients/{client}/users/{email}/paid-hubs",
            Caller,
            put(commands::set_paid_hubs),
        ),
        route(
            Method::POST,
            "/v1/clients/{client}/seats",
            Caller,
            post(commands::assign_seats),
        ),
        route(
            Method::DELETE,
            "/v1/clients/{client}/users/{email}",
            Caller,
            delete(commands::remove_user),
        ),
        // Reads.
        route(
            Method::GET,
            "/v1/partners/{partner}/clients",
            Caller,
            get(commands::partner_clients),
        ),
        route(
            Method::GET,
            "/v1/partners/{partner}/employees",
            Caller,
            get(commands::partner_employees),
        ),
        route(
            Method::GET,
            "/v1/clients/{client}/users",
            Caller,
            get(commands::client_users),
        ),
        route(
            Method::GET,
            "/v1/clients/{client}/relationship",
            Caller,
            get(commands::relationship),
        ),
        route(
            Method::GET,
            "/v1/clients/{client}/relationship/history",
            Caller,
            get(commands::relationship_history),
        ),
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
        router = router.route(r.path, guarded);
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
    paths(
        ops::healthz, ops::readyz, ops::metrics, ops::openapi, ops::actions, ops::policies,
        checks::is_authorized, checks::is_authorized_batch,
        explain::explain, explain::actions_allowed, explain::accounts, explain::search,
        ui::index, ui::index_slash, ui::script, ui::style,
        authzen::evaluation, authzen::evaluations,
        admin::import, admin::export, admin::backup, admin::put_partner, admin::put_employee,
        admin::put_client, admin::put_user, admin::put_asset, admin::reload,
        commands::audit, commands::events,
        commands::issue_access_link, commands::approve_access_link, commands::add_partner_users,
        commands::link_employee, commands::set_partner_permission_set,
        commands::deactivate_partner_user, commands::reactivate_partner_user,
        commands::reactivate_all_partner_users, commands::grant_partner_permission,
        commands::revoke_partner_permission, commands::grant_client_permission,
        commands::revoke_client_permission, commands::set_paid_hubs,
        commands::employee_removal_preview, commands::remove_employee,
        commands::client_removal_preview, commands::remove_all_partner_users,
        commands::migrate_to_partner_admin, commands::create_user, commands::set_seat,
        commands::set_client_permission_set, commands::assign_seats, commands::remove_user,
        commands::partner_clients, commands::partner_employees, commands::client_users,
        commands::relationship, commands::relationship_history,
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

/// Each operation's security requirement, from the route table (so the document cannot say
/// another scope than the router enforces): `bearer` with the route's scope, or none for a
/// public route.
fn set_security_from_routes(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::SecurityRequirement;
    for r in routes() {
        let Some(item) = openapi.paths.paths.get_mut(r.path) else {
            continue;
        };
        let operation = match r.method {
            Method::GET => item.get.as_mut(),
            Method::POST => item.post.as_mut(),
            Method::PUT => item.put.as_mut(),
            Method::DELETE => item.delete.as_mut(),
            _ => None,
        };
        if let Some(operation) = operation {
            operation.security = r
                .access
                .scope()
                .map(|scope| vec![SecurityRequirement::new("bearer", [scope.name()])]);
        }
    }
}

/// The OpenAPI document, generated from the handlers' annotations.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut openapi = ApiDoc::openapi();
    set_security_from_routes(&mut openapi);
    openapi
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
