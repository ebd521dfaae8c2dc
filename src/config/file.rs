//! What `serve` reads from files: the TOML config file (the same settings as the flags, all
//! optional) and the token files. It owns their formats and may not resolve or check a
//! setting (that is `resolve.rs`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Listen, SocketMode};
use crate::app::decision_log::LogMode;
use crate::telemetry::LogFormat;

/// The config file: the same settings as the flags, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub listen: Option<Listen>,
    pub socket_mode: Option<SocketMode>,
    pub data: Option<PathBuf>,
    pub policies: Option<PathBuf>,
    pub schema: Option<PathBuf>,
    pub demo: Option<bool>,
    pub log_format: Option<LogFormat>,
    pub token_file: Option<PathBuf>,
    pub check_token_file: Option<PathBuf>,
    pub admin_token_file: Option<PathBuf>,
    pub body_limit: Option<usize>,
    pub request_timeout_ms: Option<u64>,
    pub allowed_hosts: Option<Vec<String>>,
    pub max_connections: Option<usize>,
    pub header_timeout_ms: Option<u64>,
    pub cache_capacity: Option<u64>,
    pub cache_ttl_secs: Option<u64>,
    pub idempotency_ttl_secs: Option<u64>,
    pub activity_flush_secs: Option<u64>,
    pub decision_log: Option<String>,
    pub decision_log_mode: Option<LogMode>,
    pub decision_log_sample: Option<f64>,
    pub decision_log_queue: Option<usize>,
    pub playground: Option<bool>,
    pub store: Option<String>,
    pub max_staleness_ms: Option<u64>,
    pub follow_interval_ms: Option<u64>,
    pub policies_from_store: Option<bool>,
}

/// The TOML config file at `path`.
pub(super) fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// One token per line; blank lines and `#` comments are skipped.
pub fn read_tokens(path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::TokenFile {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let tokens: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if tokens.is_empty() {
        return Err(ConfigError::TokenFile {
            path: path.to_owned(),
            message: "no token in the file".into(),
        });
    }
    Ok(tokens)
}
