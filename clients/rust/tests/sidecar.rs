//! The client against the real sidecar: `partner-access serve --demo` (the binary a root
//! `cargo test` builds beside this test, or `PARTNER_ACCESS_BIN`) on a free loopback port with
//! a caller token, one per test. A check, a batch, a command with its idempotent replay, the
//! reads that see it, and refusals decoded with their code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use partner_access_client::{
    Batch, Check, Client, Consistency, CreateUser, Decision, EntityRef, Error, Method,
};

const TOKEN: &str = "rust-client-test-token";

/// The checkout's root (`policies/`, `schema/`).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The sidecar binary: `PARTNER_ACCESS_BIN`, else `partner-access` in the target directory
/// this test was built in (`target/debug/deps/sidecar-… → target/debug/partner-access`).
fn binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("PARTNER_ACCESS_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("partner-access");
    assert!(
        bin.exists(),
        "{} is not built: run `cargo test` at the workspace root (it builds the sidecar \
         before running any test), `cargo build -p partner-access` first, or set \
         PARTNER_ACCESS_BIN",
        bin.display()
    );
    bin
}

/// A running `serve --demo`, killed (and its data removed) when dropped.
struct Sidecar {
    child: Child,
    base: String,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sidecar {
    async fn start() -> Sidecar {
        // A port free when asked may be taken before the sidecar binds it: try a few.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let data = tempfile::tempdir().unwrap();
            let log = data.path().join("sidecar.log");
            let store = data.path().join("store");
            std::fs::create_dir(&store).unwrap();
            let mut command = Command::new(binary());
            command
                .current_dir(repo())
                .arg("serve")
                .arg("--demo")
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--data")
                .arg(&store)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap());
            for (var, _) in std::env::vars() {
                if var.starts_with("PARTNER_ACCESS_") || var.starts_with("OTEL_") {
                    command.env_remove(var);
                }
            }
            command
                .env("PARTNER_ACCESS_TOKENS", TOKEN)
                .env("RUST_LOG", "warn");
            let mut sidecar = Sidecar {
                child: command.spawn().unwrap(),
                base: format!("http://127.0.0.1:{port}"),
                log,
                _data: data,
            };
            if sidecar.ready().await {
                return sidecar;
            }
        }
        panic!("the sidecar did not start in three attempts");
    }

    /// Waits for `/readyz`; false when the process exited first.
    async fn ready(&mut self) -> bool {
        let pa = Client::new(&self.base).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                eprintln!(
                    "the sidecar exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
                return false;
            }
            if let Ok(true) = pa.ready().await {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "not ready in 30 s:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn client(&self) -> Client {
        Client::builder(&self.base)
            .token(TOKEN)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }
}

fn zoe() -> CreateUser {
    CreateUser {
        actor: "owner@globex.example".into(),
        email: "zoe@globex.example".into(),
        seat: "core".into(),
        permission_set: "Viewer".into(),
        paid_hubs: vec![],
    }
}

#[tokio::test]
async fn a_check_and_a_batch() {
    let sidecar = Sidecar::start().await;
    let pa = sidecar.client();

    let allow = pa
        .check(&Check::user(
            "ann@acme.example",
            "crm.objects.edit",
            "c-globex",
        ))
        .await
        .unwrap();
    assert_eq!(allow.decision, Decision::Allow);
    assert_eq!(allow.diagnostics.reasons, ["listed.crm.objects.edit"]);
    let version = allow.policy_version.clone().unwrap();
    assert_eq!(version.len(), 64);
    assert_eq!(pa.policies().await.unwrap().version, version);

    // CAP-5: a partner admin never provisions through SCIM. A Deny is an answer.
    let deny = pa
        .check(
            &Check::new(
                EntityRef::user("ann@acme.example"),
                EntityRef::action("scim.provision"),
                EntityRef::account("c-globex"),
            )
            .consistency(Consistency::FullyConsistent)
            .policy_version(&version),
        )
        .await
        .unwrap();
    assert!(!deny.is_allowed());
    assert_eq!(
        deny.diagnostics.reasons,
        ["partner-admin-never-scim-or-migration"]
    );

    let batch = pa
        .batch(&Batch::new([
            Check::user("pat@acme.example", "reports.access", "c-globex"),
            Check::user("owner@globex.example", "billing.edit", "c-globex"),
            Check::user("owner@globex.example", "no.such.action", "c-globex"),
        ]))
        .await
        .unwrap();
    let decisions: Vec<_> = batch.results.iter().map(|r| r.answer.decision).collect();
    assert_eq!(decisions, [Decision::Deny, Decision::Allow, Decision::Deny]);
    assert!(batch.results[0].error.is_none());
    assert_eq!(
        batch.results[2].error.as_ref().unwrap().code,
        "invalid_request"
    );
    assert_eq!(batch.policy_version, version);
    // Every answer of a batch is decided on one revision.
    assert!(
        batch
            .results
            .iter()
            .all(|r| r.answer.revision == batch.results[0].answer.revision)
    );

    // Another policy version expected: 409, nothing decided.
    let pinned = pa
        .check(
            &Check::user("ann@acme.example", "crm.objects.edit", "c-globex")
                .policy_version("0".repeat(64)),
        )
        .await
        .unwrap_err();
    assert_eq!(pinned.code(), Some("conflict"));
    assert_eq!(pinned.status(), Some(409));
}

#[tokio::test]
async fn a_command_its_replay_and_the_reads_that_see_it() {
    let sidecar = Sidecar::start().await;
    let pa = sidecar.client();

    let created = pa
        .create_user("c-globex", &zoe(), Some("create-zoe"))
        .await
        .unwrap();
    assert!(created.created && !created.replayed);
    assert_eq!(created.answer.user.email, "zoe@globex.example");
    assert_eq!(created.answer.user.seat, "core");
    assert_eq!(created.answer.user.permissions, ["crm.objects.view"]);
    assert!(created.answer.withheld.is_empty());

    // The same key and request: the first answer again, nothing applied.
    let replayed = pa
        .create_user("c-globex", &zoe(), Some("create-zoe"))
        .await
        .unwrap();
    assert!(replayed.replayed);
    assert_eq!(replayed.revision, created.revision);
    assert_eq!(replayed.answer, created.answer);

    // The same key with another request: 409.
    let reused = pa
        .create_user(
            "c-globex",
            &CreateUser {
                email: "yan@globex.example".into(),
                ..zoe()
            },
            Some("create-zoe"),
        )
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Some("conflict"));

    // A check that must see the write.
    let seen = pa
        .check(
            &Check::user("zoe@globex.example", "crm.objects.view", "c-globex")
                .consistency(Consistency::AtLeastAsFresh(created.revision)),
        )
        .await
        .unwrap();
    assert!(seen.is_allowed());
    assert!(seen.revision >= created.revision);

    // The reads.
    let users = pa
        .client_users("c-globex", "owner@globex.example")
        .await
        .unwrap();
    let zoe = users
        .users
        .iter()
        .find(|u| u.email == "zoe@globex.example")
        .unwrap();
    assert_eq!(
        (zoe.role.as_str(), zoe.status.as_str()),
        ("standard", "active")
    );
    let clients = pa
        .partner_clients("p-acme", "ann@acme.example")
        .await
        .unwrap();
    assert!(clients.clients.iter().any(|c| c.id == "c-globex"));
    let employees = pa
        .partner_employees("p-acme", "ann@acme.example")
        .await
        .unwrap();
    assert!(
        employees
            .employees
            .iter()
            .any(|e| e.email == "ann@acme.example")
    );
    let relationship = pa.relationship("c-globex").await.unwrap();
    assert_eq!(relationship.partner.as_deref(), Some("p-acme"));
    assert_eq!(relationship.state, "active");

    // A CAM command through the typed helper and the same through the generic call.
    let granted = pa
        .grant_partner_permission(
            "c-globex",
            "bob@acme.example",
            "apps.manage",
            "ann@acme.example",
            None,
        )
        .await
        .unwrap();
    assert!(granted.answer.permissions.contains(&"apps.manage".into()));
    assert!(granted.revision > created.revision);
    let again: partner_access_client::Applied<serde_json::Value> = pa
        .command(
            Method::Put,
            "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}",
            &["c-globex", "bob@acme.example", "apps.manage"],
            &serde_json::json!({"actor": "ann@acme.example"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        again.answer["permissions"],
        serde_json::json!(granted.answer.permissions)
    );
}

#[tokio::test]
async fn refusals_are_the_apis_errors() {
    let sidecar = Sidecar::start().await;
    let pa = sidecar.client();
    pa.create_user("c-globex", &zoe(), None).await.unwrap();

    // A standard user may not create users (SEAT-6): 403 with the rules that decided.
    let refused = pa
        .create_user(
            "c-globex",
            &CreateUser {
                actor: "zoe@globex.example".into(),
                email: "yan@globex.example".into(),
                ..zoe()
            },
            None,
        )
        .await
        .unwrap_err();
    let Error::Api(api) = &refused else {
        panic!("{refused:?}")
    };
    assert_eq!((api.status, api.code.as_str()), (403, "forbidden"));
    assert!(!api.rules.is_empty(), "{api:?}");
    assert!(!api.message.is_empty());

    // An unknown client: 404.
    let missing = pa
        .client_users("c-nowhere", "owner@globex.example")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("not_found"));

    // Without the token: 401.
    let anonymous = Client::new(&sidecar.base).unwrap();
    let unauthenticated = anonymous
        .check(&Check::user(
            "ann@acme.example",
            "crm.objects.edit",
            "c-globex",
        ))
        .await
        .unwrap_err();
    assert_eq!(unauthenticated.code(), Some("unauthenticated"));
    assert_eq!(unauthenticated.status(), Some(401));

    // No sidecar at all: a transport error, not an API error.
    drop(sidecar);
    let gone = pa
        .check(&Check::user(
            "ann@acme.example",
            "crm.objects.edit",
            "c-globex",
        ))
        .await
        .unwrap_err();
    assert!(matches!(gone, Error::Transport(_)), "{gone:?}");
    assert_eq!(gone.code(), None);
}
