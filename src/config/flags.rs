//! `partner-access serve`'s flags and environment variables, as clap parses them (every value
//! optional: [`ServeArgs::resolve`] fills in the rest), and the command-line values of the log
//! format and the decision log's mode. The only file of `config` that names clap (the
//! `boundaries` test holds it); it may not resolve a value or read a file.

use std::path::PathBuf;

use clap::Args;

use super::Listen;
use crate::app::decision_log::LogMode;
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
