//! Crash durability of the real binary under `kill -9`.
//!
//! The README promises that every command "commits its changes with its audit record and
//! outbox events, durably, before it answers", and that the account invariants hold under
//! concurrent requests. Unit tests cannot show either across a crash, so this test starts the
//! real `partner-access serve` on a data directory, loads a state, lets concurrent writers send
//! commands, SIGKILLs the process at a random moment, restarts it on the same directory and
//! checks, after every restart:
//!
//! - (d) the store opens: the server becomes ready;
//! - (a) every acknowledged command (a 2xx answer) has its `applied` audit record, and every
//!   acknowledged refusal (403, 404, 409) its refusal record; an acknowledged employee upsert
//!   (an administration write) is in the state with its `admin.upsert_employee` record, and the
//!   only other administration record is the one `admin.import` that loaded the state; and what an earlier restart read stays: the
//!   last audit record and event read must be unchanged after every restart, and at the end
//!   both logs are read again from the start and must match everything read along the way;
//! - (b) nothing is half applied: replaying the `applied` audit records in order over the
//!   loaded state gives exactly the exported state (every client user, every partner
//!   employee), every `user.created` / `user.removed` event matches its audit record, a command
//!   that was refused never appears applied, and no command is applied twice. Commands that
//!   were in flight at the kill may be applied or not, but only as a whole;
//! - (c) MIG-4 (every client keeps an active super admin) and SEAT-5 (partner admins hold the
//!   partner seat), checked here over `GET /v1/admin/export`, not by the crate's validator.
//!
//! Every command is recognisable by its audit record: users have unique e-mails, each user
//! goes through a fixed life (`user.create`, `user.set_seat`, `user.set_permission_set`,
//! `partner_admin.migrate`, `user.remove`), each of those is applied at most once per user, and
//! each is always sent with the same body, so `(command, target)` names one change. Two
//! "race" clients have their super admins demote, migrate and remove themselves concurrently
//! (MIG-4 must refuse the last one), and partner admins get a seat change racing a permission
//! set change (SEAT-5 must refuse the seat change while they are partner admins), so (c) is
//! tested under contention, not just after quiet writes.
//!
//! It runs twice: on the redb file of a data directory, and on a PostgreSQL store (a fresh
//! schema on the server `PARTNER_ACCESS_TEST_POSTGRES` names; without one that run is reported
//! ignored, and fails under `CI`), where a kill leaves the database's session and transaction
//! to be rolled back by the server, and what was acknowledged must have committed there.
//!
//! Modes: `cargo test --test crash` kills 20 times per store (CI, debug build). The long mode is
//! `CRASH_KILLS=500 cargo test --release --test crash -- --nocapture` (or `bench/crash.sh`).
//! `CRASH_WRITERS` (default 8), `CRASH_MAX_MS` (latest kill after the writers start, default
//! 1000) and `CRASH_SEED` (printed at the start, to replay a run's choices) tune it;
//! `CRASH_BIN` runs another build of the binary (`bench/crash.sh` runs a private copy, since a
//! build in another checkout sharing the target directory can replace the binary mid-run).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

mod support;

use support::needs;
use support::process::{NotReady, free_port, serve_command, wait_ready};

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The loaded state

const WORK_CLIENTS: [&str; 3] = ["c-work-0", "c-work-1", "c-work-2"];
const RACE_CLIENTS: [&str; 2] = ["c-race-0", "c-race-1"];
const WORK_PARTNER: &str = "p-work";
const RACE_PARTNER: &str = "p-race";
/// Super admins the race clients start with.
const ROOTS_PER_RACE_CLIENT: usize = 3;

/// The super admin of a work client: it acts and is never acted on.
fn boss(client: &str) -> String {
    format!("boss@{client}.example")
}

fn client_sets() -> Value {
    json!([
        {"name": "Sales", "permissions": ["crm.objects.view", "crm.objects.edit", "reports.access"]},
        {"name": "Viewer", "permissions": ["crm.objects.view"]}
    ])
}

fn super_admin(email: &str) -> Value {
    json!({"email": email, "role": "super_admin", "seat": "core", "permissions": [],
           "status": "active"})
}

fn initial_state() -> Value {
    let partner = |id: &str, domain: &str| {
        json!({"id": id, "name": id, "tier": "solutions_partner", "email_domains": [domain],
               "employees": [], "permission_sets": [], "crm_names": {}})
    };
    let mut clients = Vec::new();
    for client in WORK_CLIENTS {
        clients.push(
            json!({"id": client, "official_name": client, "pricing_model": "seat_based",
            "users": [super_admin(&boss(client))], "assets": [], "permission_sets": client_sets()}),
        );
    }
    for client in RACE_CLIENTS {
        let roots: Vec<Value> = (0..ROOTS_PER_RACE_CLIENT)
            .map(|i| super_admin(&format!("root{i}@{client}.example")))
            .collect();
        clients.push(
            json!({"id": client, "official_name": client, "pricing_model": "seat_based",
            "users": roots, "assets": [], "permission_sets": client_sets()}),
        );
    }
    json!({
        "partners": [partner(WORK_PARTNER, "work-partner.example"),
                     partner(RACE_PARTNER, "race-partner.example")],
        "clients": clients,
    })
}

// ---------------------------------------------------------------------------------------------
// Commands and their effects

/// The commands the writers send. Each is applied at most once per user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Cmd {
    Create,
    SetSeat,
    SetPerms,
    Migrate,
    Remove,
}

impl Cmd {
    /// The name in the audit record.
    fn name(self) -> &'static str {
        match self {
            Cmd::Create => "user.create",
            Cmd::SetSeat => "user.set_seat",
            Cmd::SetPerms => "user.set_permission_set",
            Cmd::Migrate => "partner_admin.migrate",
            Cmd::Remove => "user.remove",
        }
    }

    fn from_name(name: &str) -> Option<Cmd> {
        [
            Cmd::Create,
            Cmd::SetSeat,
            Cmd::SetPerms,
            Cmd::Migrate,
            Cmd::Remove,
        ]
        .into_iter()
        .find(|c| c.name() == name)
    }
}

/// A user acted on: (client, e-mail).
type Key = (String, String);

fn target(key: &Key) -> String {
    format!("client/{}/user/{}", key.0, key.1)
}

/// What is fixed about a user for its whole life, so that each command has one body.
#[derive(Debug, Clone, Copy)]
struct Spec {
    /// Which kind of life (`W` work user, `P` partner admin, `R` race super admin, `E` race
    /// super admin employed by the race partner, `root`); permissions are learned per label.
    label: &'static str,
    create_seat: &'static str,
    create_set: &'static str,
    /// The seat `user.set_seat` asks for.
    seat_to: &'static str,
    /// The partner that employs the user.
    employer: Option<&'static str>,
}

const WORK_USER: Spec = Spec {
    label: "W",
    create_seat: "core",
    create_set: "Sales",
    seat_to: "view_only",
    employer: None,
};
const PARTNER_ADMIN: Spec = Spec {
    label: "P",
    create_seat: "partner",
    create_set: "partner_admin",
    seat_to: "core",
    employer: Some(WORK_PARTNER),
};
const RACE_USER: Spec = Spec {
    label: "R",
    create_seat: "core",
    create_set: "super_admin",
    seat_to: "core",
    employer: None,
};
const RACE_EMPLOYEE: Spec = Spec {
    label: "E",
    create_seat: "core",
    create_set: "super_admin",
    seat_to: "core",
    employer: Some(RACE_PARTNER),
};
const ROOT: Spec = Spec {
    label: "root",
    create_seat: "core",
    create_set: "super_admin",
    seat_to: "core",
    employer: None,
};

/// Permissions: given exactly (the loaded state), or whatever the first acknowledged answer
/// of that kind of change said (PERM-2 clamps are the policies' business, not this test's).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Perms {
    Exactly(BTreeSet<String>),
    Learned(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct UserState {
    role: String,
    seat: String,
    status: String,
    partner: Option<String>,
    perms: Perms,
}

fn learned_key(cmd: Cmd, spec: &Spec) -> String {
    format!("{}/{}", cmd.name(), spec.label)
}

fn role_of_set(set: &str) -> &'static str {
    match set {
        "super_admin" => "super_admin",
        "partner_admin" => "partner_admin",
        _ => "standard",
    }
}

/// The effect of one applied command on a user, as the API and the rule book describe it.
fn apply(state: &mut Option<UserState>, cmd: Cmd, spec: &Spec) -> Result<(), String> {
    let perms = Perms::Learned(learned_key(cmd, spec));
    match (cmd, state.as_mut()) {
        (Cmd::Create, None) => {
            *state = Some(UserState {
                role: role_of_set(spec.create_set).into(),
                seat: spec.create_seat.into(),
                status: "active".into(),
                partner: (spec.create_set == "partner_admin")
                    .then(|| spec.employer.map(str::to_owned))
                    .flatten(),
                perms,
            });
        }
        (Cmd::Create, Some(_)) => return Err("created while it exists".into()),
        (Cmd::Remove, Some(_)) => *state = None,
        (Cmd::SetSeat, Some(user)) => user.seat = spec.seat_to.into(),
        (Cmd::SetPerms, Some(user)) => {
            user.role = "standard".into();
            user.perms = perms;
        }
        (Cmd::Migrate, Some(user)) => {
            user.role = "partner_admin".into();
            user.seat = "partner".into();
            user.partner = spec.employer.map(str::to_owned);
            user.perms = perms;
        }
        (_, None) => return Err("applied to a user that does not exist".into()),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What the writers sent and were told

/// The answers to one `(command, user)`.
#[derive(Debug, Default, Clone)]
struct Sent {
    ok: u32,
    /// Refusals by audit outcome (`denied`, `not_found`, `conflict`).
    refused: BTreeMap<&'static str, u32>,
    /// Sent without an answer (the kill, or a request timeout).
    unknown: u32,
}

#[derive(Debug, Default, Clone)]
struct Stats {
    ok: u64,
    refused: u64,
    unknown: u64,
    timeouts: u64,
    mig4: u64,
    seat5: u64,
    upserts_ok: u64,
    bursts: u64,
}

/// Shared by the writers (answers) and the checker (truth after each restart).
#[derive(Default)]
struct Journal {
    specs: HashMap<Key, Spec>,
    /// Users of the loaded state.
    initial: HashMap<Key, UserState>,
    sent: HashMap<(Cmd, Key), Sent>,
    /// Employee upserts: e-mail → (partner, acknowledged).
    employees: HashMap<String, (&'static str, bool)>,
    learned: HashMap<String, BTreeSet<String>>,
    /// The writers' view: the checker's truth after a restart, plus acknowledged changes.
    view: HashMap<Key, Option<UserState>>,
    progress: HashMap<Key, Vec<Cmd>>,
    employees_present: HashSet<String>,
    stats: Stats,
    problems: Vec<String>,
}

impl Journal {
    fn learn(&mut self, key: String, answer: &Value) {
        let Some(list) = answer["permissions"].as_array() else {
            self.problems
                .push(format!("{key}: an answer without permissions: {answer}"));
            return;
        };
        let perms: BTreeSet<String> = list
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect();
        match self.learned.get(&key) {
            Some(known) if known != &perms => self.problems.push(format!(
                "{key}: permissions differ between two answers: {known:?} and {perms:?}"
            )),
            Some(_) => {}
            None => {
                self.learned.insert(key, perms);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

/// The binary under test: the one cargo built for this test, or `CRASH_BIN` (a private copy,
/// where several checkouts share one target directory and overwrite each other's binary).
fn binary() -> PathBuf {
    std::env::var_os("CRASH_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_partner-access")),
        PathBuf::from,
    )
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

impl Server {
    /// Spawns `partner-access serve` on a free port; its stderr is appended to `log`.
    fn spawn(data: &Path, log: &Path, store: Option<&str>) -> Server {
        let listen = format!("127.0.0.1:{}", free_port());
        std::fs::create_dir_all(data).unwrap();
        let mut stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        writeln!(stderr, "---- serve --listen {listen}").unwrap();
        let mut command = serve_command(&binary(), &listen, data, &support::root());
        command
            .args(store.map(|s| ["--store", s]).into_iter().flatten())
            .current_dir(data)
            .stderr(stderr)
            .env("RUST_LOG", "warn");
        Server {
            child: command.spawn().unwrap(),
            base: format!("http://{listen}"),
        }
    }

    /// (d): waits until `/readyz` answers 200. A port taken between choosing and binding is
    /// retried on another one (the store opens before the listener binds, so that failure
    /// says nothing about the store); any other early exit is a failure.
    async fn start(data: &Path, log: &Path, store: Option<&str>, timeout: Duration) -> Server {
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        'spawn: for _ in 0..5 {
            let mut server = Server::spawn(data, log, store);
            let ready = wait_ready(
                &mut server.child,
                &server.base,
                &probe,
                timeout,
                Duration::from_millis(20),
            )
            .await;
            match ready {
                Ok(()) => return server,
                Err(NotReady::Exited(status)) => {
                    let tail = log_tail(log);
                    if tail.contains("cannot listen on") {
                        continue 'spawn;
                    }
                    panic!(
                        "(d) the server exited instead of opening the store ({status}):\n{tail}"
                    );
                }
                Err(NotReady::TimedOut) => {
                    panic!("(d) not ready within {timeout:?}:\n{}", log_tail(log))
                }
            }
        }
        panic!("no free port after 5 tries:\n{}", log_tail(log));
    }

    /// `kill -9`: no drain, no clean close of the store.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

#[derive(Clone)]
struct Http {
    client: reqwest::Client,
    base: String,
}

impl Http {
    fn new(base: &str) -> Http {
        Http {
            // A fresh client per server: pooled connections to a killed process are dead.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        // A status whose body was cut by the kill is no answer: the command stays unknown.
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        match self.send(Method::GET, path, None).await {
            Ok((StatusCode::OK, body)) => Ok(body),
            Ok((status, body)) => Err(format!("GET {path}: {status} {body}")),
            Err(e) => Err(format!("GET {path}: {e}")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writers

struct Shared {
    http: Http,
    journal: Arc<Mutex<Journal>>,
    stop: AtomicBool,
}

/// A writer's own users, kept across restarts.
#[derive(Debug, Clone)]
struct Writer {
    id: usize,
    serial: u64,
    work: Option<Key>,
    partner: Option<Key>,
}

impl Writer {
    fn email(&mut self, prefix: &str, domain: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}-{}@{domain}", self.id, self.serial)
    }
}

/// How a request ended, for the writer's next choice.
enum Answer {
    Ok,
    Refused,
    /// No answer: the server is gone (or timed out); this writer stops for this round.
    Gone,
}

fn request(cmd: Cmd, key: &Key, actor: &str, spec: &Spec) -> (Method, String, Value) {
    let (client, email) = key;
    match cmd {
        Cmd::Create => (
            Method::POST,
            format!("/v1/clients/{client}/users"),
            json!({"actor": actor, "email": email, "seat": spec.create_seat,
                   "permission_set": spec.create_set}),
        ),
        Cmd::SetSeat => (
            Method::PUT,
            format!("/v1/clients/{client}/users/{email}/seat"),
            json!({"actor": actor, "seat": spec.seat_to}),
        ),
        Cmd::SetPerms => (
            Method::PUT,
            format!("/v1/clients/{client}/users/{email}/permission-set"),
            json!({"actor": actor, "permission_set": "Viewer"}),
        ),
        Cmd::Migrate => (
            Method::POST,
            format!("/v1/clients/{client}/partner-admins"),
            json!({"actor": actor, "user": email, "keep_billing": false}),
        ),
        Cmd::Remove => (
            Method::DELETE,
            format!("/v1/clients/{client}/users/{email}"),
            json!({"actor": actor}),
        ),
    }
}

/// Sends one command and journals what it was told. `expected_refusals` lists the refusals
/// this command may meet by design; any other one is a problem.
async fn send(
    shared: &Shared,
    cmd: Cmd,
    key: &Key,
    actor: &str,
    expected_refusals: &[(StatusCode, &str)],
) -> Answer {
    let spec = {
        let mut journal = shared.journal.lock().unwrap();
        journal.sent.entry((cmd, key.clone())).or_default().unknown += 1;
        journal.stats.unknown += 1;
        journal.specs[key]
    };
    let (method, path, body) = request(cmd, key, actor, &spec);
    let answer = shared.http.send(method.clone(), &path, Some(&body)).await;
    let mut journal = shared.journal.lock().unwrap();
    let journal = &mut *journal;
    let (status, reply) = match answer {
        // Refused connection: the request never reached a server, so nothing can be applied.
        Err(e) if e.is_connect() => {
            journal.sent.get_mut(&(cmd, key.clone())).unwrap().unknown -= 1;
            journal.stats.unknown -= 1;
            return Answer::Gone;
        }
        Err(_) => return Answer::Gone,
        // The request timeout answers 503 while the command may still commit: unknown.
        Ok((StatusCode::SERVICE_UNAVAILABLE, _)) => {
            journal.stats.timeouts += 1;
            return Answer::Gone;
        }
        Ok(answer) => answer,
    };
    let sent = journal.sent.get_mut(&(cmd, key.clone())).unwrap();
    sent.unknown -= 1;
    journal.stats.unknown -= 1;
    if status.is_success() {
        sent.ok += 1;
        journal.stats.ok += 1;
        // The view only steers the writers' choices. Answers to concurrent commands on one
        // user (a self-removal racing a self-migration, both allowed in either order) arrive
        // in any order, so an answer that does not fit the view is no finding: the checker
        // replays the audit log, which is in commit order.
        let view = journal.view.entry(key.clone()).or_default();
        let _ = apply(view, cmd, &spec);
        journal.progress.entry(key.clone()).or_default().push(cmd);
        if matches!(cmd, Cmd::Create | Cmd::SetPerms | Cmd::Migrate) {
            journal.learn(learned_key(cmd, &spec), &reply);
        }
        return Answer::Ok;
    }
    let outcome = match status {
        StatusCode::FORBIDDEN => "denied",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::CONFLICT => "conflict",
        _ => {
            journal.problems.push(format!(
                "{method} {path} {body}: unexpected answer {status} {reply}"
            ));
            return Answer::Gone;
        }
    };
    *sent.refused.entry(outcome).or_default() += 1;
    journal.stats.refused += 1;
    let rules = reply["error"]["rules"].to_string();
    if status == StatusCode::CONFLICT && rules.contains("MIG-4") {
        journal.stats.mig4 += 1;
    }
    if status == StatusCode::CONFLICT && rules.contains("SEAT-5") {
        journal.stats.seat5 += 1;
    }
    let expected = expected_refusals
        .iter()
        .any(|(s, rule)| *s == status && rules.contains(rule));
    if !expected {
        journal.problems.push(format!(
            "{method} {path} {body}: refused unexpectedly: {status} {reply}"
        ));
        return Answer::Gone;
    }
    Answer::Refused
}

/// Upserts a partner employee (an administration write, audited as `admin.upsert_employee`).
async fn upsert_employee(shared: &Shared, partner: &'static str, email: &str) -> Answer {
    shared
        .journal
        .lock()
        .unwrap()
        .employees
        .entry(email.to_owned())
        .or_insert((partner, false));
    let answer = shared
        .http
        .send(
            Method::PUT,
            &format!("/v1/admin/partners/{partner}/employees/{email}"),
            Some(&json!({"super_admin": false, "employee_management": "none"})),
        )
        .await;
    let mut journal = shared.journal.lock().unwrap();
    match answer {
        Ok((StatusCode::OK, _)) => {
            journal.employees.get_mut(email).unwrap().1 = true;
            journal.employees_present.insert(email.to_owned());
            journal.stats.upserts_ok += 1;
            Answer::Ok
        }
        Ok((StatusCode::SERVICE_UNAVAILABLE, _)) | Err(_) => Answer::Gone,
        Ok((status, body)) => {
            journal
                .problems
                .push(format!("employee upsert {email}: {status} {body}"));
            Answer::Gone
        }
    }
}

fn register(shared: &Shared, key: &Key, spec: Spec) {
    let mut journal = shared.journal.lock().unwrap();
    journal.specs.insert(key.clone(), spec);
    journal.view.insert(key.clone(), None);
}

/// A work user's life: created, seat changed, permission set changed, removed. Never refused.
async fn work_step(shared: &Shared, writer: &mut Writer, rng: &mut StdRng) -> Answer {
    let key = match &writer.work {
        Some(key) => key.clone(),
        None => {
            let client = (*WORK_CLIENTS.choose(rng).unwrap()).to_owned();
            let key = (client, writer.email("w", "client.example"));
            register(shared, &key, WORK_USER);
            writer.work = Some(key.clone());
            key
        }
    };
    let done = shared
        .journal
        .lock()
        .unwrap()
        .progress
        .get(&key)
        .map_or(0, Vec::len);
    let life = [Cmd::Create, Cmd::SetSeat, Cmd::SetPerms, Cmd::Remove];
    let Some(cmd) = life.get(done) else {
        writer.work = None;
        return Answer::Ok;
    };
    send(shared, *cmd, &key, &boss(&key.0), &[]).await
}

/// A partner admin's life: employed (upsert), created as partner admin, then a permission set
/// change (to a standard user) races a seat change away from the partner seat, which SEAT-5
/// refuses while the user is still partner admin; then the seat again, then removal.
async fn partner_step(shared: &Shared, writer: &mut Writer, rng: &mut StdRng) -> Answer {
    let key = match &writer.partner {
        Some(key) => key.clone(),
        None => {
            let client = (*WORK_CLIENTS.choose(rng).unwrap()).to_owned();
            let key = (client, writer.email("p", "work-partner.example"));
            register(shared, &key, PARTNER_ADMIN);
            writer.partner = Some(key.clone());
            key
        }
    };
    let (employed, done) = {
        let journal = shared.journal.lock().unwrap();
        (
            journal.employees_present.contains(&key.1),
            journal.progress.get(&key).cloned().unwrap_or_default(),
        )
    };
    if !employed {
        return upsert_employee(shared, WORK_PARTNER, &key.1).await;
    }
    let has = |c: Cmd| done.contains(&c);
    let actor = boss(&key.0);
    let seat5 = [(StatusCode::CONFLICT, "SEAT-5")];
    if has(Cmd::Remove) {
        writer.partner = None;
        Answer::Ok
    } else if !has(Cmd::Create) {
        send(shared, Cmd::Create, &key, &actor, &[]).await
    } else if !has(Cmd::SetPerms) && !has(Cmd::SetSeat) {
        let (perms, seat) = tokio::join!(
            send(shared, Cmd::SetPerms, &key, &actor, &[]),
            send(shared, Cmd::SetSeat, &key, &actor, &seat5),
        );
        match (perms, seat) {
            (Answer::Gone, _) | (_, Answer::Gone) => Answer::Gone,
            _ => Answer::Ok,
        }
    } else if !has(Cmd::SetSeat) {
        send(shared, Cmd::SetSeat, &key, &actor, &[]).await
    } else if !has(Cmd::SetPerms) {
        send(shared, Cmd::SetPerms, &key, &actor, &[]).await
    } else {
        send(shared, Cmd::Remove, &key, &actor, &[]).await
    }
}

/// The race clients: super admins demote, migrate or remove themselves (MIG-4 keeps the last
/// one), new super admins are created when few are left, and former super admins are cleaned
/// up (a seat change on a partner admin there is always refused by SEAT-5).
async fn race_step(shared: &Arc<Shared>, writer: &mut Writer, rng: &mut StdRng) -> Answer {
    let client = (*RACE_CLIENTS.choose(rng).unwrap()).to_owned();
    let (supers, former) = {
        let journal = shared.journal.lock().unwrap();
        let mut supers = Vec::new();
        let mut former = Vec::new();
        for (key, state) in &journal.view {
            if key.0 != client {
                continue;
            }
            match state {
                Some(user) if user.role == "super_admin" => {
                    supers.push((key.clone(), journal.specs[key]));
                }
                Some(user) => former.push((key.clone(), user.role == "partner_admin")),
                None => {}
            }
        }
        supers.sort_by(|a, b| a.0.cmp(&b.0));
        former.sort();
        (supers, former)
    };
    let Some((actor, _)) = supers.choose(rng).cloned() else {
        return Answer::Ok;
    };
    // A refusal by MIG-4 is the point; an actor or target that a concurrent command just
    // changed or removed is refused too (403, 404), harmlessly.
    let stale = [
        (StatusCode::FORBIDDEN, ""),
        (StatusCode::NOT_FOUND, ""),
        (StatusCode::CONFLICT, "MIG-4"),
    ];
    if supers.len() >= 2 && rng.random_bool(0.15) {
        // Every super admin demotes, migrates or removes itself at the same moment: MIG-4 must
        // keep one, whatever order the transactions commit in.
        let mut burst = tokio::task::JoinSet::new();
        for (key, spec) in supers {
            let cmd = self_demotion(&spec, rng);
            let shared = shared.clone();
            burst.spawn(async move { send(&shared, cmd, &key, &key.1, &stale).await });
        }
        let mut gone = false;
        while let Some(answer) = burst.join_next().await {
            gone |= matches!(answer.unwrap(), Answer::Gone);
        }
        shared.journal.lock().unwrap().stats.bursts += 1;
        return if gone { Answer::Gone } else { Answer::Ok };
    }
    // Few super admins left: mostly create one, but keep asking to demote the last one too.
    let create_odds = match supers.len() {
        1 => 0.6,
        2 => 0.3,
        3 => 0.15,
        _ => 0.05,
    };
    if rng.random_bool(create_odds) {
        let employee = rng.random_bool(0.5);
        let (email, spec) = if employee {
            (writer.email("e", "race-partner.example"), RACE_EMPLOYEE)
        } else {
            (writer.email("r", "race.example"), RACE_USER)
        };
        if employee
            && !matches!(
                upsert_employee(shared, RACE_PARTNER, &email).await,
                Answer::Ok
            )
        {
            return Answer::Gone;
        }
        let key = (client, email);
        register(shared, &key, spec);
        return send(shared, Cmd::Create, &key, &actor.1, &stale).await;
    }
    if !former.is_empty() && rng.random_bool(0.3) {
        let (key, partner_admin) = former.choose(rng).cloned().unwrap();
        let seat5 = [
            (StatusCode::FORBIDDEN, ""),
            (StatusCode::NOT_FOUND, ""),
            (StatusCode::CONFLICT, "SEAT-5"),
        ];
        if partner_admin && rng.random_bool(0.5) {
            return send(shared, Cmd::SetSeat, &key, &actor.1, &seat5).await;
        }
        return send(shared, Cmd::Remove, &key, &actor.1, &stale).await;
    }
    let (key, spec) = supers.choose(rng).cloned().unwrap();
    let cmd = self_demotion(&spec, rng);
    send(shared, cmd, &key, &key.1, &stale).await
}

/// How a super admin stops being one: a standard permission set, removal, or (a partner
/// employee) migration to partner admin.
fn self_demotion(spec: &Spec, rng: &mut StdRng) -> Cmd {
    let mut choices = vec![Cmd::SetPerms, Cmd::Remove];
    if spec.employer.is_some() {
        choices.push(Cmd::Migrate);
    }
    *choices.choose(rng).unwrap()
}

async fn run_writer(shared: Arc<Shared>, mut writer: Writer, seed: u64) -> Writer {
    let mut rng = StdRng::seed_from_u64(seed);
    while !shared.stop.load(Ordering::SeqCst) {
        let roll: f64 = rng.random();
        let answer = if roll < 0.35 {
            work_step(&shared, &mut writer, &mut rng).await
        } else if roll < 0.55 {
            partner_step(&shared, &mut writer, &mut rng).await
        } else {
            race_step(&shared, &mut writer, &mut rng).await
        };
        if matches!(answer, Answer::Gone) {
            break;
        }
    }
    writer
}

// ---------------------------------------------------------------------------------------------
// The checker

#[derive(Default)]
struct Checker {
    /// The last audit record and event read, to see that they survived the next restart.
    last_audit: Option<Value>,
    last_event: Option<Value>,
    audit_read: u64,
    events_read: u64,
    /// Digests of every record read, in order, to compare with a full re-read at the end.
    audit_digest: u64,
    events_digest: u64,
    /// The replay of the `applied` audit records over the loaded state.
    expected: HashMap<Key, Option<UserState>>,
    applied: HashMap<(Cmd, Key), u32>,
    order: HashMap<Key, Vec<Cmd>>,
    refusals: HashMap<(Cmd, Key, String), u32>,
    created_events: HashMap<Key, u32>,
    removed_events: HashMap<Key, u32>,
    /// `admin.import` records: exactly the one that loaded the state.
    imports: u32,
    /// Employees with an `applied` `admin.upsert_employee` record.
    upsert_records: HashSet<String>,
}

impl Checker {
    /// An administration audit record: the one import that loaded the state, or an employee
    /// upsert a writer sent. Anything else was not sent by this test.
    fn administration(&mut self, record: &Value, journal: &Journal, problems: &mut Vec<String>) {
        let applied = record["outcome"] == "applied";
        match record["command"].as_str().unwrap_or("") {
            "admin.import" if record["target"] == "state" && applied => {
                self.imports += 1;
                if self.imports > 1 {
                    problems.push(format!("a second import record: {record}"));
                }
            }
            "admin.upsert_employee" => {
                let upserted = record["target"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("partner/"))
                    .and_then(|t| t.split_once("/employee/"));
                match upserted {
                    Some((partner, email))
                        if journal.employees.get(email).map(|(p, _)| *p) == Some(partner) =>
                    {
                        if applied {
                            self.upsert_records.insert(email.to_owned());
                        }
                    }
                    _ => problems.push(format!("an upsert record of no upsert sent: {record}")),
                }
            }
            _ => problems.push(format!("an audit record of no command sent: {record}")),
        }
    }
}

fn seq(record: &Value) -> u64 {
    record["seq"].as_u64().unwrap_or(0)
}

/// Reads a log (`/v1/audit`, `/v1/events`) after the last record read before; checks that the
/// last one is still there, unchanged, and that sequence numbers continue without a gap.
async fn read_log(
    http: &Http,
    path: &str,
    last: &Option<Value>,
    problems: &mut Vec<String>,
) -> Result<Vec<Value>, String> {
    let after = last.as_ref().map_or(0, seq);
    if let Some(last) = last {
        let page = http
            .get(&format!("{path}?after={}&limit=1", after - 1))
            .await?;
        if page["records"].get(0) != Some(last) {
            problems.push(format!(
                "{path}: record {after} changed or vanished after a restart: was {last}, now {}",
                page["records"]
            ));
        }
    }
    let mut records = Vec::new();
    let mut cursor = after;
    loop {
        let page = http
            .get(&format!("{path}?after={cursor}&limit=1000"))
            .await?;
        records.extend(page["records"].as_array().cloned().unwrap_or_default());
        match page["next"].as_u64() {
            Some(next) => cursor = next,
            None => break,
        }
    }
    for (i, record) in records.iter().enumerate() {
        if seq(record) != after + 1 + i as u64 {
            problems.push(format!(
                "{path}: expected sequence number {}, got {record}",
                after + 1 + i as u64
            ));
            break;
        }
    }
    Ok(records)
}

/// Folds records into a running digest.
fn digest(mut acc: u64, records: &[Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    for record in records {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        acc.hash(&mut hasher);
        record.to_string().hash(&mut hasher);
        acc = hasher.finish();
    }
    acc
}

fn user_key(text: &str) -> Option<Key> {
    let rest = text.strip_prefix("client/")?;
    let (client, email) = rest.split_once("/user/")?;
    Some((client.to_owned(), email.to_owned()))
}

fn perms_of(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn user_state(user: &Value) -> UserState {
    UserState {
        role: user["role"].as_str().unwrap_or("?").to_owned(),
        seat: user["seat"].as_str().unwrap_or("?").to_owned(),
        status: user["status"].as_str().unwrap_or("?").to_owned(),
        partner: user["partner"].as_str().map(str::to_owned),
        perms: Perms::Exactly(perms_of(&user["permissions"])),
    }
}

/// (c), with this test's own reading of the rules.
fn invariants(export: &Value, problems: &mut Vec<String>) {
    for client in export["clients"].as_array().into_iter().flatten() {
        let id = &client["id"];
        let users = client["users"].as_array().cloned().unwrap_or_default();
        let active_super_admins = users
            .iter()
            .filter(|u| u["role"] == "super_admin" && u["status"] == "active")
            .count();
        if active_super_admins == 0 {
            problems.push(format!("MIG-4: client {id} has no active super admin"));
        }
        for user in users.iter().filter(|u| u["role"] == "partner_admin") {
            if user["seat"] != "partner" {
                problems.push(format!(
                    "SEAT-5: partner admin {} of client {id} holds seat {}",
                    user["email"], user["seat"]
                ));
            }
        }
    }
}

impl Checker {
    /// Reads both logs again from the start: the records read after each restart must all
    /// still be there, unchanged and in order (a later crash must not take an earlier
    /// commit back).
    async fn reread(&self, http: &Http) -> Vec<String> {
        let mut problems = Vec::new();
        for (path, count, expected) in [
            ("/v1/audit", self.audit_read, self.audit_digest),
            ("/v1/events", self.events_read, self.events_digest),
        ] {
            match read_log(http, path, &None, &mut problems).await {
                Ok(records) => {
                    if records.len() as u64 != count || digest(0, &records) != expected {
                        problems.push(format!(
                            "{path}: a full re-read gives {} records that differ from the {count} read after the restarts",
                            records.len()
                        ));
                    }
                }
                Err(e) => problems.push(e),
            }
        }
        problems
    }
}

/// What one check saw.
struct Seen {
    audit_new: usize,
}

impl Checker {
    async fn check(&mut self, http: &Http, journal: &Mutex<Journal>) -> Result<Seen, Vec<String>> {
        let mut problems = Vec::new();
        let export = http.get("/v1/admin/export").await.map_err(|e| vec![e])?;
        let audit = read_log(http, "/v1/audit", &self.last_audit, &mut problems)
            .await
            .map_err(|e| vec![e])?;
        let events = read_log(http, "/v1/events", &self.last_event, &mut problems)
            .await
            .map_err(|e| vec![e])?;
        if let Some(last) = audit.last() {
            self.last_audit = Some(last.clone());
        }
        if let Some(last) = events.last() {
            self.last_event = Some(last.clone());
        }
        self.audit_read += audit.len() as u64;
        self.events_read += events.len() as u64;
        self.audit_digest = digest(self.audit_digest, &audit);
        self.events_digest = digest(self.events_digest, &events);

        let mut journal = journal.lock().unwrap();
        let journal = &mut *journal;

        // Replay the new audit records.
        for record in &audit {
            let command = record["command"].as_str().unwrap_or("");
            if command.starts_with("admin.") {
                self.administration(record, journal, &mut problems);
                continue;
            }
            let (Some(cmd), Some(key)) = (
                Cmd::from_name(command),
                record["target"].as_str().and_then(user_key),
            ) else {
                problems.push(format!("an audit record of no command sent: {record}"));
                continue;
            };
            let Some(spec) = journal.specs.get(&key).copied() else {
                problems.push(format!("an audit record about an unknown user: {record}"));
                continue;
            };
            let outcome = record["outcome"].as_str().unwrap_or("?").to_owned();
            if outcome != "applied" {
                *self.refusals.entry((cmd, key, outcome)).or_default() += 1;
                continue;
            }
            *self.applied.entry((cmd, key.clone())).or_default() += 1;
            self.order.entry(key.clone()).or_default().push(cmd);
            let initial = journal.initial.get(&key).cloned();
            let state = self.expected.entry(key.clone()).or_insert(initial);
            if let Err(e) = apply(state, cmd, &spec) {
                problems.push(format!("audit record {record}: {e}"));
            }
        }
        for event in &events {
            let kind = event["type"].as_str().unwrap_or("");
            let (Some(client), Some(email)) =
                (event["client"].as_str(), event["data"]["email"].as_str())
            else {
                continue;
            };
            let key = (client.to_owned(), email.to_owned());
            match kind {
                "user.created" => *self.created_events.entry(key).or_default() += 1,
                "user.removed" => *self.removed_events.entry(key).or_default() += 1,
                _ => {}
            }
        }

        // (a) acknowledged answers are in the audit log; a refusal is never applied; nothing
        // is applied twice or without having been sent.
        for ((cmd, key), sent) in &journal.sent {
            let applied = self.applied.get(&(*cmd, key.clone())).copied().unwrap_or(0);
            let what = format!("{} {}", cmd.name(), target(key));
            if sent.ok > 0 && applied == 0 {
                problems.push(format!(
                    "(a) {what} was acknowledged ({} times) but has no applied audit record",
                    sent.ok
                ));
            }
            if applied > 1 {
                problems.push(format!("(b) {what} is applied {applied} times"));
            }
            if applied > 0 && sent.ok + sent.unknown == 0 {
                problems.push(format!(
                    "(b) {what} is applied although every answer refused it: {:?}",
                    sent.refused
                ));
            }
            for (outcome, count) in &sent.refused {
                let audited = self
                    .refusals
                    .get(&(*cmd, key.clone(), (*outcome).to_owned()))
                    .copied()
                    .unwrap_or(0);
                if audited < *count {
                    problems.push(format!(
                        "(a) {what} was refused ({outcome}) {count} times, audited {audited} times"
                    ));
                }
            }
        }
        for ((cmd, key, outcome), count) in &self.refusals {
            let sent = journal.sent.get(&(*cmd, key.clone()));
            let possible = sent.map_or(0, |s| {
                s.refused.get(outcome.as_str()).copied().unwrap_or(0) + s.unknown
            });
            if *count > possible {
                problems.push(format!(
                    "(b) {} {} has {count} `{outcome}` records for {possible} such answers or unanswered requests",
                    cmd.name(),
                    target(key)
                ));
            }
        }

        // (b) the state is the replay of the audit log, and the events match it.
        // LINK-3: a verified employee's user is linked to its partner by whichever write comes
        // last (its creation, or the employee's upsert), so the replay allows that link.
        let mut verified_employer: HashMap<String, String> = HashMap::new();
        for partner in export["partners"].as_array().into_iter().flatten() {
            let id = partner["id"].as_str().unwrap_or("?");
            let domains: Vec<&str> = partner["email_domains"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for employee in partner["employees"].as_array().into_iter().flatten() {
                let email = employee["email"].as_str().unwrap_or("?");
                let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
                if domains.contains(&domain) {
                    verified_employer.insert(email.to_owned(), id.to_owned());
                }
            }
        }
        let mut actual: HashMap<Key, UserState> = HashMap::new();
        for client in export["clients"].as_array().into_iter().flatten() {
            let id = client["id"].as_str().unwrap_or("?");
            for user in client["users"].as_array().into_iter().flatten() {
                let email = user["email"].as_str().unwrap_or("?");
                actual.insert((id.to_owned(), email.to_owned()), user_state(user));
            }
        }
        for key in actual.keys() {
            if !journal.specs.contains_key(key) && !journal.initial.contains_key(key) {
                problems.push(format!(
                    "(b) {} is in the state but never created",
                    target(key)
                ));
            }
        }
        let keys: BTreeSet<&Key> = journal.specs.keys().chain(journal.initial.keys()).collect();
        for key in keys {
            let expected = match self.expected.get(key) {
                Some(state) => state.clone(),
                None => journal.initial.get(key).cloned(),
            };
            let found = actual.get(key);
            let same = match (&expected, found) {
                (None, None) => true,
                (Some(want), Some(got)) => {
                    let perms_match = match (&want.perms, &got.perms) {
                        (Perms::Exactly(w), Perms::Exactly(g)) => w == g,
                        (Perms::Learned(k), Perms::Exactly(g)) => {
                            journal.learned.get(k).is_none_or(|w| w == g)
                        }
                        _ => false,
                    };
                    perms_match
                        && want.role == got.role
                        && want.seat == got.seat
                        && want.status == got.status
                        && (want.partner == got.partner
                            || (want.partner.is_none()
                                && got.partner.as_ref() == verified_employer.get(&key.1)))
                }
                _ => false,
            };
            if !same {
                problems.push(format!(
                    "(b) {}: the loaded state and the applied audit records {:?} give {:?}, the state holds {found:?}",
                    target(key),
                    self.order.get(key).cloned().unwrap_or_default(),
                    expected,
                ));
            }
            for (cmd, events, kind) in [
                (Cmd::Create, &self.created_events, "user.created"),
                (Cmd::Remove, &self.removed_events, "user.removed"),
            ] {
                let applied = self.applied.get(&(cmd, key.clone())).copied().unwrap_or(0);
                let emitted = events.get(key).copied().unwrap_or(0);
                if applied != emitted {
                    problems.push(format!(
                        "(b) {}: {applied} applied {} records but {emitted} `{kind}` events",
                        target(key),
                        cmd.name()
                    ));
                }
            }
        }

        // Employees: an acknowledged upsert is there; nobody else is.
        let mut present = HashSet::new();
        for partner in export["partners"].as_array().into_iter().flatten() {
            for employee in partner["employees"].as_array().into_iter().flatten() {
                let email = employee["email"].as_str().unwrap_or("?").to_owned();
                match journal.employees.get(&email) {
                    Some((p, _)) if partner["id"] == *p => {}
                    _ => problems.push(format!(
                        "employee {email} of {} was never upserted there",
                        partner["id"]
                    )),
                }
                present.insert(email);
            }
        }
        for (email, (_, acked)) in &journal.employees {
            if *acked && !present.contains(email) {
                problems.push(format!(
                    "(a) the acknowledged upsert of employee {email} is lost"
                ));
            }
        }
        // The upsert and its audit record commit together or not at all.
        for email in present.symmetric_difference(&self.upsert_records) {
            problems.push(format!(
                "(b) employee {email}: in the state or audited as upserted, but not both"
            ));
        }

        invariants(&export, &mut problems);
        problems.append(&mut journal.problems);

        // The writers continue from the truth.
        journal.view = journal
            .specs
            .keys()
            .chain(journal.initial.keys())
            .map(|key| {
                let state = match self.expected.get(key) {
                    Some(state) => state.clone(),
                    None => journal.initial.get(key).cloned(),
                };
                (key.clone(), state)
            })
            .collect();
        journal.progress = self.order.clone();
        journal.employees_present = present;
        if problems.is_empty() {
            Ok(Seen {
                audit_new: audit.len(),
            })
        } else {
            Err(problems)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fail(problems: &[String], data: &Path, seed: u64) -> ! {
    let shown: Vec<&String> = problems.iter().take(25).collect();
    panic!(
        "{} problem(s) after a restart (seed {seed}, data kept in {}):\n{}",
        problems.len(),
        data.display(),
        shown
            .iter()
            .map(|p| format!("  - {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// One crash run on `store` (`None`: the redb file of the data directory).
async fn acknowledged_commands_survive_kill_9_whole_and_invariants_hold(store: Option<String>) {
    let store = store.as_deref();
    let kills = setting("CRASH_KILLS", 20) as usize;
    let writers = setting("CRASH_WRITERS", 8) as usize;
    let max_ms = setting("CRASH_MAX_MS", 1000);
    let seed = setting("CRASH_SEED", rand::random::<u32>().into());
    eprintln!(
        "crash: {kills} kills, {writers} writers, kill within {max_ms} ms, seed {seed}, store {}, binary {}",
        if store.is_some() { "postgres" } else { "redb" },
        binary().display()
    );
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let ready_within = Duration::from_secs(60);

    let state = initial_state();
    let journal = Arc::new(Mutex::new(Journal::default()));
    {
        let mut journal = journal.lock().unwrap();
        for client in state["clients"].as_array().unwrap() {
            let id = client["id"].as_str().unwrap();
            for user in client["users"].as_array().unwrap() {
                let key = (id.to_owned(), user["email"].as_str().unwrap().to_owned());
                journal.initial.insert(key.clone(), user_state(user));
                journal.view.insert(key.clone(), Some(user_state(user)));
                if RACE_CLIENTS.contains(&id) {
                    journal.specs.insert(key, ROOT);
                }
            }
        }
    }

    let mut server = Server::start(&data, &log, store, ready_within).await;
    let http = Http::new(&server.base);
    let (status, body) = http
        .send(Method::POST, "/v1/admin/import?mode=replace", Some(&state))
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "import: {body}");
    let mut checker = Checker::default();
    if let Err(problems) = checker.check(&http, &journal).await {
        fail(&problems, &dir.keep(), seed);
    }

    let mut crew: Vec<Writer> = (0..writers)
        .map(|id| Writer {
            id,
            serial: 0,
            work: None,
            partner: None,
        })
        .collect();
    let mut startup_kills = 0;
    let mut quiet_rounds = 0;
    for round in 1..=kills {
        let shared = Arc::new(Shared {
            http: Http::new(&server.base),
            journal: journal.clone(),
            stop: AtomicBool::new(false),
        });
        let tasks: Vec<_> = crew
            .drain(..)
            .map(|writer| tokio::spawn(run_writer(shared.clone(), writer, rng.random())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..=max_ms))).await;
        server.kill();
        shared.stop.store(true, Ordering::SeqCst);
        for task in tasks {
            crew.push(task.await.unwrap());
        }

        // Now and then a second kill lands while the server is still opening the store it
        // was just killed on: it must reopen after that too.
        if rng.random_bool(0.1) {
            let mut early = Server::spawn(&data, &log, store);
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..60))).await;
            early.kill();
            startup_kills += 1;
        }

        server = Server::start(&data, &log, store, ready_within).await;
        let http = Http::new(&server.base);
        match checker.check(&http, &journal).await {
            Ok(seen) => {
                if seen.audit_new == 0 {
                    quiet_rounds += 1;
                }
            }
            Err(problems) => fail(&problems, &dir.keep(), seed),
        }
        if round % 25 == 0 {
            let stats = journal.lock().unwrap().stats.clone();
            eprintln!(
                "crash: {round}/{kills} kills, {} acknowledged, {} audit records, {:.1} kills/s",
                stats.ok + stats.refused,
                checker.audit_read,
                round as f64 / started.elapsed().as_secs_f64()
            );
        }
    }

    let http = Http::new(&server.base);
    let problems = checker.reread(&http).await;
    if !problems.is_empty() {
        fail(&problems, &dir.keep(), seed);
    }

    let journal = journal.lock().unwrap();
    let stats = &journal.stats;
    let unknown_applied = journal
        .sent
        .iter()
        .filter(|((cmd, key), sent)| {
            sent.ok == 0 && checker.applied.contains_key(&(*cmd, key.clone()))
        })
        .count();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "crash: PASSED in {seconds:.1} s ({:.2} kills/s)",
        kills as f64 / seconds
    );
    eprintln!(
        "crash: kills: {kills} under load ({quiet_rounds} before any command got through), \
         {startup_kills} more while the store was opening"
    );
    eprintln!(
        "crash: acknowledged commands checked: {} ({} applied, {} refused: {} by MIG-4, {} by \
         SEAT-5), plus {} employee upserts",
        stats.ok + stats.refused,
        stats.ok,
        stats.refused,
        stats.mig4,
        stats.seat5,
        stats.upserts_ok,
    );
    eprintln!(
        "crash: unanswered at a kill: {} ({unknown_applied} of them found applied, whole); \
         request timeouts: {}; bursts of simultaneous self-demotions: {}",
        stats.unknown, stats.timeouts, stats.bursts,
    );
    eprintln!(
        "crash: audit records read: {}, events: {}",
        checker.audit_read, checker.events_read
    );
    // A run whose writers never got a command through would prove nothing.
    assert!(stats.ok > 0, "no command was acknowledged");
}

/// Runs one crash run on a runtime of its own; a panic is the trial's failure.
fn run(postgres: Option<String>) -> Result<(), libtest_mimic::Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    runtime.block_on(async move {
        let store = match postgres {
            Some(base) => Some(support::postgres::fresh_schema(&base).await),
            None => None,
        };
        acknowledged_commands_survive_kill_9_whole_and_invariants_hold(store).await;
    });
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let server = needs::Need {
        value: support::postgres::url(),
        how: "a PostgreSQL server: set PARTNER_ACCESS_TEST_POSTGRES=postgres://... \
              (`.ci/start-postgres DIR` starts a throwaway one and prints it)",
    };
    let trials = vec![
        libtest_mimic::Trial::test(
            "acknowledged_commands_survive_kill_9_whole_and_invariants_hold",
            || run(None),
        ),
        server.trial(
            "acknowledged_commands_survive_kill_9_whole_and_invariants_hold_on_postgresql",
            |base| run(Some(base)),
        ),
    ];
    server.report("crash", 1);
    libtest_mimic::run(&args, trials).exit();
}
