//! Fail closed, fault by fault: with the store failing in every way we can inject, with no
//! policies loaded, with a `forbid` that errors at evaluation and with a handler that panics, no
//! check answers `Allow`, no command answers success without its write being on disk, the state
//! and the audit log are unchanged by what failed, and `/readyz` says 503 while the store cannot
//! be read and 200 again once it can.
//!
//! The faults come from [`faults::FaultStore`], a `Store` over the real redb store that fails
//! (or panics) on demand: opening a read view, the Nth point read of the check path, the Nth
//! read or the Nth write of every write transaction, named write operations (`append_log`,
//! `put_user`, ...), the commit after the work is done. The sweeps do not hard-code how many
//! reads or writes a command makes: they move the fault one position further until the command
//! runs past it, so a new read or write added to a command is covered without editing this
//! file, and every position is asserted to have actually fired.
//!
//! `tests/service/ops.rs` already shows the basic cases (a store that cannot be read makes
//! single and batch checks deny and `/readyz` 503; whole writes that cannot begin are 503); this
//! file covers every other fault.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use partner_access::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support;
use crate::support::faults::FaultStore;
use crate::support::harness::{self, TestServer};

const GLOBEX: &str = "c-globex";
const OWNER: &str = "owner@globex.example";
const CLARA: &str = "clara@globex.example";
const SALLY: &str = "sally@globex.example";
const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";
const SUE: &str = "sue@acme.example";

/// Checks that are `Allow` on the healthy agency state: a partner admin's listed permission, a
/// super admin's template, a client user's listed permission. Each reads different records.
const ALLOWED: [(&str, &str); 3] = [
    (ANN, "crm.objects.edit"),
    (OWNER, "billing.edit"),
    (CLARA, "users.add_edit"),
];

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

// =============================================================================================
// The fault-injecting store

// =============================================================================================
// Harness

/// A server over a fresh [`FaultStore`] holding `doc`.
async fn faulty_server(
    doc: &Value,
    options: harness::Options,
) -> (TestServer, Arc<FaultStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultStore::open(dir.path()));
    store.faults.record_ops.store(true, Ordering::SeqCst);
    let dyn_store: Arc<dyn Store> = store.clone();
    let server = harness::start_on(dyn_store, dir.path().to_owned(), options).await;
    server.import(doc).await;
    (server, store, dir)
}

/// How many `Allow`s an answer of any check endpoint holds: `"decision": "Allow"` (ours) or
/// `"decision": true` (AuthZEN), at any depth.
fn allows(body: &Value) -> usize {
    match body {
        Value::Object(map) => {
            let here = usize::from(
                matches!(map.get("decision"), Some(Value::Bool(true)))
                    || map.get("decision").and_then(Value::as_str) == Some("Allow"),
            );
            here + map.values().map(allows).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(allows).sum(),
        _ => 0,
    }
}

/// How many decisions (of either kind) an answer holds.
fn decisions(body: &Value) -> usize {
    match body {
        Value::Object(map) => {
            usize::from(map.contains_key("decision")) + map.values().map(decisions).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(decisions).sum(),
        _ => 0,
    }
}

/// The four check endpoints, each asked about the same `(principal, action)` pairs on
/// c-globex. Returns `(endpoint, status, body)`.
async fn ask_everywhere(
    server: &TestServer,
    pairs: &[(&str, &str)],
) -> Vec<(&'static str, StatusCode, Value)> {
    let check = |who: &str, action: &str| {
        json!({
            "principal": {"type": "Hub::User", "id": who},
            "action": {"type": "Hub::Action", "id": action},
            "resource": {"type": "Hub::Account", "id": GLOBEX},
        })
    };
    let authzen = |who: &str, action: &str| {
        json!({
            "subject": {"type": "user", "id": who},
            "action": {"name": action},
            "resource": {"type": "account", "id": GLOBEX},
        })
    };
    let mut out = Vec::new();
    for (who, action) in pairs {
        let (status, body) = server.post("/v1/is_authorized", &check(who, action)).await;
        out.push(("is_authorized", status, body));
        let (status, body) = server
            .post("/access/v1/evaluation", &authzen(who, action))
            .await;
        out.push(("evaluation", status, body));
    }
    let items: Vec<Value> = pairs.iter().map(|(w, a)| check(w, a)).collect();
    let (status, body) = server
        .post("/v1/is_authorized/batch", &json!({"requests": items}))
        .await;
    out.push(("batch", status, body));
    let items: Vec<Value> = pairs.iter().map(|(w, a)| authzen(w, a)).collect();
    let (status, body) = server
        .post("/access/v1/evaluations", &json!({"evaluations": items}))
        .await;
    out.push(("evaluations", status, body));
    out
}

/// Asserts that no answer allows anything: each is a 200 of Denies or a 503.
fn assert_no_allow(what: &str, answers: &[(&'static str, StatusCode, Value)]) {
    for (endpoint, status, body) in answers {
        assert!(
            *status == StatusCode::OK || *status == StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {endpoint} answered {status}: {body}"
        );
        assert_eq!(allows(body), 0, "{what}: {endpoint} allowed: {body}");
        if *status == StatusCode::OK {
            assert!(
                decisions(body) > 0,
                "{what}: {endpoint}: no decision in {body}"
            );
        }
    }
}

/// Asserts that every answer is a 200 and every decision in it an Allow (the healthy control).
fn assert_all_allow(what: &str, answers: &[(&'static str, StatusCode, Value)]) {
    for (endpoint, status, body) in answers {
        assert_eq!(*status, StatusCode::OK, "{what}: {endpoint}: {body}");
        let n = decisions(body);
        assert!(n > 0, "{what}: {endpoint}: no decision in {body}");
        assert_eq!(allows(body), n, "{what}: {endpoint} denied: {body}");
    }
}

/// Everything a failed write must leave alone: the state document, the audit log, the outbox.
#[derive(Debug, PartialEq)]
struct Recorded {
    state: Value,
    audit: Value,
    events: Value,
}

async fn record(server: &TestServer) -> Recorded {
    let mut parts = Vec::new();
    for path in [
        "/v1/admin/export",
        "/v1/audit?limit=1000",
        "/v1/events?limit=1000",
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        parts.push(body);
    }
    let events = parts.pop().unwrap();
    let audit = parts.pop().unwrap();
    let state = parts.pop().unwrap();
    Recorded {
        state,
        audit,
        events,
    }
}

/// Puts the agency state back (starting a server per case would cost a policy load each, which
/// is slow in a debug build). The audit log and the outbox keep growing: each case records its
/// own "before".
async fn reset(server: &TestServer) {
    server.import(&support::agency()).await;
}

async fn readyz(server: &TestServer) -> (StatusCode, Value) {
    server.get("/readyz").await
}

/// A command of the API that succeeds on the agency state, with the status it succeeds with.
#[derive(Clone)]
struct Command {
    name: &'static str,
    method: Method,
    path: String,
    body: Value,
    success: StatusCode,
}

fn command(name: &'static str, method: Method, path: &str, body: Value, success: u16) -> Command {
    Command {
        name,
        method,
        path: path.to_owned(),
        body,
        success: StatusCode::from_u16(success).unwrap(),
    }
}

/// Commands that change the state in different ways: a client-side create (a new user and a
/// `user.created` event), a seat change, a CAM add with the PERM-2 clamp (many decisions), a
/// deactivation, a CAM permission-set change, a client-side removal, an access link (a side
/// table record).
fn commands() -> Vec<Command> {
    vec![
        command(
            "create user",
            Method::POST,
            &format!("/v1/clients/{GLOBEX}/users"),
            json!({"actor": CLARA, "email": "new@globex.example", "seat": "core",
                   "permission_set": "Support"}),
            201,
        ),
        command(
            "set seat",
            Method::PUT,
            &format!("/v1/clients/{GLOBEX}/users/{SALLY}/seat"),
            json!({"actor": OWNER, "seat": "core"}),
            200,
        ),
        command(
            "add partner users",
            Method::POST,
            &format!("/v1/clients/{GLOBEX}/partner-users"),
            json!({"actor": ANN, "employees": [SUE], "permission_set": "Sales rep"}),
            201,
        ),
        command(
            "deactivate",
            Method::POST,
            &format!("/v1/clients/{GLOBEX}/partner-users/{BOB}/deactivate"),
            json!({"actor": ANN}),
            200,
        ),
        command(
            "partner permission set",
            Method::PUT,
            &format!("/v1/clients/{GLOBEX}/partner-users/{BOB}/permission-set"),
            json!({"actor": ANN, "permission_set": "Sales rep"}),
            200,
        ),
        command(
            "client-side removal",
            Method::DELETE,
            &format!("/v1/clients/{GLOBEX}/users/{BOB}"),
            json!({"actor": CLARA}),
            200,
        ),
        command(
            "access link",
            Method::POST,
            "/v1/partners/p-acme/access-links",
            json!({"actor": ANN}),
            201,
        ),
    ]
}

/// Sends a command, with an `Idempotency-Key` if given; returns status, body and whether the
/// answer says it is a replay.
async fn send(
    server: &TestServer,
    command: &Command,
    key: Option<&str>,
) -> (StatusCode, Value, bool) {
    let mut request = server
        .client
        .request(command.method.clone(), server.url(&command.path))
        .json(&command.body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        replayed,
    )
}

/// Asserts the 503 `unavailable` answer of a write the store did not take.
fn assert_unavailable(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{what}: {body}");
}

/// Moves a fault through every position of a command's write transaction: at each position the
/// command must answer 503 and change nothing (state, audit, outbox); the first position past
/// the command's last read or write lets it through, and it must then succeed. Returns how
/// many positions failed it.
async fn sweep(
    server: &TestServer,
    store: &FaultStore,
    command: &Command,
    arm: impl Fn(&FaultStore, u64),
    what: &str,
) -> u64 {
    reset(server).await;
    let before = record(server).await;
    for n in 1..=1000 {
        let fired = store.injected();
        arm(store, n);
        let (status, body, _) = send(server, command, None).await;
        store.heal();
        if store.injected() == fired {
            // The command ran past position n: nothing was injected, and it succeeded.
            assert_eq!(
                status, command.success,
                "{}: {what} #{n} fired nothing, so the command should have succeeded: {body}",
                command.name
            );
            assert_ne!(
                record(server).await,
                before,
                "{}: succeeded without changing anything",
                command.name
            );
            return n - 1;
        }
        let label = format!("{}: {what} #{n}", command.name);
        assert_unavailable(&label, status, &body);
        assert_eq!(record(server).await, before, "{label} changed something");
    }
    panic!("{}: more than 1000 {what}s", command.name);
}

// =============================================================================================
// Store read errors

/// Every point read a check makes, made to fail one at a time on a cold cache: each time the
/// check is a Deny with an error entry, on every endpoint; and healed, the same check is the
/// Allow it should be.
#[tokio::test]
async fn a_check_whose_nth_store_read_fails_is_a_deny_on_every_endpoint() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    for (who, action) in ALLOWED {
        server.app.clear_cache();
        store.count_view_reads();
        let healthy = server.check(who, action, GLOBEX).await;
        assert_eq!(healthy["decision"], "Allow", "{who} {action}: {healthy}");
        let reads = store.view_reads();
        assert!(
            reads >= 2,
            "{who} {action}: only {reads} reads on a cold cache"
        );

        for n in 1..=reads {
            server.app.clear_cache();
            let fired = store.injected();
            store.fail_view_read(n);
            let answer = server.check(who, action, GLOBEX).await;
            store.heal();
            assert_eq!(
                store.injected(),
                fired + 1,
                "{who} {action}: read #{n} did not fail"
            );
            assert_eq!(
                answer["decision"], "Deny",
                "{who} {action}, read #{n}: {answer}"
            );
            assert!(
                answer["diagnostics"]["errors"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty()),
                "{who} {action}, read #{n}: a fail-closed Deny names its error: {answer}"
            );
        }

        // The same position on the other endpoints (the last read: the deepest into the
        // entity build).
        for endpoint in [
            "/access/v1/evaluation",
            "/v1/is_authorized/batch",
            "/access/v1/evaluations",
        ] {
            server.app.clear_cache();
            store.fail_view_read(reads);
            let fired = store.injected();
            let body = match endpoint {
                "/access/v1/evaluation" => json!({"subject": {"type": "user", "id": who},
                    "action": {"name": action}, "resource": {"type": "account", "id": GLOBEX}}),
                "/access/v1/evaluations" => {
                    json!({"evaluations": [{"subject": {"type": "user", "id": who},
                    "action": {"name": action}, "resource": {"type": "account", "id": GLOBEX}}]})
                }
                _ => json!({"requests": [{"principal": format!("Hub::User::\"{who}\""),
                    "action": action, "resource": format!("Hub::Account::\"{GLOBEX}\"")}]}),
            };
            let (status, answer) = server.post(endpoint, &body).await;
            store.heal();
            assert_eq!(
                store.injected(),
                fired + 1,
                "{endpoint}: the read did not fail"
            );
            assert_eq!(status, StatusCode::OK, "{endpoint}: {answer}");
            assert_eq!(decisions(&answer), 1, "{endpoint}: {answer}");
            assert_eq!(allows(&answer), 0, "{endpoint}: {who} {action}: {answer}");
        }
    }
    // Healed: the real decisions, on every endpoint.
    server.app.clear_cache();
    assert_all_allow("healed", &ask_everywhere(&server, &ALLOWED).await);
}

/// A batch in which one item's read fails: that item is a Deny with an error, the others are
/// decided normally (a failure does not spill over, nor is it hidden).
#[tokio::test]
async fn a_read_failing_in_one_batch_item_denies_that_item_only() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    let requests: Vec<Value> = ALLOWED
        .iter()
        .map(|(who, action)| {
            json!({"principal": format!("Hub::User::\"{who}\""), "action": action,
                   "resource": format!("Hub::Account::\"{GLOBEX}\"")})
        })
        .collect();
    server.app.clear_cache();
    store.count_view_reads();
    let (status, healthy) = server
        .post("/v1/is_authorized/batch", &json!({"requests": requests}))
        .await;
    assert_eq!(status, StatusCode::OK, "{healthy}");
    assert_eq!(allows(&healthy), ALLOWED.len(), "{healthy}");
    let reads = store.view_reads();

    for n in 1..=reads {
        server.app.clear_cache();
        store.fail_view_read(n);
        let (status, answer) = server
            .post("/v1/is_authorized/batch", &json!({"requests": requests}))
            .await;
        store.heal();
        assert_eq!(status, StatusCode::OK, "read #{n}: {answer}");
        let results = answer["results"].as_array().unwrap();
        let denied: Vec<&Value> = results
            .iter()
            .filter(|r| r["decision"] != "Allow")
            .collect();
        assert_eq!(
            denied.len(),
            1,
            "read #{n}: exactly one item read the failing record: {answer}"
        );
        assert!(
            denied[0]["diagnostics"]["errors"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "read #{n}: {answer}"
        );
    }
}

/// A store that cannot be opened for reading nor written: every check endpoint denies (also
/// for answers the cache could give), `/readyz` is 503 naming the store, every command and
/// admin write is 503, admin reads are 503; healed, all of it works again and nothing changed.
#[tokio::test]
async fn a_store_that_is_down_denies_everywhere_refuses_every_write_and_readyz_follows() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    // Warm the cache: these answers could be served without the store.
    assert_all_allow("warm", &ask_everywhere(&server, &ALLOWED).await);
    let before = record(&server).await;

    store.faults.open_fails.store(true, Ordering::SeqCst);
    store.faults.begin_write_fails.store(true, Ordering::SeqCst);
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["store"], false, "{body}");
    assert_eq!(body["ready"], false, "{body}");

    assert_no_allow("store down", &ask_everywhere(&server, &ALLOWED).await);
    for command in commands() {
        let (status, body, _) = send(&server, &command, None).await;
        assert_unavailable(command.name, status, &body);
    }
    let (status, body) = server
        .post("/v1/admin/import?mode=replace", &support::demo())
        .await;
    assert_unavailable("import", status, &body);
    for path in ["/v1/admin/export", "/v1/audit", "/v1/events"] {
        let (status, body) = server.get(path).await;
        assert_unavailable(path, status, &body);
    }

    store.heal();
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true, "{body}");
    assert_all_allow("healed", &ask_everywhere(&server, &ALLOWED).await);
    assert_eq!(
        record(&server).await,
        before,
        "the outage changed something"
    );
}

/// Every read inside a command's write transaction, failed one at a time (in every transaction
/// the command runs, so a retry cannot slip past it): 503, nothing changed, not even the audit
/// log; past the last read, the command succeeds.
#[tokio::test]
async fn a_command_whose_nth_read_fails_is_a_503_and_changes_nothing() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    for command in commands() {
        let swept = sweep(
            &server,
            &store,
            &command,
            |store, n| store.faults.tx_read_at.store(n, Ordering::SeqCst),
            "transaction read",
        )
        .await;
        assert!(swept >= 2, "{}: only {swept} reads swept", command.name);
    }
}

// =============================================================================================
// Store write errors

/// Every write operation of a command (its state records, its audit record, its events, its
/// side tables), failed one at a time: 503, nothing changed; past the last write, success.
#[tokio::test]
async fn a_command_whose_nth_write_fails_is_a_503_and_changes_nothing() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    for command in commands() {
        let swept = sweep(
            &server,
            &store,
            &command,
            |store, n| store.faults.tx_write_at.store(n, Ordering::SeqCst),
            "transaction write",
        )
        .await;
        // At least the change itself and its audit record.
        assert!(swept >= 2, "{}: only {swept} writes swept", command.name);
    }
}

/// One kind of write fails and every other works. Each command is first run on a healthy
/// server to learn which kinds of write it makes (its state records, `append_log:audit`,
/// `append_log:events`, side tables); then, on a fresh one, each of those kinds is made to fail
/// in turn: 503 and nothing changed every time, so no success is answered without its audit
/// record (every applied command writes one, OP-1) and no command half-applies.
#[tokio::test]
async fn a_command_whose_audit_append_or_any_one_kind_of_write_fails_fails_whole() {
    let mut kinds_seen = std::collections::BTreeSet::new();
    let (dry, dry_store, _dry_dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    for command in commands() {
        reset(&dry).await;
        dry_store.take_ops();
        let (status, body, _) = send(&dry, &command, None).await;
        assert_eq!(status, command.success, "{}: {body}", command.name);
        let mut ops = dry_store.take_ops();
        ops.sort_unstable();
        ops.dedup();
        assert!(
            ops.contains(&"append_log:audit"),
            "{}: applied without an audit record: {ops:?}",
            command.name
        );

        reset(&server).await;
        let before = record(&server).await;
        for op in ops {
            kinds_seen.insert(op);
            let fired = store.injected();
            store.fail_op(op);
            let (status, body, _) = send(&server, &command, None).await;
            store.heal();
            let label = format!("{} with {op} failing", command.name);
            assert!(store.injected() > fired, "{label}: nothing fired: {body}");
            assert_unavailable(&label, status, &body);
            assert_eq!(record(&server).await, before, "{label} changed something");
        }
        // Healed, it applies.
        let (status, body, _) = send(&server, &command, None).await;
        assert_eq!(status, command.success, "{}: {body}", command.name);
    }
    // The commands between them write state records, the audit log, the outbox and a side
    // table: four kinds at least.
    assert!(kinds_seen.len() >= 4, "{kinds_seen:?}");
}

/// The work is done and every write is in the transaction, then the commit fails: 503 and
/// nothing changed. The idempotency answer was not kept either: the retry with the same key
/// is applied (not replayed as the failure), and only once.
#[tokio::test]
async fn a_failed_commit_is_a_503_changes_nothing_and_a_keyed_retry_applies_once() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    for (i, command) in commands().iter().enumerate() {
        let key = format!("retry-{i}");
        let key = Some(key.as_str());
        reset(&server).await;
        let before = record(&server).await;
        store.faults.commit_fails.store(true, Ordering::SeqCst);
        let (status, body, _) = send(&server, command, key).await;
        store.heal();
        assert!(
            store.injected() > 0,
            "{}: the commit was not reached",
            command.name
        );
        assert_unavailable(command.name, status, &body);
        assert_eq!(
            record(&server).await,
            before,
            "{}: a failed commit changed something",
            command.name
        );

        let (status, first, replayed) = send(&server, command, key).await;
        assert_eq!(status, command.success, "{}: retry: {first}", command.name);
        assert!(
            !replayed,
            "{}: the failure was kept as the key's answer",
            command.name
        );
        let after = record(&server).await;
        assert_ne!(after, before, "{}", command.name);
        let (status, again, replayed) = send(&server, command, key).await;
        assert_eq!(status, command.success, "{}: {again}", command.name);
        assert!(replayed, "{}: the second retry is a replay", command.name);
        // An access link's token is shown once: the replay withholds it.
        let mut expected = first.clone();
        if let Some(map) = expected.as_object_mut()
            && map.remove("token").is_some()
        {
            map.insert("token_withheld".into(), Value::Bool(true));
        }
        assert_eq!(again, expected, "{}", command.name);
        assert_eq!(
            record(&server).await,
            after,
            "{}: applied twice",
            command.name
        );
    }
}

/// The administration writes the same way: import (replace and merge) and the upserts, with a
/// failing commit and with a failing `replace_all`/`put_*`.
#[tokio::test]
async fn admin_writes_whose_commit_or_write_fails_are_503_and_change_nothing() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    let before = record(&server).await;
    let writes = [
        (
            "import replace",
            Method::POST,
            "/v1/admin/import?mode=replace".to_owned(),
            support::demo(),
        ),
        (
            "import merge",
            Method::POST,
            "/v1/admin/import?mode=merge".to_owned(),
            json!({"partners": [{"id": "p-merged", "name": "Merged", "tier": "provider",
                "email_domains": ["merged.example"], "employees": []}], "clients": []}),
        ),
        (
            "partner upsert",
            Method::PUT,
            "/v1/admin/partners/p-new".to_owned(),
            json!({"name": "New", "tier": "solutions_partner", "email_domains": ["new.example"]}),
        ),
        (
            "user upsert",
            Method::PUT,
            format!("/v1/admin/clients/{GLOBEX}/users/{SALLY}"),
            json!({"role": "standard", "seat": "core", "permissions": [], "status": "deactivated"}),
        ),
    ];
    for fault in ["commit", "first write"] {
        for (what, method, path, body) in &writes {
            let fired = store.injected();
            match fault {
                "commit" => store.faults.commit_fails.store(true, Ordering::SeqCst),
                _ => store.faults.tx_write_at.store(1, Ordering::SeqCst),
            }
            let (status, answer) = server.send(method.clone(), path, Some(body)).await;
            store.heal();
            let label = format!("{what}, failing {fault}");
            assert!(store.injected() > fired, "{label}: nothing fired: {answer}");
            assert_unavailable(&label, status, &answer);
            assert_eq!(record(&server).await, before, "{label} changed something");
        }
    }
    // Healed, each is a valid write.
    for (what, method, path, body) in &writes {
        let (status, answer) = server.send(method.clone(), path, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{what}: {answer}");
    }
}

/// A refused command writes only its audit record, in a transaction of its own. When that
/// write fails, the answer is still a refusal (or 503), never a success, and nothing changed.
#[tokio::test]
async fn a_refused_command_whose_audit_write_fails_is_still_refused_and_changes_nothing() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    let before = record(&server).await;
    // Sally holds no users.add_edit: the policies deny her creating a user (403).
    let denied = command(
        "denied create",
        Method::POST,
        &format!("/v1/clients/{GLOBEX}/users"),
        json!({"actor": SALLY, "email": "new@globex.example", "seat": "core",
               "permission_set": "Support"}),
        403,
    );
    store.fail_op("append_log:audit");
    let (status, body, _) = send(&server, &denied, None).await;
    store.heal();
    assert!(
        store.injected() > 0,
        "the refusal's audit record was not attempted"
    );
    assert!(
        status == StatusCode::FORBIDDEN || status == StatusCode::SERVICE_UNAVAILABLE,
        "{status}: {body}"
    );
    assert_eq!(record(&server).await, before);
    // Healed, the refusal is audited.
    let (status, body, _) = send(&server, &denied, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let after = record(&server).await;
    assert_eq!(after.state, before.state);
    assert_ne!(after.audit, before.audit, "a refusal is audited");
}

// =============================================================================================
// A panic inside a handler

/// A store whose reads panic: the check endpoints, the commands, the admin reads and
/// `/readyz` answer 503 (the panic is caught, the process lives), never an Allow; healed, the
/// server answers normally, nothing was changed, and the command that panicked can be applied.
#[tokio::test]
async fn a_panicking_store_read_is_a_503_never_an_allow_and_the_server_recovers() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    let before = record(&server).await;
    server.app.clear_cache();

    store.faults.reads_panic.store(true, Ordering::SeqCst);
    let answers = ask_everywhere(&server, &ALLOWED).await;
    let (ready, ready_body) = readyz(&server).await;
    let mut command_answers = Vec::new();
    for command in commands() {
        command_answers.push((command.name, send(&server, &command, None).await));
    }
    let (export_status, export_body) = server.get("/v1/admin/export").await;
    store.heal();

    assert!(store.injected() > 0, "nothing panicked");
    for (endpoint, status, body) in &answers {
        assert_eq!(
            *status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{endpoint}: {body}"
        );
        assert_eq!(allows(body), 0, "{endpoint}: {body}");
    }
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE, "{ready_body}");
    for (name, (status, body, _)) in &command_answers {
        assert_unavailable(name, *status, body);
    }
    assert_unavailable("export", export_status, &export_body);

    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        record(&server).await,
        before,
        "a panicking command changed something"
    );
    assert_all_allow("after the panics", &ask_everywhere(&server, &ALLOWED).await);
    let create = &commands()[0];
    let (status, body, _) = send(&server, create, None).await;
    assert_eq!(status, create.success, "{body}");
}

/// The same panicking store after the cache was warmed: answers the cache could give must not
/// be Allows while `/readyz` reports the store down, as they are not for a store whose reads
/// return errors (`tests/service/ops.rs`).
#[tokio::test]
async fn a_panicking_store_gives_no_allow_even_from_the_cache() {
    let (server, store, _dir) =
        faulty_server(&support::agency(), harness::Options::default()).await;
    assert_all_allow("warm", &ask_everywhere(&server, &ALLOWED).await);
    store.faults.reads_panic.store(true, Ordering::SeqCst);
    let (ready, body) = readyz(&server).await;
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // Give the background probe (every second) time to run against the panicking store.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let answers = ask_everywhere(&server, &ALLOWED).await;
    store.heal();
    assert_no_allow("panicking store, warm cache", &answers);
}

// =============================================================================================
// No policies

/// Starts the real binary on `policies`, expecting it to refuse: it exits with a failure and
/// the message, and never listens.
fn assert_refuses_to_start(policies: &Path, expected: &[&str]) {
    let data = tempfile::tempdir().unwrap();
    let port = crate::support::process::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--data", data.path().to_str().unwrap()])
        .args(["--policies", policies.to_str().unwrap()])
        .args(["--schema", support::root().join("schema").to_str().unwrap()])
        .env_remove("PARTNER_ACCESS_CONFIG")
        .env_remove("PARTNER_ACCESS_TOKENS")
        .env_remove("PARTNER_ACCESS_ADMIN_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the sidecar started on {}", policies.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit {status}: {stderr}");
    for needle in expected {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something listens on the sidecar's port"
    );
}

/// A policies directory with no policy files, or with only invalid ones: the sidecar refuses to
/// start (exit status 1, the reason on stderr) rather than serve without rules.
#[test]
fn no_policy_files_or_only_invalid_ones_and_the_sidecar_refuses_to_start() {
    let empty = tempfile::tempdir().unwrap();
    assert_refuses_to_start(empty.path(), &["policies do not load", "no `.cedar` files"]);

    let invalid = tempfile::tempdir().unwrap();
    std::fs::write(
        invalid.path().join("a.cedar"),
        "@id(\"a\")\npermit(principal, action, resource) when { principal. };\n",
    )
    .unwrap();
    std::fs::write(
        invalid.path().join("b.cedar"),
        "permit(principal, action, resource);\n",
    )
    .unwrap();
    assert_refuses_to_start(invalid.path(), &["policies do not load", "a.cedar:2"]);

    // Each file valid Cedar, but not against the schema.
    let unvalidated = tempfile::tempdir().unwrap();
    std::fs::write(
        unvalidated.path().join("a.cedar"),
        "@id(\"a\")\npermit(principal, action == Hub::Action::\"no.such.action\", resource);\n",
    )
    .unwrap();
    assert_refuses_to_start(unvalidated.path(), &["policies do not load", "a.cedar"]);
}

/// A policies directory whose only file holds no policy (comments only).
fn comments_only() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("empty.cedar"),
        "// Every policy was deleted by mistake.\n",
    )
    .unwrap();
    dir
}

/// With no policy in force: `/readyz` is 503 (`policies: false`), every check of every
/// endpoint is a Deny (the permits that would allow are gone; Cedar denies by default), and
/// every command is a 403 that changes no state (its refusal is audited, as any refusal).
async fn assert_denies_everything(server: &TestServer, what: &str) {
    let (status, body) = readyz(server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(body["policies"], false, "{what}: {body}");
    let users = [OWNER, CLARA, SALLY, ANN, BOB];
    let pairs: Vec<(&str, &str)> = users
        .iter()
        .flat_map(|u| CHECK_ACTIONS.iter().map(move |a| (*u, *a)))
        .collect();
    let answers = ask_everywhere(server, &pairs).await;
    assert_no_allow(what, &answers);
    for (endpoint, status, _) in &answers {
        assert_eq!(*status, StatusCode::OK, "{what}: {endpoint}");
    }
    let before = record(server).await;
    for command in commands() {
        let (status, body, _) = send(server, &command, None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{what}: {}: {body}",
            command.name
        );
        assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
    }
    assert_eq!(record(server).await.state, before.state, "{what}");
}

/// A directory whose policy files hold no policy is valid Cedar and loads as an empty set: the
/// sidecar starts (unlike with no file at all), but is not ready and denies everything.
#[tokio::test]
async fn a_policy_set_with_no_policies_denies_everything_and_is_not_ready() {
    let empty = comments_only();
    let options = harness::Options {
        policies: empty.path().to_owned(),
        ..Default::default()
    };
    let (server, _store, _dir) = faulty_server(&support::agency(), options).await;
    assert_denies_everything(&server, "started with no policies").await;
}

/// Reloading an empty set on a running sidecar is accepted (it is valid), and from then on the
/// sidecar denies everything and says it is not ready; reloading the real set restores both.
#[tokio::test]
async fn reloading_an_empty_policy_set_denies_everything_until_the_rules_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let copy_real = || {
        for entry in std::fs::read_dir(support::root().join("policies")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, policies.join(path.file_name().unwrap())).unwrap();
        }
    };
    copy_real();
    let options = harness::Options {
        policies: policies.clone(),
        ..Default::default()
    };
    let (server, _store, _data) = faulty_server(&support::agency(), options).await;
    assert_all_allow("real set", &ask_everywhere(&server, &ALLOWED).await);

    for entry in std::fs::read_dir(&policies).unwrap() {
        std::fs::write(entry.unwrap().path(), "// emptied\n").unwrap();
    }
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["policies"], 0, "{body}");
    assert_denies_everything(&server, "reloaded to no policies").await;

    copy_real();
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_all_allow("real set again", &ask_everywhere(&server, &ALLOWED).await);
}

// =============================================================================================
// A forbid that errors at evaluation

/// A copy of the real policies and schema plus `extra.cedar`.
fn policies_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["policies", "schema"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(support::root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("policies/extra.cedar"), extra).unwrap();
    dir
}

/// A forbid that is meant never to apply (its condition is `i64::MAX + 1 < 0`, false in
/// arithmetic) but errors when evaluated (Cedar checks for overflow). It passes strict
/// validation, so an author can ship it. Cedar skips a policy that errors; for a forbid that
/// would turn the permits' Allow into an Allow, so the sidecar must deny instead.
const ERRORING_FORBID: &str = r#"
/// Meant to never apply; overflows at evaluation.
@id("overflowing-forbid")
@rules("CAP-7")
forbid (
  principal is Hub::User,
  action in [Hub::Action::"crm.objects.edit", Hub::Action::"user.create"],
  resource is Hub::Account
)
when { 9223372036854775807 + 1 < 0 };
"#;

#[tokio::test]
async fn a_forbid_that_errors_denies_what_the_permits_allow() {
    // The control: without the forbid, the permits allow ann to edit and clara to create.
    let (plain, _s, _d) = faulty_server(&support::agency(), harness::Options::default()).await;
    assert_all_allow(
        "control",
        &ask_everywhere(&plain, &[(ANN, "crm.objects.edit")]).await,
    );

    let dir = policies_with(ERRORING_FORBID);
    let options = harness::Options {
        policies: dir.path().join("policies"),
        schema: dir.path().join("schema"),
        ..Default::default()
    };
    let (server, _store, _data) = faulty_server(&support::agency(), options).await;
    // The set loads: the error only shows at evaluation.
    let (status, body) = readyz(&server).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let answers = ask_everywhere(&server, &[(ANN, "crm.objects.edit")]).await;
    assert_no_allow("erroring forbid", &answers);
    let (_, _, single) = &answers[0];
    assert_eq!(
        single["diagnostics"]["reasons"],
        json!(["overflowing-forbid"]),
        "{single}"
    );
    assert!(
        single["diagnostics"]["errors"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("overflowing-forbid")))),
        "{single}"
    );
    // Other actions are decided as before.
    assert_all_allow(
        "other action",
        &ask_everywhere(&server, &[(ANN, "crm.objects.view")]).await,
    );

    // A command whose authorization meets the erroring forbid is refused and changes no state.
    let create = &commands()[0];
    let before = record(&server).await;
    let (status, body, _) = send(&server, create, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(record(&server).await.state, before.state);
    let (status, body, _) = send(&plain, create, None).await;
    assert_eq!(status, create.success, "control: {body}");
}
