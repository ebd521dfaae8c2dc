//! Versioned policy sets in the store, over HTTP: push (validated strictly, tested, stored once
//! per content), list, read back, activate (a check then decides by the new rules and says the
//! new version), roll back; a push refused by a failing test or a broken policy stores
//! nothing; an unknown version is 404; a sidecar serving its directory refuses activation.

use std::collections::BTreeMap;
use std::sync::Arc;

use partner_access::app::policies::{activate, push, read_dirs};
use partner_access::app::{App, PolicyPush};
use partner_access::domain::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{self, harness, harness::Options, harness::TestServer, postgres};

const ANN: &str = "ann@acme.example";
const GLOBEX: &str = "c-globex";
const FORBID_ALL: &str = "@id(\"test-forbid-everything\")\nforbid (principal, action, resource);\n";

/// The project's policy set, as `PUT /v1/admin/policies` takes it.
fn project_files() -> BTreeMap<String, String> {
    let root = support::root();
    read_dirs(&root.join("policies"), &root.join("schema"))
        .unwrap()
        .into_iter()
        .map(|f| (f.name, f.text))
        .collect()
}

/// The project's set with one more file that forbids everything.
fn forbidding_files() -> BTreeMap<String, String> {
    let mut files = project_files();
    files.insert("zz_forbid.cedar".into(), FORBID_ALL.into());
    files
}

/// A sidecar serving the store's policies, the project's set pushed and active, the demo
/// state loaded; on the suite's backend.
async fn store_mode_server() -> (TestServer, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let url = match postgres::url() {
        Some(base) => Some(postgres::fresh_schema(&base).await),
        None => None,
    };
    let store = harness::open_store(&data, url.as_deref());
    let root = support::root();
    let request = PolicyPush {
        files: read_dirs(&root.join("policies"), &root.join("schema")).unwrap(),
        tests: Vec::new(),
        actor: "setup".into(),
    };
    let (pushed, _) = push(store.as_ref(), &request, Timestamp::now()).unwrap();
    activate(
        store.as_ref(),
        pushed.version.as_str(),
        "setup",
        Timestamp::now(),
        &mut |_| None,
        &mut |_| {},
    )
    .unwrap();
    let app = App::new_from_store(
        partner_access::app::AppSettings {
            // Not read in store mode.
            policies_dir: data.join("no-such-policies"),
            schema_dir: data.join("no-such-schema"),
            ..support::settings()
        },
        store,
    )
    .unwrap();
    let mut server = harness::serve(Arc::new(app), data, Options::default()).await;
    server.keep(dir);
    server.import(&support::demo()).await;
    (server, pushed.version.to_string())
}

async fn versions(server: &TestServer) -> Value {
    let (status, body) = server.get("/v1/admin/policies/versions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn decision(server: &TestServer) -> (String, String) {
    let answer = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    (
        answer["decision"].as_str().unwrap().to_owned(),
        answer["policy_version"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_pushed_version_is_activated_decides_and_is_rolled_back() {
    let (server, v1) = store_mode_server().await;
    assert_eq!(decision(&server).await, ("Allow".into(), v1.clone()));

    let (status, pushed) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": forbidding_files(), "actor": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    assert_eq!(pushed["created"], true, "{pushed}");
    assert_eq!(pushed["pushed_by"], "alice", "{pushed}");
    let v2 = pushed["version"].as_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    // Stored, not active: the sidecar still decides under v1.
    assert_eq!(decision(&server).await, ("Allow".into(), v1.clone()));

    // The same files again: nothing stored, the version as first pushed.
    let (status, again) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": forbidding_files(), "actor": "bob"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["created"], false, "{again}");
    assert_eq!(again["pushed_by"], "alice", "{again}");
    assert_eq!(again["version"], v2.as_str());

    let history = versions(&server).await;
    let listed: Vec<(&str, bool)> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_str().unwrap(),
                v["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [(v1.as_str(), true), (v2.as_str(), false)],
        "{history}"
    );

    // Activated by a prefix of its hash.
    let (status, activated) = server
        .post(
            &format!(
                "/v1/admin/policies/versions/{}/activate?actor=carol",
                &v2[..12]
            ),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
    assert_eq!(activated["changed"], true);
    assert_eq!(activated["version"], v2.as_str());
    assert_eq!(activated["previous"], v1.as_str());
    assert_eq!(activated["activated_by"], "carol");
    assert_eq!(decision(&server).await, ("Deny".into(), v2.clone()));
    let (_, policies) = server.get("/v1/policies").await;
    assert_eq!(policies["version"], v2.as_str());

    // Again: nothing changes.
    let (status, same) = server
        .post(
            &format!("/v1/admin/policies/versions/{v2}/activate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["changed"], false, "{same}");

    // Rollback: activate v1 again.
    let (status, rolled) = server
        .post(
            &format!("/v1/admin/policies/versions/{v1}/activate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert_eq!(decision(&server).await, ("Allow".into(), v1.clone()));

    let history = versions(&server).await;
    assert_eq!(history["active"]["version"], v1.as_str(), "{history}");
    let activations: Vec<&str> = history["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["version"].as_str().unwrap())
        .collect();
    assert_eq!(activations, [v1.as_str(), v2.as_str(), v1.as_str()]);

    // One version with its files; the audit log has the push and each activation.
    let (status, one) = server
        .get(&format!("/v1/admin/policies/versions/{}", &v2[..8]))
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    let names: Vec<&str> = one["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"zz_forbid.cedar"), "{names:?}");
    let (_, audit) = server.get("/v1/audit").await;
    let commands: Vec<(&str, &str)> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["command"].as_str().unwrap().starts_with("policies."))
        .map(|r| (r["command"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        commands,
        [
            ("policies.push", "setup"),
            ("policies.activate", "setup"),
            ("policies.push", "alice"),
            ("policies.activate", "carol"),
            ("policies.activate", "admin-token"),
        ],
        "{audit}"
    );
}

#[tokio::test]
async fn a_push_refused_by_a_failing_test_or_a_broken_policy_stores_nothing() {
    let (server, v1) = store_mode_server().await;
    let before = versions(&server).await;

    // A test that the forbidding set fails.
    let test = json!({
        "state": support::demo(),
        "cases": [{
            "name": "ann may edit globex's CRM",
            "request": {
                "principal": format!("Hub::User::\"{ANN}\""),
                "action": "crm.objects.edit",
                "resource": {"type": "Hub::Account", "id": GLOBEX},
                "context": {}
            },
            "decision": "allow"
        }]
    });
    let (status, refused) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": forbidding_files(), "tests": {"crm.json": test}, "activate": true}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    let details = refused["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{refused}");
    assert_eq!(details[0]["file"], "crm.json");
    assert_eq!(details[0]["case"], "ann may edit globex's CRM");

    // The same test passes on the project's set: pushed (the same version: nothing new).
    let (status, passed) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": project_files(), "tests": {"crm.json": test}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{passed}");
    assert_eq!(passed["version"], v1.as_str());

    // A test file naming its state by path cannot be run from text.
    let (status, by_path) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": forbidding_files(),
                    "tests": {"x.json": {"state": "fixtures/agency.json", "cases": []}}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{by_path}");
    assert!(
        by_path["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inline"),
        "{by_path}"
    );

    // A policy that does not parse: every error named, with its file.
    let mut broken = project_files();
    broken.insert(
        "zz_broken.cedar".into(),
        "@id(\"x\")\npermit (principal,".into(),
    );
    let (status, invalid) = server
        .put("/v1/admin/policies", &json!({"files": broken}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{invalid}");
    assert_eq!(
        invalid["error"]["details"][0]["file"], "zz_broken.cedar",
        "{invalid}"
    );

    // A file that is neither schema nor policy, a path for a name.
    for files in [
        json!({"notes.txt": "x"}),
        json!({"../hub.cedarschema": "x", "a.cedar": "x"}),
    ] {
        let (status, bad) = server
            .put("/v1/admin/policies", &json!({"files": files}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }

    assert_eq!(versions(&server).await, before);
    assert_eq!(decision(&server).await, ("Allow".into(), v1));
}

#[tokio::test]
async fn an_unknown_version_is_404_and_a_malformed_one_400() {
    let (server, v1) = store_mode_server().await;
    let (status, body) = server
        .get("/v1/admin/policies/versions/0123456789abcdef")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = server
        .post(
            "/v1/admin/policies/versions/0123456789abcdef/activate",
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for bad in ["abc", "not-hex-at-all", &"a".repeat(65)] {
        let (status, body) = server
            .get(&format!("/v1/admin/policies/versions/{bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    assert_eq!(decision(&server).await.1, v1);
}

#[tokio::test]
async fn a_sidecar_serving_its_directory_stores_versions_but_refuses_activation() {
    let server = harness::start(Options::default()).await;
    server.import(&support::demo()).await;
    let (_, serving) = decision(&server).await;

    // Activating with the push is refused before anything is stored.
    let (status, refused) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": forbidding_files(), "activate": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--policies-from-store"),
        "{refused}"
    );
    assert_eq!(versions(&server).await["versions"], json!([]));

    let (status, pushed) = server
        .put("/v1/admin/policies", &json!({"files": forbidding_files()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    let v2 = pushed["version"].as_str().unwrap();
    let (status, refused) = server
        .post(
            &format!("/v1/admin/policies/versions/{v2}/activate"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(decision(&server).await, ("Allow".into(), serving));
}

#[tokio::test]
async fn a_sidecar_serving_the_store_refuses_to_start_without_an_active_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = harness::open_store(dir.path(), None);
    let refused = App::new_from_store(support::settings(), store).unwrap_err();
    assert!(refused.to_string().contains("policies push"), "{refused}");
}

#[tokio::test]
async fn the_impact_of_a_stored_version_is_every_decision_it_flips() {
    let (server, v1) = store_mode_server().await;
    let (status, pushed) = server
        .put("/v1/admin/policies", &json!({"files": forbidding_files()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    let v2 = pushed["version"].as_str().unwrap().to_owned();

    let (status, report) = server
        .post(
            "/v1/admin/policies/impact",
            &json!({"to": &v2[..10], "examples": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let actions: Vec<String> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(
        actions.iter().any(|a| a == "crm.objects.edit"),
        "{actions:?}"
    );
    assert!(
        !actions
            .iter()
            .any(|a| a == "user.create" || a == "partner.view"),
        "commands and reads of partners are not check actions: {actions:?}"
    );

    // What the sidecar allows now, asked one check at a time: a forbid-everything set denies
    // each of these, and nothing else changes.
    let demo = support::demo();
    let mut allowed: BTreeMap<String, u64> = BTreeMap::new();
    let mut memberships = 0;
    for client in demo["clients"].as_array().unwrap() {
        let account = client["id"].as_str().unwrap();
        for user in client["users"].as_array().unwrap() {
            memberships += 1;
            let email = user["email"].as_str().unwrap();
            for action in &actions {
                if server.check(email, action, account).await["decision"] == "Allow" {
                    *allowed.entry(action.clone()).or_default() += 1;
                }
            }
        }
    }
    let total: u64 = allowed.values().sum();
    assert!(total > 0);

    assert_eq!(report["from"], v1.as_str(), "the active version by default");
    assert_eq!(report["to"], v2.as_str());
    assert_eq!(report["memberships"], memberships);
    assert_eq!(report["changed"]["allow_to_deny"], total, "{report}");
    assert_eq!(report["changed"]["deny_to_allow"], 0, "{report}");
    let by_action: BTreeMap<String, u64> = report["by_action"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, c)| (a.clone(), c["allow_to_deny"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_action, allowed, "{report}");
    let groups = report["groups"].as_array().unwrap();
    for group in groups {
        assert_eq!(
            group["after"]["policies"],
            json!(["test-forbid-everything"]),
            "{group}"
        );
        assert_eq!(group["direction"], "allow_to_deny");
    }
    // Ann edits Globex's CRM objects under v1; not under v2.
    assert!(
        groups.iter().any(|g| g["action"] == "crm.objects.edit"
            && g["examples"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["user"] == ANN && e["account"] == GLOBEX)),
        "{report}"
    );

    // Both versions named; the same version: nothing changes, nothing evaluated.
    let (status, same) = server
        .post(
            "/v1/admin/policies/impact",
            &json!({"from": &v2, "to": &v2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{same}");
    assert_eq!(same["changed"]["allow_to_deny"], 0);
    assert_eq!(same["cases"], 0);

    // Unknown: 404; malformed: 400 in the API's error shape.
    let (status, body) = server
        .post(
            "/v1/admin/policies/impact",
            &json!({"to": "0123456789abcdef"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    for bad in [
        json!({"to": "abc"}),
        json!({"to": &v2, "from": "not-hex-at-all"}),
        json!({"to": &v2, "examples": 5000}),
        json!({"to": &v2, "unknown": 1}),
        json!({}),
    ] {
        let (status, body) = server.post("/v1/admin/policies/impact", &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{bad}: {body}");
    }
    // Still serving v1: an analysis changes nothing.
    assert_eq!(decision(&server).await.1, v1);
}

/// Every check decision of a generated state: (user, action, account) → (verdict, reasons),
/// through the batch route, over every permission action of the catalogue.
async fn every_decision(
    server: &TestServer,
) -> BTreeMap<(String, String, String), (String, Value)> {
    let (status, actions) = server.get("/v1/schema/actions").await;
    assert_eq!(status, StatusCode::OK, "{actions}");
    let actions: Vec<String> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["permission"] == true)
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.len() >= 10, "{actions:?}");
    let (status, state) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK);
    let mut requests = Vec::new();
    for client in state["clients"].as_array().unwrap() {
        let account = client["id"].as_str().unwrap();
        for user in client["users"].as_array().unwrap() {
            let email = user["email"].as_str().unwrap();
            for action in &actions {
                requests.push((email.to_owned(), action.clone(), account.to_owned()));
            }
        }
    }
    let mut decisions = BTreeMap::new();
    for chunk in requests.chunks(1000) {
        let body = json!({"requests": chunk.iter().map(|(p, a, r)| json!({
            "principal": {"type": "Hub::User", "id": p},
            "action": a,
            "resource": {"type": "Hub::Account", "id": r},
        })).collect::<Vec<_>>()});
        let (status, answer) = server.post("/v1/is_authorized/batch", &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        for (request, result) in chunk.iter().zip(answer["results"].as_array().unwrap()) {
            assert!(result["error"].is_null(), "{result}");
            decisions.insert(
                request.clone(),
                (
                    result["decision"].as_str().unwrap().to_owned(),
                    result["diagnostics"]["reasons"].clone(),
                ),
            );
        }
    }
    decisions
}

/// [`store_mode_server`] with a generated state (3 partners, 12 clients) instead of the demo's.
async fn generated_store_mode_server() -> (TestServer, String) {
    let (server, v1) = store_mode_server().await;
    let generated = partner_access::fixtures::generate(partner_access::fixtures::Size {
        partners: 3,
        clients: 12,
        users_per_client: 3,
    });
    let generated = serde_json::to_value(&generated).unwrap();
    let (status, imported) = server
        .post("/v1/admin/import?mode=replace", &generated)
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    (server, v1)
}

/// Rollback restores every decision exactly: over a generated state, every (user, permission
/// action, account) decides the same, with the same reasons, after a version that changes
/// them was activated and the earlier one activated again.
#[tokio::test]
async fn a_rollback_restores_every_decision_exactly() {
    let (server, v1) = generated_store_mode_server().await;
    let before = every_decision(&server).await;
    assert!(before.len() > 500, "{} decisions", before.len());
    assert!(before.values().any(|(verdict, _)| verdict == "Allow"));

    // v2: partner admins lose what their list gives (an extra forbid on reports.access).
    let mut files = project_files();
    files.insert(
        "zz_no_reports.cedar".into(),
        "@id(\"test-no-reports\")\nforbid (principal, action == Hub::Action::\"reports.access\", resource);\n".into(),
    );
    let (status, pushed) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": files, "actor": "alice", "activate": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    let during = every_decision(&server).await;
    let changed = before
        .iter()
        .filter(|(request, decided)| during.get(*request) != Some(*decided))
        .count();
    assert!(changed > 0, "v2 changes some decisions");

    let (status, rolled) = server
        .post(
            &format!("/v1/admin/policies/versions/{v1}/activate?actor=alice"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    let after = every_decision(&server).await;
    assert_eq!(after.len(), before.len());
    let differing: Vec<_> = before
        .iter()
        .filter(|(request, decided)| after.get(*request) != Some(*decided))
        .take(5)
        .collect();
    assert!(differing.is_empty(), "after the rollback: {differing:?}");
}

/// The impact of a real change, partner admins losing `reports.access` (their list's permit
/// overruled), lists exactly the decisions that flip, against a brute-force oracle: every
/// (user, permission action, account) of a generated state decided under both versions.
#[tokio::test]
async fn the_impact_of_a_real_change_is_exactly_the_decisions_that_flip() {
    let (server, v1) = generated_store_mode_server().await;
    let before = every_decision(&server).await;

    let mut files = project_files();
    files.insert(
        "zz_partner_admins_no_reports.cedar".into(),
        "@id(\"test-partner-admins-no-reports\")\nforbid (principal is Hub::User, action == Hub::Action::\"reports.access\", resource is Hub::Account)\nwhen { principal.hasTag(resource.key) && principal.getTag(resource.key).role == \"partner_admin\" };\n".into(),
    );
    let (status, pushed) = server
        .put(
            "/v1/admin/policies",
            &json!({"files": files, "actor": "alice"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pushed}");
    let v2 = pushed["version"].as_str().unwrap().to_owned();
    let (status, report) = server
        .post(
            "/v1/admin/policies/impact",
            &json!({"from": &v1, "to": &v2, "examples": 1000}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let mut reported = std::collections::BTreeSet::new();
    for group in report["groups"].as_array().unwrap() {
        let action = group["action"].as_str().unwrap();
        let examples = group["examples"].as_array().unwrap();
        assert_eq!(
            group["count"].as_u64().unwrap(),
            examples.len() as u64,
            "{group}"
        );
        for example in examples {
            reported.insert((
                example["user"].as_str().unwrap().to_owned(),
                action.to_owned(),
                example["account"].as_str().unwrap().to_owned(),
            ));
        }
    }

    // The oracle: activate v2 and decide everything again.
    let (status, activated) = server
        .post(
            &format!("/v1/admin/policies/versions/{v2}/activate?actor=alice"),
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activated}");
    let after = every_decision(&server).await;
    let flipped: std::collections::BTreeSet<_> = before
        .iter()
        .filter(|(request, (verdict, _))| after[*request].0 != *verdict)
        .map(|(request, _)| request.clone())
        .collect();
    assert!(!flipped.is_empty(), "the change flips some decisions");
    assert!(
        flipped
            .iter()
            .all(|(_, action, _)| action == "reports.access"),
        "{flipped:?}"
    );
    assert_eq!(
        reported, flipped,
        "the report lists exactly the flipped decisions"
    );
    assert_eq!(
        report["changed"]["allow_to_deny"].as_u64().unwrap(),
        flipped.len() as u64
    );
}
