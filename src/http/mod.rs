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
mod check_body;
mod checks;
mod commands;
mod error;
mod explain;
mod openapi;
mod ops;
mod policies;
mod redact;
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
use utoipa_axum::router::UtoipaMethodRouter;
use utoipa_axum::routes;

use crate::app::{App, AppError};

pub use auth::{Access, Auth, ReloadError, Scope, TokenCounts, TokenSources};
pub use checks::MAX_BATCH;
pub use error::ApiError;
pub use openapi::openapi_document;
pub use redact::redact_path;
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
///
/// The routes are matched first, each behind its [`auth::guard`]; what every request gets
/// (request id, trace span, catch-panic, the time limit, the body limit) wraps the matched
/// router once, outside it. (`Router::layer` would wrap every route with each of them, and
/// axum clones a route's whole stack of boxed services on every request it serves.)
pub fn router(app: Arc<App>, options: &HttpOptions) -> Router {
    let guard = Arc::new(auth::Guard {
        hosts: auth::HostCheck::new(&options.auth, &options.allowed_hosts),
        auth: options.auth.clone(),
    });
    let mut matched = Router::new();
    for r in routes() {
        if !options.playground && r.path.starts_with("/ui") {
            continue;
        }
        let guarded = r.handler.layer(axum::middleware::from_fn_with_state(
            (guard.clone(), r.access),
            auth::guard,
        ));
        matched = matched.route(&r.path, guarded);
    }
    let matched = matched
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app);
    let request_id = HeaderName::from_static("x-request-id");
    let stack = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
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
                // `decision`, `policy_ids` and `store_us` are filled by the check and command
                // handlers (and `command` by commands) for the exported traces (see
                // `telemetry`); a log line shows only the fields that were filled.
                use tracing::field::Empty;
                if is_check_path(raw) && !crate::telemetry::traces_enabled() {
                    // The hot path: a span costs a formatted allocation per request, so checks
                    // get one only when debug logging is on (or traces are exported). Their
                    // errors name the request.
                    tracing::debug_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        path = %path,
                        decision = Empty,
                        policy_ids = Empty,
                        store_us = Empty,
                    )
                } else {
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %request.method(),
                        path = %path,
                        command = Empty,
                        decision = Empty,
                        policy_ids = Empty,
                        store_us = Empty,
                    )
                }
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::from_fn_with_state(
            options.request_timeout,
            time_limit,
        ))
        .layer(axum::Extension(error::BodyLimit(options.body_limit)))
        .layer(DefaultBodyLimit::max(options.body_limit))
        .service(matched);
    Router::new().fallback_service(stack)
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
    // The request's span goes with the work when traces are exported, so that what the work
    // records (a command's decision and store time) lands on it.
    let span = if crate::telemetry::traces_enabled() {
        tracing::Span::current()
    } else {
        tracing::Span::none()
    };
    let work = move || span.in_scope(|| crate::app::deadline::carry(deadline, work));
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::unavailable("internal error; nothing was applied"))
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
