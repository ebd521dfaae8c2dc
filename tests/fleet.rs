//! Fleets: two real sidecar processes on one PostgreSQL database.
//!
//! - the account invariants hold across sidecars: two sidecars that each remove a different one
//!   of a client's last two super admins at the same instant never both succeed (MIG-4); two
//!   partners linking into one client at the same instant never both manage it (LINK-2); a
//!   migration to partner admin racing a seat change never leaves a partner admin off the
//!   partner seat (SEAT-5); the state validates afterwards;
//! - a change committed through one sidecar is seen by the other within the staleness bound,
//!   and at once by a check that carries the change's revision (`at_least_as_fresh`): the
//!   "new enemy" gap is closed;
//! - a sidecar restarted while the other keeps writing catches up and never answers from an
//!   older state than the token it is given.
//!
//! They need a PostgreSQL server: `PARTNER_ACCESS_TEST_POSTGRES=postgres://...` (`.ci/run`
//! starts a throwaway one with `.ci/start-postgres`, whose own behaviour is tested here too, where
//! the server's binaries are installed). The file has its own harness (`libtest-mimic`) so that a
//! test whose dependency is missing is reported as *ignored* in the count, with a line that says
//! what to set, never as a silent `ok`; under `CI` a missing dependency is a failure that names
//! it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

mod support;

use support::postgres::fresh_schema;
use support::process::{NotReady, free_port, serve_command, wait_ready};
use support::{needs, proxy, root};

/// One `partner-access serve` process on the shared database.
struct Sidecar {
    child: std::process::Child,
    base: String,
    log: PathBuf,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sidecar {
    async fn start(store: &str, dir: &Path, name: &str, http: &reqwest::Client) -> Sidecar {
        Sidecar::start_following(store, dir, name, http, "1000", "100", &[]).await
    }

    /// With its own staleness bound and feed interval (milliseconds).
    async fn start_following(
        store: &str,
        dir: &Path,
        name: &str,
        http: &reqwest::Client,
        max_staleness_ms: &str,
        follow_interval_ms: &str,
        extra: &[&str],
    ) -> Sidecar {
        let listen = format!("127.0.0.1:{}", free_port());
        let log = dir.join(format!("{name}.log"));
        let mut command = serve_command(
            env!("CARGO_BIN_EXE_partner-access").as_ref(),
            &listen,
            &dir.join(name),
            &root(),
        );
        command
            .args(["--store", store])
            .args(["--max-staleness-ms", max_staleness_ms])
            .args(["--follow-interval-ms", follow_interval_ms])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stderr(std::fs::File::create(&log).unwrap());
        let mut sidecar = Sidecar {
            child: command.spawn().unwrap(),
            base: format!("http://{listen}"),
            log,
        };
        let ready = wait_ready(
            &mut sidecar.child,
            &sidecar.base,
            http,
            Duration::from_secs(60),
            Duration::from_millis(50),
        )
        .await;
        match ready {
            Ok(()) => sidecar,
            Err(NotReady::Exited(status)) => {
                panic!("{name} exited early ({status}): {}", sidecar.log_text())
            }
            Err(NotReady::TimedOut) => panic!("{name} not ready: {}", sidecar.log_text()),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn send(
        &self,
        http: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let response = http
            .request(method, format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `rep`'s `reports.access` in `c-fleet`, at least as fresh as `revision`.
    async fn rep_reports_at(&self, http: &reqwest::Client, revision: u64) -> (String, u64) {
        let fresh = json!({"at_least_as_fresh": revision});
        self.reports(http, REP, "c-fleet", Some(fresh)).await
    }

    /// The decision for `email` taking `reports.access` in `client`, and its revision.
    async fn reports(
        &self,
        http: &reqwest::Client,
        email: &str,
        client: &str,
        consistency: Option<Value>,
    ) -> (String, u64) {
        let mut body = json!({
            "principal": {"type": "Hub::User", "id": email},
            "action": "reports.access",
            "resource": {"type": "Hub::Account", "id": client},
        });
        if let Some(c) = consistency {
            body["consistency"] = c;
        }
        let (status, answer) = self
            .send(http, reqwest::Method::POST, "/v1/is_authorized", &body)
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        (
            answer["decision"].as_str().unwrap().to_owned(),
            answer["revision"].as_u64().unwrap(),
        )
    }
}

fn super_admin(email: &str) -> Value {
    json!({"email": email, "role": "super_admin", "seat": "core", "permissions": [],
           "status": "active"})
}

fn standard(email: &str, permissions: &[&str]) -> Value {
    json!({"email": email, "role": "standard", "seat": "core", "permissions": permissions,
           "status": "active"})
}

fn client(id: &str, users: Vec<Value>) -> Value {
    json!({"id": id, "official_name": id, "pricing_model": "seat_based", "users": users,
           "assets": [], "permission_sets": [
               {"name": "Sales", "permissions": ["crm.objects.view", "reports.access"]},
               {"name": "Viewer", "permissions": ["crm.objects.view"]}]})
}

const RACES: usize = 12;
const REP: &str = "rep@fleet.example";

/// The client owner gives `rep` the permission set `set` through `sidecar`; the command's
/// revision.
async fn set_rep_permissions(sidecar: &Sidecar, http: &reqwest::Client, set: &str) -> u64 {
    let (status, body) = sidecar
        .send(
            http,
            reqwest::Method::PUT,
            &format!("/v1/clients/c-fleet/users/{REP}/permission-set"),
            &json!({"actor": "owner@fleet.example", "permission_set": set}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["revision"].as_u64().unwrap()
}

fn state() -> Value {
    let mut clients = vec![client(
        "c-fleet",
        vec![
            super_admin("owner@fleet.example"),
            standard("rep@fleet.example", &["crm.objects.view", "reports.access"]),
        ],
    )];
    for i in 0..RACES {
        let id = format!("c-race-{i}");
        clients.push(client(
            &id,
            vec![
                super_admin(&format!("a@{id}.example")),
                super_admin(&format!("b@{id}.example")),
            ],
        ));
    }
    json!({"partners": [], "clients": clients})
}

/// Two sidecars on a fresh schema, with the state imported through the first.
async fn fleet(base: &str, dir: &Path, http: &reqwest::Client) -> (String, Sidecar, Sidecar) {
    let store = fresh_schema(base).await;
    let a = Sidecar::start(&store, dir, "a", http).await;
    let b = Sidecar::start(&store, dir, "b", http).await;
    let (status, body) = a
        .send(
            http,
            reqwest::Method::POST,
            "/v1/admin/import?mode=replace",
            &state(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (store, a, b)
}

async fn two_sidecars_never_both_remove_one_of_the_last_two_super_admins(base: String) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (_store, a, b) = fleet(&base, dir.path(), &http).await;
    let mut outcomes = Vec::new();
    for i in 0..RACES {
        let id = format!("c-race-{i}");
        let (first, second) = (format!("a@{id}.example"), format!("b@{id}.example"));
        // At the same instant, through different sidecars: in even rounds each super admin
        // removes the other (the loser's actor is gone: 403), in odd rounds each removes
        // itself (the loser would leave the client without one: 409, MIG-4).
        let (actor_a, actor_b) = if i % 2 == 0 {
            (&second, &first)
        } else {
            (&first, &second)
        };
        let (path_a, body_a) = (
            format!("/v1/clients/{id}/users/{first}"),
            json!({"actor": actor_a}),
        );
        let (path_b, body_b) = (
            format!("/v1/clients/{id}/users/{second}"),
            json!({"actor": actor_b}),
        );
        let (on_a, on_b) = tokio::join!(
            a.send(&http, reqwest::Method::DELETE, &path_a, &body_a),
            b.send(&http, reqwest::Method::DELETE, &path_b, &body_b),
        );
        let applied = [&on_a, &on_b]
            .iter()
            .filter(|(s, _)| s.is_success())
            .count();
        assert_eq!(
            applied, 1,
            "{id}: exactly one removal applies: {on_a:?} {on_b:?}"
        );
        for (status, body) in [&on_a, &on_b] {
            assert!(
                status.is_success()
                    || *status == StatusCode::CONFLICT
                    || *status == StatusCode::FORBIDDEN,
                "{id}: {status} {body}"
            );
        }
        if i % 2 == 1 {
            let loser = if on_a.0.is_success() { &on_b } else { &on_a };
            assert_eq!(loser.0, StatusCode::CONFLICT, "{id}: {loser:?}");
            assert!(
                loser.1["error"]["rules"].to_string().contains("MIG-4"),
                "{loser:?}"
            );
        }
        outcomes.push((on_a.0.as_u16(), on_b.0.as_u16()));
    }
    // The store agrees: every race client kept exactly one active super admin.
    let (status, export) = a
        .send(
            &http,
            reqwest::Method::GET,
            "/v1/admin/export",
            &Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for c in export["clients"].as_array().unwrap() {
        let admins = c["users"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["role"] == "super_admin" && u["status"] == "active")
            .count();
        assert!(admins >= 1, "{} has no super admin left: {c}", c["id"]);
        if c["id"].as_str().unwrap().starts_with("c-race-") {
            assert_eq!(admins, 1, "{c}");
        }
    }
    eprintln!("races (sidecar a, sidecar b): {outcomes:?}");
}

/// Partners and clients for the LINK-2 and SEAT-5 races: `p-one` and `p-two`, each with an
/// admin and an employee without a partner domain (`e1`, `e2`: linked by hand, LINK-1); per
/// round an unmanaged client holding both employees (LINK-2) and a client whose second super
/// admin is an eligible employee of `p-one` on the partner seat (SEAT-5).
fn race_state() -> Value {
    let partner = |id: &str, domain: &str, employee: &str| {
        json!({"id": id, "name": id, "tier": "solutions_partner", "email_domains": [domain],
               "permission_sets": [], "crm_names": {},
               "employees": [
                   {"email": format!("admin@{domain}"), "super_admin": true,
                    "employee_management": "view_edit"},
                   {"email": format!("x@{domain}"), "super_admin": false,
                    "employee_management": "view_edit"},
                   {"email": employee, "super_admin": false, "employee_management": "none"}]})
    };
    let mut clients = Vec::new();
    for i in 0..RACES {
        clients.push(client(
            &format!("c-link-{i}"),
            vec![
                super_admin(&format!("owner@c-link-{i}.example")),
                standard("e1@gmail.example", &["crm.objects.view"]),
                standard("e2@gmail.example", &["crm.objects.view"]),
            ],
        ));
        let mut seat = client(
            &format!("c-seat-{i}"),
            vec![
                super_admin(&format!("owner@c-seat-{i}.example")),
                json!({"email": "x@one.example", "role": "super_admin", "seat": "partner",
                       "permissions": [], "status": "active", "partner": "p-one"}),
            ],
        );
        seat["managed_by"] = json!("p-one");
        clients.push(seat);
    }
    json!({"partners": [partner("p-one", "one.example", "e1@gmail.example"),
                        partner("p-two", "two.example", "e2@gmail.example")],
           "clients": clients})
}

/// The exported state of the fleet, checked against every account invariant of the rule book
/// (MIG-4, SEAT-5, LINK-1/2, ...) by the same validation an import runs.
async fn assert_valid(sidecar: &Sidecar, http: &reqwest::Client) -> Value {
    let (status, export) = sidecar
        .send(http, reqwest::Method::GET, "/v1/admin/export", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let engine = partner_access::policy::PolicyEngine::load(
        &root().join("policies"),
        &root().join("schema"),
    )
    .unwrap();
    let doc: partner_access::domain::StateDocument =
        serde_json::from_value(export.clone()).unwrap();
    if let Err(problems) = partner_access::domain::validate(&doc, engine.catalogue()) {
        panic!("the fleet's state breaks the rules: {problems:?}");
    }
    export
}

/// LINK-2 and SEAT-5 across sidecars, at the same instant through different sidecars:
/// - two partners each link their own employee into one unmanaged client: exactly one link
///   applies, the other is a `409` naming LINK-2, and the client is managed by the winner;
/// - a partner employee migrates itself to partner admin (which puts it on the partner seat)
///   while the client's owner takes its partner seat away: whatever the order, it ends a
///   partner admin on the partner seat (the seat change is refused after the migration, or
///   undone by it), never a lost update;
///
/// and the whole state passes validation afterwards.
async fn two_sidecars_racing_on_link2_and_seat5_keep_the_rules(base: String) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let store = fresh_schema(&base).await;
    let a = Sidecar::start(&store, dir.path(), "a", &http).await;
    let b = Sidecar::start(&store, dir.path(), "b", &http).await;
    let (status, body) = a
        .send(
            &http,
            reqwest::Method::POST,
            "/v1/admin/import?mode=replace",
            &race_state(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut link_winners = [0; 2];
    let mut seat_outcomes = Vec::new();
    for i in 0..RACES {
        let client_id = format!("c-link-{i}");
        let link = |partner: &str, employee: &str, admin: &str| {
            (
                format!("/v1/partners/{partner}/employees/{employee}/link"),
                json!({"actor": admin, "client": client_id}),
            )
        };
        let (path_a, body_a) = link("p-one", "e1@gmail.example", "admin@one.example");
        let (path_b, body_b) = link("p-two", "e2@gmail.example", "admin@two.example");
        // Alternate which sidecar carries which partner, so neither always starts first.
        let ((on_one, on_two), (first, second)) = if i % 2 == 0 {
            (
                tokio::join!(
                    a.send(&http, reqwest::Method::POST, &path_a, &body_a),
                    b.send(&http, reqwest::Method::POST, &path_b, &body_b),
                ),
                ("a", "b"),
            )
        } else {
            (
                tokio::join!(
                    b.send(&http, reqwest::Method::POST, &path_a, &body_a),
                    a.send(&http, reqwest::Method::POST, &path_b, &body_b),
                ),
                ("b", "a"),
            )
        };
        let answers = [&on_one, &on_two];
        let applied: Vec<usize> = (0..2).filter(|&n| answers[n].0.is_success()).collect();
        assert_eq!(
            applied.len(),
            1,
            "{client_id}: exactly one partner links ({first} for p-one, {second} for p-two): {on_one:?} {on_two:?}"
        );
        let loser = answers[1 - applied[0]];
        assert_eq!(loser.0, StatusCode::CONFLICT, "{client_id}: {loser:?}");
        assert!(
            loser.1["error"]["rules"].to_string().contains("LINK-2"),
            "{loser:?}"
        );
        link_winners[applied[0]] += 1;

        let seat_client = format!("c-seat-{i}");
        let migrate = (
            format!("/v1/clients/{seat_client}/partner-admins"),
            json!({"actor": "x@one.example", "user": "x@one.example"}),
        );
        let unseat = (
            format!("/v1/clients/{seat_client}/users/x@one.example/seat"),
            json!({"actor": format!("owner@{seat_client}.example"), "seat": "core"}),
        );
        let (migrated, unseated) = if i % 2 == 0 {
            tokio::join!(
                a.send(&http, reqwest::Method::POST, &migrate.0, &migrate.1),
                b.send(&http, reqwest::Method::PUT, &unseat.0, &unseat.1),
            )
        } else {
            tokio::join!(
                b.send(&http, reqwest::Method::POST, &migrate.0, &migrate.1),
                a.send(&http, reqwest::Method::PUT, &unseat.0, &unseat.1),
            )
        };
        assert!(migrated.0.is_success(), "{seat_client}: {migrated:?}");
        if !unseated.0.is_success() {
            assert_eq!(unseated.0, StatusCode::CONFLICT, "{unseated:?}");
            assert!(
                unseated.1["error"]["rules"].to_string().contains("SEAT-5"),
                "{unseated:?}"
            );
        }
        seat_outcomes.push(unseated.0.as_u16());
    }
    let export = assert_valid(&b, &http).await;
    for c in export["clients"].as_array().unwrap() {
        let id = c["id"].as_str().unwrap();
        if id.starts_with("c-link-") {
            let partners: Vec<&Value> = c["users"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|u| u.get("partner").filter(|p| !p.is_null()))
                .collect();
            assert_eq!(partners.len(), 1, "{id}: one partner user: {c}");
            assert_eq!(&c["managed_by"], partners[0], "{id}: {c}");
        }
        if id.starts_with("c-seat-") {
            let x = c["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["email"] == "x@one.example")
                .unwrap();
            assert_eq!(x["role"], "partner_admin", "{id}: {x}");
            assert_eq!(
                x["seat"], "partner",
                "{id}: a partner admin off the partner seat: {x}"
            );
        }
    }
    eprintln!(
        "LINK-2 races won by p-one/p-two: {link_winners:?}; SEAT-5 races, the seat change answered: {seat_outcomes:?}"
    );
}

async fn a_revoke_on_one_sidecar_is_seen_on_the_other_within_the_bound_and_at_once_with_its_token(
    base: String,
) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (_store, a, b) = fleet(&base, dir.path(), &http).await;
    let rep = REP;
    for round in 0..6 {
        // Warm b's cache with the Allow.
        let grant = round % 2 == 1;
        if grant {
            let revision = set_rep_permissions(&a, &http, "Sales").await;
            let (decision, seen) = b.rep_reports_at(&http, revision).await;
            assert_eq!(decision, "Allow", "round {round}");
            assert!(seen >= revision);
            continue;
        }
        for _ in 0..3 {
            assert_eq!(b.reports(&http, rep, "c-fleet", None).await.0, "Allow");
        }
        // Revoke through a.
        let revision = set_rep_permissions(&a, &http, "Viewer").await;
        // With the revoke's token, b never answers from before it: no sleep, no retry.
        let (decision, seen) = b.rep_reports_at(&http, revision).await;
        assert_eq!(decision, "Deny", "round {round}: the new enemy got in");
        assert!(seen >= revision, "answered at {seen}, asked for {revision}");
        // fully_consistent reads the store.
        let (decision, _) = b
            .reports(
                &http,
                rep,
                "c-fleet",
                Some(json!({"fully_consistent": true})),
            )
            .await;
        assert_eq!(decision, "Deny");
    }
    // Without a token: the plain check turns within the bound.
    let revision = set_rep_permissions(&a, &http, "Sales").await;
    b.rep_reports_at(&http, revision).await;
    for _ in 0..3 {
        assert_eq!(b.reports(&http, rep, "c-fleet", None).await.0, "Allow");
    }
    set_rep_permissions(&a, &http, "Viewer").await;
    let committed = Instant::now();
    loop {
        if b.reports(&http, rep, "c-fleet", None).await.0 == "Deny" {
            break;
        }
        assert!(
            committed.elapsed() < Duration::from_millis(1_000),
            "b still allowed 1 s after the revoke committed on a"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!(
        "plain check on b turned Deny {} ms after the revoke on a",
        committed.elapsed().as_millis()
    );
    // A token from the future: b waits for the store, then answers 503, never a guess.
    let (status, body) = b
        .send(
            &http,
            reqwest::Method::POST,
            "/v1/is_authorized",
            &json!({"principal": {"type": "Hub::User", "id": rep}, "action": "reports.access",
                    "resource": {"type": "Hub::Account", "id": "c-fleet"},
                    "consistency": {"at_least_as_fresh": revision + 1_000}}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
}

async fn a_sidecar_restarted_while_the_other_writes_catches_up_and_serves_no_stale_allow(
    base: String,
) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (store, a, b) = fleet(&base, dir.path(), &http).await;
    let rep = REP;
    let mut b = Some(b);
    let mut checked = 0;
    for round in 0..24 {
        let set = if round % 2 == 0 { "Viewer" } else { "Sales" };
        let revision = set_rep_permissions(&a, &http, set).await;
        if round == 8 {
            // b goes away while a keeps writing, and comes back.
            drop(b.take());
        }
        if round == 12 {
            b = Some(Sidecar::start(&store, dir.path(), "b2", &http).await);
        }
        let Some(sidecar) = &b else { continue };
        let expected = if set == "Sales" { "Allow" } else { "Deny" };
        let (decision, _) = sidecar.rep_reports_at(&http, revision).await;
        assert_eq!(decision, expected, "round {round} at revision {revision}");
        // Its plain answers turn within the bound too.
        let started = Instant::now();
        while sidecar.reports(&http, rep, "c-fleet", None).await.0 != expected {
            assert!(started.elapsed() < Duration::from_secs(1), "round {round}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        checked += 1;
    }
    assert!(checked >= 16, "{checked}");
}

async fn a_commit_reaches_the_other_sidecar_through_notify_not_only_the_timer(base: String) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (store, a, _b) = fleet(&base, dir.path(), &http).await;
    // c reads the feed on its timer once a minute and trusts its cache for a minute: only the
    // notification of a's commit can make its plain checks turn within seconds.
    let c = Sidecar::start_following(&store, dir.path(), "c", &http, "60000", "60000", &[]).await;
    for round in 0..4 {
        let (set, expected) = if round % 2 == 0 {
            ("Viewer", "Deny")
        } else {
            ("Sales", "Allow")
        };
        // Warm c's cache with the current answer, then change it through a.
        let before = c.reports(&http, REP, "c-fleet", None).await.0;
        assert_ne!(before, expected, "round {round}");
        set_rep_permissions(&a, &http, set).await;
        let committed = Instant::now();
        while c.reports(&http, REP, "c-fleet", None).await.0 != expected {
            assert!(
                committed.elapsed() < Duration::from_secs(5),
                "round {round}: c did not hear of a's commit within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!(
            "round {round}: c agreed {} ms after a's commit",
            committed.elapsed().as_millis()
        );
    }
}

// ---- a sidecar that cannot follow the feed ------------------------------------------------

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use partner_access::app::{App, AppSettings, Consistency, FollowSettings, ImportMode, UserUpsert};
use partner_access::domain::{ClientId, Email, StateDocument};
use partner_access::policy::{CheckRequest, EntityKind, EntityRef};
use partner_access::store::PostgresStore;
use support::faults::FaultStore;

fn settings(max_staleness: Duration) -> AppSettings {
    AppSettings {
        cache_ttl: Duration::from_secs(3600),
        follow: FollowSettings {
            max_staleness,
            ..FollowSettings::default()
        },
        ..support::settings()
    }
}

fn reports(app: &App) -> bool {
    let request = CheckRequest {
        principal: EntityRef::new(EntityKind::User, "rep@fleet.example"),
        action: "reports.access".into(),
        resource: EntityRef::new(EntityKind::Account, "c-fleet"),
        context: serde_json::Map::new(),
    };
    app.check(&request).unwrap().decision.allowed
}

async fn a_sidecar_that_loses_the_feed_stops_answering_from_its_cache_after_the_bound(
    base: String,
) {
    let url = fresh_schema(&base).await;
    let bound = Duration::from_millis(500);
    tokio::task::spawn_blocking(move || {
        let a = App::new(
            settings(bound),
            Arc::new(PostgresStore::open(&url).unwrap()),
        )
        .unwrap();
        // A sidecar whose change feed cannot be read once `feed_fails` is set: it lost its
        // connection to the feed while its reads still work.
        let deaf = Arc::new(FaultStore::over(PostgresStore::open(&url).unwrap()));
        let b = Arc::new(App::new(settings(bound), deaf.clone()).unwrap());
        let doc = StateDocument::from_json_str(&state().to_string()).unwrap();
        let imported = a.import(&doc, ImportMode::Replace, "tests").unwrap();
        // b's maintenance: follow the feed every 50 ms.
        let stop = Arc::new(AtomicBool::new(false));
        let follower = {
            let (b, stop) = (b.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    b.follow_changes();
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        // b applies the import from the feed (dropping its whole cache), then warms its cache
        // with the Allow.
        let deadline = Instant::now() + Duration::from_secs(5);
        while b.applied_revision() < imported {
            assert!(Instant::now() < deadline, "b never saw the import");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(b.follows_a_shared_store());
        assert!(reports(&b));
        assert!(reports(&b));
        // Then b loses the feed, and a revokes.
        deaf.faults.feed_fails.store(true, Ordering::SeqCst);
        let viewer: UserUpsert = serde_json::from_value(
            json!({"role": "standard", "seat": "core", "permissions": ["crm.objects.view"]}),
        )
        .unwrap();
        let revoked_at = Instant::now();
        a.upsert_user(
            &ClientId::parse("c-fleet").unwrap(),
            &Email::parse("rep@fleet.example").unwrap(),
            viewer,
            "tests",
        )
        .unwrap();
        assert!(!reports(&a));
        // Within the bound b may still answer from its cache; past it, never.
        loop {
            let allowed = reports(&b);
            let waited = revoked_at.elapsed();
            if !allowed {
                break;
            }
            assert!(
                waited <= bound + Duration::from_millis(150),
                "b still answered the old Allow {waited:?} after the revoke (bound {bound:?})"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // And it stays fresh while deaf: reads go to the store.
        std::thread::sleep(bound);
        assert!(!reports(&b));
        stop.store(true, Ordering::SeqCst);
        follower.join().unwrap();
    })
    .await
    .unwrap();
}

// --- `.ci/start-postgres`, the helper that gives CI (and anyone) the server above ---

/// The PostgreSQL server binaries `.ci/start-postgres` runs, if they are installed.
fn server_binaries() -> Option<String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|bin| bin.display().to_string())
}

fn start_postgres(dir: &Path, extra_options: &str) -> std::process::Output {
    std::process::Command::new(root().join(".ci/start-postgres"))
        .arg(dir)
        .env("PG_SERVER_OPTIONS", extra_options)
        .output()
        .unwrap()
}

fn stop_postgres(dir: &Path) {
    let status = std::process::Command::new(root().join(".ci/start-postgres"))
        .arg("--stop")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Kills the cluster in `dir` the way a crash does: `kill -9` of the postmaster and of every
/// server process it started. The postmaster is stopped first, so that it forks no process
/// between the listing and the kill.
fn kill_postgres(dir: &Path) {
    let postmaster = postmaster_pid(dir).to_string();
    let signal = |name: &str, pids: &[String]| {
        // A process that ended meanwhile makes `kill` fail for its pid only.
        let _ = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .args(pids)
            .stderr(std::process::Stdio::null())
            .status();
    };
    signal("STOP", std::slice::from_ref(&postmaster));
    let children = std::process::Command::new("pgrep")
        .args(["-P", &postmaster])
        .output()
        .unwrap();
    let mut pids: Vec<String> = String::from_utf8_lossy(&children.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    pids.push(postmaster);
    signal("KILL", &pids);
    let deadline = Instant::now() + Duration::from_secs(10);
    for pid in &pids {
        let pid: u32 = pid.parse().unwrap();
        while runs(pid) {
            assert!(Instant::now() < deadline, "{pid} survived kill -9");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `kill -9` of the database server under keyed writers, then a restart on the same data (the
/// server recovers from its WAL): every acknowledged command is there, no `503` was applied, the
/// sidecar serves again without a restart of its own, and every keyed retry applies exactly once.
async fn a_killed_database_loses_nothing_acknowledged_and_the_sidecar_recovers(_bin: String) {
    const WRITERS: usize = 6;
    const EACH: usize = 25;
    let cluster = cluster_dir("killed");
    let out = start_postgres(&cluster, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let store = fresh_schema(&base).await;
    let sidecar = Sidecar::start(&store, dir.path(), "survivor", &http).await;
    let (status, body) = sidecar
        .send(
            &http,
            reqwest::Method::POST,
            "/v1/admin/import?mode=replace",
            &state(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let crash = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        kill_postgres(&cluster);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let restarted = Instant::now();
        let out = std::process::Command::new(root().join(".ci/start-postgres"))
            .arg("--restart")
            .arg(&cluster)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "restart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        restarted.elapsed()
    };
    let writing = keyed_writers(
        &sidecar,
        &http,
        "k",
        WRITERS,
        EACH,
        Duration::from_millis(20),
    );
    let (answers, restart_took) = tokio::join!(writing, crash);
    let recovery = ready_again(&sidecar, &http, Duration::from_secs(60)).await;
    let statuses = judge_keyed(&answers, &fleet_users(&sidecar, &http).await);
    assert!(
        statuses.get(&201).is_some_and(|n| *n > 0) && statuses.keys().any(|s| *s != 201),
        "the crash did not fall among the commands: {statuses:?}"
    );
    retry_keyed_until_each_is_stored_once(&sidecar, &http, &answers).await;
    drop(sidecar);
    stop_postgres(&cluster);
    println!(
        "killed database: answers {statuses:?}; restart took {restart_took:?}; the sidecar was ready {recovery:?} after it"
    );
}

/// A scratch directory for a cluster, under `/tmp` (the server's user must reach it, and a
/// Unix socket path must be short).
fn cluster_dir(name: &str) -> PathBuf {
    PathBuf::from(format!(
        "/tmp/partner-access-pg-test-{name}-{}",
        std::process::id()
    ))
}

/// A server that cannot start is reported with the reason and the server's own log line, on
/// stderr, with an empty stdout and a failing status, and leaves nothing behind.
fn start_postgres_reports_a_server_that_does_not_start_with_its_log() {
    let dir = cluster_dir("fails");
    let out = start_postgres(&dir, "-c shared_buffers=not-a-size");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.contains("FAILED: the server did not start"),
        "{stderr}"
    );
    assert!(stderr.contains("server.log"), "{stderr}");
    // The server's own words, from its log.
    assert!(
        stderr.contains(r#"invalid value for parameter "shared_buffers": "not-a-size""#),
        "{stderr}"
    );
    assert!(
        !dir.exists(),
        "the failed cluster's directory was left behind"
    );
}

fn postmaster_pid(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Whether a process runs (a zombie that nobody reaped yet does not).
fn runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // `pid (comm) state ...`: the state follows the last `)`.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// A cluster left running in the directory by an earlier run is stopped and replaced; the new
/// one answers on its socket; `--stop` stops it and removes the directory.
async fn start_postgres_replaces_a_cluster_left_by_an_earlier_run() {
    let dir = cluster_dir("replace");
    let first = start_postgres(&dir, "");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let left_behind = postmaster_pid(&dir);

    let second = start_postgres(&dir, "");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(
        stderr.contains("stopping the cluster an earlier run left"),
        "{stderr}"
    );
    assert!(
        !runs(left_behind),
        "the earlier cluster's server (pid {left_behind}) still runs"
    );
    let url = String::from_utf8(second.stdout).unwrap();
    let url = url.trim();
    assert!(
        url.contains(&format!("host={}/socket", dir.display())),
        "{url}"
    );
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    let row = client.query_one("SELECT 1 + 1", &[]).await.unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
    drop(client);
    let _ = driver.await;

    let running = postmaster_pid(&dir);
    stop_postgres(&dir);
    assert!(!dir.exists());
    assert!(
        !runs(running),
        "the server (pid {running}) still runs after --stop"
    );
}

// --- a frozen link between a sidecar and the database ---

/// The request timeout of the sidecars behind the proxy (milliseconds).
const FROZEN_TIMEOUT_MS: u64 = 2_000;

/// A sidecar whose database link goes through `proxy`, with a short request timeout.
async fn behind(proxy: &proxy::Proxy, base: &str, dir: &Path, http: &reqwest::Client) -> Sidecar {
    let store = proxy.url(&fresh_schema(base).await);
    let timeout = FROZEN_TIMEOUT_MS.to_string();
    let sidecar = Sidecar::start_following(
        &store,
        dir,
        "behind",
        http,
        "1000",
        "100",
        &["--request-timeout-ms", &timeout],
    )
    .await;
    let (status, body) = sidecar
        .send(
            http,
            reqwest::Method::POST,
            "/v1/admin/import?mode=replace",
            &state(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sidecar
}

/// Adds a standard user to `c-fleet` with an `Idempotency-Key`; the status, the body, how long
/// the answer took, and whether it was a replay.
async fn add_user(
    sidecar: &Sidecar,
    http: &reqwest::Client,
    email: &str,
    key: &str,
) -> (StatusCode, Value, Duration, bool) {
    let started = Instant::now();
    let response = http
        .post(format!("{}/v1/clients/c-fleet/users", sidecar.base))
        .header("idempotency-key", key)
        .json(
            &json!({"actor": "owner@fleet.example", "email": email, "seat": "core",
                      "permission_set": "Viewer"}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, started.elapsed(), replayed)
}

/// The e-mails of `c-fleet`'s users, through the sidecar's export.
async fn fleet_users(sidecar: &Sidecar, http: &reqwest::Client) -> Vec<String> {
    let (status, doc) = sidecar
        .send(http, reqwest::Method::GET, "/v1/admin/export", &Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "c-fleet")
        .flat_map(|c| c["users"].as_array().unwrap().iter())
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn ready_again(sidecar: &Sidecar, http: &reqwest::Client, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", sidecar.base)).send().await
            && r.status() == StatusCode::OK
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "not ready again: {}",
            sidecar.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One keyed `add_user` answer: the e-mail, the key, the status and the body.
type KeyedAnswer = (String, String, StatusCode, Value);

/// `writers` concurrent writers through `sidecar`, each adding `each` users of its own
/// (`{tag}{writer}-{n}@fleet.example`, each with a key of its own), `pause` between commands.
async fn keyed_writers(
    sidecar: &Sidecar,
    http: &reqwest::Client,
    tag: &str,
    writers: usize,
    each: usize,
    pause: Duration,
) -> Vec<KeyedAnswer> {
    let mut running = Vec::new();
    for w in 0..writers {
        running.push(async move {
            let mut answers = Vec::new();
            for n in 0..each {
                let email = format!("{tag}{w}-{n}@fleet.example");
                let key = format!("k-{tag}-{w}-{n}");
                let (status, body, _, _) = add_user(sidecar, http, &email, &key).await;
                answers.push((email, key, status, body));
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            answers
        });
    }
    futures_join_all(running)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// What each answer promised, held against the users stored afterwards: an acknowledged
/// command is stored, a `503` (nothing applied) is not, a `504` says the outcome is unknown;
/// no other status. Returns how many answers had each status.
fn judge_keyed(
    answers: &[KeyedAnswer],
    users: &[String],
) -> std::collections::BTreeMap<u16, usize> {
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (email, _, status, body) in answers {
        *statuses.entry(status.as_u16()).or_default() += 1;
        match status.as_u16() {
            201 => assert!(users.contains(email), "{email} acknowledged, not stored"),
            503 => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                assert!(
                    !users.contains(email),
                    "{email} was refused with a 503, yet applied: {body}"
                );
            }
            504 => assert_eq!(body["error"]["code"], "outcome_unknown", "{body}"),
            other => panic!("{email}: {other} {body}"),
        }
    }
    statuses
}

/// Retries every command not acknowledged, with its key: each retry is a `201` (applied now,
/// or the first answer replayed), and afterwards every user is stored exactly once.
async fn retry_keyed_until_each_is_stored_once(
    sidecar: &Sidecar,
    http: &reqwest::Client,
    answers: &[KeyedAnswer],
) {
    for (email, key, status, _) in answers {
        if *status != StatusCode::CREATED {
            let (status, body, _, _) = add_user(sidecar, http, email, key).await;
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{email}: the keyed retry: {body}"
            );
        }
    }
    let users = fleet_users(sidecar, http).await;
    for (email, ..) in answers {
        assert_eq!(
            users.iter().filter(|u| *u == email).count(),
            1,
            "{email} is not stored exactly once"
        );
    }
}

async fn a_frozen_link_answers_within_the_timeout_and_applies_nothing_it_refused(base: String) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let link = proxy::Proxy::start(&base).await;
    let sidecar = behind(&link, &base, dir.path(), &http).await;
    let (status, body, _, _) = add_user(&sidecar, &http, "before@fleet.example", "k-before").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    link.freeze();
    // Commands, cache-missing checks and probes while the link carries nothing, for longer
    // than the request timeout.
    let frozen_at = Instant::now();
    let mut commands = Vec::new();
    for n in 0..6 {
        let (sidecar, http) = (&sidecar, &http);
        commands.push(async move {
            let email = format!("frozen{n}@fleet.example");
            let key = format!("k-frozen-{n}");
            let (status, body, took, _) = add_user(sidecar, http, &email, &key).await;
            (email, key, status, body, took)
        });
    }
    let probes = async {
        let mut took = Vec::new();
        for who in ["nobody1@fleet.example", "nobody2@fleet.example", REP] {
            let started = Instant::now();
            let body = json!({"principal": {"type": "Hub::User", "id": who},
                              "action": "reports.access",
                              "resource": {"type": "Hub::Account", "id": "c-fleet"}});
            let status = sidecar
                .send(&http, reqwest::Method::POST, "/v1/is_authorized", &body)
                .await
                .0;
            took.push(("check", status, started.elapsed()));
            let started = Instant::now();
            let status = http
                .get(format!("{}/readyz", sidecar.base))
                .send()
                .await
                .unwrap()
                .status();
            took.push(("readyz", status, started.elapsed()));
        }
        took
    };
    let (answers, probed) = tokio::join!(futures_join_all(commands), probes);
    while frozen_at.elapsed() < Duration::from_millis(FROZEN_TIMEOUT_MS * 2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    link.thaw();

    let bound = Duration::from_millis(FROZEN_TIMEOUT_MS + 2_000);
    for (what, status, took) in &probed {
        assert!(*took <= bound, "{what} took {took:?}");
        // A check may answer from the cache within the staleness bound; readiness may not.
        if *what == "readyz" {
            assert_ne!(
                *status,
                StatusCode::OK,
                "readyz answered 200 over a frozen link"
            );
        } else {
            assert!(
                [StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE].contains(status),
                "{what}: {status}"
            );
        }
    }
    let recovery = ready_again(&sidecar, &http, Duration::from_secs(30)).await;
    // Give anything held in the link time to reach the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let users = fleet_users(&sidecar, &http).await;
    for (email, key, status, body, took) in &answers {
        assert!(*took <= bound, "{email}: {took:?} {body}");
        match status.as_u16() {
            503 => {
                assert_eq!(body["error"]["code"], "unavailable", "{body}");
                // The store's own answer, which knows nothing was applied: not the generic
                // timeout, which cannot know.
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("nothing was applied"),
                    "{body}"
                );
                assert!(
                    !users.contains(email),
                    "{email} was refused, then applied: {body}"
                );
            }
            504 => {
                assert_eq!(body["error"]["code"], "outcome_unknown", "{body}");
                let (status, retry, _, _) = add_user(&sidecar, &http, email, key).await;
                assert_eq!(status, StatusCode::CREATED, "{retry}");
            }
            other => panic!("{email}: {other} over a frozen link: {body}"),
        }
    }
    // And the sidecar works again, without a restart.
    let (status, body, _, _) = add_user(&sidecar, &http, "after@fleet.example", "k-after").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    println!(
        "frozen link: slowest answer {:?} (timeout {FROZEN_TIMEOUT_MS} ms); ready again {recovery:?} after the thaw",
        answers
            .iter()
            .map(|a| a.4)
            .chain(probed.iter().map(|p| p.2))
            .max()
            .unwrap()
    );
}

async fn a_commit_whose_answer_is_lost_is_outcome_unknown_and_a_keyed_retry_learns_it(
    base: String,
) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let link = proxy::Proxy::start(&base).await;
    let sidecar = behind(&link, &base, dir.path(), &http).await;

    link.freeze_after_commit();
    let (status, body, took, _) = add_user(&sidecar, &http, "lost@fleet.example", "k-lost").await;
    assert!(link.is_frozen(), "the COMMIT went through the link");
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    assert_eq!(body["error"]["code"], "outcome_unknown", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Idempotency-Key"),
        "{body}"
    );
    assert!(
        took <= Duration::from_millis(FROZEN_TIMEOUT_MS + 2_000),
        "{took:?}"
    );
    link.thaw();
    ready_again(&sidecar, &http, Duration::from_secs(30)).await;

    // The server did commit: the retry with the key answers the first outcome, applied once.
    let (status, body, _, replayed) =
        add_user(&sidecar, &http, "lost@fleet.example", "k-lost").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(replayed, "the retry is the first answer replayed: {body}");
    let users = fleet_users(&sidecar, &http).await;
    assert_eq!(
        users.iter().filter(|u| *u == "lost@fleet.example").count(),
        1
    );
}

/// The database link's connections are cut again and again while writers add users with
/// `Idempotency-Key`s: a command whose connection dropped before `COMMIT` is a `503` and applied
/// nothing; one that dropped waiting for `COMMIT`'s answer is a `504 outcome_unknown`; a keyed
/// retry of either applies it exactly once; the sidecar recovers by itself.
async fn dropped_connections_apply_nothing_they_refused_and_keyed_retries_apply_once(base: String) {
    const WRITERS: usize = 8;
    const EACH: usize = 15;
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let link = proxy::Proxy::start(&base).await;
    let sidecar = behind(&link, &base, dir.path(), &http).await;
    let cutting = async {
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            link.cut();
        }
    };
    let writing = keyed_writers(&sidecar, &http, "w", WRITERS, EACH, Duration::ZERO);
    let (answers, ()) = tokio::join!(writing, cutting);
    let recovery = ready_again(&sidecar, &http, Duration::from_secs(30)).await;
    let statuses = judge_keyed(&answers, &fleet_users(&sidecar, &http).await);
    assert!(
        statuses.keys().any(|s| *s != 201),
        "no command met a cut connection: {statuses:?}"
    );
    retry_keyed_until_each_is_stored_once(&sidecar, &http, &answers).await;
    println!("cut connections: answers {statuses:?}; ready again {recovery:?} after the cuts");
}

/// A `COMMIT` the database refuses (a deferred constraint that fails at commit, the way a
/// serialization failure or a full disk on the server answers): the command is a `503` that
/// applied nothing, checks go on, and once the database accepts commits again the same keyed
/// request applies once.
async fn a_commit_the_database_refuses_applies_nothing_and_a_keyed_retry_applies_once(
    base: String,
) {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let store = fresh_schema(&base).await;
    let sidecar = Sidecar::start(&store, dir.path(), "refused", &http).await;
    let (status, body) = sidecar
        .send(
            &http,
            reqwest::Method::POST,
            "/v1/admin/import?mode=replace",
            &state(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (db, connection) = tokio_postgres::connect(&store, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driver = tokio::spawn(connection);
    db.batch_execute(
        "CREATE TABLE refuse_commits (on_ boolean);          INSERT INTO refuse_commits VALUES (true);          CREATE FUNCTION refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$            BEGIN              IF EXISTS (SELECT 1 FROM refuse_commits) THEN                RAISE EXCEPTION 'commit refused by the test';              END IF;              RETURN NULL;            END $$;          CREATE CONSTRAINT TRIGGER refuse_commit AFTER INSERT ON changes            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_commit();",
    )
    .await
    .unwrap();

    for n in 0..4 {
        let email = format!("refused{n}@fleet.example");
        let (status, body, _, _) =
            add_user(&sidecar, &http, &email, &format!("k-refused-{n}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{email}: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
    }
    let users = fleet_users(&sidecar, &http).await;
    assert!(
        !users.iter().any(|u| u.starts_with("refused")),
        "a refused commit was applied: {users:?}"
    );
    // Reads do not commit through the trigger: checks answer.
    let (decision, _) = sidecar.reports(&http, REP, "c-fleet", None).await;
    assert_eq!(decision, "Allow");

    db.batch_execute("DELETE FROM refuse_commits")
        .await
        .unwrap();
    for n in 0..4 {
        let email = format!("refused{n}@fleet.example");
        let (status, body, _, replayed) =
            add_user(&sidecar, &http, &email, &format!("k-refused-{n}")).await;
        assert_eq!(status, StatusCode::CREATED, "{email}: {body}");
        assert!(
            !replayed,
            "a refused commit left an answer to replay: {body}"
        );
    }
    let users = fleet_users(&sidecar, &http).await;
    for n in 0..4 {
        let email = format!("refused{n}@fleet.example");
        assert_eq!(users.iter().filter(|u| **u == email).count(), 1, "{email}");
    }
    drop(db);
    let _ = driver.await;
}

/// Awaits every future, in order (a few lines instead of a dependency).
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    // Poll them concurrently: each in its own slot of one select loop.
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *result = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

// ---- policy versions across a fleet -----------------------------------------------------

/// Two sidecars serving the store's policies: a version activated on a switches b within the
/// staleness bound (b's checks decide by the new rules and say the new version), through the
/// change feed; a rollback on a switches b back.
async fn an_activation_on_one_sidecar_switches_the_other_within_the_bound(base: String) {
    use partner_access::app::PolicyPush;
    use partner_access::app::policies::{activate, push, read_dirs};
    let url = fresh_schema(&base).await;
    tokio::task::spawn_blocking(move || {
        // The staleness bound: b must switch within it (it reads the feed every 100 ms, then
        // builds the new engine: well under a second even in a debug build).
        let bound = Duration::from_millis(2_000);
        let store = Arc::new(PostgresStore::open(&url).unwrap());
        let root = support::root();
        let files = read_dirs(&root.join("policies"), &root.join("schema")).unwrap();
        let now = partner_access::domain::Timestamp::now();
        let (v1, _) = push(
            store.as_ref(),
            &PolicyPush {
                files: files.clone(),
                tests: Vec::new(),
                actor: "setup".into(),
            },
            now,
        )
        .unwrap();
        activate(
            store.as_ref(),
            v1.version.as_str(),
            "setup",
            now,
            &mut |_| None,
            &mut |_| {},
        )
        .unwrap();
        let a = Arc::new(App::new_from_store(settings(bound), store).unwrap());
        let b = Arc::new(
            App::new_from_store(
                settings(bound),
                Arc::new(PostgresStore::open(&url).unwrap()),
            )
            .unwrap(),
        );
        let doc = StateDocument::from_json_str(&state().to_string()).unwrap();
        a.import(&doc, ImportMode::Replace, "tests").unwrap();
        // Each sidecar's follower, as the server runs it (every 100 ms by default).
        let stop = Arc::new(AtomicBool::new(false));
        let followers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|app| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        app.follow_changes();
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !reports(&b) {
            assert!(Instant::now() < deadline, "b never saw the import");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(b.policy_version(), v1.version);

        // v2 forbids everything: pushed and activated through a.
        let mut forbidding = files.clone();
        forbidding.push(partner_access::app::PolicyFile {
            name: "zz_forbid.cedar".into(),
            kind: partner_access::app::PolicyFileKind::Policy,
            text: "@id(\"test-forbid-everything\")\nforbid (principal, action, resource);\n".into(),
        });
        let (v2, _) = a
            .push_policies(
                &PolicyPush {
                    files: forbidding,
                    tests: Vec::new(),
                    actor: "alice".into(),
                },
                false,
            )
            .unwrap();
        for (to, allowed) in [(&v2.version, false), (&v1.version, true)] {
            let activated = a.activate_policies(to.as_str(), "alice").unwrap();
            assert!(activated.changed);
            let committed = Instant::now();
            // a at once.
            assert_eq!(a.policy_version(), *to);
            assert_eq!(reports(&a), allowed);
            // b within the bound.
            loop {
                if b.policy_version() == *to {
                    break;
                }
                assert!(
                    committed.elapsed() < bound,
                    "b still on the old version {} ms after the activation",
                    committed.elapsed().as_millis()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(reports(&b), allowed, "b decides by the new rules");
            eprintln!(
                "b switched to {} {} ms after the activation on a",
                &to.as_str()[..12],
                committed.elapsed().as_millis()
            );
        }
        stop.store(true, Ordering::SeqCst);
        for follower in followers {
            follower.join().unwrap();
        }

        // With no follower running, b has not heard of an activation on a: a check that asks
        // for the latest state (or for the activation's revision) still decides under the
        // version now active, never the one it replaced.
        let strict = |app: &App, consistency: Consistency| {
            let request = CheckRequest {
                principal: EntityRef::new(EntityKind::User, "rep@fleet.example"),
                action: "reports.access".into(),
                resource: EntityRef::new(EntityKind::Account, "c-fleet"),
                context: serde_json::Map::new(),
            };
            let checked = app
                .checker_with(consistency)
                .unwrap()
                .check(&request)
                .unwrap();
            (checked.decision.allowed, checked.policy_version)
        };
        let to_v2 = a.activate_policies(v2.version.as_str(), "alice").unwrap();
        assert_eq!(b.policy_version(), v1.version, "b has no follower running");
        assert_eq!(
            strict(&b, Consistency::FullyConsistent),
            (false, v2.version.clone()),
            "a fully consistent check follows the activation"
        );
        // (Through the cache: `at_least_as_fresh` reads the feed first, as it did before the
        // fully consistent path did.)
        let to_v1 = a.activate_policies(v1.version.as_str(), "alice").unwrap();
        assert!(to_v1.activation.revision > to_v2.activation.revision);
        assert_eq!(
            strict(&b, Consistency::AtLeastAsFresh(to_v1.activation.revision)),
            (true, v1.version.clone()),
            "a check at least as fresh as the activation decides under it"
        );
    })
    .await
    .unwrap();
}

// --- the harness ---

type Body = fn(String) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Runs an async test body on a runtime of its own; a panic is the trial's failure.
fn on_runtime(body: Body, base: String) -> Result<(), libtest_mimic::Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build a runtime: {e}"))?;
    runtime.block_on(body(base));
    Ok(())
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let server = needs::Need {
        value: support::postgres::url(),
        how: "a PostgreSQL server: set PARTNER_ACCESS_TEST_POSTGRES=postgres://... \
              (`.ci/start-postgres DIR` starts a throwaway one and prints it)",
    };
    let binaries = needs::Need {
        value: server_binaries(),
        how: "the PostgreSQL server binaries under /usr/lib/postgresql \
              (`apt-get install postgresql`)",
    };
    let fleet_tests: &[(&str, Body)] = &[
        (
            "an_activation_on_one_sidecar_switches_the_other_within_the_bound",
            |b| Box::pin(an_activation_on_one_sidecar_switches_the_other_within_the_bound(b)),
        ),
        (
            "two_sidecars_never_both_remove_one_of_the_last_two_super_admins",
            |b| Box::pin(two_sidecars_never_both_remove_one_of_the_last_two_super_admins(b)),
        ),
        (
            "two_sidecars_racing_on_link2_and_seat5_keep_the_rules",
            |b| Box::pin(two_sidecars_racing_on_link2_and_seat5_keep_the_rules(b)),
        ),
        (
            "a_revoke_on_one_sidecar_is_seen_on_the_other_within_the_bound_and_at_once_with_its_token",
            |b| {
                Box::pin(a_revoke_on_one_sidecar_is_seen_on_the_other_within_the_bound_and_at_once_with_its_token(b))
            },
        ),
        (
            "a_sidecar_restarted_while_the_other_writes_catches_up_and_serves_no_stale_allow",
            |b| {
                Box::pin(
                    a_sidecar_restarted_while_the_other_writes_catches_up_and_serves_no_stale_allow(
                        b,
                    ),
                )
            },
        ),
        (
            "a_commit_reaches_the_other_sidecar_through_notify_not_only_the_timer",
            |b| Box::pin(a_commit_reaches_the_other_sidecar_through_notify_not_only_the_timer(b)),
        ),
        (
            "a_frozen_link_answers_within_the_timeout_and_applies_nothing_it_refused",
            |b| {
                Box::pin(a_frozen_link_answers_within_the_timeout_and_applies_nothing_it_refused(b))
            },
        ),
        (
            "a_commit_whose_answer_is_lost_is_outcome_unknown_and_a_keyed_retry_learns_it",
            |b| {
                Box::pin(
                    a_commit_whose_answer_is_lost_is_outcome_unknown_and_a_keyed_retry_learns_it(b),
                )
            },
        ),
        (
            "dropped_connections_apply_nothing_they_refused_and_keyed_retries_apply_once",
            |b| {
                Box::pin(
                    dropped_connections_apply_nothing_they_refused_and_keyed_retries_apply_once(b),
                )
            },
        ),
        (
            "a_commit_the_database_refuses_applies_nothing_and_a_keyed_retry_applies_once",
            |b| {
                Box::pin(
                    a_commit_the_database_refuses_applies_nothing_and_a_keyed_retry_applies_once(b),
                )
            },
        ),
        (
            "a_sidecar_that_loses_the_feed_stops_answering_from_its_cache_after_the_bound",
            |b| {
                Box::pin(
                    a_sidecar_that_loses_the_feed_stops_answering_from_its_cache_after_the_bound(b),
                )
            },
        ),
    ];
    let mut trials: Vec<_> = fleet_tests
        .iter()
        .map(|&(name, body)| server.trial(name, move |base| on_runtime(body, base)))
        .collect();
    trials.push(binaries.trial(
        "start_postgres_reports_a_server_that_does_not_start_with_its_log",
        |_| {
            start_postgres_reports_a_server_that_does_not_start_with_its_log();
            Ok(())
        },
    ));
    trials.push(binaries.trial(
        "start_postgres_replaces_a_cluster_left_by_an_earlier_run",
        |bin| {
            on_runtime(
                |_| Box::pin(start_postgres_replaces_a_cluster_left_by_an_earlier_run()),
                bin,
            )
        },
    ));
    trials.push(binaries.trial(
        "a_killed_database_loses_nothing_acknowledged_and_the_sidecar_recovers",
        |bin| {
            on_runtime(
                |bin| {
                    Box::pin(
                        a_killed_database_loses_nothing_acknowledged_and_the_sidecar_recovers(bin),
                    )
                },
                bin,
            )
        },
    ));
    server.report("fleet", fleet_tests.len());
    binaries.report("fleet (.ci/start-postgres)", 3);
    libtest_mimic::run(&args, trials).exit();
}
