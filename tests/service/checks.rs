//! Checks over HTTP: the decision, its reasons, decision ids and revisions, both reference
//! forms, batches, AuthZEN, and freshness after writes.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;

use crate::support;
use crate::support::harness;

#[tokio::test]
async fn allow_and_deny_with_reasons_decision_id_and_revision() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::demo()).await;

    let allow = server
        .check("ann@acme.example", "reports.access", "c-globex")
        .await;
    assert_eq!(allow["decision"], "Allow");
    assert_eq!(
        allow["diagnostics"]["reasons"],
        json!(["listed.reports.access"])
    );
    assert_eq!(allow["diagnostics"]["errors"], json!([]));
    assert_eq!(allow["revision"], revision);

    let deny = server
        .check("ann@acme.example", "scim.provision", "c-globex")
        .await;
    assert_eq!(deny["decision"], "Deny");
    assert_eq!(
        deny["diagnostics"]["reasons"],
        json!(["partner-admin-never-scim-or-migration"])
    );
    assert_ne!(allow["decision_id"], deny["decision_id"]);
    assert_eq!(allow["decision_id"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn object_and_string_references_give_the_same_answer() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let object = server
        .post(
            "/v1/is_authorized",
            &json!({
                "principal": {"type": "Hub::User", "id": "Ann@Acme.Example"},
                "action": {"type": "Hub::Action", "id": "crm.objects.edit"},
                "resource": {"type": "Hub::Account", "id": "c-globex"},
                "context": {}
            }),
        )
        .await;
    let string = server
        .post(
            "/v1/is_authorized",
            &json!({
                "principal": "Hub::User::\"ann@acme.example\"",
                "action": "Hub::Action::\"crm.objects.edit\"",
                "resource": "Hub::Account::\"c-globex\""
            }),
        )
        .await;
    assert_eq!(object.0, 200);
    assert_eq!(object.1["decision"], "Allow");
    assert_eq!(object.1["decision"], string.1["decision"]);
    assert_eq!(object.1["diagnostics"], string.1["diagnostics"]);
}

#[tokio::test]
async fn command_actions_are_checkable_with_their_context() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::agency()).await;
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &json!({
                "principal": "Hub::User::\"pat@acme.example\"",
                "action": "permission.grant",
                "resource": "Hub::Account::\"c-globex\"",
                "context": {"target": {"type": "Hub::User", "id": "nina@acme.example"},
                            "permission": "reports.access"}
            }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], "Deny");

    // A context that does not fit the action's declared context is a 400 naming it.
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &json!({
                "principal": "Hub::User::\"pat@acme.example\"",
                "action": "permission.grant",
                "resource": "Hub::Account::\"c-globex\"",
                "context": {"target": "nina"}
            }),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "invalid_request");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("context"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_resource_of_the_wrong_type_is_a_bad_request() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &json!({
                "principal": "Hub::User::\"ann@acme.example\"",
                "action": "reports.access",
                "resource": "Hub::Partner::\"p-acme\""
            }),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Hub::Account"),
        "{answer}"
    );
}

#[tokio::test]
async fn batches_answer_in_order() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let item = |p: &str, a: &str| {
        json!({"principal": format!("Hub::User::\"{p}\""), "action": a,
               "resource": "Hub::Account::\"c-globex\""})
    };
    let requests: Vec<_> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                item("ann@acme.example", "reports.access")
            } else {
                item("pat@acme.example", "reports.access")
            }
        })
        .collect();
    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": requests}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 200);
    for (i, r) in results.iter().enumerate() {
        let expected = if i % 2 == 0 { "Allow" } else { "Deny" };
        assert_eq!(r["decision"], expected, "item {i}: {r}");
    }
    let ids: BTreeSet<_> = results
        .iter()
        .map(|r| r["decision_id"].clone().to_string())
        .collect();
    assert_eq!(ids.len(), 200, "decision ids are unique");
}

#[tokio::test]
async fn authzen_evaluation_and_evaluations() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let (status, answer) = server
        .post(
            "/access/v1/evaluation",
            &json!({"subject": {"type": "user", "id": "ann@acme.example"},
                    "action": {"name": "crm.objects.edit"},
                    "resource": {"type": "account", "id": "c-globex"},
                    "context": {}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["decision"], true);
    assert_eq!(
        answer["context"]["reasons"],
        json!(["listed.crm.objects.edit"])
    );

    let (status, answer) = server
        .post(
            "/access/v1/evaluations",
            &json!({"subject": {"type": "user", "id": "ann@acme.example"},
            "resource": {"type": "account", "id": "c-globex"},
            "evaluations": [
                {"action": {"name": "crm.objects.edit"}},
                {"action": {"name": "scim.provision"}},
                {"action": {"name": "reports.access"}}
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let decisions: Vec<_> = answer["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_bool().unwrap())
        .collect();
    assert_eq!(decisions, vec![true, false, true]);

    let (_, answer) = server
        .post(
            "/access/v1/evaluations",
            &json!({"subject": {"type": "user", "id": "ann@acme.example"},
            "resource": {"type": "account", "id": "c-globex"},
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [
                {"action": {"name": "crm.objects.edit"}},
                {"action": {"name": "scim.provision"}},
                {"action": {"name": "reports.access"}}
            ]}),
        )
        .await;
    assert_eq!(
        answer["evaluations"].as_array().unwrap().len(),
        2,
        "{answer}"
    );

    let (status, answer) = server
        .post(
            "/access/v1/evaluation",
            &json!({"subject": {"type": "robot", "id": "x"}, "action": {"name": "reports.access"},
                    "resource": {"type": "account", "id": "c-globex"}}),
        )
        .await;
    assert_eq!(status, 400, "{answer}");
}

/// After a write answers, no check sees the old state: a deactivation races many checks that
/// fill the cache, and every check that starts after the write's answer sees Deny.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_check_after_a_revoke_answers_sees_the_old_allow() {
    let server = Arc::new(harness::start(harness::Options::default()).await);
    server.import(&support::demo()).await;
    let user = |status: &str| {
        json!({"role": "partner_admin", "seat": "partner", "partner": "p-acme", "status": status,
               "permissions": ["crm.objects.view", "crm.objects.edit", "hubs.access", "apps.manage",
                               "reports.access", "users.add_edit", "multi_account.manage"]})
    };
    for round in 0..40 {
        // Readers keep filling the cache while the write happens.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut readers = Vec::new();
        for _ in 0..3 {
            let server = server.clone();
            let stop = stop.clone();
            readers.push(tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    server
                        .check("ann@acme.example", "reports.access", "c-globex")
                        .await;
                }
            }));
        }
        let (status, body) = server
            .put(
                "/v1/admin/clients/c-globex/users/ann@acme.example",
                &user("deactivated"),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        for _ in 0..5 {
            let answer = server
                .check("ann@acme.example", "reports.access", "c-globex")
                .await;
            assert_eq!(
                answer["decision"], "Deny",
                "round {round}: stale Allow after revoke: {answer}"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
        let (status, _) = server
            .put(
                "/v1/admin/clients/c-globex/users/ann@acme.example",
                &user("active"),
            )
            .await;
        assert_eq!(status, 200);
        let answer = server
            .check("ann@acme.example", "reports.access", "c-globex")
            .await;
        assert_eq!(answer["decision"], "Allow", "round {round}: {answer}");
    }
}

// ---- consistency tokens -------------------------------------------------------------------

fn check_with(consistency: serde_json::Value) -> serde_json::Value {
    json!({
        "principal": {"type": "Hub::User", "id": "pat@acme.example"},
        "action": "crm.objects.view",
        "resource": {"type": "Hub::Account", "id": "c-globex"},
        "consistency": consistency,
    })
}

#[tokio::test]
async fn a_check_with_a_write_s_revision_sees_that_write() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    // Warm the cache with the Allow, then revoke: pat leaves c-globex.
    for _ in 0..3 {
        let warm = server
            .check("pat@acme.example", "crm.objects.view", "c-globex")
            .await;
        assert_eq!(warm["decision"], "Allow");
    }
    let (status, removed) = server
        .send(
            reqwest::Method::DELETE,
            "/v1/clients/c-globex/users/pat@acme.example",
            Some(&json!({"actor": "owner@globex.example"})),
        )
        .await;
    assert_eq!(status, 200, "{removed}");
    let revision = removed["revision"].as_u64().unwrap();
    for consistency in [
        json!({"at_least_as_fresh": revision}),
        json!({"fully_consistent": true}),
        json!({"minimize_latency": true}),
    ] {
        let (status, answer) = server
            .post("/v1/is_authorized", &check_with(consistency.clone()))
            .await;
        assert_eq!(status, 200, "{consistency}: {answer}");
        assert_eq!(answer["decision"], "Deny", "{consistency}");
        assert!(answer["revision"].as_u64().unwrap() >= revision, "{answer}");
    }
    // The batch takes one consistency for all its checks.
    let (status, batch) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [
                {"principal": "Hub::User::\"pat@acme.example\"", "action": "crm.objects.view",
                 "resource": "Hub::Account::\"c-globex\""},
                {"principal": "Hub::User::\"ann@acme.example\"", "action": "crm.objects.view",
                 "resource": "Hub::Account::\"c-globex\""}],
                "consistency": {"at_least_as_fresh": revision}}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["results"][0]["decision"], "Deny");
    assert_eq!(batch["results"][1]["decision"], "Allow");
}

#[tokio::test]
async fn a_token_the_store_has_not_reached_is_503_after_the_wait_never_a_guess() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::demo()).await;
    let started = std::time::Instant::now();
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &check_with(json!({"at_least_as_fresh": revision + 10})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "unavailable");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("behind the requested {}", revision + 10)),
        "{message}"
    );
    // It waited for the store (2 s by default) before giving up.
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn a_malformed_consistency_is_400_naming_it() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    for consistency in [
        json!({}),
        json!({"at_least_as_fresh": 1, "fully_consistent": true}),
        json!({"fully_consistent": false}),
        json!({"at_least_as_fresh": -1}),
        json!({"at_least_as_fresh": "7"}),
        json!({"eventually": true}),
        json!("fully_consistent"),
    ] {
        let (status, answer) = server
            .post("/v1/is_authorized", &check_with(consistency.clone()))
            .await;
        assert_eq!(status, 400, "{consistency}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("consistency"), "{consistency}: {message}");
    }
    // Per item in a batch: the item is refused, the others answered.
    let (status, batch) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [{"principal": "Hub::User::\"pat@acme.example\"",
                "action": "crm.objects.view", "resource": "Hub::Account::\"c-globex\"",
                "consistency": {"fully_consistent": true}}]}),
        )
        .await;
    assert_eq!(status, 200, "{batch}");
    assert!(
        batch["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("consistency"),
        "{batch}"
    );
}

/// A request that outlives the request timeout is answered like every other error: a 503 in
/// the error shape, with `Retry-After`, not an empty body. (The check waits 2 s for a revision
/// the store never reaches; the timeout is 300 ms.)
#[tokio::test]
async fn a_request_past_the_timeout_is_503_in_the_error_shape_with_retry_after() {
    let server = harness::start(harness::Options {
        request_timeout: std::time::Duration::from_millis(300),
        ..harness::Options::default()
    })
    .await;
    let revision = server.import(&support::demo()).await;
    let response = server
        .client
        .post(server.url("/v1/is_authorized"))
        .json(&check_with(json!({"at_least_as_fresh": revision + 10})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    let answer: serde_json::Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "unavailable", "{answer}");
    // The HTTP time limit, or (a shared store) the store's own deadline just before it.
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("took longer than 300 ms")
            || message.contains("did not answer within the request's time"),
        "{answer}"
    );
}

/// A check may not hold a blocking thread for a revision no store will reach: one far beyond
/// the store's latest is refused at once, and past `MAX_WAITING_CHECKS` waiting checks the
/// next is refused at once too, so waiting checks cannot starve commands.
#[tokio::test]
async fn far_future_revisions_and_a_crowd_of_waiting_checks_are_refused_at_once() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::demo()).await;
    let started = std::time::Instant::now();
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &check_with(json!({"at_least_as_fresh": revision + 1_000_000})),
        )
        .await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than 10000 beyond"),
        "{answer}"
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(500));

    // 80 checks at once for a near revision that never comes: at most 32 wait, the rest are
    // refused at once; a command still goes through meanwhile.
    let mut crowd = tokio::task::JoinSet::new();
    for _ in 0..80 {
        let client = server.client.clone();
        let url = server.url("/v1/is_authorized");
        let body = check_with(json!({"at_least_as_fresh": revision + 5}));
        crowd.spawn(async move {
            let started = std::time::Instant::now();
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            let answer: serde_json::Value = response.json().await.unwrap();
            (status, answer, started.elapsed())
        });
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, _) = server
        .send(
            reqwest::Method::DELETE,
            "/v1/clients/c-globex/users/pat@acme.example",
            Some(&json!({"actor": "owner@globex.example"})),
        )
        .await;
    assert_eq!(status, 200, "a command went through while checks waited");
    let mut refused_at_once = 0;
    while let Some(outcome) = crowd.join_next().await {
        let (status, answer, elapsed) = outcome.unwrap();
        // The command moved the store one revision on; the rest timed out or were refused.
        if status == 503
            && answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("already waiting")
        {
            assert!(
                elapsed < std::time::Duration::from_millis(1500),
                "{elapsed:?}"
            );
            refused_at_once += 1;
        }
    }
    assert!(
        refused_at_once >= 80 - 32,
        "{refused_at_once} refused at once"
    );
}

/// Checks waiting for a revision hold no thread: with a blocking pool of two threads, as many
/// checks as may wait (32) wait for the next revision, and a command (which runs on the
/// blocking pool) is answered at once; every waiting check then sees it.
#[test]
fn waiting_checks_hold_no_thread_so_a_command_is_not_delayed() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = std::sync::Arc::new(harness::start(harness::Options::default()).await);
        let revision = server.import(&support::demo()).await;
        let mut waiting = Vec::new();
        for _ in 0..partner_access::app::MAX_WAITING_CHECKS {
            let server = server.clone();
            waiting.push(tokio::spawn(async move {
                server
                    .post(
                        "/v1/is_authorized",
                        &check_with(json!({"at_least_as_fresh": revision + 1})),
                    )
                    .await
            }));
        }
        // Let them all start waiting (the store is at `revision`).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(waiting.iter().all(|w| !w.is_finished()), "they wait");

        let started = std::time::Instant::now();
        let (status, removed) = server
            .send(
                reqwest::Method::DELETE,
                "/v1/clients/c-globex/users/pat@acme.example",
                Some(&json!({"actor": "owner@globex.example"})),
            )
            .await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{removed}");
        assert_eq!(removed["revision"], revision + 1);
        assert!(
            took < std::time::Duration::from_millis(1000),
            "the command took {took:?} behind the waiting checks"
        );
        for check in waiting {
            let (status, answer) = check.await.unwrap();
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["decision"], "Deny", "{answer}");
            assert!(answer["revision"].as_u64().unwrap() > revision, "{answer}");
        }
    });
}

/// An undeclared action is a 400 that names it, the declared action it most likely meant (on
/// every path that takes an action), and where the actions are listed.
#[tokio::test]
async fn a_mistyped_action_is_answered_with_the_action_it_most_likely_meant() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let body = serde_json::json!({
        "principal": "Hub::User::\"ann@acme.example\"",
        "action": "crm.object.edit",
        "resource": "Hub::Account::\"c-globex\"",
    });
    for path in ["/v1/is_authorized", "/v1/explain"] {
        let (status, answer) = server.post(path, &body).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("unknown action `crm.object.edit`")
                && message.contains("did you mean `crm.objects.edit`?")
                && message.contains("GET /v1/schema/actions"),
            "{path}: {message}"
        );
    }
    let (status, answer) = server
        .get("/v1/users/ann@acme.example/accounts?action=report.access")
        .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `reports.access`?"),
        "{answer}"
    );
}
