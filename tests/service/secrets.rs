//! Access-link tokens are secrets shown once: not in the store (the idempotency table keeps the
//! issuing answer without its token), not in an idempotent replay, not in the logs (the token
//! in an approval's path is redacted), and a replay never hands out a revoked token.

use std::io::Write;
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use crate::commands_cam::{ANN, NINA, UMA, agency_server, approve_path};
use crate::support::harness::TestServer;

/// Issues a link of NINA with an `Idempotency-Key`; status, replay header, body.
async fn issue_keyed(server: &TestServer, key: &str, rotate: bool) -> (StatusCode, bool, Value) {
    let body = json!({"actor": ANN, "employee": NINA, "rotate": rotate});
    server
        .post_keyed("/v1/partners/p-acme/access-links", key, &body)
        .await
}

/// Every byte the store holds that this test can reach: the redb file (and anything else in
/// the data directory), or, on PostgreSQL, the idempotency record; plus the audit log and the
/// outbox as the admin API shows them.
async fn stored_bytes(server: &TestServer, key: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    match &server.store_url {
        None => {
            for entry in std::fs::read_dir(&server.data).unwrap() {
                let path = entry.unwrap().path();
                if path.is_file() {
                    bytes.extend(std::fs::read(&path).unwrap());
                }
            }
        }
        Some(url) => {
            let store = crate::support::harness::open_store(&server.data, Some(url));
            let snapshot = store.snapshot().unwrap();
            let record = snapshot
                .aux(
                    partner_access::store::Aux::Idempotency,
                    &format!("{ANN}\u{0}{key}"),
                )
                .unwrap()
                .expect("the idempotency record is kept");
            bytes.extend(record);
        }
    }
    for path in ["/v1/audit?limit=1000", "/v1/events?limit=1000"] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 200, "{body}");
        bytes.extend(body.to_string().into_bytes());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn an_issued_token_is_not_kept_by_the_store() {
    let server = agency_server().await;
    let (status, _, first) = issue_keyed(&server, "issue-1", false).await;
    assert_eq!(status, 201, "{first}");
    let token = first["token"].as_str().unwrap().to_owned();
    // Used once, so that the approval's records are in the logs too.
    let (status, body) = server
        .post(
            &approve_path(&token),
            &json!({"actor": UMA, "client": "c-umbrella"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let stored = stored_bytes(&server, "issue-1").await;
    assert!(
        !contains(&stored, &token),
        "the token is in the store in plain text"
    );
    // Its digest is (the access-link table is keyed by it): the scan does see the store.
    let digest: String = sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if server.store_url.is_none() {
        assert!(contains(&stored, &digest), "the scan reads the store file");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_replay_withholds_the_token_and_refuses_once_the_link_is_rotated_away() {
    let server = agency_server().await;
    let (status, replayed, first) = issue_keyed(&server, "issue-1", false).await;
    assert_eq!(status, 201, "{first}");
    assert!(!replayed);
    let token = first["token"].as_str().unwrap().to_owned();

    // While the link is live: the same outcome, without the token.
    let (status, replayed, second) = issue_keyed(&server, "issue-1", false).await;
    assert_eq!(status, 201, "{second}");
    assert!(replayed, "{second}");
    assert!(!second.to_string().contains(&token), "{second}");
    assert_eq!(second["token_withheld"], true, "{second}");
    assert_eq!(second["employee"], NINA, "{second}");
    assert_eq!(second["revision"], first["revision"], "{second}");

    // Rotated away (a new link with another key revokes it): a replay is a 409, no token.
    let (status, _, rotated) = issue_keyed(&server, "issue-2", true).await;
    assert_eq!(status, 201, "{rotated}");
    let new = rotated["token"].as_str().unwrap().to_owned();
    let (status, _, answer) = issue_keyed(&server, "issue-1", false).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict", "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{answer}"
    );
    assert!(!answer.to_string().contains(&token), "{answer}");
    // The rotating answer's own replay: live, so withheld; rotated away in turn, so refused.
    let (status, replayed, again) = issue_keyed(&server, "issue-2", true).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true), "{again}");
    assert!(!again.to_string().contains(&new), "{again}");
    let (status, _, _) = issue_keyed(&server, "issue-3", true).await;
    assert_eq!(status, 201);
    let (status, _, answer) = issue_keyed(&server, "issue-2", true).await;
    assert_eq!(status, 409, "{answer}");
    assert!(!answer.to_string().contains(&new), "{answer}");
    server.stop().await;
}

/// A `MakeWriter` that keeps every log line.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A current-thread runtime: the server's tasks run on this thread, under the subscriber set
// here for it.
#[tokio::test(flavor = "current_thread")]
async fn tokens_in_paths_are_redacted_in_the_logs() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = agency_server().await;
    // Other tests' threads, without a subscriber, may have registered the request span's
    // callsite while this one was being set, caching "never" for it: recompute with this
    // subscriber known (the callsites are registered by now, the import above used them).
    tracing::callsite::rebuild_interest_cache();
    let (status, _, first) = issue_keyed(&server, "issue-1", false).await;
    assert_eq!(status, 201, "{first}");
    let token = first["token"].as_str().unwrap().to_owned();
    // Approved, approved again (200), refused (wrong actor), and sent to paths that route
    // nowhere or are spelt otherwise.
    for (path, actor) in [
        (approve_path(&token), UMA),
        (approve_path(&token), UMA),
        (approve_path(&token), ANN),
        (format!("/v1/access-links/{token}"), UMA),
        (format!("/v1/ACCESS-LINKS/{token}/approve"), UMA),
        (format!("/v1/access%2Dlinks/{token}/approve"), UMA),
        (format!("/v1/somewhere/{token}"), UMA),
    ] {
        let (status, body) = server
            .post(&path, &json!({"actor": actor, "client": "c-umbrella"}))
            .await;
        assert!(status != 500, "{path}: {status} {body}");
    }
    server.stop().await;
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let leaked: Vec<&str> = text.lines().filter(|l| l.contains(&token)).collect();
    assert!(
        leaked.is_empty(),
        "the token is in {} log lines:\n{}",
        leaked.len(),
        leaked.join("\n")
    );
    assert!(
        text.contains("path=/v1/access-links/<redacted:"),
        "requests are logged with their paths, redacted"
    );
}
