//! Resolution: flags and environment against the config file and the defaults (flag, then
//! environment, then file, then default), and the checks a resolved configuration must pass.
//! It owns the precedence and the checks, and reads files only through `file.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::file::read_config_file;
use super::{
    ConfigError, ConfigFile, DEFAULT_SOCKET_MODE, Listen, ServeArgs, ServeConfig, SocketMode,
};
use crate::app::decision_log::DecisionLogSettings;

impl ServeArgs {
    /// Resolves flags and environment against the config file and defaults. `env` reads the
    /// token variables (a parameter so tests need not touch the process environment).
    pub fn resolve(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ServeConfig, ConfigError> {
        let file = match &self.config {
            Some(path) => read_config_file(path)?,
            None => ConfigFile::default(),
        };
        let list = |name: &str| -> Vec<String> {
            env(name)
                .map(|v| {
                    v.split(',')
                        .map(|t| t.trim().to_owned())
                        .filter(|t| !t.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        let token_sources = crate::http::TokenSources {
            check_env: list("PARTNER_ACCESS_CHECK_TOKENS"),
            check_file: self.check_token_file.clone().or(file.check_token_file),
            caller_env: list("PARTNER_ACCESS_TOKENS"),
            caller_file: self.token_file.clone().or(file.token_file),
            admin_env: env("PARTNER_ACCESS_ADMIN_TOKEN").filter(|t| !t.trim().is_empty()),
            admin_file: self.admin_token_file.clone().or(file.admin_token_file),
        };
        let token_counts = token_sources.counts().map_err(|e| match e {
            crate::http::ReloadError::File(e) => e,
        })?;
        let config = ServeConfig {
            listen: self
                .listen
                .clone()
                .or(file.listen)
                .unwrap_or(Listen::Tcp(SocketAddr::from(([127, 0, 0, 1], 8180)))),
            socket_mode: socket_mode(
                self.socket_mode
                    .clone()
                    .map(SocketMode::Text)
                    .or(file.socket_mode),
            )?,
            data: self
                .data
                .clone()
                .or(file.data)
                .unwrap_or_else(|| PathBuf::from("data")),
            policies: self
                .policies
                .clone()
                .or(file.policies)
                .unwrap_or_else(|| PathBuf::from("policies")),
            schema: self
                .schema
                .clone()
                .or(file.schema)
                .unwrap_or_else(|| PathBuf::from("schema")),
            policies_from_store: self.policies_from_store
                || file.policies_from_store.unwrap_or(false),
            demo: self.demo || file.demo.unwrap_or(false),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            token_sources,
            token_counts,
            body_limit: self.body_limit.or(file.body_limit).unwrap_or(1024 * 1024),
            request_timeout: Duration::from_millis(
                self.request_timeout_ms
                    .or(file.request_timeout_ms)
                    .unwrap_or(10_000),
            ),
            allowed_hosts: if self.allowed_hosts.is_empty() {
                file.allowed_hosts.unwrap_or_default()
            } else {
                self.allowed_hosts.clone()
            }
            .into_iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect(),
            max_connections: self
                .max_connections
                .or(file.max_connections)
                .unwrap_or(4096),
            header_timeout: Duration::from_millis(
                self.header_timeout_ms
                    .or(file.header_timeout_ms)
                    .unwrap_or(10_000),
            ),
            cache_capacity: self
                .cache_capacity
                .or(file.cache_capacity)
                .unwrap_or(100_000),
            cache_ttl: Duration::from_secs(
                self.cache_ttl_secs.or(file.cache_ttl_secs).unwrap_or(30),
            ),
            idempotency_ttl: Duration::from_secs(
                self.idempotency_ttl_secs
                    .or(file.idempotency_ttl_secs)
                    .unwrap_or(86_400),
            ),
            activity_flush: Duration::from_secs(
                self.activity_flush_secs
                    .or(file.activity_flush_secs)
                    .unwrap_or(5),
            ),
            playground: !self.no_playground && file.playground.unwrap_or(true),
            store: self.store.clone().or(file.store).filter(|s| !s.is_empty()),
            max_staleness: Duration::from_millis(
                self.max_staleness_ms
                    .or(file.max_staleness_ms)
                    .unwrap_or(1_000),
            ),
            follow_interval: Duration::from_millis(
                self.follow_interval_ms
                    .or(file.follow_interval_ms)
                    .unwrap_or(100)
                    .max(1),
            ),
            decision_log: match self.decision_log.clone().or(file.decision_log) {
                Some(sink) => Some(DecisionLogSettings {
                    sink: sink.parse().map_err(ConfigError::Invalid)?,
                    mode: self
                        .decision_log_mode
                        .or(file.decision_log_mode)
                        .unwrap_or_default(),
                    sample: self
                        .decision_log_sample
                        .or(file.decision_log_sample)
                        .unwrap_or(1.0),
                    queue: self
                        .decision_log_queue
                        .or(file.decision_log_queue)
                        .unwrap_or(10_000),
                }),
                None => None,
            },
        };
        if let Some(log) = &config.decision_log {
            if !(0.0..=1.0).contains(&log.sample) {
                return Err(ConfigError::Invalid(format!(
                    "decision_log_sample must be between 0.0 and 1.0, got {}",
                    log.sample
                )));
            }
            if log.queue == 0 {
                return Err(ConfigError::Invalid(
                    "decision_log_queue must be above 0".into(),
                ));
            }
        }
        if config.body_limit == 0 {
            return Err(ConfigError::Invalid("body_limit must be above 0".into()));
        }
        if config.max_connections == 0 || config.max_connections > crate::http::MAX_CONNECTIONS {
            return Err(ConfigError::Invalid(format!(
                "max_connections must be 1 to {}",
                crate::http::MAX_CONNECTIONS
            )));
        }
        if config.header_timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "header_timeout_ms must be above 0".into(),
            ));
        }
        if config.cache_ttl.is_zero() {
            return Err(ConfigError::Invalid(
                "cache_ttl_secs must be above 0".into(),
            ));
        }
        if config.idempotency_ttl.is_zero() {
            return Err(ConfigError::Invalid(
                "idempotency_ttl_secs must be above 0".into(),
            ));
        }
        if config.activity_flush.is_zero() {
            return Err(ConfigError::Invalid(
                "activity_flush_secs must be above 0".into(),
            ));
        }
        if let Listen::Tcp(address) = config.listen
            && !address.ip().is_loopback()
            && !config.token_counts.any()
        {
            return Err(ConfigError::OpenNonLoopback(address));
        }
        if let Listen::Unix(path) = &config.listen
            && config.socket_mode & 0o002 != 0
            && !config.token_counts.any()
        {
            return Err(ConfigError::Invalid(format!(
                "socket_mode {:o} lets every local user connect to {}, and with no tokens each \
                 would act as admin: give tokens, or a mode without write for others (660, 600)",
                config.socket_mode,
                path.display()
            )));
        }
        Ok(config)
    }
}

/// `--socket-mode` in octal (`660`, `0660` or `0o660`), at most `777`.
fn socket_mode(given: Option<SocketMode>) -> Result<u32, ConfigError> {
    let (mode, shown) = match given {
        None => return Ok(DEFAULT_SOCKET_MODE),
        Some(SocketMode::Number(mode)) => (Some(mode), format!("{mode:#o}")),
        Some(SocketMode::Text(text)) => {
            let digits = text.trim().trim_start_matches("0o");
            (u32::from_str_radix(digits, 8).ok(), text)
        }
    };
    mode.filter(|mode| *mode <= 0o777).ok_or_else(|| {
        ConfigError::Invalid(format!(
            "socket_mode: `{shown}` is not a file mode in octal (660, 600, ...)"
        ))
    })
}
