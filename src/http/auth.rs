//! Bearer tokens: caller tokens for checks and commands, a separate admin token for
//! administration. Tokens are compared as SHA-256 digests in constant time, and never logged.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ApiError;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token ever (`/healthz`, `/readyz`).
    Public,
    /// A caller token or the admin token, when tokens are configured.
    Caller,
    /// The admin token, when tokens are configured.
    Admin,
}

/// The configured tokens, kept as digests.
#[derive(Default)]
pub struct Auth {
    callers: Vec<[u8; 32]>,
    admin: Option<[u8; 32]>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("caller_tokens", &self.callers.len())
            .field("admin_token", &self.admin.is_some())
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Auth {
    /// Tokens for callers and the admin. White space around a configured token (a trailing
    /// newline from a file or an environment variable) is not part of it: a presented token is
    /// trimmed the same way (RFC 9110's optional white space), so the two can match. Empty
    /// tokens are ignored.
    pub fn new(callers: &[String], admin: Option<&str>) -> Self {
        Auth {
            callers: callers
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(digest)
                .collect(),
            admin: admin.map(str::trim).filter(|t| !t.is_empty()).map(digest),
        }
    }

    /// Whether any token is configured: without tokens every route is open.
    pub fn enabled(&self) -> bool {
        !self.callers.is_empty() || self.admin.is_some()
    }

    fn admits(&self, access: Access, token: Option<&str>) -> bool {
        if access == Access::Public || !self.enabled() {
            return true;
        }
        let Some(token) = token else { return false };
        let presented = digest(token);
        let is_admin = self
            .admin
            .as_ref()
            .is_some_and(|a| bool::from(a.ct_eq(&presented)));
        let is_caller = self
            .callers
            .iter()
            .fold(false, |found, c| found | bool::from(c.ct_eq(&presented)));
        match access {
            Access::Public => true,
            Access::Caller => is_caller || is_admin,
            Access::Admin => is_admin,
        }
    }
}

/// Without tokens the sidecar trusts whoever can reach it, which must then be this machine: a
/// web page elsewhere can still make a browser on this machine send requests to a loopback
/// port under a name of its own that resolves to 127.0.0.1 (DNS rebinding). So without tokens
/// only a loopback `Host` (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`, any port) or a
/// configured name is answered; with tokens any `Host` is (the token is the check).
pub struct HostCheck {
    open: bool,
    allowed: Vec<String>,
}

impl HostCheck {
    pub fn new(auth: &Auth, allowed: &[String]) -> Self {
        HostCheck {
            open: !auth.enabled(),
            allowed: allowed.iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    /// Whether a request with this `Host` (or `:authority`) is answered.
    pub fn admits(&self, host: Option<&str>) -> bool {
        if !self.open {
            return true;
        }
        let Some(host) = host else {
            // HTTP/1.0 without a Host: not a browser's request.
            return true;
        };
        let host = host.trim().to_ascii_lowercase();
        // The name without its port: `[::1]:8180` → `[::1]`, `localhost:8180` → `localhost`.
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !name.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
            {
                name
            }
            _ => host.as_str(),
        };
        let loopback = name == "localhost"
            || name.ends_with(".localhost")
            || name == "[::1]"
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback || self.allowed.iter().any(|a| a == name)
    }
}

/// The middleware that answers only admitted `Host`s (see [`HostCheck`]).
pub async fn check_host(
    State(hosts): State<Arc<HostCheck>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    if hosts.admits(host) {
        return next.run(request).await;
    }
    ApiError::forbidden(format!(
        "this sidecar has no tokens, so it answers only loopback host names (or those given with --allowed-hosts); `Host: {}` is not one",
        host.unwrap_or_default().escape_debug()
    ))
    .into_response()
}

/// The token of an `Authorization` value: the `Bearer` scheme, case-insensitive (RFC 9110
/// §11.1), then white space, then the token, trimmed.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The middleware that enforces `access` on one route.
pub async fn require(
    State((auth, access)): State<(Arc<Auth>, Access)>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    if auth.admits(access, token) {
        return next.run(request).await;
    }
    let message = match (access, token) {
        (_, None) => "a bearer token is required (`Authorization: Bearer TOKEN`)",
        (Access::Admin, Some(_)) => "this path needs the admin token",
        _ => "the bearer token is not valid",
    };
    ApiError::unauthenticated(message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_admit_what_they_should() {
        let auth = Auth::new(&["caller-1".into(), "caller-2".into()], Some("admin"));
        assert!(auth.admits(Access::Caller, Some("caller-2")));
        assert!(auth.admits(Access::Caller, Some("admin")));
        assert!(!auth.admits(Access::Caller, Some("caller-3")));
        assert!(!auth.admits(Access::Caller, None));
        assert!(!auth.admits(Access::Admin, Some("caller-1")));
        assert!(auth.admits(Access::Admin, Some("admin")));
        assert!(auth.admits(Access::Public, None));
        let open = Auth::new(&[], None);
        assert!(open.admits(Access::Admin, None));
    }

    #[test]
    fn configured_tokens_are_trimmed_like_presented_ones() {
        let auth = Auth::new(&[" caller \n".into(), "  ".into()], Some("admin\n"));
        assert!(auth.admits(Access::Caller, Some("caller")));
        assert!(auth.admits(Access::Admin, Some("admin")));
        assert_eq!(auth.callers.len(), 1, "a blank token is no token");
    }

    #[test]
    fn without_tokens_only_loopback_and_configured_hosts_are_answered() {
        let open = HostCheck::new(&Auth::new(&[], None), &["sidecar.internal".into()]);
        for host in [
            "localhost",
            "LOCALHOST:8180",
            "api.localhost:1",
            "127.0.0.1:8180",
            "127.9.9.9",
            "[::1]:8180",
            "sidecar.internal:8180",
        ] {
            assert!(open.admits(Some(host)), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8180",
            "localhost.evil.example",
            "127.0.0.1.evil.example",
            "10.0.0.1:8180",
            "[::2]:8180",
            "sidecar.internal.evil",
        ] {
            assert!(!open.admits(Some(host)), "{host}");
        }
        let closed = HostCheck::new(&Auth::new(&["t".into()], None), &[]);
        assert!(closed.admits(Some("evil.example")), "a token is the check");
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t", "bearer t", "BEARER  t ", "  Bearer\tt"] {
            assert_eq!(bearer_token(value), Some("t"), "{value:?}");
        }
        for value in ["Basic t", "Bearert", "Bearer", "Token t"] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
