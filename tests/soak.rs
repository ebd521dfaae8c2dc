//! The soak test: the real binary in its own process, on loopback, under 64 concurrent clients
//! for a fixed time, 95% checks and 5% commands (realistic commands that apply and commands
//! the rules refuse), on a generated state larger than the check-path cache so that fills,
//! evictions and expiries run all the time. It stops by itself and asserts:
//!
//! - no response with a 5xx status and no transport error;
//! - no invariant violated: in every client an active super admin remains (MIG-4) and every
//!   partner admin holds the partner seat (SEAT-5), read with our own code from
//!   `GET /v1/admin/export`; no check allows what the rules never allow (a stranger, CAP-5) nor
//!   denies what they always allow (a super admin's billing); the audit log holds exactly one
//!   `applied` record per success answer and one refusal record per refusal answer;
//! - resident memory of the server (`VmRSS` of `/proc/<pid>/status`) grows less than 10%
//!   between the first and the last 20 s of a run of 60 s or more, after a warm-up that fills
//!   the caches (shorter runs compare thirds of the run against a looser 25%, which only
//!   catches gross leaks: a few seconds are too short to tell a trend from one allocation);
//! - the server stops cleanly on SIGTERM afterwards.
//!
//! `cargo test` runs a short soak (`SOAK_SECS`, default 10 s) so CI stays fast;
//! `bench/soak.sh` runs the full one (release build, `SOAK_SECS=60`) and prints the figures.
//! Other knobs: `SOAK_CLIENTS` (concurrent clients, 64), `SOAK_STATE_CLIENTS` (client accounts
//! in the generated state, 1000), `SOAK_WARMUP_SECS` (default a sixth of the run, at least 3),
//! `SOAK_COMMAND_PERCENT` (5), `SOAK_SCRAPE_SECS` (scrape `/metrics` every N s; 0, the
//! default, never does, as a sidecar without Prometheus).
//!
//! The ignored test below isolates the memory of checks alone, never scraped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use partner_access::fixtures::{Size, generate};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::process::{NotReady, free_port, serve_command, wait_ready};
use support::root;

/// The check actions of the API.
const CHECK_ACTIONS: [&str; 14] = [
    "crm.objects.view",
    "crm.objects.edit",
    "hubs.access",
    "apps.manage",
    "reports.access",
    "users.add_edit",
    "billing.edit",
    "billing.transactions",
    "superadmins.manage",
    "scim.provision",
    "datacenter.migrate",
    "multi_account.manage",
    "sales_hub.paid_features",
    "service_hub.paid_features",
];

/// Partners in the generated state; every fifth (`i % 5 == 4`) is of tier `other` and manages
/// no client (see `partner_access::fixtures`).
const PARTNERS: usize = 20;
const USERS_PER_CLIENT: usize = 4;
/// Far smaller than the working set (a few lookups and one entity slice per principal and
/// account, for thousands of pairs), so the cache evicts all the time; a short TTL makes entries
/// expire too. Small enough that even the debug build's warm-up fills it, so the memory
/// windows compare steady states.
const CACHE_CAPACITY: &str = "250";
const CACHE_TTL_SECS: &str = "10";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// The server process

/// The real binary, killed on drop if the test fails before it stops it.
struct Sidecar {
    child: std::process::Child,
    base: String,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_partner-access")
}

impl Sidecar {
    /// `partner-access serve` on a free loopback port; waits (at most 60 s) for `/readyz`.
    async fn start(data: &Path, log: &Path, client: &reqwest::Client) -> Sidecar {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = serve_command(binary().as_ref(), &listen, data, &support::root());
        command
            .args(["--cache-capacity", CACHE_CAPACITY])
            .args(["--cache-ttl-secs", CACHE_TTL_SECS])
            .args(["--log-format", "json"])
            // A line per request would measure the log writer; warnings and errors are kept.
            .env("RUST_LOG", "warn")
            .current_dir(data)
            .stderr(std::fs::File::create(log).unwrap());
        let mut sidecar = Sidecar {
            child: command.spawn().unwrap(),
            base: format!("http://{listen}"),
        };
        let ready = wait_ready(
            &mut sidecar.child,
            &sidecar.base,
            client,
            Duration::from_secs(60),
            Duration::from_millis(50),
        )
        .await;
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        match ready {
            Ok(()) => sidecar,
            Err(NotReady::Exited(status)) => {
                panic!("the sidecar exited early ({status}): {}", log())
            }
            Err(NotReady::TimedOut) => panic!("not ready within 60 s: {}", log()),
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits (at most 30 s) for the process to exit.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The resident set size of a process, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

// ---------------------------------------------------------------------------------------------
// The load

/// A small deterministic generator (xorshift64*): each client has its own sequence, so a run
/// can be repeated.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

/// The generated state's shape, as the load needs it.
struct World {
    clients: usize,
    /// Percent of requests that are commands (the rest are checks).
    command_percent: usize,
}

impl World {
    fn partner_of(&self, client: usize) -> usize {
        client % PARTNERS
    }

    /// Whether a partner manages the client (tier `other` partners manage none).
    fn managed(&self, client: usize) -> bool {
        self.partner_of(client) % 5 != 4
    }

    fn owner(client: usize) -> String {
        format!("owner@c{client}.example")
    }

    fn user(client: usize, k: usize) -> String {
        format!("user{k}@c{client}.example")
    }

    fn admin(partner: usize) -> String {
        format!("admin{partner}@p{partner}.example")
    }

    fn rep(partner: usize) -> String {
        format!("rep{partner}@p{partner}.example")
    }

    /// A managed client at random.
    fn managed_client(&self, rng: &mut Rng) -> usize {
        loop {
            let c = rng.below(self.clients);
            if self.managed(c) {
                return c;
            }
        }
    }
}

/// What the run counted.
#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    checks: AtomicU64,
    commands: AtomicU64,
    applied: AtomicU64,
    refused: AtomicU64,
    /// Command answers 400: a malformed command of ours, not a refusal by the rules.
    bad_requests: AtomicU64,
    server_errors: AtomicU64,
    transport_errors: AtomicU64,
    violations: AtomicU64,
    /// A few examples of what went wrong, for the failure message.
    examples: Mutex<Vec<String>>,
    /// Answers by command kind and status.
    by_kind: Mutex<BTreeMap<(&'static str, u16), u64>>,
}

impl Stats {
    fn problem(&self, counter: &AtomicU64, what: String) {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut examples = self.examples.lock().unwrap();
        if examples.len() < 20 {
            examples.push(what);
        }
    }
}

/// One check: the body, and what the rules say it must be regardless of the state's churn.
struct Check {
    body: Value,
    must: Option<bool>,
    label: String,
}

fn check_body(principal: &str, action: &str, client: usize) -> Value {
    json!({
        "principal": {"type": "Hub::User", "id": principal},
        "action": {"type": "Hub::Action", "id": action},
        "resource": {"type": "Hub::Account", "id": format!("c{client}")},
    })
}

fn random_check(world: &World, rng: &mut Rng) -> Check {
    let client = rng.below(world.clients);
    let partner = world.partner_of(client);
    let action = CHECK_ACTIONS[rng.below(CHECK_ACTIONS.len())];
    let (principal, must) = match rng.below(7) {
        0 => (
            World::owner(client),
            // A super admin holds billing.edit by its template (CAP-2); no command of the soak
            // may take the only super admin away (MIG-4).
            (action == "billing.edit").then_some(true),
        ),
        1 | 2 => (World::user(client, rng.below(USERS_PER_CLIENT)), None),
        3 => (
            World::admin(partner),
            // A partner admin never provisions through SCIM nor migrates (CAP-5).
            (action == "scim.provision" || action == "datacenter.migrate").then_some(false),
        ),
        4 => (World::rep(partner), None),
        // Someone else's super admin: never anything here.
        5 => (World::owner((client + 1) % world.clients), Some(false)),
        _ => (
            format!("nobody{}@nowhere.example", rng.below(100)),
            Some(false),
        ),
    };
    Check {
        body: check_body(&principal, action, client),
        must,
        label: format!("{principal} {action} c{client}"),
    }
}

/// A command: kind, method, path, body.
struct Command {
    kind: &'static str,
    method: Method,
    path: String,
    body: Value,
}

fn cmd(kind: &'static str, method: Method, path: String, body: Value) -> Command {
    Command {
        kind,
        method,
        path,
        body,
    }
}

/// A command as people send them: most apply, some the rules refuse. `created` holds the users
/// this client created and has not removed yet, so the state does not grow without bound.
fn random_command(
    world: &World,
    rng: &mut Rng,
    me: usize,
    serial: &mut u64,
    created: &mut Vec<(usize, String)>,
) -> Command {
    let c = world.managed_client(rng);
    let p = world.partner_of(c);
    let (owner, admin, rep) = (World::owner(c), World::admin(p), World::rep(p));
    match rng.below(20) {
        // CAM: a partner-account super admin deactivates and reactivates its partner user
        // (REM-2, REM-3).
        0..=2 => cmd(
            "deactivate",
            Method::POST,
            format!("/v1/clients/c{c}/partner-users/{rep}/deactivate"),
            json!({"actor": admin}),
        ),
        3..=5 => cmd(
            "reactivate",
            Method::POST,
            format!("/v1/clients/c{c}/partner-users/{rep}/reactivate"),
            json!({"actor": admin}),
        ),
        // CAM: one of the partner's permission sets through the PERM-2 clamp. Neither holds
        // users.add_edit, so the partner user stays unable to create users (SEAT-7 below).
        6 | 7 => cmd(
            "cam permission set",
            Method::PUT,
            format!("/v1/clients/c{c}/partner-users/{rep}/permission-set"),
            json!({"actor": admin,
                   "permission_set": if rng.below(2) == 0 { "Soak rep" } else { "Soak viewer" }}),
        ),
        // Client side: the super admin moves a standard user between seats (SEAT-8).
        8..=10 => cmd(
            "seat",
            Method::PUT,
            format!(
                "/v1/clients/c{c}/users/{}/seat",
                World::user(c, rng.below(USERS_PER_CLIENT))
            ),
            json!({"actor": owner, "seat": if rng.below(2) == 0 { "core" } else { "view_only" }}),
        ),
        // Client side: create a user (SEAT-6), and later remove it again.
        11..=13 => {
            if let Some((client, email)) =
                (created.len() > 2).then(|| created.swap_remove(rng.below(created.len())))
            {
                cmd(
                    "remove created user",
                    Method::DELETE,
                    format!("/v1/clients/c{client}/users/{email}"),
                    json!({"actor": World::owner(client)}),
                )
            } else {
                *serial += 1;
                let email = format!("soak{me}-{serial}@c{c}.example");
                created.push((c, email.clone()));
                cmd(
                    "create user",
                    Method::POST,
                    format!("/v1/clients/c{c}/users"),
                    json!({"actor": owner, "email": email, "seat": "core",
                           "permission_set": "Soak"}),
                )
            }
        }
        // Refused: the only super admin removes itself (MIG-4, 409).
        14 => cmd(
            "refused: last super admin",
            Method::DELETE,
            format!("/v1/clients/c{c}/users/{owner}"),
            json!({"actor": owner}),
        ),
        // Refused: a partner admin's partner seat taken away (SEAT-5, 409).
        15 => cmd(
            "refused: partner admin seat",
            Method::PUT,
            format!("/v1/clients/c{c}/users/{admin}/seat"),
            json!({"actor": owner, "seat": "core"}),
        ),
        // Refused: a partner user without users.add_edit creates a user (SEAT-7, 403).
        16 | 17 => {
            *serial += 1;
            cmd(
                "refused: rep creates",
                Method::POST,
                format!("/v1/clients/c{c}/users"),
                json!({"actor": rep, "email": format!("never{me}-{serial}@c{c}.example"),
                       "seat": "core", "permission_set": "Soak"}),
            )
        }
        // Refused: another partner's super admin deactivates this partner's user (REM-2, 403).
        _ => {
            let mut other = (p + 1) % PARTNERS;
            if other % 5 == 4 {
                other = (other + 1) % PARTNERS;
            }
            cmd(
                "refused: other partner",
                Method::POST,
                format!("/v1/clients/c{c}/partner-users/{rep}/deactivate"),
                json!({"actor": World::admin(other)}),
            )
        }
    }
}

/// One concurrent client: requests until `until`, counting everything.
async fn run_client(
    me: usize,
    base: Arc<String>,
    http: reqwest::Client,
    world: Arc<World>,
    stats: Arc<Stats>,
    until: Instant,
) {
    let mut rng = Rng::new(me as u64 + 1);
    let mut serial = 0u64;
    let mut created: Vec<(usize, String)> = Vec::new();
    while Instant::now() < until {
        stats.requests.fetch_add(1, Ordering::Relaxed);
        if rng.below(100) < world.command_percent {
            stats.commands.fetch_add(1, Ordering::Relaxed);
            let command = random_command(&world, &mut rng, me, &mut serial, &mut created);
            let response = http
                .request(command.method.clone(), format!("{base}{}", command.path))
                .json(&command.body)
                .send()
                .await;
            let (status, text) = match response {
                Ok(r) => {
                    let status = r.status();
                    (status, r.text().await.unwrap_or_default())
                }
                Err(e) => {
                    stats.problem(&stats.transport_errors, format!("{}: {e}", command.path));
                    continue;
                }
            };
            *stats
                .by_kind
                .lock()
                .unwrap()
                .entry((command.kind, status.as_u16()))
                .or_default() += 1;
            if status.is_success() {
                stats.applied.fetch_add(1, Ordering::Relaxed);
            } else if status.is_server_error() {
                stats.problem(
                    &stats.server_errors,
                    format!("{} {}: {status} {text}", command.method, command.path),
                );
            } else if status == StatusCode::BAD_REQUEST {
                stats.problem(
                    &stats.bad_requests,
                    format!("{} {}: {text}", command.method, command.path),
                );
            } else {
                stats.refused.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }

        // Checks: mostly single, some batches, some AuthZEN.
        stats.checks.fetch_add(1, Ordering::Relaxed);
        let (path, body, checks) = match rng.below(100) {
            0..=4 => {
                let checks: Vec<Check> = (0..10).map(|_| random_check(&world, &mut rng)).collect();
                let body =
                    json!({"requests": checks.iter().map(|c| c.body.clone()).collect::<Vec<_>>()});
                ("/v1/is_authorized/batch", body, checks)
            }
            5..=9 => {
                let check = random_check(&world, &mut rng);
                let body = json!({
                    "subject": {"type": "user", "id": check.body["principal"]["id"]},
                    "action": {"name": check.body["action"]["id"]},
                    "resource": {"type": "account", "id": check.body["resource"]["id"]},
                });
                ("/access/v1/evaluation", body, vec![check])
            }
            _ => {
                let check = random_check(&world, &mut rng);
                ("/v1/is_authorized", check.body.clone(), vec![check])
            }
        };
        let answer = match http.post(format!("{base}{path}")).json(&body).send().await {
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                if status.is_server_error() {
                    stats.problem(&stats.server_errors, format!("{path}: {status} {text}"));
                    continue;
                }
                if status != StatusCode::OK {
                    stats.problem(&stats.violations, format!("{path}: {status} {text}"));
                    continue;
                }
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
            }
            Err(e) => {
                stats.problem(&stats.transport_errors, format!("{path}: {e}"));
                continue;
            }
        };
        let decisions: Vec<Option<bool>> = match path {
            "/v1/is_authorized/batch" => answer["results"]
                .as_array()
                .map(|r| r.iter().map(|a| decision(&a["decision"])).collect())
                .unwrap_or_default(),
            _ => vec![decision(&answer["decision"])],
        };
        if decisions.len() != checks.len() {
            stats.problem(&stats.violations, format!("{path}: {answer}"));
            continue;
        }
        for (check, got) in checks.iter().zip(decisions) {
            match (got, check.must) {
                (None, _) => {
                    stats.problem(&stats.violations, format!("{path}: no decision: {answer}"))
                }
                (Some(got), Some(must)) if got != must => stats.problem(
                    &stats.violations,
                    format!("{path}: {} must be {must}, was {got}", check.label),
                ),
                _ => {}
            }
        }
    }
}

/// `"Allow"`/`"Deny"` (ours) or `true`/`false` (AuthZEN) as a bool.
fn decision(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "Allow" => Some(true),
        Value::String(s) if s == "Deny" => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The invariants at the end

/// MIG-4 and SEAT-5 over an exported state document; returns every violation.
fn state_violations(state: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for client in state["clients"].as_array().unwrap() {
        let id = client["id"].as_str().unwrap_or("?");
        let users = client["users"].as_array().unwrap();
        let active_super_admins = users
            .iter()
            .filter(|u| u["role"] == "super_admin" && u["status"] == "active")
            .count();
        if active_super_admins == 0 {
            out.push(format!("MIG-4: {id} has no active super admin"));
        }
        for user in users.iter().filter(|u| u["role"] == "partner_admin") {
            if user["seat"] != "partner" {
                out.push(format!(
                    "SEAT-5: {} is partner admin of {id} with seat {}",
                    user["email"], user["seat"]
                ));
            }
        }
    }
    out
}

/// The audit log by outcome, read page by page. Administration records (`admin.import` for the
/// seed state, any `admin.upsert_*`) are counted under their command name instead: they answer no
/// load-generator request, so they must not be weighed against the answers.
async fn audit_outcomes(http: &reqwest::Client, base: &str) -> BTreeMap<String, u64> {
    let mut outcomes = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let page: Value = http
            .get(format!("{base}/v1/audit?after={after}&limit=1000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for record in page["records"].as_array().unwrap() {
            let command = record["command"].as_str().unwrap_or("?");
            let key = if command.starts_with("admin.") {
                command
            } else {
                record["outcome"].as_str().unwrap_or("?")
            };
            *outcomes.entry(key.to_owned()).or_default() += 1;
        }
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => return outcomes,
        }
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// The run

/// How a run goes.
struct Plan {
    /// Measured seconds, after the warm-up.
    secs: u64,
    warmup: u64,
    concurrency: usize,
    state_clients: usize,
    command_percent: usize,
    /// Scrape `/metrics` every so many seconds; 0: never.
    scrape_secs: u64,
}

impl Plan {
    fn from_env(default_secs: u64) -> Plan {
        let secs = env_u64("SOAK_SECS", default_secs).max(3);
        Plan {
            secs,
            warmup: env_u64("SOAK_WARMUP_SECS", (secs / 6).max(3)),
            concurrency: usize::try_from(env_u64("SOAK_CLIENTS", 64)).unwrap(),
            state_clients: usize::try_from(env_u64("SOAK_STATE_CLIENTS", 1000)).unwrap(),
            command_percent: usize::try_from(env_u64("SOAK_COMMAND_PERCENT", 5).min(100)).unwrap(),
            scrape_secs: env_u64("SOAK_SCRAPE_SECS", 0),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak() {
    run(Plan::from_env(10)).await;
}

/// The memory part alone, with checks only (no command, so no store growth and no blocking
/// threads) and nobody scraping `/metrics`: the server's resident memory must stay flat. The
/// Prometheus recorder keeps every latency sample until it is folded into the histograms; the
/// server folds them every second (`telemetry::metrics_upkeep`), so memory does not depend on
/// anyone scraping. Without that upkeep, measured in a release build, 60 s at about 3,200
/// requests/s grow by 14.8% (43.7 -> 50.1 MiB, about 20 bytes a check), and by -0.6% when
/// scraped every 5 s (`SOAK_SCRAPE_SECS=5`). At least 60 s; best in release:
/// `cargo test --release --test soak -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long (60 s, release): memory stays flat because the server folds metric samples every second, not at a scrape"]
async fn server_memory_stays_flat_under_checks_when_metrics_are_never_scraped() {
    let mut plan = Plan::from_env(60);
    plan.secs = plan.secs.max(60);
    plan.warmup = plan.warmup.max(10);
    plan.command_percent = 0;
    plan.scrape_secs = 0;
    run(plan).await;
}

async fn run(plan: Plan) {
    let Plan {
        secs,
        warmup,
        concurrency,
        state_clients,
        command_percent,
        scrape_secs,
    } = plan;
    let window = Duration::from_secs_f64((secs as f64 / 3.0).min(20.0));

    // The state: generated, imported with the CLI while no server runs.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let state_file = dir.path().join("state.json");
    let doc = generate(Size {
        partners: PARTNERS,
        clients: state_clients,
        users_per_client: USERS_PER_CLIENT,
    });
    // Each client gets a permission set of its own for the users it creates (SEAT-6): the
    // built-in `partner_admin` set is for partner employees only (PA-2), and `super_admin`
    // would make the new user a second super admin, which MIG-4 refusals must not meet.
    let mut doc = serde_json::to_value(&doc).unwrap();
    for client in doc["clients"].as_array_mut().unwrap() {
        client["permission_sets"] =
            json!([{"name": "Soak", "permissions": ["crm.objects.view", "reports.access"]}]);
    }
    // And each partner two sets for the Client Access Manager to move its users between.
    for partner in doc["partners"].as_array_mut().unwrap() {
        partner["permission_sets"] = json!([
            {"name": "Soak rep", "permissions": ["crm.objects.view", "crm.objects.edit"]},
            {"name": "Soak viewer", "permissions": ["crm.objects.view"]},
        ]);
    }
    std::fs::write(&state_file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let import = std::process::Command::new(binary())
        .arg("import")
        .arg(&state_file)
        .args(["--data", data.to_str().unwrap()])
        .args(["--policies", root().join("policies").to_str().unwrap()])
        .args(["--schema", root().join("schema").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "import: {}",
        String::from_utf8_lossy(&import.stderr)
    );

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let log = dir.path().join("sidecar.log");
    let file = data.join("state.redb");
    let file_start = std::fs::metadata(&file).unwrap().len();
    let mut sidecar = Sidecar::start(&data, &log, &http).await;
    let pid = sidecar.pid();
    let rss_start = rss_kib(pid).unwrap();

    // Resident memory, sampled every 250 ms from the end of the warm-up.
    let stop = Arc::new(AtomicBool::new(false));
    let load_start = Instant::now();
    let measure_start = load_start + Duration::from_secs(warmup);
    let until = measure_start + Duration::from_secs(secs);
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut samples: Vec<(Duration, u64)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now >= measure_start
                    && let Some(kib) = rss_kib(pid)
                {
                    samples.push((now - measure_start, kib));
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            samples
        })
    };

    let world = Arc::new(World {
        clients: state_clients,
        command_percent,
    });
    let stats = Arc::new(Stats::default());
    let base = Arc::new(sidecar.base.clone());
    let clients: Vec<_> = (0..concurrency)
        .map(|me| {
            tokio::spawn(run_client(
                me,
                base.clone(),
                http.clone(),
                world.clone(),
                stats.clone(),
                until,
            ))
        })
        .collect();
    // Optionally scraped like Prometheus would (scraping also drains the exporter's
    // histogram samples).
    let scraper = (scrape_secs > 0).then(|| {
        let (http, base) = (http.clone(), base.clone());
        tokio::spawn(async move {
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_secs(scrape_secs)).await;
                let _ = http.get(format!("{base}/metrics")).send().await;
            }
        })
    });
    for client in clients {
        client.await.unwrap();
    }
    if let Some(scraper) = scraper {
        scraper.await.unwrap();
    }
    let elapsed = load_start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();

    // The state at the end, by our own reading of the export.
    let state: Value = http
        .get(format!("{base}/v1/admin/export"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let state_problems = state_violations(&state);
    let outcomes = audit_outcomes(&http, &base).await;
    let audit_applied = outcomes.get("applied").copied().unwrap_or(0);
    let audit_refused: u64 = outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != "applied" && !k.starts_with("admin."))
        .map(|(_, v)| v)
        .sum();

    let status = sidecar.terminate().await;
    let file_end = std::fs::metadata(&file).unwrap().len();
    let server_log = std::fs::read_to_string(&log).unwrap_or_default();

    // Memory: the largest sample of the first and of the last window.
    let total = Duration::from_secs(secs);
    let max_in = |from: Duration, to: Duration| {
        samples
            .iter()
            .filter(|(t, _)| *t >= from && *t <= to)
            .map(|(_, kib)| *kib)
            .max()
    };
    let first = max_in(Duration::ZERO, window).unwrap();
    let last = max_in(total.saturating_sub(window), total).unwrap();
    let growth = (last as f64 - first as f64) * 100.0 / first as f64;

    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let requests = get(&stats.requests);
    println!(
        "soak: {secs} s measured after {warmup} s of warm-up ({:.1} s in all), {concurrency} clients, \
         state of {state_clients} clients / {PARTNERS} partners, cache {CACHE_CAPACITY} entries / {CACHE_TTL_SECS} s",
        elapsed.as_secs_f64()
    );
    println!(
        "soak: requests {requests} ({:.0}/s): checks {} , commands {} (applied {}, refused {}), \
         5xx {}, transport errors {}, command 400s {}",
        requests as f64 / elapsed.as_secs_f64(),
        get(&stats.checks),
        get(&stats.commands),
        get(&stats.applied),
        get(&stats.refused),
        get(&stats.server_errors),
        get(&stats.transport_errors),
        get(&stats.bad_requests),
    );
    for ((kind, code), n) in stats.by_kind.lock().unwrap().iter() {
        println!("soak:   {kind:<28} {code} x{n}");
    }
    println!(
        "soak: invariant violations: checks {}, state {} (MIG-4, SEAT-5), audit {applied_a}/{refused_a} \
         records for {} applied / {} refused answers",
        get(&stats.violations),
        state_problems.len(),
        get(&stats.applied),
        get(&stats.refused),
        applied_a = audit_applied,
        refused_a = audit_refused,
    );
    println!(
        "soak: server RSS start {:.1} MiB, first {:.0} s max {:.1} MiB, last {:.0} s max {:.1} MiB, \
         growth {growth:.2} % ({} samples)",
        mib(rss_start),
        window.as_secs_f64(),
        mib(first),
        window.as_secs_f64(),
        mib(last),
        samples.len()
    );
    let series: Vec<String> = samples
        .iter()
        .step_by(8)
        .map(|(t, kib)| format!("{:.0}s:{:.1}", t.as_secs_f64(), mib(*kib)))
        .collect();
    println!("soak: server RSS (MiB) every 2 s: {}", series.join(" "));
    println!(
        "soak: store file {:.1} MiB at start, {:.1} MiB at the end; /metrics scraped {}",
        mib(file_start / 1024),
        mib(file_end / 1024),
        if scrape_secs > 0 {
            format!("every {scrape_secs} s")
        } else {
            "never".into()
        }
    );
    let examples = stats.examples.lock().unwrap().clone();

    assert_eq!(get(&stats.server_errors), 0, "5xx answers: {examples:#?}");
    assert_eq!(
        get(&stats.transport_errors),
        0,
        "transport errors: {examples:#?}"
    );
    assert_eq!(
        get(&stats.bad_requests),
        0,
        "malformed commands: {examples:#?}"
    );
    assert_eq!(get(&stats.violations), 0, "check violations: {examples:#?}");
    assert!(state_problems.is_empty(), "{state_problems:#?}");
    if command_percent > 0 {
        assert!(get(&stats.applied) > 0, "no command applied");
        assert!(get(&stats.refused) > 0, "no command refused");
    }
    assert_eq!(
        outcomes.get("admin.import"),
        Some(&1),
        "the seed import is audited once: {outcomes:?}"
    );
    assert_eq!(
        (audit_applied, audit_refused),
        (get(&stats.applied), get(&stats.refused)),
        "the audit log does not match the answers: {outcomes:?}"
    );
    // A trend needs time to show: 20 s windows in a run of a minute or more, where the bound is
    // the 10% of the issue. A short run's windows of a few seconds see single allocator steps
    // (a new thread heap, a new segment) of several percent, so it only catches gross leaks.
    let bound = if secs >= 60 { 10.0 } else { 25.0 };
    assert!(
        growth < bound,
        "server RSS grew {growth:.2} % ({:.1} -> {:.1} MiB), over the {bound} % bound",
        mib(first),
        mib(last)
    );
    assert!(status.success(), "SIGTERM: {status}: {server_log}");
}
