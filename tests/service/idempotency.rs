//! Idempotency keys expire: after the TTL a key is new again (its first answer, applied or
//! refused, is not replayed, and another request may use it), and expired answers are pruned,
//! by the commands that keep answers (a bounded step each) and by the background sweep.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::commands_cam::{ANN, BOB, NINA, PAT, VERA};
use crate::support;
use crate::support::harness::{self, TestServer};

/// Short, but long enough for what each test does within it on a loaded machine.
const TTL: Duration = Duration::from_millis(1500);
/// The pruning test sends 40 commands that must all be within the TTL when counted.
const LONG_TTL: Duration = Duration::from_secs(4);

async fn server_with_ttl(ttl: Duration) -> TestServer {
    let server = harness::start(harness::Options {
        idempotency_ttl: Some(ttl),
        ..Default::default()
    })
    .await;
    server.import(&support::agency()).await;
    server
}

const LINKS: &str = "/v1/partners/p-acme/access-links";

fn issue() -> Value {
    json!({"actor": ANN, "employee": NINA})
}

async fn kept(server: &TestServer) -> usize {
    let app = server.app.clone();
    tokio::task::spawn_blocking(move || app.kept_idempotency_answers().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_expired_key_is_new_again_whether_its_answer_was_applied_or_refused() {
    let server = server_with_ttl(TTL).await;
    // Applied: replayed within the TTL, applied again after it.
    let (status, replayed, first) = server.post_keyed(LINKS, "applied", &issue()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{first}");
    let (status, replayed, _) = server.post_keyed(LINKS, "applied", &issue()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, true));
    // Refused: the same key with another request is a conflict within the TTL (keys are the
    // actor's own).
    let deactivate = format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate");
    let other = format!("/v1/clients/c-globex/partner-users/{PAT}/deactivate");
    let vera = json!({"actor": VERA});
    let (status, _, refused) = server.post_keyed(&deactivate, "refused", &vera).await;
    assert_eq!(status, 403, "{refused}");
    let (status, _, answer) = server.post_keyed(&other, "refused", &vera).await;
    assert_eq!(
        status, 409,
        "another request with the key, within the TTL: {answer}"
    );

    tokio::time::sleep(TTL + Duration::from_millis(300)).await;

    let (status, replayed, again) = server.post_keyed(LINKS, "applied", &issue()).await;
    assert_eq!((status, replayed), (StatusCode::CREATED, false), "{again}");
    assert_ne!(again["revision"], first["revision"], "applied anew");
    assert!(again["token"].is_string(), "a new link: {again}");
    // The expired refusal's key now carries another request, which is decided (and refused
    // on its own merits), not a conflict.
    let (status, _, answer) = server.post_keyed(&other, "refused", &vera).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(answer["error"]["code"], "forbidden", "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn expired_answers_are_pruned_by_commands_and_by_the_background_sweep() {
    let server = server_with_ttl(LONG_TTL).await;
    for i in 0..40 {
        let (status, _, body) = server
            .post_keyed(LINKS, &format!("old-{i}"), &issue())
            .await;
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(kept(&server).await, 40);
    tokio::time::sleep(LONG_TTL + Duration::from_millis(300)).await;

    // Each command that keeps an answer looks at the next 16 (wrapping at the end): 40
    // expired answers are gone after a few commands, the commands' own answers are kept.
    for i in 0..5 {
        let (status, _, body) = server
            .post_keyed(LINKS, &format!("new-{i}"), &issue())
            .await;
        assert_eq!(status, 201, "{body}");
    }
    assert_eq!(
        kept(&server).await,
        5,
        "only the unexpired answers are kept"
    );

    // With no command running, the background sweep prunes them (a round looks from its
    // cursor to the end of the table, so two rounds cover it).
    tokio::time::sleep(LONG_TTL + Duration::from_millis(300)).await;
    let app = server.app.clone();
    let removed = tokio::task::spawn_blocking(move || {
        let first = app.sweep_idempotency_round().unwrap();
        let second = app.sweep_idempotency_round().unwrap();
        first.removed + second.removed
    })
    .await
    .unwrap();
    assert_eq!(removed, 5);
    assert_eq!(kept(&server).await, 0);
    // A round with nothing to prune writes nothing.
    let revision = server.app.revision();
    let app = server.app.clone();
    let swept = tokio::task::spawn_blocking(move || app.sweep_idempotency_round().unwrap())
        .await
        .unwrap();
    assert_eq!(swept.removed, 0);
    assert_eq!(server.app.revision(), revision);
    server.stop().await;
}
