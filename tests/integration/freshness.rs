//! Revocation freshness: once a revoke has answered, no check that starts
//! afterwards on the same sidecar answers Allow.
//!
//! The check path reads through a cache of store lookups and reuses entity slices; a revoke is
//! a durable commit that then publishes its revision and evicts what it changed
//! (`StateCache::committed`), while cache fills from snapshots older than the published
//! revision are refused. This test races exactly that: one writer revokes and grants back a
//! permission, round after round, while checker threads decide the permission non-stop (their
//! misses fill the cache concurrently with the writer's evictions, and one checker also empties
//! the cache every few checks so fills keep racing commits).
//!
//! Each round revokes through one of three write paths, so each eviction path is covered:
//!
//! - a client-side permission-set change by the client's super admin (`reports.access` goes);
//! - a Client Access Manager deactivation by the partner admin (`crm.objects.edit` is
//!   forbidden to a deactivated user), reactivated to grant back;
//! - an administrative user upsert that drops `hubs.access`.
//!
//! "Starts after the answer" is tracked with one sequence counter: the writer moves it on just
//! before it sends the revoke (or the grant) and again right after the answer came back; each
//! check reads it before it starts and after it ends. A check that began and ended within the
//! "revoked" phase must be a Deny; one within the "granted" phase must be an Allow (a stale Deny
//! would show the same flaw). Checks that overlap a write are not judged; they are counted.
//!
//! Default (CI, debug build): at least 100,000 judged checks that started after a revoke's
//! answer, 200 per revoke (500 revokes, 1,000 durable writes). Long mode, in release:
//!
//! ```sh
//! FRESHNESS_CHECKS=1000000 cargo test --release --test integration freshness:: -- --nocapture
//! ```
//!
//! The HTTP variant (`revoke_over_http_...`) does the same with far fewer rounds through
//! `PUT .../permission-set` and `POST /v1/is_authorized` on a real in-process server.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use partner_access::app::commands::CommandMeta;
use partner_access::app::commands::cam::{DeactivatePartnerUser, ReactivatePartnerUser};
use partner_access::app::commands::client_side::{
    SetClientPermissionSet, SetClientPermissionSetBody,
};
use partner_access::app::{App, AppSettings, ImportMode, UserUpsert};
use partner_access::domain::{
    ClientId, Email, Permission, PermissionSetName, Role, Seat, StateDocument, Status,
};
use partner_access::policy::CheckRequest;
use partner_access::store::{RedbStore, Store};
use serde_json::{Map, Value, json};

const CLIENT: &str = "c-fresh";
const OWNER: &str = "owner@fresh.example";
const ANN: &str = "ann@acme.example";
/// Loses `reports.access` by a client-side permission set.
const RITA: &str = "rita@fresh.example";
/// Deactivated from the Client Access Manager.
const BOB: &str = "bob@acme.example";
/// Loses `hubs.access` by an administrative upsert.
const CARL: &str = "carl@fresh.example";

/// Judged checks after a revoke wanted in the default mode.
const DEFAULT_CHECKS: u64 = 100_000;
/// Judged checks per phase the writer waits for before it moves on.
const REVOKED_PER_ROUND: u64 = 200;
const GRANTED_PER_ROUND: u64 = 10;
const CHECKERS: usize = 3;

fn state() -> StateDocument {
    StateDocument::from_json_value(json!({
        "partners": [{
            "id": "p-acme", "tier": "provider", "email_domains": ["acme.example"],
            "employees": [
                {"email": ANN, "super_admin": true, "employee_management": "view_edit"},
                {"email": BOB}
            ]
        }],
        "clients": [{
            "id": CLIENT, "pricing_model": "seat_based", "managed_by": "p-acme",
            "permission_sets": [
                {"name": "Reporter", "permissions": ["crm.objects.view", "reports.access"]},
                {"name": "Viewer", "permissions": ["crm.objects.view"]}
            ],
            "users": [
                {"email": OWNER, "role": "super_admin", "seat": "core"},
                {"email": RITA, "role": "standard", "seat": "core",
                 "permissions": ["crm.objects.view", "reports.access"]},
                {"email": ANN, "role": "partner_admin", "seat": "partner", "partner": "p-acme",
                 "permissions": ["crm.objects.view", "crm.objects.edit", "hubs.access",
                                 "apps.manage", "reports.access", "users.add_edit",
                                 "multi_account.manage"]},
                {"email": BOB, "role": "standard", "seat": "partner", "partner": "p-acme",
                 "permissions": ["crm.objects.edit"]},
                {"email": CARL, "role": "standard", "seat": "core", "permissions": ["hubs.access"]}
            ]
        }]
    }))
    .unwrap()
}

fn app(dir: &std::path::Path) -> Arc<App> {
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir).unwrap());
    let app = App::new(
        AppSettings {
            // Long enough that no entry expires during the test: only evictions make checks
            // fresh, so a missing eviction shows.
            cache_ttl: Duration::from_secs(3600),
            ..crate::support::settings()
        },
        store,
    )
    .unwrap();
    app.import(&state(), ImportMode::Replace, "tests").unwrap();
    Arc::new(app)
}

fn meta(actor: &str) -> CommandMeta {
    CommandMeta {
        actor: Email::parse(actor).unwrap(),
        idempotency_key: None,
        request_digest: String::new(),
    }
}

fn check_request(principal: &str, action: &str) -> CheckRequest {
    CheckRequest::from_parts(
        &json!({"type": "Hub::User", "id": principal}),
        &json!(action),
        &json!({"type": "Hub::Account", "id": CLIENT}),
        Map::new(),
    )
    .unwrap()
}

/// One way to take a permission away and give it back, and the check it changes.
struct Subject {
    name: &'static str,
    principal: &'static str,
    action: &'static str,
}

const SUBJECTS: [Subject; 3] = [
    Subject {
        name: "client-side permission set",
        principal: RITA,
        action: "reports.access",
    },
    Subject {
        name: "CAM deactivation",
        principal: BOB,
        action: "crm.objects.edit",
    },
    Subject {
        name: "admin user upsert",
        principal: CARL,
        action: "hubs.access",
    },
];

/// Revokes (`grant == false`) or grants back subject `s`; returns the revision it committed.
fn write(app: &App, s: usize, grant: bool) -> u64 {
    let client = ClientId::parse(CLIENT).unwrap();
    match s {
        0 => {
            let set = if grant { "Reporter" } else { "Viewer" };
            let command = SetClientPermissionSet {
                client,
                email: Email::parse(RITA).unwrap(),
                body: SetClientPermissionSetBody {
                    actor: Email::parse(OWNER).unwrap(),
                    permission_set: PermissionSetName::parse(set).unwrap(),
                },
            };
            app.run(&meta(OWNER), &command).unwrap().revision
        }
        1 => {
            let bob = Email::parse(BOB).unwrap();
            let answer = if grant {
                app.run(
                    &meta(ANN),
                    &ReactivatePartnerUser {
                        client,
                        employee: bob,
                    },
                )
            } else {
                app.run(
                    &meta(ANN),
                    &DeactivatePartnerUser {
                        client,
                        employee: bob,
                    },
                )
            };
            answer.unwrap().revision
        }
        _ => app
            .upsert_user(
                &client,
                &Email::parse(CARL).unwrap(),
                UserUpsert {
                    email: None,
                    role: Role::Standard,
                    seat: Seat::Core,
                    permissions: if grant {
                        vec![Permission::parse("hubs.access").unwrap()]
                    } else {
                        Vec::new()
                    },
                    status: Status::Active,
                    partner: None,
                    keep_billing: false,
                    paid_hubs: Vec::new(),
                },
                "tests",
            )
            .unwrap(),
    }
}

/// The phases of round `r`, as values of the sequence counter: `4r` granted (every subject
/// holds its permission), `4r + 1` revoke sent, `4r + 2` revoke answered, `4r + 3` grant sent;
/// `4r + 4` is the next round's "granted".
const REVOKED: u64 = 2;
const GRANTED: u64 = 0;

/// What the checkers saw.
#[derive(Default)]
struct Seen {
    judged_revoked: AtomicU64,
    judged_granted: AtomicU64,
    overlapping: AtomicU64,
    /// Checks that began and ended while a write was in flight (either answer is right).
    during_write: AtomicU64,
    /// Checks that did not concern the round's subject (fill traffic).
    others: AtomicU64,
    violations: Mutex<Vec<String>>,
    violation_count: AtomicU64,
}

impl Seen {
    fn violation(&self, text: String) {
        self.violation_count.fetch_add(1, Ordering::Relaxed);
        let mut list = self.violations.lock().unwrap();
        if list.len() < 10 {
            list.push(text);
        }
    }
}

/// Sets the flag when dropped, also while unwinding from a panic: the threads of a scope wait
/// for each other, so one that stops must make the others stop.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn checks_wanted() -> u64 {
    std::env::var("FRESHNESS_CHECKS")
        .ok()
        .map(|v| v.parse().expect("FRESHNESS_CHECKS is a number of checks"))
        .unwrap_or(DEFAULT_CHECKS)
}

/// Waits until `counter` reaches `target`, or gives up after a while (a checker starved by a
/// loaded machine must not hang the test; the totals are asserted at the end).
fn wait_for(counter: &AtomicU64, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while counter.load(Ordering::Relaxed) < target && Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// The store's directory: in memory (`/dev/shm`) where there is one. What is raced here is the
/// cache's ordering around a commit, not the disk: an fsync on a busy shared disk can take
/// 100 ms, and the rounds would wait on the disk instead of racing checks against commits.
fn data_dir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir()
        && let Ok(dir) = tempfile::Builder::new()
            .prefix("freshness-")
            .tempdir_in(shm)
    {
        return dir;
    }
    tempfile::tempdir().unwrap()
}

#[test]
fn no_check_started_after_a_revoke_answered_sees_allow() {
    let dir = data_dir();
    let app = app(dir.path());
    let wanted = checks_wanted();
    let phase = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let seen = Seen::default();
    let requests: Vec<CheckRequest> = SUBJECTS
        .iter()
        .map(|s| check_request(s.principal, s.action))
        .collect();
    // Always allowed; checked between the subject's checks so that other keys are filled too.
    let owner = check_request(OWNER, "billing.edit");
    let started = Instant::now();
    let mut rounds = 0u64;
    // Time spent in writes, per subject: what a round costs besides the checks.
    let mut write_time = [Duration::ZERO; 3];

    std::thread::scope(|scope| {
        for worker in 0..CHECKERS {
            let (app, phase, stop, seen, requests, owner) =
                (&app, &phase, &stop, &seen, &requests, &owner);
            scope.spawn(move || {
                // A checker that panics stops the writer too, instead of leaving it waiting.
                let _stop = StopOnDrop(stop);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    // Checker 0 empties the cache now and then: the next checks all miss and
                    // fill, racing the writer's commits and evictions.
                    if worker == 0 && n.is_multiple_of(64) {
                        app.clear_cache();
                    }
                    if n.is_multiple_of(32) {
                        let checked = app.check(owner).unwrap();
                        if !checked.decision.allowed {
                            seen.violation(format!("the owner was denied: {checked:?}"));
                        }
                        seen.others.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let before = phase.load(Ordering::SeqCst);
                    // While every subject holds its permission, any of them, so the one just
                    // granted back is checked too; otherwise the round's own subject.
                    let s = usize::try_from(if before % 4 == GRANTED {
                        n % 3
                    } else {
                        (before / 4) % 3
                    })
                    .unwrap();
                    let checked = app.check(&requests[s]).unwrap();
                    let after = phase.load(Ordering::SeqCst);
                    if before != after {
                        seen.overlapping.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let allowed = checked.decision.allowed;
                    match before % 4 {
                        REVOKED => {
                            seen.judged_revoked.fetch_add(1, Ordering::Relaxed);
                            if allowed {
                                seen.violation(format!(
                                    "stale Allow after the revoke of round {} ({}): {} {} \
                                     answered at revision {}: {:?}",
                                    before / 4,
                                    SUBJECTS[s].name,
                                    SUBJECTS[s].principal,
                                    SUBJECTS[s].action,
                                    checked.revision,
                                    checked.decision
                                ));
                            }
                        }
                        GRANTED => {
                            seen.judged_granted.fetch_add(1, Ordering::Relaxed);
                            if !allowed {
                                seen.violation(format!(
                                    "stale Deny after the grant before round {} ({}): {} {} \
                                     answered at revision {}: {:?}",
                                    before / 4,
                                    SUBJECTS[s].name,
                                    SUBJECTS[s].principal,
                                    SUBJECTS[s].action,
                                    checked.revision,
                                    checked.decision
                                ));
                            }
                        }
                        _ => {
                            seen.during_write.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }

        // The writer. If it panics (a write refused), the checkers stop and the scope ends.
        let _stop = StopOnDrop(&stop);
        let mut revoked_target = 0;
        let mut granted_target = 0;
        while !stop.load(Ordering::Relaxed) && seen.judged_revoked.load(Ordering::Relaxed) < wanted
        {
            let r = rounds;
            let s = usize::try_from(r % 3).unwrap();
            granted_target += GRANTED_PER_ROUND;
            wait_for(&seen.judged_granted, granted_target);
            phase.store(4 * r + 1, Ordering::SeqCst);
            let sent = Instant::now();
            write(&app, s, false);
            write_time[s] += sent.elapsed();
            // The revoke has answered: every check that reads this value started after it.
            phase.store(4 * r + REVOKED, Ordering::SeqCst);
            revoked_target += REVOKED_PER_ROUND;
            wait_for(&seen.judged_revoked, revoked_target);
            phase.store(4 * r + 3, Ordering::SeqCst);
            let sent = Instant::now();
            write(&app, s, true);
            write_time[s] += sent.elapsed();
            phase.store(4 * (r + 1) + GRANTED, Ordering::SeqCst);
            rounds += 1;
            if seen.violation_count.load(Ordering::Relaxed) > 0 {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });

    let elapsed = started.elapsed();
    let revoked = seen.judged_revoked.load(Ordering::Relaxed);
    let granted = seen.judged_granted.load(Ordering::Relaxed);
    let overlapping = seen.overlapping.load(Ordering::Relaxed);
    let others = seen.others.load(Ordering::Relaxed);
    let during = seen.during_write.load(Ordering::Relaxed);
    let total = revoked + granted + overlapping + during + others;
    println!(
        "freshness: {rounds} rounds ({} durable writes), {total} checks in {elapsed:.1?} \
         ({:.0} checks/s, {:.0} writes/s): {revoked} judged after a revoke, {granted} after a \
         grant, {during} within a write, {overlapping} overlapping a phase change, {others} of \
         the owner",
        rounds * 2,
        total as f64 / elapsed.as_secs_f64(),
        (rounds * 2) as f64 / elapsed.as_secs_f64(),
    );
    for (s, time) in write_time.iter().enumerate() {
        let writes = 2 * (rounds / 3 + u64::from((rounds % 3) > s as u64));
        println!(
            "  {}: {writes} writes, {:.1?} each on average",
            SUBJECTS[s].name,
            *time / u32::try_from(writes.max(1)).unwrap()
        );
    }
    let violations = seen.violations.into_inner().unwrap();
    assert!(
        violations.is_empty(),
        "{} stale answers, the first ones:\n{}",
        seen.violation_count.load(Ordering::Relaxed),
        violations.join("\n")
    );
    assert!(revoked >= wanted, "{revoked} judged checks after revokes");
    assert!(granted >= rounds, "{granted} judged checks after grants");
}

// ---- over HTTP ----------------------------------------------------------------------------

/// Rounds of the HTTP variant (each: one revoke, checks, one grant, checks).
const HTTP_ROUNDS: u64 = 20;
const HTTP_REVOKED_PER_ROUND: u64 = 25;

#[test]
fn revoke_over_http_is_seen_by_every_later_http_check() {
    let dir = data_dir();
    let app = app(dir.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(crate::support::harness::serve(
        app.clone(),
        dir.path().to_owned(),
        crate::support::harness::Options::default(),
    ));
    let (base, client) = (server.base.clone(), server.client.clone());
    let phase = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let started = Instant::now();

    runtime.block_on(async {
        let mut checkers = Vec::new();
        for _ in 0..CHECKERS {
            let (client, base, phase, stop, seen) = (
                client.clone(),
                base.clone(),
                phase.clone(),
                stop.clone(),
                seen.clone(),
            );
            checkers.push(tokio::spawn(async move {
                let body = json!({
                    "principal": {"type": "Hub::User", "id": RITA},
                    "action": "reports.access",
                    "resource": {"type": "Hub::Account", "id": CLIENT},
                });
                let _stop = StopOnDrop(&stop);
                while !stop.load(Ordering::Relaxed) {
                    let before = phase.load(Ordering::SeqCst);
                    let answer: Value = client
                        .post(format!("{base}/v1/is_authorized"))
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    let after = phase.load(Ordering::SeqCst);
                    if before != after {
                        seen.overlapping.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let allowed = answer["decision"] == "Allow";
                    match before % 4 {
                        REVOKED => {
                            seen.judged_revoked.fetch_add(1, Ordering::Relaxed);
                            if allowed {
                                seen.violation(format!(
                                    "stale Allow in round {}: {answer}",
                                    before / 4
                                ));
                            }
                        }
                        GRANTED => {
                            seen.judged_granted.fetch_add(1, Ordering::Relaxed);
                            if !allowed {
                                seen.violation(format!(
                                    "stale Deny in round {}: {answer}",
                                    before / 4
                                ));
                            }
                        }
                        _ => {}
                    }
                }
            }));
        }

        let set = |name: &'static str| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                let response = client
                    .put(format!(
                        "{base}/v1/clients/{CLIENT}/users/{RITA}/permission-set"
                    ))
                    .json(&json!({"actor": OWNER, "permission_set": name}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
            }
        };
        let wait = |counter: &'static str, target: u64| {
            let seen = seen.clone();
            async move {
                let deadline = Instant::now() + Duration::from_secs(5);
                let value = || match counter {
                    "revoked" => seen.judged_revoked.load(Ordering::Relaxed),
                    _ => seen.judged_granted.load(Ordering::Relaxed),
                };
                while value() < target && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        };
        for r in 0..HTTP_ROUNDS {
            if stop.load(Ordering::Relaxed) {
                break; // a checker failed; its panic is reported below
            }
            wait("granted", (r + 1) * 5).await;
            phase.store(4 * r + 1, Ordering::SeqCst);
            set("Viewer").await;
            phase.store(4 * r + REVOKED, Ordering::SeqCst);
            wait("revoked", (r + 1) * HTTP_REVOKED_PER_ROUND).await;
            phase.store(4 * r + 3, Ordering::SeqCst);
            set("Reporter").await;
            phase.store(4 * (r + 1) + GRANTED, Ordering::SeqCst);
        }
        stop.store(true, Ordering::Relaxed);
        for checker in checkers {
            checker.await.unwrap();
        }
    });

    let revoked = seen.judged_revoked.load(Ordering::Relaxed);
    let granted = seen.judged_granted.load(Ordering::Relaxed);
    println!(
        "freshness over HTTP: {HTTP_ROUNDS} rounds, {revoked} judged checks after a revoke, \
         {granted} after a grant, {} overlapping, in {:.1?}",
        seen.overlapping.load(Ordering::Relaxed),
        started.elapsed()
    );
    let violations = seen.violations.lock().unwrap();
    assert!(
        violations.is_empty(),
        "{} stale answers, the first ones:\n{}",
        seen.violation_count.load(Ordering::Relaxed),
        violations.join("\n")
    );
    assert!(revoked >= HTTP_ROUNDS * HTTP_REVOKED_PER_ROUND, "{revoked}");
    assert!(granted >= HTTP_ROUNDS, "{granted}");
}
