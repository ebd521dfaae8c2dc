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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde::Deserialize;

use crate::app::decision_log::{DecisionLogSettings, LogMode};
use crate::telemetry::LogFormat;

/// `partner-access serve` flags. Each has an environment variable and a config-file key of the
/// same name (`--cache-ttl-secs` ↔ `PARTNER_ACCESS_CACHE_TTL_SECS` ↔ `cache_ttl_secs`).
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, or `unix:PATH` for a Unix domain socket
    /// [default: 127.0.0.1:8180].
    #[arg(long, env = "PARTNER_ACCESS_LISTEN")]
    pub listen: Option<Listen>,
    /// The mode of a Unix socket's file, in octal: who may connect [default: 660, the owner
    /// and its group].
    #[arg(long, env = "PARTNER_ACCESS_SOCKET_MODE")]
    pub socket_mode: Option<String>,
    /// Data directory (the redb file lives here) [default: ./data].
    #[arg(long, env = "PARTNER_ACCESS_DATA")]
    pub data: Option<PathBuf>,
    /// Directory of `.cedar` policies [default: ./policies].
    #[arg(long, env = "PARTNER_ACCESS_POLICIES")]
    pub policies: Option<PathBuf>,
    /// Directory of `.cedarschema` files [default: ./schema].
    #[arg(long, env = "PARTNER_ACCESS_SCHEMA")]
    pub schema: Option<PathBuf>,
    /// A TOML file with any of these settings.
    #[arg(long, env = "PARTNER_ACCESS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Load the bundled demo state into an empty store.
    #[arg(long)]
    pub demo: bool,
    /// Log format [default: pretty].
    #[arg(long, env = "PARTNER_ACCESS_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// File of caller tokens (checks, commands, reads of the state), one per line (also
    /// `PARTNER_ACCESS_TOKENS`, comma-separated).
    #[arg(long, env = "PARTNER_ACCESS_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// File of check-only tokens (decisions, nothing that lists users or changes state), one
    /// per line (also `PARTNER_ACCESS_CHECK_TOKENS`, comma-separated).
    #[arg(long, env = "PARTNER_ACCESS_CHECK_TOKEN_FILE")]
    pub check_token_file: Option<PathBuf>,
    /// File holding the admin token (also `PARTNER_ACCESS_ADMIN_TOKEN`).
    #[arg(long, env = "PARTNER_ACCESS_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "PARTNER_ACCESS_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Request timeout in milliseconds [default: 10000].
    #[arg(long, env = "PARTNER_ACCESS_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: Option<u64>,
    /// Host names this sidecar answers to besides loopback ones, when it has no tokens (a
    /// page elsewhere cannot reach it through DNS rebinding), comma-separated [default: none].
    #[arg(long, env = "PARTNER_ACCESS_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Connections served at once; one more gets a fast 503 [default: 4096].
    #[arg(long, env = "PARTNER_ACCESS_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// How long a connection may take to send its request headers, or sit idle between
    /// requests, in milliseconds [default: 10000].
    #[arg(long, env = "PARTNER_ACCESS_HEADER_TIMEOUT_MS")]
    pub header_timeout_ms: Option<u64>,
    /// Most entries in the check-path cache [default: 100000].
    #[arg(long, env = "PARTNER_ACCESS_CACHE_CAPACITY")]
    pub cache_capacity: Option<u64>,
    /// Time-to-live of a cache entry in seconds [default: 30].
    #[arg(long, env = "PARTNER_ACCESS_CACHE_TTL_SECS")]
    pub cache_ttl_secs: Option<u64>,
    /// How long an `Idempotency-Key`'s first answer is replayed, in seconds; after that the
    /// key is new again and the answer is pruned [default: 86400].
    #[arg(long, env = "PARTNER_ACCESS_IDEMPOTENCY_TTL_SECS")]
    pub idempotency_ttl_secs: Option<u64>,
    /// How often the partner activity that checks note in memory is written to the store, in
    /// seconds (also at shutdown); what a crash can lose of it [default: 5].
    #[arg(long, env = "PARTNER_ACCESS_ACTIVITY_FLUSH_SECS")]
    pub activity_flush_secs: Option<u64>,
    /// Log every check decision as a JSON line to `stdout` or a file [default: off].
    #[arg(long, env = "PARTNER_ACCESS_DECISION_LOG")]
    pub decision_log: Option<String>,
    /// When the decision log cannot keep up: `drop` (count in a metric) or `never-drop`
    /// (checks wait) [default: drop].
    #[arg(long, env = "PARTNER_ACCESS_DECISION_LOG_MODE", value_enum)]
    pub decision_log_mode: Option<LogMode>,
    /// Fraction of decisions logged, 0.0 to 1.0 [default: 1.0].
    #[arg(long, env = "PARTNER_ACCESS_DECISION_LOG_SAMPLE")]
    pub decision_log_sample: Option<f64>,
    /// Records queued for the decision log writer at most [default: 10000].
    #[arg(long, env = "PARTNER_ACCESS_DECISION_LOG_QUEUE")]
    pub decision_log_queue: Option<usize>,
    /// A shared PostgreSQL store (`postgres://user:password@host/db`) for a fleet of sidecars,
    /// instead of the redb file in `--data` [default: redb].
    #[arg(long, env = "PARTNER_ACCESS_STORE")]
    pub store: Option<String>,
    /// With a shared store: how stale (ms) this sidecar's cache may get before it is bypassed
    /// [default: 1000].
    #[arg(long, env = "PARTNER_ACCESS_MAX_STALENESS_MS")]
    pub max_staleness_ms: Option<u64>,
    /// With a shared store: how often (ms) the change feed is read [default: 100].
    #[arg(long, env = "PARTNER_ACCESS_FOLLOW_INTERVAL_MS")]
    pub follow_interval_ms: Option<u64>,
    /// Do not serve the playground page at `/ui` [default: served; its data needs a token].
    #[arg(long, env = "PARTNER_ACCESS_NO_PLAYGROUND")]
    pub no_playground: bool,
    /// Serve the store's active policy version (`partner-access policies push/activate`)
    /// instead of `--policies` and `--schema`: a reload loads it, and an activation on any
    /// sidecar of a fleet switches this one [default: the directories].
    #[arg(long, env = "PARTNER_ACCESS_POLICIES_FROM_STORE")]
    pub policies_from_store: bool,
}

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

/// `--log-format`'s values, as the command line lists them (the enum is `telemetry`'s, which
/// does not know about clap).
impl clap::ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &[LogFormat::Json, LogFormat::Pretty]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            LogFormat::Json => {
                PossibleValue::new("json").help("One JSON object per line, for log pipelines")
            }
            LogFormat::Pretty => {
                PossibleValue::new("pretty").help("Human-readable lines, for terminals")
            }
        })
    }
}

/// `--decision-log-mode`'s values, as the command line lists them (the enum is the decision
/// log's, which does not know about clap).
impl clap::ValueEnum for LogMode {
    fn value_variants<'a>() -> &'a [Self] {
        &[LogMode::Drop, LogMode::NeverDrop]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            LogMode::Drop => PossibleValue::new("drop").help("Drop the record and count it"),
            LogMode::NeverDrop => {
                PossibleValue::new("never-drop").help("Make the check wait for room")
            }
        })
    }
}

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

fn read_config_file(path: &Path) -> Result<ConfigFile, ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_are_the_contract_s() {
        let c = ServeArgs::default().resolve(no_env).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8180");
        assert_eq!(c.data, PathBuf::from("data"));
        assert_eq!(c.body_limit, 1024 * 1024);
        assert_eq!(c.idempotency_ttl, Duration::from_secs(24 * 3600));
        assert!(!c.token_counts.any());
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata = \"/tmp/x\"\ncache_ttl_secs = 5\n",
        )
        .unwrap();
        let args = ServeArgs {
            config: Some(file),
            data: Some(PathBuf::from("/tmp/flag")),
            ..Default::default()
        };
        let c = args.resolve(no_env).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(c.data, PathBuf::from("/tmp/flag"));
        assert_eq!(c.cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn a_unix_socket_is_listened_on_by_path_with_a_mode_and_needs_no_token() {
        let args = ServeArgs {
            listen: Some("unix:/run/pa/pa.sock".parse().unwrap()),
            ..Default::default()
        };
        let c = args.resolve(no_env).unwrap();
        assert_eq!(c.listen, Listen::Unix(PathBuf::from("/run/pa/pa.sock")));
        assert_eq!(c.listen.to_string(), "unix:/run/pa/pa.sock");
        assert_eq!(c.socket_mode, 0o660);
        for (text, mode) in [("600", 0o600), ("0660", 0o660), ("0o640", 0o640)] {
            let args = ServeArgs {
                socket_mode: Some(text.into()),
                ..args.clone()
            };
            assert_eq!(args.resolve(no_env).unwrap().socket_mode, mode, "{text}");
        }
        for bad in ["rw-rw----", "800", "1777", ""] {
            let args = ServeArgs {
                socket_mode: Some(bad.into()),
                ..args.clone()
            };
            assert!(
                matches!(args.resolve(no_env), Err(ConfigError::Invalid(m)) if m.contains("socket_mode")),
                "{bad}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "listen = \"unix:pa.sock\"\nsocket_mode = 0o600\n").unwrap();
        let c = ServeArgs {
            config: Some(file),
            ..Default::default()
        }
        .resolve(no_env)
        .unwrap();
        assert_eq!(c.listen, Listen::Unix(PathBuf::from("pa.sock")));
        assert_eq!(c.socket_mode, 0o600);
        // Writable by every local user, and no token: refused.
        let open = ServeArgs {
            socket_mode: Some("666".into()),
            ..args.clone()
        };
        assert!(
            matches!(open.resolve(no_env), Err(ConfigError::Invalid(m)) if m.contains("every local user"))
        );
        assert!(
            open.resolve(|k| (k == "PARTNER_ACCESS_TOKENS").then(|| "t1".to_owned()))
                .is_ok()
        );
        for bad in ["unix:", "localhost", "8180", "127.0.0.1"] {
            let err = bad.parse::<Listen>().unwrap_err();
            assert!(err.contains("unix:"), "{bad}: {err}");
        }
    }

    #[test]
    fn non_loopback_without_tokens_is_refused() {
        let args = ServeArgs {
            listen: Some("0.0.0.0:8180".parse().unwrap()),
            ..Default::default()
        };
        assert!(matches!(
            args.resolve(no_env),
            Err(ConfigError::OpenNonLoopback(_))
        ));
        let with_token = args
            .resolve(|k| (k == "PARTNER_ACCESS_ADMIN_TOKEN").then(|| "s3cret".to_owned()))
            .unwrap();
        assert!(with_token.token_counts.admin);
        let with_check_tokens = args
            .resolve(|k| (k == "PARTNER_ACCESS_CHECK_TOKENS").then(|| " c1, ,c2 ".to_owned()))
            .unwrap();
        assert_eq!(with_check_tokens.token_counts.check, 2);
    }

    #[test]
    fn the_idempotency_ttl_is_set_by_flag_or_file_and_is_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "idempotency_ttl_secs = 60\n").unwrap();
        let from_file = ServeArgs {
            config: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(
            from_file.resolve(no_env).unwrap().idempotency_ttl,
            Duration::from_secs(60)
        );
        let flag = ServeArgs {
            config: Some(file),
            idempotency_ttl_secs: Some(5),
            ..Default::default()
        };
        assert_eq!(
            flag.resolve(no_env).unwrap().idempotency_ttl,
            Duration::from_secs(5)
        );
        let zero = ServeArgs {
            idempotency_ttl_secs: Some(0),
            ..Default::default()
        };
        let err = zero.resolve(no_env).unwrap_err().to_string();
        assert!(err.contains("idempotency_ttl_secs"), "{err}");
    }

    #[test]
    fn the_activity_flush_is_five_seconds_unless_set_and_never_zero() {
        assert_eq!(
            ServeArgs::default().resolve(no_env).unwrap().activity_flush,
            Duration::from_secs(5)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "activity_flush_secs = 2\n").unwrap();
        let from_file = ServeArgs {
            config: Some(file),
            ..Default::default()
        };
        assert_eq!(
            from_file.resolve(no_env).unwrap().activity_flush,
            Duration::from_secs(2)
        );
        let zero = ServeArgs {
            activity_flush_secs: Some(0),
            ..Default::default()
        };
        let err = zero.resolve(no_env).unwrap_err().to_string();
        assert!(err.contains("activity_flush_secs"), "{err}");
    }

    #[test]
    fn unknown_config_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let args = ServeArgs {
            config: Some(file),
            ..Default::default()
        };
        let err = args.resolve(no_env).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }
}
