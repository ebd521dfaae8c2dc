//! Bearer tokens and their scopes. A token has one of three scopes, each including the ones
//! below it:
//!
//! - `check`: asks for decisions (`/v1/is_authorized`, AuthZEN, `/v1/actions_allowed`) and
//!   reads what carries no user data (the action list, the policies, metrics, the OpenAPI
//!   document). A host that only enforces decisions holds this one: it cannot list users
//!   (`/v1/search`), read why a decision was made (`/v1/explain`) or change anything.
//! - `caller`: everything a host application does, commands and reads of the state included.
//! - `admin`: administration (`/v1/admin/...`, the audit trail, the outbox).
//!
//! A token that is not configured is 401 `unauthenticated`; a configured token whose scope is
//! below the route's is 403 `forbidden` naming both scopes, with RFC 6750's
//! `WWW-Authenticate: Bearer error="insufficient_scope"`. Tokens are compared as SHA-256
//! digests in constant time, and never logged.
//!
//! Token files can be rotated without a restart: [`Auth::reload`] (on SIGHUP, see
//! `crate::server`) re-reads them and swaps the whole set at once; a file that cannot be read
//! (or holds no token) keeps the tokens in force, so a half-written rotation never locks
//! every caller out. Tokens from the environment cannot change in a running process and stay.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;

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
    /// No token ever (`/healthz`, `/readyz`, the playground's static files).
    Public,
    /// Any token, a check token included, when tokens are configured.
    Check,
    /// A caller token or the admin token, when tokens are configured.
    Caller,
    /// The admin token, when tokens are configured.
    Admin,
}

impl Access {
    /// The scope a token needs for this route; `None` for public routes.
    pub fn scope(self) -> Option<Scope> {
        match self {
            Access::Public => None,
            Access::Check => Some(Scope::Check),
            Access::Caller => Some(Scope::Caller),
            Access::Admin => Some(Scope::Admin),
        }
    }
}

/// What a token may do; each scope includes the ones below it (the order is the inclusion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Decisions, and reads that carry no user data.
    Check,
    /// Everything a host application does: checks, commands, reads of the state.
    Caller,
    /// Administration.
    Admin,
}

impl Scope {
    /// The scope's name in messages, the OpenAPI document and `WWW-Authenticate`.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Check => "check",
            Scope::Caller => "caller",
            Scope::Admin => "admin",
        }
    }
}

/// How many tokens of each scope are in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenCounts {
    pub check: usize,
    pub caller: usize,
    pub admin: bool,
}

impl TokenCounts {
    /// Whether any token is configured: without tokens every route is open.
    pub fn any(&self) -> bool {
        self.check > 0 || self.caller > 0 || self.admin
    }
}

/// The configured tokens, kept as digests, and where they came from.
#[derive(Default)]
pub struct Auth {
    tokens: ArcSwap<Tokens>,
    sources: TokenSources,
}

/// One set of tokens in force, as digests, by scope.
#[derive(Default)]
struct Tokens {
    checks: Vec<[u8; 32]>,
    callers: Vec<[u8; 32]>,
    admin: Option<[u8; 32]>,
}

/// What [`Auth`] decides about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Admitted,
    /// No token, or one that is not configured.
    Unauthenticated,
    /// A configured token whose scope is below the route's.
    InsufficientScope {
        needed: Scope,
        held: Scope,
    },
}

/// Where the tokens come from: what [`Auth::reload`] reads again.
#[derive(Debug, Clone, Default)]
pub struct TokenSources {
    /// Check tokens from the environment (`PARTNER_ACCESS_CHECK_TOKENS`).
    pub check_env: Vec<String>,
    /// The check token file, one token per line.
    pub check_file: Option<PathBuf>,
    /// Caller tokens from the environment (`PARTNER_ACCESS_TOKENS`).
    pub caller_env: Vec<String>,
    /// The caller token file, one token per line.
    pub caller_file: Option<PathBuf>,
    /// The admin token from the environment, used when there is no admin token file.
    pub admin_env: Option<String>,
    /// The admin token file (its first token).
    pub admin_file: Option<PathBuf>,
}

/// Why token files were not reloaded (the tokens in force stay).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    File(#[from] crate::config::ConfigError),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens = self.tokens.load();
        f.debug_struct("Auth")
            .field("check_tokens", &tokens.checks.len())
            .field("caller_tokens", &tokens.callers.len())
            .field("admin_token", &tokens.admin.is_some())
            .finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Auth {
    /// Tokens of each scope. White space around a configured token (a trailing newline from
    /// a file or an environment variable) is not part of it: a presented token is trimmed the
    /// same way (RFC 9110's optional white space), so the two can match. Empty tokens are
    /// ignored.
    pub fn new(checks: &[String], callers: &[String], admin: Option<&str>) -> Self {
        Auth {
            tokens: ArcSwap::from_pointee(Tokens::new(checks, callers, admin)),
            sources: TokenSources::default(),
        }
    }

    /// The tokens `sources` name, read now; [`Auth::reload`] reads them again.
    pub fn from_sources(sources: TokenSources) -> Result<Self, ReloadError> {
        let tokens = sources.read()?;
        Ok(Auth {
            tokens: ArcSwap::from_pointee(tokens),
            sources,
        })
    }

    /// Re-reads the token files and puts what they hold in force at once. On an error the
    /// tokens in force stay. Returns how many tokens of each scope are now in force.
    pub fn reload(&self) -> Result<TokenCounts, ReloadError> {
        let tokens = self.sources.read()?;
        let counts = tokens.counts();
        self.tokens.store(Arc::new(tokens));
        Ok(counts)
    }

    /// How many tokens of each scope are in force.
    pub fn counts(&self) -> TokenCounts {
        self.tokens.load().counts()
    }

    /// Whether any token is configured: without tokens every route is open.
    pub fn enabled(&self) -> bool {
        self.tokens.load().enabled()
    }

    fn decide(&self, access: Access, token: Option<&str>) -> Verdict {
        self.tokens.load().decide(access, token)
    }
}

impl TokenSources {
    /// Reads the files now and counts what they and the environment hold, without putting
    /// anything in force: what `serve` checks before it starts.
    pub fn counts(&self) -> Result<TokenCounts, ReloadError> {
        Ok(self.read()?.counts())
    }

    fn read(&self) -> Result<Tokens, ReloadError> {
        let mut checks = self.check_env.clone();
        if let Some(path) = &self.check_file {
            checks.extend(crate::config::read_tokens(path)?);
        }
        let mut callers = self.caller_env.clone();
        if let Some(path) = &self.caller_file {
            callers.extend(crate::config::read_tokens(path)?);
        }
        let admin = match &self.admin_file {
            Some(path) => crate::config::read_tokens(path)?.into_iter().next(),
            None => self.admin_env.clone(),
        };
        Ok(Tokens::new(&checks, &callers, admin.as_deref()))
    }
}

impl Tokens {
    fn new(checks: &[String], callers: &[String], admin: Option<&str>) -> Self {
        fn digests(tokens: &[String]) -> Vec<[u8; 32]> {
            tokens
                .iter()
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
                .map(digest)
                .collect()
        }
        Tokens {
            checks: digests(checks),
            callers: digests(callers),
            admin: admin.map(str::trim).filter(|t| !t.is_empty()).map(digest),
        }
    }

    fn counts(&self) -> TokenCounts {
        TokenCounts {
            check: self.checks.len(),
            caller: self.callers.len(),
            admin: self.admin.is_some(),
        }
    }

    fn enabled(&self) -> bool {
        self.counts().any()
    }

    /// The scope of a presented token: the highest of the sets it is in (a token configured
    /// as both a check and a caller token is a caller token). Every configured digest is
    /// compared, in constant time, whatever matches first.
    fn scope_of(&self, token: &str) -> Option<Scope> {
        let presented = digest(token);
        let any = |set: &[[u8; 32]]| {
            set.iter()
                .fold(false, |found, d| found | bool::from(d.ct_eq(&presented)))
        };
        let is_admin = any(self.admin.as_slice());
        let is_caller = any(&self.callers);
        let is_check = any(&self.checks);
        if is_admin {
            Some(Scope::Admin)
        } else if is_caller {
            Some(Scope::Caller)
        } else if is_check {
            Some(Scope::Check)
        } else {
            None
        }
    }

    fn decide(&self, access: Access, token: Option<&str>) -> Verdict {
        let Some(needed) = access.scope() else {
            return Verdict::Admitted;
        };
        if !self.enabled() {
            return Verdict::Admitted;
        }
        match token.and_then(|t| self.scope_of(t)) {
            None => Verdict::Unauthenticated,
            Some(held) if held >= needed => Verdict::Admitted,
            Some(held) => Verdict::InsufficientScope { needed, held },
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

/// Whether `request` may be answered under the `Host` rule (see [`HostCheck`]); the refusal
/// otherwise.
fn host_refusal(hosts: &HostCheck, request: &Request) -> Option<Response> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    // Over the Unix socket there is no browser to rebind: the check guards TCP only.
    if hosts.admits(host)
        || request
            .extensions()
            .get::<super::serve::UnixPeer>()
            .is_some()
    {
        return None;
    }
    Some(
        ApiError::forbidden(format!(
            "this sidecar has no tokens, so it answers only loopback host names (or those given with --allowed-hosts); `Host: {}` is not one",
            host.unwrap_or_default().escape_debug()
        ))
        .into_response(),
    )
}

/// The token of an `Authorization` value: the `Bearer` scheme, case-insensitive (RFC 9110
/// §11.1), then white space, then the token, trimmed.
fn bearer_token(value: &str) -> Option<&str> {
    let value = value.trim_start();
    let (scheme, rest) = value.split_once([' ', '\t'])?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// What guards every route: the `Host` rule and the tokens.
pub struct Guard {
    pub auth: Arc<Auth>,
    pub hosts: HostCheck,
}

/// The middleware of one route that needs `access`: answers only an admitted `Host` (see
/// [`HostCheck`]), then only a token with the scope (see [`Access`]). One layer per route, so
/// that a request passes one middleware on its way to the handler, not one per concern.
pub async fn guard(
    State((guard, access)): State<(Arc<Guard>, Access)>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(refusal) = host_refusal(&guard.hosts, &request) {
        return refusal;
    }
    let auth = &guard.auth;
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match auth.decide(access, token) {
        Verdict::Admitted => next.run(request).await,
        Verdict::Unauthenticated => ApiError::unauthenticated(match token {
            None => "a bearer token is required (`Authorization: Bearer TOKEN`)",
            Some(_) => "the bearer token is not valid",
        })
        .into_response(),
        Verdict::InsufficientScope { needed, held } => {
            let mut response = ApiError::forbidden(format!(
                "this path needs a token with the `{}` scope; the token given has the `{}` scope",
                needed.name(),
                held.name()
            ))
            .into_response();
            // RFC 6750 §3.1: a valid token without the scope the resource needs.
            let challenge = format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                needed.name()
            );
            if let Ok(value) = header::HeaderValue::from_str(&challenge) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests;
