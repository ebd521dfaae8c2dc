//! Configuration of `serve`, in two phases (as ripgrep does): parse flags and environment
//! (`clap`, every value optional), then resolve against the TOML config file and the defaults.
//! Precedence: flag, then `PARTNER_ACCESS_*` environment variable, then config file, then
//! default. Tokens are read from files or the environment, never from the command line, where
//! `ps` would show them.
//!
//! Owns: `serve`'s settings and their sources, and the command-line values of the log format
//! and the decision log's mode (the enums themselves are `telemetry`'s and `app`'s, which do
//! not know about clap). May not: import the crates other modules keep (Cedar, redb,
//! PostgreSQL, axum).
//!
//! The files: `flags.rs` (the command line's flags, the only use of clap), `file.rs` (the TOML
//! file and the token files), `resolve.rs` (flags, environment and file resolved to a
//! [`ServeConfig`] and checked); this file holds what they resolve to.

mod file;
mod flags;
mod resolve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::app::decision_log::DecisionLogSettings;
use crate::telemetry::LogFormat;

pub use file::{ConfigFile, read_tokens};
pub use flags::ServeArgs;

/// Everything `serve` needs, resolved.
#[derive(Clone)]
pub struct ServeConfig {
    pub listen: Listen,
    /// The permissions of a Unix socket's file.
    pub socket_mode: u32,
    pub data: PathBuf,
    pub policies: PathBuf,
    pub schema: PathBuf,
    /// Serve the store's active policy version rather than the directories.
    pub policies_from_store: bool,
    pub demo: bool,
    pub log_format: LogFormat,
    /// Where the tokens come from (read at start, and again on SIGHUP).
    pub token_sources: crate::http::TokenSources,
    /// How many tokens of each scope the sources held when the configuration was resolved.
    pub token_counts: crate::http::TokenCounts,
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// Host names answered besides loopback ones when there are no tokens.
    pub allowed_hosts: Vec<String>,
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub cache_capacity: u64,
    pub cache_ttl: Duration,
    /// How long an idempotency key's first answer is replayed.
    pub idempotency_ttl: Duration,
    /// How often noted partner activity is written to the store.
    pub activity_flush: Duration,
    /// `None` when decisions are not logged.
    pub decision_log: Option<DecisionLogSettings>,
    /// Serve `/ui`.
    pub playground: bool,
    /// `postgres://...`, or `None` for the redb file in `data`.
    pub store: Option<String>,
    pub max_staleness: Duration,
    pub follow_interval: Duration,
}

impl std::fmt::Debug for ServeConfig {
    /// Tokens are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("policies", &self.policies)
            .field("schema", &self.schema)
            .field("policies_from_store", &self.policies_from_store)
            .field("demo", &self.demo)
            .field("tokens", &self.token_counts)
            .field("body_limit", &self.body_limit)
            .field("request_timeout", &self.request_timeout)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("max_connections", &self.max_connections)
            .field("header_timeout", &self.header_timeout)
            .field("cache_capacity", &self.cache_capacity)
            .field("cache_ttl", &self.cache_ttl)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("activity_flush", &self.activity_flush)
            .field("decision_log", &self.decision_log)
            .field("playground", &self.playground)
            .field(
                "store",
                &self.store.as_ref().map(|_| "postgres (credentials hidden)"),
            )
            .field("max_staleness", &self.max_staleness)
            .field("follow_interval", &self.follow_interval)
            .finish()
    }
}

/// Where `serve` listens: a TCP address, or a Unix domain socket (`unix:/run/pa.sock`), which
/// is local like loopback (so it needs no tokens; the socket file's mode says who may
/// connect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl std::str::FromStr for Listen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(
                    "`unix:` needs the socket file's path (unix:/run/partner-access.sock)".into(),
                );
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        text.parse().map(Listen::Tcp).map_err(|_| {
            format!("`{text}`: expected HOST:PORT (127.0.0.1:8180) or unix:PATH (unix:/run/partner-access.sock)")
        })
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(address) => write!(f, "{address}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The default mode of a Unix socket's file: the owner and its group may connect.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;

/// A socket mode as given: octal text (`"660"`, `"0o660"`, the flag's and the environment's
/// form), or a number (TOML's `socket_mode = 0o660`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SocketMode {
    Text(String),
    Number(u32),
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file `{path}`: {message}")]
    File { path: PathBuf, message: String },
    #[error("token file `{path}`: {message}")]
    TokenFile { path: PathBuf, message: String },
    #[error(
        "refusing to listen on non-loopback address {0} without tokens: give --token-file (or PARTNER_ACCESS_TOKENS) and --admin-token-file"
    )]
    OpenNonLoopback(SocketAddr),
    #[error("{0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
