//! `GET /ui`: the playground page for policy authors and support engineers.
//!
//! Three static files compiled into the binary (no CDN, nothing fetched at run time). They are
//! public because they carry no data: the page asks the API for everything, with the bearer
//! token the user types in, so the playground sees exactly what that token may see. A strict
//! Content-Security-Policy allows only this origin's script and style.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/app.css");

/// Only this origin's files; no inline script; the page may not be framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// The playground page: pick a principal, action and account, see the decision and why.
#[utoipa::path(get, path = "/ui", tag = "playground",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
pub async fn index() -> Response {
    asset(INDEX, "text/html; charset=utf-8")
}

/// The playground page at `/ui/` too: the address a browser or a person completes `/ui` to.
/// (The page names its script and style by absolute path, so it works at either.)
#[utoipa::path(get, path = "/ui/", tag = "playground",
    responses((status = 200, description = "The page", content_type = "text/html", body = String)))]
pub async fn index_slash() -> Response {
    index().await
}

/// The playground's script.
#[utoipa::path(get, path = "/ui/app.js", tag = "playground",
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String)))]
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// The playground's style sheet.
#[utoipa::path(get, path = "/ui/app.css", tag = "playground",
    responses((status = 200, description = "The style sheet", content_type = "text/css", body = String)))]
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}
