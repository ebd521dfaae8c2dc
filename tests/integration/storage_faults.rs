//! Storage faults a running sidecar meets on its own disk, with the real redb store: its store
//! file removed or replaced while it runs, the disk full and then freed, and a damaged file.
//!
//! - **File removed or replaced** (removed, renamed away, replaced by a copy): `/readyz` says
//!   503 and why, every write is refused (no acknowledged write goes into a file a restart would
//!   not see), checks go on from the state the sidecar holds, and a restart on a directory whose
//!   store file is gone refuses to start with an empty store.
//! - **Disk full, then freed** (through the store's faulty disk, [`DiskFaults`]): random
//!   sequences of commands, checks and fill/free steps against a model. While the disk is full
//!   commands are 503 and change nothing, readiness fails after a failed write, checks keep
//!   answering; once it is freed the next write succeeds without a restart and readiness
//!   recovers. After the run, a restart finds exactly the acknowledged commands.
//! - **A damaged file**: bytes of a real store file flipped, zeroed or cut, hundreds of ways.
//!   Opening it is a clear refusal or a store whose every read is a value or an error, never a
//!   panic; once damage is seen, the store's health fails naming the file.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use partner_access::store::{DiskFaults, Log, RedbStore, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::harness::{self, TestServer};

const GLOBEX: &str = "c-globex";
const CLARA: &str = "clara@globex.example";
const ANN: &str = "ann@acme.example";

async fn create_user(server: &TestServer, email: &str) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/clients/{GLOBEX}/users"),
            &json!({"actor": CLARA, "email": email, "seat": "core", "permission_set": "Support"}),
        )
        .await
}

/// Creates a user with an `Idempotency-Key` (the e-mail): status, body, replayed.
async fn create_user_keyed(server: &TestServer, email: &str) -> (StatusCode, Value, bool) {
    let response = server
        .client
        .post(server.url(&format!("/v1/clients/{GLOBEX}/users")))
        .header("idempotency-key", email)
        .json(&json!({"actor": CLARA, "email": email, "seat": "core", "permission_set": "Support"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        replayed,
    )
}

/// The e-mails of c-globex's users, read from the store directly.
fn globex_users(store: &dyn Store) -> Vec<String> {
    let doc = store.snapshot().unwrap().export().unwrap();
    let globex = doc
        .clients
        .iter()
        .find(|c| c.id.as_str() == GLOBEX)
        .unwrap();
    let mut users: Vec<String> = globex.users.iter().map(|u| u.email.to_string()).collect();
    users.sort();
    users
}

/// A server on the redb store in a fresh directory (these faults are the redb file's, so the
/// PostgreSQL store the other suites may be pointed at is not used here).
async fn start_redb() -> TestServer {
    harness::start_redb(harness::Options::default()).await
}

async fn check_allows(server: &TestServer) -> bool {
    server.check(ANN, "crm.objects.edit", GLOBEX).await["decision"] == "Allow"
}

// =============================================================================================
// The store file removed or replaced under a running sidecar

#[derive(Debug, Clone, Copy)]
enum FileFault {
    Removed,
    RenamedAway,
    ReplacedByACopy,
}

impl FileFault {
    fn apply(self, file: &Path) {
        match self {
            FileFault::Removed => std::fs::remove_file(file).unwrap(),
            FileFault::RenamedAway => std::fs::rename(file, file.with_extension("old")).unwrap(),
            FileFault::ReplacedByACopy => {
                let copy = file.with_extension("copy");
                std::fs::copy(file, &copy).unwrap();
                std::fs::rename(&copy, file).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn a_store_file_removed_or_replaced_under_a_running_sidecar_refuses_writes_and_readiness() {
    for fault in [
        FileFault::Removed,
        FileFault::RenamedAway,
        FileFault::ReplacedByACopy,
    ] {
        let server = start_redb().await;
        server.import(&support::agency()).await;
        let (status, body) = create_user(&server, "before@globex.example").await;
        assert_eq!(status, StatusCode::CREATED, "{fault:?}: {body}");
        let file = server.data.join("state.redb");

        fault.apply(&file);

        let (status, ready) = server.get("/readyz").await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{fault:?}: {ready}"
        );
        assert_eq!(ready["writable"], false, "{fault:?}: {ready}");
        assert_eq!(ready["store"], true, "{fault:?}: {ready}");
        let problem = ready["problem"].as_str().unwrap();
        assert!(
            problem.contains("removed or replaced") && problem.contains("state.redb"),
            "{fault:?}: {problem}"
        );

        let (status, body) = create_user(&server, "after@globex.example").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{fault:?}: {body}");
        assert_eq!(body["error"]["code"], "unavailable", "{fault:?}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("removed or replaced"),
            "{fault:?}: {message}"
        );
        let (status, body) = server
            .post("/v1/admin/import?mode=replace", &support::agency())
            .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{fault:?}: import {body}"
        );

        // Checks go on from the state the sidecar holds, which is every acknowledged write.
        assert!(check_allows(&server).await, "{fault:?}");

        let (data, _, dir) = server.stop().await;
        match fault {
            FileFault::Removed | FileFault::RenamedAway => {
                let refused = RedbStore::open(&data).unwrap_err();
                assert!(
                    matches!(refused, StoreError::Missing { .. }),
                    "{fault:?}: {refused}"
                );
                let message = refused.to_string();
                assert!(
                    message.contains("state.redb is missing") || message.contains("is missing"),
                    "{message}"
                );
                assert!(message.contains("STORE"), "{message}");
                assert!(!data.join("state.redb").exists(), "nothing was created");
                // Deleting the marker is the operator's way to start empty on purpose.
                std::fs::remove_file(data.join("STORE")).unwrap();
                let empty = RedbStore::open(&data).unwrap();
                assert!(
                    empty
                        .snapshot()
                        .unwrap()
                        .export()
                        .unwrap()
                        .clients
                        .is_empty()
                );
            }
            FileFault::ReplacedByACopy => {
                // The copy was taken after the acknowledged write: it is all there.
                let reopened = RedbStore::open(&data).unwrap();
                let users = globex_users(&reopened);
                assert!(
                    users.contains(&"before@globex.example".to_owned()),
                    "{users:?}"
                );
                assert!(
                    !users.contains(&"after@globex.example".to_owned()),
                    "{users:?}"
                );
            }
        }
        drop(dir);
    }
}

#[test]
fn an_existing_store_without_a_marker_gets_one_and_a_fresh_directory_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    drop(store);
    assert!(
        dir.path().join("STORE").exists(),
        "a new store writes its marker"
    );
    // A store from before markers existed: opening it writes one.
    std::fs::remove_file(dir.path().join("STORE")).unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    assert!(dir.path().join("STORE").exists());
}

// =============================================================================================
// Disk full, then freed

#[derive(Debug, Clone, Copy)]
enum Step {
    Fill,
    Free,
    Command,
    Check,
    Ready,
}

fn step(rng: &mut StdRng) -> Step {
    match rng.random_range(0..10) {
        0 => Step::Fill,
        1 => Step::Free,
        2..=5 => Step::Command,
        6..=7 => Step::Check,
        _ => Step::Ready,
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_and_readiness_until_freed_then_recovers_without_a_restart() {
    let mut recoveries = Vec::new();
    for seed in 0..4u64 {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        let disk = Arc::new(DiskFaults::default());
        let store = Arc::new(RedbStore::open_with_disk_faults(&data, disk.clone()).unwrap());
        let server = harness::start_on(store, data.clone(), harness::Options::default()).await;
        server.import(&support::agency()).await;
        let mut expected = globex_users(server.app.store());

        let mut rng = StdRng::seed_from_u64(seed);
        let mut full = false;
        // Commands answered "outcome unknown", to retry with their key once the disk is back.
        let mut unknown: Vec<String> = Vec::new();
        // A write failed since the disk filled: readiness must say so.
        let mut failed_while_full = false;
        for n in 0..40 {
            let what = step(&mut rng);
            match what {
                Step::Fill => {
                    disk.fill();
                    full = true;
                }
                Step::Free => {
                    disk.free();
                    if full && failed_while_full {
                        // Time until readiness says ready again, without a restart.
                        let started = Instant::now();
                        loop {
                            let (status, _) = server.get("/readyz").await;
                            if status == StatusCode::OK {
                                break;
                            }
                            assert!(started.elapsed() < Duration::from_secs(10), "no recovery");
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        recoveries.push(started.elapsed());
                    }
                    full = false;
                    failed_while_full = false;
                    for email in unknown.drain(..) {
                        let (status, body, _) = create_user_keyed(&server, &email).await;
                        assert_eq!(status, StatusCode::CREATED, "retry of {email}: {body}");
                        expected.push(email);
                    }
                    expected.sort();
                }
                Step::Command => {
                    let email = format!("u{seed}-{n}@globex.example");
                    let (status, body, _) = create_user_keyed(&server, &email).await;
                    if full {
                        // Refused before its commit (nothing written), or at its commit
                        // (outcome unknown: the retry after the space is back tells).
                        let code = body["error"]["code"].as_str().unwrap();
                        match status.as_u16() {
                            503 => assert!(
                                body["error"]["message"]
                                    .as_str()
                                    .unwrap()
                                    .contains("disk refused a write"),
                                "{seed}/{n}: {body}"
                            ),
                            504 => {
                                assert_eq!(code, "outcome_unknown", "{body}");
                                unknown.push(email);
                            }
                            other => panic!("{seed}/{n}: {other} on a full disk: {body}"),
                        }
                        failed_while_full = true;
                    } else {
                        assert_eq!(status, StatusCode::CREATED, "{seed}/{n}: {body}");
                        expected.push(email);
                        expected.sort();
                    }
                }
                Step::Check => assert!(check_allows(&server).await, "{seed}/{n}: checks go on"),
                Step::Ready => {
                    let (status, ready) = server.get("/readyz").await;
                    if full && failed_while_full {
                        assert_eq!(
                            status,
                            StatusCode::SERVICE_UNAVAILABLE,
                            "{seed}/{n}: {ready}"
                        );
                        assert_eq!(ready["writable"], false, "{ready}");
                        assert!(
                            ready["problem"].as_str().unwrap().contains("disk"),
                            "{ready}"
                        );
                    } else if !full {
                        assert_eq!(status, StatusCode::OK, "{seed}/{n}: {ready}");
                    }
                }
            }
        }
        disk.free();
        for email in unknown.drain(..) {
            let (status, body, _) = create_user_keyed(&server, &email).await;
            assert_eq!(status, StatusCode::CREATED, "retry of {email}: {body}");
            expected.push(email);
        }
        let (status, body) = create_user(&server, &format!("last{seed}@globex.example")).await;
        assert_eq!(status, StatusCode::CREATED, "{seed}: {body}");
        expected.push(format!("last{seed}@globex.example"));
        expected.sort();
        let (data, _, _) = server.stop().await;
        // A restart on a plain store sees exactly the acknowledged commands.
        let reopened = RedbStore::open(&data).unwrap();
        assert_eq!(globex_users(&reopened), expected, "seed {seed}");
        drop(dir);
    }
    assert!(
        !recoveries.is_empty(),
        "the sequences freed a full disk after a failed write"
    );
    let slowest = recoveries.iter().max().unwrap();
    println!(
        "disk full then freed: {} recoveries, the slowest ready again {slowest:?} after the space was back",
        recoveries.len()
    );
}

/// Syncs fail while writes reach the file. The storage engine syncs inside a transaction too
/// (as it grows the file), so the command is refused before its commit ("nothing was
/// written") or at it ("outcome unknown"); either way a keyed retry once the disk is back
/// settles it, and the user exists exactly once.
#[tokio::test]
async fn a_failing_sync_never_double_applies_and_a_keyed_retry_settles_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let disk = Arc::new(DiskFaults::default());
    let store = Arc::new(RedbStore::open_with_disk_faults(&data, disk.clone()).unwrap());
    let server = harness::start_on(store, data.clone(), harness::Options::default()).await;
    server.import(&support::agency()).await;
    // Writes reach the file; only the sync fails: the commit may be in the file.
    disk.fail_syncs();
    let email = "synced@globex.example";
    let (status, body, _) = create_user_keyed(&server, email).await;
    match status.as_u16() {
        503 => assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nothing was written"),
            "{body}"
        ),
        504 => assert_eq!(body["error"]["code"], "outcome_unknown", "{body}"),
        other => panic!("{other}: {body}"),
    }
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    disk.free();
    // The retry with the key answers the true outcome, and the user exists exactly once.
    let (status, body, _) = create_user_keyed(&server, email).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let users = globex_users(server.app.store());
    assert_eq!(users.iter().filter(|u| *u == email).count(), 1, "{users:?}");
    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{ready}");
    // A check sees the user: the cache was not left behind by a commit it never heard of.
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &json!({"principal": format!("Hub::User::\"{email}\""), "action": "users.add_edit",
                    "resource": format!("Hub::Account::\"{GLOBEX}\"")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let errors = answer["errors"].as_array().map_or(0, Vec::len);
    assert_eq!(errors, 0, "the user is known: {answer}");
    drop(dir);
}

// =============================================================================================
// A damaged store file

/// A store file with the agency state, a few commands' worth of logs and side tables.
fn healthy_file() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    let doc = partner_access::domain::StateDocument::from_json_str(
        &serde_json::to_string(&support::agency()).unwrap(),
    )
    .unwrap();
    partner_access::store::write::<_, (), ()>(&store, |tx| {
        tx.replace_all(&doc)?;
        // Enough audit records to fill many pages of their own: damage lands there often.
        for n in 0..1_000 {
            let record = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(200));
            tx.append_log(Log::Audit, record.as_bytes())?;
        }
        Ok(())
    })
    .unwrap();
    drop(store);
    std::fs::read(dir.path().join("state.redb")).unwrap()
}

/// Reads everything a sidecar reads; every answer is a value or an error.
fn read_everything(store: &RedbStore) -> Result<(), StoreError> {
    let snapshot = store.snapshot()?;
    let doc = snapshot.export()?;
    for client in &doc.clients {
        for user in &client.users {
            snapshot.user(&user.email)?;
            snapshot.membership(&client.id, &user.email)?;
        }
    }
    snapshot.log_range(Log::Audit, 0, 1_000)?;
    snapshot.log_range(Log::Events, 0, 1_000)?;
    Ok(())
}

#[test]
fn a_damaged_store_file_is_a_clear_refusal_or_clear_errors_never_a_panic() {
    let healthy = healthy_file();
    let mut rng = StdRng::seed_from_u64(7);
    let (mut refused, mut damaged_reads, mut clean) = (0, 0, 0);
    for case in 0..300 {
        let mut bytes = healthy.clone();
        match rng.random_range(0..3) {
            0 => {
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => {
                let at = rng.random_range(0..bytes.len());
                let end = (at + rng.random_range(1..4096)).min(bytes.len());
                bytes[at..end].fill(0);
            }
            _ => bytes.truncate(rng.random_range(0..bytes.len())),
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("state.redb"), &bytes).unwrap();
        // As in a real data directory: the marker says a store is here, so a file cut to
        // nothing is refused, not set up as a new empty store.
        std::fs::write(dir.path().join("STORE"), b"").unwrap();
        let outcome = std::panic::catch_unwind(|| match RedbStore::open(dir.path()) {
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        StoreError::Damaged { .. }
                            | StoreError::Open { .. }
                            | StoreError::Missing { .. }
                    ),
                    "case {case}: {e:?}"
                );
                if let StoreError::Damaged { .. } = e {
                    assert!(e.to_string().contains("state.redb"), "{e}");
                    assert!(e.to_string().contains("restore the backup"), "{e}");
                }
                "refused"
            }
            Ok(store) => match read_everything(&store) {
                Ok(()) => "clean",
                Err(e) => {
                    if matches!(e, StoreError::Damaged { .. }) {
                        let health = store.health().unwrap_err();
                        assert!(
                            health.to_string().contains("the store is damaged")
                                && health.to_string().contains("state.redb"),
                            "case {case}: {health}"
                        );
                    }
                    "damaged"
                }
            },
        });
        match outcome {
            Ok("refused") => refused += 1,
            Ok("damaged") => damaged_reads += 1,
            Ok(_) => clean += 1,
            Err(_) => panic!("case {case}: a damaged file panicked out of the store"),
        }
    }
    println!(
        "damaged files: {refused} refused at open, {damaged_reads} failed reads, {clean} read clean"
    );
    assert!(
        refused > 0 && damaged_reads > 0,
        "the damage reached both paths"
    );
}

// =============================================================================================
// Backups and `check-store`

/// A damaged copy of `healthy` that the integrity check refuses.
fn damaged_file(healthy: &[u8]) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(3);
    loop {
        let mut bytes = healthy.to_vec();
        let at = rng.random_range(4096..bytes.len());
        let end = (at + rng.random_range(64..4096)).min(bytes.len());
        bytes[at..end].fill(0xA5);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.redb");
        std::fs::write(&file, &bytes).unwrap();
        if RedbStore::check_file(&file).is_err() {
            return bytes;
        }
    }
}

#[tokio::test]
async fn a_backup_taken_while_commands_run_holds_exactly_the_commands_up_to_its_revision() {
    let server = start_redb().await;
    server.import(&support::agency()).await;
    let base = server.base.clone();
    let writer = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut created = Vec::new();
        for n in 0..80 {
            let email = format!("w{n}@globex.example");
            let response = client
                .post(format!("{base}/v1/clients/{GLOBEX}/users"))
                .json(&json!({"actor": CLARA, "email": email, "seat": "core",
                              "permission_set": "Support"}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let body: Value = response.json().await.unwrap();
            created.push((email, body["revision"].as_u64().unwrap()));
        }
        created
    });
    let mut backups = Vec::new();
    while !writer.is_finished() || backups.is_empty() {
        let response = server
            .client
            .get(server.url("/v1/admin/backup"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        let revision: u64 = response.headers()["x-revision"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        backups.push((revision, response.bytes().await.unwrap()));
    }
    let created = writer.await.unwrap();
    for (revision, bytes) in &backups {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state.redb");
        std::fs::write(&file, bytes).unwrap();
        let found = RedbStore::check_file(&file).unwrap();
        assert_eq!(found.revision, *revision);
        let restored = RedbStore::open(dir.path()).unwrap();
        let users = globex_users(&restored);
        for (email, at) in &created {
            assert_eq!(
                users.contains(email),
                at <= revision,
                "{email} committed at {at}, backup at {revision}"
            );
        }
    }
    // No backup file is left behind in the data directory.
    let leftovers: Vec<_> = std::fs::read_dir(&server.data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("backup") || name.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    println!("{} backups taken while 80 commands ran", backups.len());
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_store_and_backup_on_the_command_line() {
    let healthy = healthy_file();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("state.redb"), &healthy).unwrap();
    let data_arg = data.to_str().unwrap();

    let (ok, out, err) = cli(&["check-store", "--data", data_arg]);
    assert!(ok, "{err}");
    assert!(out.contains("sound (revision"), "{out}");

    let copy = dir.path().join("copy.redb");
    let (ok, out, err) = cli(&["backup", "--data", data_arg, "--to", copy.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("backup of"), "{out}");
    let (ok, out, err) = cli(&["check-store", copy.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("sound"), "{out}");

    // A store a running sidecar holds: the message says what to do instead.
    let held = RedbStore::open(&data).unwrap();
    let (ok, _, err) = cli(&["backup", "--data", data_arg, "--to", copy.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("running sidecar") && err.contains("GET /v1/admin/backup"),
        "{err}"
    );
    drop(held);

    // A damaged file: exit 1, naming the file and what to do.
    let damaged = dir.path().join("damaged.redb");
    std::fs::write(&damaged, damaged_file(&healthy)).unwrap();
    let before = std::fs::read(&damaged).unwrap();
    let (ok, _, err) = cli(&["check-store", damaged.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("the store is damaged") && err.contains("damaged.redb"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&damaged).unwrap(),
        before,
        "check-store changes nothing"
    );

    let (ok, _, err) = cli(&[
        "check-store",
        dir.path().join("nothing.redb").to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("no such store file"), "{err}");
}
