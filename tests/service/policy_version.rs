//! The policy set's version: every decision, explanation and audit record says which rules
//! made it, `GET /v1/policies` and `/metrics` say which set is in force, and a check that
//! names the set it expects is refused (409, nothing decided) by a sidecar on another one.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{self, harness, harness::Options, harness::TestServer};

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";
const GLOBEX: &str = "c-globex";

fn check_body(principal: &str, action: &str, resource: &str) -> Value {
    json!({
        "principal": format!("Hub::User::\"{principal}\""),
        "action": action,
        "resource": format!("Hub::Account::\"{resource}\""),
    })
}

/// A copy of the project's policies and schema that a test may change.
fn own_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["policies", "schema"] {
        let to = dir.path().join(sub);
        std::fs::create_dir(&to).unwrap();
        for entry in std::fs::read_dir(support::root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

async fn server_on(policies: &Path) -> TestServer {
    let server = harness::start(Options {
        policies: policies.join("policies"),
        schema: policies.join("schema"),
        ..Options::default()
    })
    .await;
    server.import(&support::demo()).await;
    server
}

async fn active_version(server: &TestServer) -> String {
    let (status, body) = server.get("/v1/policies").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let version = body["version"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 64, "a SHA-256 in hex: {version}");
    assert!(
        version
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{version}"
    );
    version
}

/// Changes a policy file without changing what it decides: a comment more, saying `note`.
fn touch_a_policy(policies: &Path, note: &str) {
    let file = std::fs::read_dir(policies.join("policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cedar"))
        .unwrap();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!(
        "\n// {note}: a comment changes the version, not a decision\n"
    ));
    std::fs::write(&file, text).unwrap();
}

#[tokio::test]
async fn every_decision_and_explanation_says_the_version_that_decided() {
    let dir = own_policies();
    let server = server_on(dir.path()).await;
    let version = active_version(&server).await;

    let answer = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(answer["decision"], "Allow", "{answer}");
    assert_eq!(answer["policy_version"], version, "{answer}");

    // A batch says it once, for every answer.
    let (status, batch) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [
                check_body(ANN, "crm.objects.edit", GLOBEX),
                check_body(ANN, "billing.edit", GLOBEX),
            ]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    assert_eq!(batch["policy_version"], version, "{batch}");
    for item in batch["results"].as_array().unwrap() {
        assert!(item.get("policy_version").is_none(), "{item}");
    }

    let (status, explained) = server
        .post("/v1/explain", &check_body(ANN, "billing.edit", GLOBEX))
        .await;
    assert_eq!(status, StatusCode::OK, "{explained}");
    assert_eq!(explained["policy_version"], version, "{explained}");

    let (status, allowed) = server
        .post(
            "/v1/actions_allowed",
            &json!({"principal": format!("Hub::User::\"{ANN}\""),
                    "resource": format!("Hub::Account::\"{GLOBEX}\"")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{allowed}");
    assert_eq!(allowed["policy_version"], version, "{allowed}");

    let (status, accounts) = server
        .get(&format!("/v1/users/{ANN}/accounts?action=crm.objects.edit"))
        .await;
    assert_eq!(status, StatusCode::OK, "{accounts}");
    assert_eq!(accounts["policy_version"], version, "{accounts}");

    let (status, evaluation) = server
        .post(
            "/access/v1/evaluation",
            &json!({"subject": {"type": "user", "id": ANN},
                    "action": {"name": "crm.objects.edit"},
                    "resource": {"type": "account", "id": GLOBEX}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{evaluation}");
    assert_eq!(
        evaluation["context"]["policy_version"], version,
        "{evaluation}"
    );
}

#[tokio::test]
async fn a_check_pinned_to_another_version_is_refused_and_not_decided() {
    let dir = own_policies();
    let server = server_on(dir.path()).await;
    let version = active_version(&server).await;
    let other = "0".repeat(64);

    let mut pinned = check_body(ANN, "crm.objects.edit", GLOBEX);
    pinned["policy_version"] = json!(version.to_uppercase());
    let (status, answer) = server.post("/v1/is_authorized", &pinned).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same version, in capitals: {answer}"
    );
    assert_eq!(answer["decision"], "Allow", "{answer}");

    pinned["policy_version"] = json!(other);
    for path in ["/v1/is_authorized", "/v1/explain"] {
        let (status, body) = server.post(path, &pinned).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {body}");
        assert_eq!(body["error"]["code"], "conflict", "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&other) && message.contains(&version),
            "{path}: names both versions: {message}"
        );
        assert!(body.get("decision").is_none(), "{path}: {body}");
    }
    // Also when the check reads the store rather than the cache.
    pinned["consistency"] = json!({"fully_consistent": true});
    let (status, body) = server.post("/v1/is_authorized", &pinned).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let batch = |pin: &str| {
        json!({"policy_version": pin,
               "requests": [check_body(ANN, "crm.objects.edit", GLOBEX)]})
    };
    let (status, body) = server.post("/v1/is_authorized/batch", &batch(&other)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = server
        .post("/v1/is_authorized/batch", &batch(&version))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["decision"], "Allow", "{body}");

    // A batch pins once: an item that pins is a bad item, and the others are decided.
    let mut item = check_body(ANN, "crm.objects.edit", GLOBEX);
    item["policy_version"] = json!(version);
    let (status, body) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [item, check_body(ANN, "crm.objects.edit", GLOBEX)]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"][0]["decision"], "Deny", "{body}");
    assert!(
        body["results"][0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("policy_version"),
        "{body}"
    );
    assert_eq!(body["results"][1]["decision"], "Allow", "{body}");
}

#[tokio::test]
async fn a_reload_changes_the_version_everywhere_it_is_said() {
    let dir = own_policies();
    // A set no other test serves: the metric's series of its versions are this test's alone
    // (the test binary's servers share one metrics recorder).
    touch_a_policy(dir.path(), &dir.path().display().to_string());
    let server = server_on(dir.path()).await;
    let before = active_version(&server).await;
    assert_eq!(
        server.check(ANN, "crm.objects.edit", GLOBEX).await["policy_version"],
        before
    );

    // The same files again: the same version.
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(active_version(&server).await, before);

    touch_a_policy(dir.path(), "reloaded");
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = active_version(&server).await;
    assert_ne!(after, before, "a changed file is another version");
    let answer = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(answer["decision"], "Allow", "{answer}");
    assert_eq!(answer["policy_version"], after, "{answer}");

    // A host still pinned to the old set learns that the rules changed.
    let mut pinned = check_body(ANN, "crm.objects.edit", GLOBEX);
    pinned["policy_version"] = json!(before);
    let (status, body) = server.post("/v1/is_authorized", &pinned).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // A command's audit record says the set that decided it.
    let (status, body) = server
        .post(
            &format!("/v1/clients/{GLOBEX}/partner-users/{BOB}/deactivate"),
            &json!({"actor": ANN}),
        )
        .await;
    assert!(
        status.is_success() || status.is_client_error(),
        "{status}: {body}"
    );
    let (status, audit) = server.get("/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    let last = audit["records"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["policy_version"], after, "{last}");

    // The metrics say which set is in force, and which it replaced.
    let metrics = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sample = |version: &str| {
        metrics
            .lines()
            .find(|l| {
                l.starts_with("partner_access_policy_version_info{")
                    && l.contains(&format!("version=\"{version}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .map(str::to_owned)
    };
    assert_eq!(sample(&after).as_deref(), Some("1"), "{metrics}");
    assert_eq!(sample(&before).as_deref(), Some("0"), "{metrics}");
}
