//! Operations as an operator meets them: health and readiness (also with a failing store),
//! Prometheus metrics, the OpenAPI document against the route table, what is loaded (actions
//! and policies), policy reload over HTTP and on SIGHUP of the real binary, graceful shutdown,
//! and state surviving a restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use partner_access::http::routes;
use partner_access::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::faults::FaultStore;
use crate::support::harness;
use crate::support::process::{NotReady, free_port, serve_command, wait_ready};

/// The check actions of the API: one per permission of the catalogue, plus the paid features.
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

const ANN: &str = "ann@acme.example";
const GLOBEX: &str = "c-globex";

/// A copy of the repository's `policies/` and `schema/` in a temporary directory.
fn policy_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["policies", "schema"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(support::root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    dir
}

fn copy_options(dir: &Path) -> harness::Options {
    harness::Options {
        policies: dir.join("policies"),
        schema: dir.join("schema"),
        ..Default::default()
    }
}

/// Removes the `listed.reports.access` permit (its doc comment, annotations and body) from
/// `capabilities.cedar`: a valid set in which a partner user listed for `reports.access` loses it.
fn drop_reports_permit(policies: &Path) {
    let file = policies.join("capabilities.cedar");
    let text = std::fs::read_to_string(&file).unwrap();
    let id = text.find("@id(\"listed.reports.access\")").unwrap();
    // The block starts at the `///` comment above the annotation...
    let start = text[..id].rfind("\n\n").map_or(0, |i| i + 2);
    // ...and ends at the statement's `;` (the next blank line).
    let end = id + text[id..].find("};\n").unwrap() + 3;
    let block = &text[start..end];
    assert!(block.starts_with("///"), "{block}");
    assert!(block.contains("permit ("), "{block}");
    assert_eq!(block.matches("@id(").count(), 1, "{block}");
    let changed = format!("{}{}", &text[..start], text[end..].trim_start_matches('\n'));
    std::fs::write(&file, changed).unwrap();
}

fn decision(answer: &Value) -> &str {
    answer["decision"].as_str().unwrap_or("?")
}

// ---------------------------------------------------------------------------------------------
// Health and readiness

#[tokio::test]
async fn healthz_says_ok() {
    let server = harness::start(harness::Options::default()).await;
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

/// Every answer carries a request id: the caller's own, or one the sidecar made, different for
/// each request (and said in the request's log span).
#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_given_one_is_kept() {
    let server = harness::start(harness::Options::default()).await;
    let check = json!({"principal": {"type": "Hub::User", "id": ANN},
                       "action": "reports.access",
                       "resource": {"type": "Hub::Account", "id": GLOBEX}});
    let mut made = BTreeSet::new();
    for _ in 0..3 {
        let response = server
            .client
            .post(server.url("/v1/is_authorized"))
            .json(&check)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let id = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(id.len() >= 10, "{id}");
        made.insert(id);
    }
    assert_eq!(made.len(), 3, "request ids repeat: {made:?}");
    let response = server
        .client
        .get(server.url("/healthz"))
        .header("x-request-id", "host-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "host-trace-42");
}

#[tokio::test]
async fn readyz_is_ready_on_a_healthy_server() {
    let server = harness::start(harness::Options::default()).await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true, "{body}");
    assert_eq!(body["store"], true, "{body}");
    assert_eq!(body["policies"], true, "{body}");
}

/// A server over a [`FaultStore`], with the demo state.
async fn faulty_server() -> (harness::TestServer, Arc<FaultStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultStore::open(dir.path()));
    let dyn_store: Arc<dyn Store> = store.clone();
    let server = harness::start_on(
        dyn_store,
        dir.path().to_owned(),
        harness::Options::default(),
    )
    .await;
    server.import(&support::demo()).await;
    (server, store, dir)
}

#[tokio::test]
async fn a_store_that_cannot_be_read_makes_readyz_503_and_checks_deny() {
    let (server, store, _dir) = faulty_server().await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    store.faults.open_fails.store(true, Ordering::SeqCst);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["ready"], false, "{body}");
    assert_eq!(body["store"], false, "{body}");
    assert_eq!(body["policies"], true, "{body}");
    // The process is still up.
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);

    // Nothing of this principal and account was read before: the check must read the store,
    // cannot, and fails closed: 200 Deny with an error entry, never an Allow.
    for action in CHECK_ACTIONS {
        let answer = server.check(ANN, action, GLOBEX).await;
        assert_eq!(decision(&answer), "Deny", "{action}: {answer}");
        let errors = answer["diagnostics"]["errors"].as_array().unwrap();
        assert!(!errors.is_empty(), "{action}: {answer}");
        assert_eq!(
            answer["diagnostics"]["reasons"].as_array().map(Vec::len),
            Some(0),
            "{action}: {answer}"
        );
    }

    // Readiness recovers once the store reads again, and the decision is the real one.
    store.faults.open_fails.store(false, Ordering::SeqCst);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true, "{body}");
    let answer = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&answer), "Allow", "{answer}");
}

/// The API: while the store cannot be read, "never an `Allow`". A check whose lookups were
/// cached before the failure is still answered from the check-path cache (for up to its TTL,
/// 30 s by default), so the sidecar says Allow while `/readyz` reports the store down.
#[tokio::test]
async fn a_store_that_cannot_be_read_gives_no_allow_even_from_the_cache() {
    let (server, store, _dir) = faulty_server().await;
    let warm = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&warm), "Allow", "{warm}");

    store.faults.open_fails.store(true, Ordering::SeqCst);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    for action in ["crm.objects.edit", "reports.access"] {
        let answer = server.check(ANN, action, GLOBEX).await;
        assert_eq!(decision(&answer), "Deny", "{action}: {answer}");
    }
    let (status, body) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [{
                "principal": format!("Hub::User::\"{ANN}\""),
                "action": "crm.objects.edit",
                "resource": format!("Hub::Account::\"{GLOBEX}\""),
            }]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["results"][0]["decision"], "Allow", "{body}");
}

#[tokio::test]
async fn a_store_that_cannot_be_written_answers_503_unavailable_and_changes_nothing() {
    let (server, store, _dir) = faulty_server().await;
    let (_, before) = server.get("/v1/admin/export").await;

    store.faults.begin_write_fails.store(true, Ordering::SeqCst);
    let (status, body) = server
        .post("/v1/admin/import?mode=replace", &support::agency())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let (status, body) = server
        .put(
            "/v1/admin/partners/p-new",
            &json!({"name": "New", "tier": "solutions_partner", "email_domains": ["new.example"],
                    "permission_sets": [], "crm_names": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");

    store
        .faults
        .begin_write_fails
        .store(false, Ordering::SeqCst);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["ready"], true, "{body}");
    let (status, after) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(before, after, "a failed write changed the state");
    // Writes work again.
    let (status, body) = server
        .post("/v1/admin/import?mode=replace", &support::demo())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Metrics

/// The value of the first sample line of `name` whose labels include every `label`.
fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics_text(server: &harness::TestServer) -> String {
    let response = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_documented_series() {
    let (server, store, _dir) = faulty_server().await;
    let allowed = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&allowed), "Allow", "{allowed}");
    // The same lookups again: cache hits.
    let denied = server.check(ANN, "billing.edit", GLOBEX).await;
    assert_eq!(decision(&denied), "Deny", "{denied}");
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    store.faults.begin_write_fails.store(true, Ordering::SeqCst);
    let (status, body) = server.post("/v1/admin/import", &support::demo()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    store
        .faults
        .begin_write_fails
        .store(false, Ordering::SeqCst);

    let text = metrics_text(&server).await;
    // Every sample line is `name{labels} value` or `name value`, with a number.
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "not a sample: {line}"
        );
        assert!(
            line.starts_with("partner_access_"),
            "unprefixed series: {line}"
        );
    }
    assert!(
        text.contains("# TYPE partner_access_decisions_total counter"),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "partner_access_decisions_total",
            &["action=\"crm.objects.edit\"", "outcome=\"allow\""]
        )
        .is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "partner_access_decisions_total",
            &["action=\"billing.edit\"", "outcome=\"deny\""]
        )
        .is_some_and(|v| v >= 1.0),
        "{text}"
    );
    let hits = sample(&text, "partner_access_cache_hits_total", &[]).unwrap_or(0.0);
    let misses = sample(&text, "partner_access_cache_misses_total", &[]).unwrap_or(0.0);
    assert!(hits + misses >= 1.0, "{text}");
    assert!(
        sample(&text, "partner_access_check_duration_seconds_count", &[]).is_some_and(|v| v >= 2.0)
            || sample(&text, "partner_access_check_duration_seconds", &[]).is_some(),
        "{text}"
    );
    assert!(
        text.contains("partner_access_check_duration_seconds_bucket")
            || text.contains("partner_access_check_duration_seconds{quantile="),
        "{text}"
    );
    assert!(
        sample(
            &text,
            "partner_access_policy_reloads_total",
            &["outcome=\"ok\""]
        )
        .is_some_and(|v| v >= 1.0),
        "{text}"
    );
    assert!(
        sample(&text, "partner_access_store_errors_total", &[]).is_some_and(|v| v >= 1.0),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document

#[tokio::test]
async fn openapi_lists_every_route_with_its_method() {
    let server = harness::start(harness::Options::default()).await;
    let (status, doc) = server.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi: {version:?}");
    assert!(doc["info"]["title"].is_string(), "{}", doc["info"]);
    let paths = doc["paths"].as_object().unwrap();

    let mut expected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for route in routes() {
        expected
            .entry(route.path)
            .or_default()
            .insert(route.method.as_str().to_lowercase());
    }
    for (path, methods) in &expected {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is missing from the OpenAPI document"));
        for method in methods {
            let operation = &item[method.as_str()];
            assert!(
                operation.is_object(),
                "{method} {path} is missing from the OpenAPI document: {item}"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no response"
            );
        }
    }
    // And it documents nothing the server does not serve.
    for (path, item) in paths {
        let served = expected
            .get(path.as_str())
            .unwrap_or_else(|| panic!("{path} is documented but not a route"));
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                assert!(
                    served.contains(method),
                    "{method} {path} is documented but not served"
                );
            }
        }
    }
    // The library's document is the one served.
    let library = serde_json::to_value(partner_access::http::openapi_document()).unwrap();
    assert_eq!(library, doc);
}

// ---------------------------------------------------------------------------------------------
// What is loaded

#[tokio::test]
async fn schema_actions_list_every_check_action_with_description_and_rules() {
    let server = harness::start(harness::Options::default()).await;
    let (status, body) = server.get("/v1/schema/actions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let actions = body["actions"].as_array().unwrap();
    let by_name: BTreeMap<&str, &Value> = actions
        .iter()
        .map(|a| (a["name"].as_str().unwrap(), a))
        .collect();
    assert_eq!(
        by_name.len(),
        actions.len(),
        "duplicate action names: {body}"
    );
    for name in CHECK_ACTIONS {
        let action = by_name
            .get(name)
            .unwrap_or_else(|| panic!("check action {name} is not listed: {body}"));
        assert!(
            action["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty()),
            "{name} has no description: {action}"
        );
        let rules = action["rules"].as_array().unwrap();
        assert!(!rules.is_empty(), "{name} has no rule ids: {action}");
        assert!(
            rules
                .iter()
                .all(|r| r.as_str().is_some_and(|r| !r.is_empty())),
            "{action}"
        );
    }
    // Every action (the command ones too) is described.
    for action in actions {
        assert!(
            action["description"]
                .as_str()
                .is_some_and(|d| !d.trim().is_empty()),
            "{action}"
        );
        assert!(action["rules"].is_array(), "{action}");
    }
    assert!(
        actions.len() > CHECK_ACTIONS.len(),
        "the command actions are missing: {body}"
    );
}

#[tokio::test]
async fn policies_list_id_effect_rules_file_and_line() {
    let server = harness::start(harness::Options::default()).await;
    let (status, body) = server.get("/v1/policies").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let policies = body["policies"].as_array().unwrap();
    assert!(!policies.is_empty(), "{body}");
    let mut ids = BTreeSet::new();
    for policy in policies {
        let id = policy["id"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "duplicate id {id}");
        let effect = policy["effect"].as_str().unwrap();
        assert!(effect == "permit" || effect == "forbid", "{policy}");
        let rules = policy["rules"].as_array().unwrap();
        assert!(!rules.is_empty(), "{id} has no rule ids: {policy}");
        let file = policy["file"].as_str().unwrap();
        assert!(
            Path::new(file).extension().is_some_and(|e| e == "cedar"),
            "{policy}"
        );
        let line = policy["line"].as_u64().unwrap();
        assert!(line >= 1, "{policy}");
        // The file and line point at the policy: its `@id` is at or a few lines around there.
        let name = Path::new(file).file_name().unwrap();
        let text = std::fs::read_to_string(support::root().join("policies").join(name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let at = usize::try_from(line).unwrap() - 1;
        assert!(at < lines.len(), "{policy}");
        let needle = format!("@id(\"{id}\")");
        let window = &lines[at.saturating_sub(3)..(at + 4).min(lines.len())];
        assert!(
            window.iter().any(|l| l.contains(&needle)),
            "{id} is not near {file}:{line}"
        );
    }
    let reports = policies
        .iter()
        .find(|p| p["id"] == "listed.reports.access")
        .unwrap();
    assert_eq!(reports["effect"], "permit");
    assert!(
        reports["file"]
            .as_str()
            .unwrap()
            .ends_with("capabilities.cedar"),
        "{reports}"
    );
}

// ---------------------------------------------------------------------------------------------
// Policy reload

#[tokio::test]
async fn an_invalid_reload_is_refused_with_file_and_line_and_a_valid_one_applies() {
    let dir = policy_copy();
    let server = harness::start(copy_options(dir.path())).await;
    server.import(&support::demo()).await;
    let before = server.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&before), "Allow", "{before}");
    let (_, loaded) = server.get("/v1/policies").await;
    let count = loaded["policies"].as_array().unwrap().len();

    // (a) A syntax error on line 5 of a new file.
    let broken = dir.path().join("policies/broken.cedar");
    std::fs::write(
        &broken,
        "@id(\"fine\")\n@rules(\"CAP-1\")\npermit(principal, action, resource) when { false };\n\n@id(\"broken\") permit(principal, action, resource) when { principal. };\n",
    )
    .unwrap();
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    let details = body["error"]["details"].as_array().unwrap();
    assert!(!details.is_empty(), "{body}");
    assert!(
        details.iter().any(|d| d["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("broken.cedar"))
            && d["line"] == 5
            && d["message"].as_str().is_some_and(|m| !m.is_empty())),
        "no detail names broken.cedar line 5: {body}"
    );
    // The old set keeps serving.
    let after = server.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&after), "Allow", "{after}");
    assert_eq!(
        after["diagnostics"]["reasons"],
        before["diagnostics"]["reasons"]
    );
    let (_, still) = server.get("/v1/policies").await;
    assert_eq!(still["policies"].as_array().unwrap().len(), count);
    let (status, _) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);

    // (b) Fixed, with a change that changes a decision.
    std::fs::remove_file(&broken).unwrap();
    drop_reports_permit(&dir.path().join("policies"));
    let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["policies"].as_u64(), Some(count as u64 - 1), "{body}");
    let now = server.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&now), "Deny", "{now}");
    // Other decisions are unchanged.
    let edit = server.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&edit), "Allow", "{edit}");
    let (_, listed) = server.get("/v1/policies").await;
    assert!(
        listed["policies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != "listed.reports.access"),
        "{listed}"
    );
}

/// Removes the `@permission(...)` annotation of `action` from the schema copy: the action stays
/// declared (the policies still validate), but it is no longer a permission of the catalogue.
fn drop_permission(schema: &Path, action: &str) {
    let file = schema.join("hub.cedarschema");
    let text = std::fs::read_to_string(&file).unwrap();
    let declaration = text.find(&format!("action \"{action}\"")).unwrap();
    let start = text[..declaration].rfind("@permission(").unwrap();
    let end = start + text[start..].find('\n').unwrap() + 1;
    assert!(
        end <= declaration,
        "no @permission line right above `{action}`"
    );
    std::fs::write(&file, format!("{}{}", &text[..start], &text[end..])).unwrap();
}

/// Who stores `permission` in a state document: (users, permission sets).
fn holders_of(state: &Value, permission: &str) -> (usize, usize) {
    let holds = |record: &Value| {
        record["permissions"]
            .as_array()
            .is_some_and(|list| list.iter().any(|p| p == permission))
    };
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut users = 0;
    let mut sets = 0;
    for partner in list(&state["partners"]) {
        sets += list(&partner["permission_sets"])
            .iter()
            .filter(|s| holds(s))
            .count();
    }
    for client in list(&state["clients"]) {
        users += list(&client["users"]).iter().filter(|u| holds(u)).count();
        sets += list(&client["permission_sets"])
            .iter()
            .filter(|s| holds(s))
            .count();
    }
    (users, sets)
}

fn is_permission(actions: &Value, name: &str) -> bool {
    actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == name && a["permission"] == true)
}

/// A schema that drops a permission stored users or permission sets hold would leave records
/// the sidecar's own export cannot re-import: the reload is refused (400 in the error shape,
/// each orphaned permission with its holder counts and first holders) and the old set keeps
/// serving. A schema that drops a permission nobody holds reloads. Every permission of the
/// catalogue is tried, held and unheld alike, over the demo and the agency states.
#[tokio::test]
async fn a_reload_that_orphans_stored_permissions_is_refused_and_one_that_does_not_applies() {
    // The agency state holds every permission; the demo state leaves some unheld.
    let (mut refused, mut applied) = (0, 0);
    for state in [support::demo(), support::agency()] {
        let dir = policy_copy();
        let schema = dir.path().join("schema");
        let original = std::fs::read_to_string(schema.join("hub.cedarschema")).unwrap();
        let server = harness::start(copy_options(dir.path())).await;
        server.import(&state).await;
        let (_, exported) = server.get("/v1/admin/export").await;
        let (_, actions) = server.get("/v1/schema/actions").await;
        let permissions: Vec<String> = actions["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["permission"] == true)
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect();
        for permission in &permissions {
            std::fs::write(schema.join("hub.cedarschema"), &original).unwrap();
            let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
            assert_eq!(status, StatusCode::OK, "restoring the schema: {body}");
            drop_permission(&schema, permission);
            let (users, sets) = holders_of(&exported, permission);
            let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
            let (_, now) = server.get("/v1/schema/actions").await;
            if users + sets == 0 {
                applied += 1;
                assert_eq!(
                    status,
                    StatusCode::OK,
                    "dropping unheld `{permission}`: {body}"
                );
                assert!(!is_permission(&now, permission), "{now}");
                continue;
            }
            refused += 1;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "dropping held `{permission}`: {body}"
            );
            let error = body["error"].as_object().unwrap();
            assert_eq!(error["code"], "invalid_request", "{body}");
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains(&format!("`{permission}`"))
                    && message.contains("the old set keeps serving"),
                "{message}"
            );
            let details = error["details"].as_array().unwrap();
            assert_eq!(details.len(), 1, "{body}");
            assert_eq!(details[0]["permission"], permission.as_str(), "{body}");
            assert_eq!(details[0]["users"], users, "{body}");
            assert_eq!(details[0]["permission_sets"], sets, "{body}");
            let shown = details[0]["holders"].as_array().unwrap();
            assert_eq!(shown.len(), (users + sets).min(10), "{body}");
            assert!(
                shown
                    .iter()
                    .all(|h| h["client"].is_string() || h["partner"].is_string()),
                "{body}"
            );
            // The old set keeps serving, and the export still re-imports.
            assert!(is_permission(&now, permission), "{now}");
            let (status, _) = server.get("/readyz").await;
            assert_eq!(status, StatusCode::OK);
            let (status, body) = server
                .post("/v1/admin/import?mode=replace", &exported)
                .await;
            assert_eq!(status, StatusCode::OK, "re-importing the export: {body}");
        }
    }
    assert!(
        refused > 0 && applied > 0,
        "refused {refused}, applied {applied}"
    );
}

/// Nothing a policy author writes takes the sidecar down: policies nested past the limits (in
/// every way a tree gets deep: brackets, prefix operators, long chains, member access, at
/// sizes from just past the limit to far past it) are refused on reload with file and line,
/// the old set keeps serving, and the deepest policy that does load evaluates on a request
/// thread without error.
#[tokio::test]
async fn deeply_nested_policies_are_refused_on_reload_and_the_sidecar_keeps_serving() {
    let dir = policy_copy();
    let server = harness::start(copy_options(dir.path())).await;
    server.import(&support::demo()).await;
    let (_, loaded) = server.get("/v1/policies").await;
    let count = loaded["policies"].as_array().unwrap().len();
    let deep = dir.path().join("policies/deep.cedar");
    let policy = |condition: String| {
        format!(
            "@id(\"deep\")\npermit (principal, action == Hub::Action::\"apps.manage\", resource)\nwhen {{ {condition} }};\n"
        )
    };
    let mut generated = Vec::new();
    for n in [33, 40, 300, 5_000, 100_000] {
        generated.push(format!("{}true{}", "(".repeat(n), ")".repeat(n)));
        generated.push(format!("{}true", "!".repeat(n)));
        generated.push(format!("{}1 == 1", "-".repeat(n)));
        generated.push(
            format!("{}true{}", "[".repeat(n), "]".repeat(n))
                .replace("true", "true].contains(true"),
        );
    }
    for n in [40, 1_000, 3_000, 50_000] {
        generated.push(vec!["principal.email != \"x\""; n].join(" && "));
        generated.push(vec!["true"; n].join(" || "));
        generated.push(format!("principal{} == \"\"", ".email".repeat(n)));
    }
    for condition in generated {
        std::fs::write(&deep, policy(condition.clone())).unwrap();
        let (status, body) = server.post("/v1/admin/policies/reload", &json!({})).await;
        let head: String = condition.chars().take(40).collect();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{head}…: {body}");
        let details = body["error"]["details"].as_array().unwrap();
        assert!(
            details.iter().any(|d| d["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("deep.cedar"))
                && d["line"].as_u64().is_some()),
            "{head}…: {body}"
        );
        let (_, still) = server.get("/v1/policies").await;
        assert_eq!(
            still["policies"].as_array().unwrap().len(),
            count,
            "{head}…"
        );
    }
    let (status, _) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);

    // The longest chain that loads evaluates on a request thread without an error.
    let mut longest = None;
    for n in (2..=60).rev() {
        std::fs::write(
            &deep,
            policy(vec!["principal.email != \"x\""; n].join(" && ")),
        )
        .unwrap();
        let (status, _) = server.post("/v1/admin/policies/reload", &json!({})).await;
        if status == StatusCode::OK {
            longest = Some(n);
            break;
        }
    }
    let longest = longest.expect("no chain loads");
    eprintln!("the longest `&&` chain that loads has {longest} terms");
    assert!(longest >= 20, "{longest}");
    let answer = server
        .check("bob@acme.example", "apps.manage", GLOBEX)
        .await;
    assert_eq!(decision(&answer), "Allow", "{answer}");
    assert_eq!(answer["diagnostics"]["errors"], json!([]), "{answer}");
    assert_eq!(
        answer["diagnostics"]["reasons"],
        json!(["deep"]),
        "{answer}"
    );
}

/// The real binary, killed on drop if a test fails before it stops.
struct Sidecar {
    child: std::process::Child,
    base: String,
    client: reqwest::Client,
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Sidecar {
    /// Starts `partner-access serve` and waits (at most 10 s) until `/readyz` answers 200.
    async fn start(data: &Path, policies: &Path, extra: &[&str], log: PathBuf) -> Sidecar {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut command = serve_command(
            env!("CARGO_BIN_EXE_partner-access").as_ref(),
            &listen,
            data,
            policies,
        );
        command
            .args(extra)
            .current_dir(data)
            .stderr(std::fs::File::create(&log).unwrap());
        let mut sidecar = Sidecar {
            child: command.spawn().unwrap(),
            base: format!("http://{listen}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
        };
        let ready = wait_ready(
            &mut sidecar.child,
            &sidecar.base,
            &sidecar.client,
            Duration::from_secs(10),
            Duration::from_millis(50),
        )
        .await;
        let log = || std::fs::read_to_string(&log).unwrap_or_default();
        match ready {
            Ok(()) => sidecar,
            Err(NotReady::Exited(status)) => {
                panic!("the sidecar exited early ({status}): {}", log())
            }
            Err(NotReady::TimedOut) => panic!("not ready within 10 s: {}", log()),
        }
    }

    async fn check(&self, principal: &str, action: &str, resource: &str) -> Value {
        let response = self
            .client
            .post(format!("{}/v1/is_authorized", self.base))
            .json(&json!({
                "principal": {"type": "Hub::User", "id": principal},
                "action": {"type": "Hub::Action", "id": action},
                "resource": {"type": "Hub::Account", "id": resource},
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    /// SIGTERM, then waits (at most 10 s) for the process to exit; returns its status.
    async fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the sidecar did not stop within 10 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_sigterm_stops_gracefully_and_the_state_survives() {
    let policies = policy_copy();
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();

    let mut sidecar = Sidecar::start(
        data.path(),
        policies.path(),
        &["--demo"],
        logs.path().join("1.log"),
    )
    .await;
    let before = sidecar.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&before), "Allow", "{before}");

    // A broken set on SIGHUP is refused: the old set keeps serving and the process lives.
    let broken = policies.path().join("policies/broken.cedar");
    std::fs::write(
        &broken,
        "permit(principal, action, resource) when { principal. };\n",
    )
    .unwrap();
    sidecar.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        sidecar.child.try_wait().unwrap().is_none(),
        "SIGHUP killed the sidecar"
    );
    let still = sidecar.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&still), "Allow", "{still}");

    // A valid change on SIGHUP applies.
    std::fs::remove_file(&broken).unwrap();
    drop_reports_permit(&policies.path().join("policies"));
    sidecar.signal("-HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = sidecar.check(ANN, "reports.access", GLOBEX).await;
        if decision(&answer) == "Deny" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "SIGHUP did not reload within 10 s: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let edit = sidecar.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&edit), "Allow", "{edit}");

    let status = sidecar.terminate().await;
    assert!(
        status.success(),
        "SIGTERM did not stop cleanly ({status}): {}",
        std::fs::read_to_string(logs.path().join("1.log")).unwrap_or_default()
    );
    drop(sidecar);

    // Restart on the same data directory, without --demo: the demo state is still there.
    let mut again =
        Sidecar::start(data.path(), policies.path(), &[], logs.path().join("2.log")).await;
    let edit = again.check(ANN, "crm.objects.edit", GLOBEX).await;
    assert_eq!(decision(&edit), "Allow", "{edit}");
    // The edited policy files are still the ones read.
    let reports = again.check(ANN, "reports.access", GLOBEX).await;
    assert_eq!(decision(&reports), "Deny", "{reports}");
    let status = again.terminate().await;
    assert!(status.success(), "{status}");
}

// ---------------------------------------------------------------------------------------------
// Restart

#[tokio::test]
async fn state_survives_a_restart() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::demo()).await;
    let (status, exported) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{exported}");
    let ids = |doc: &Value, key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ids(&exported, "partners"),
        ids(&support::demo(), "partners")
    );
    assert_eq!(ids(&exported, "clients"), ids(&support::demo(), "clients"));
    let checks = [
        (ANN, "crm.objects.edit"),
        (ANN, "billing.edit"),
        ("bob@acme.example", "reports.access"),
        ("owner@globex.example", "superadmins.manage"),
    ];
    let mut decisions = Vec::new();
    for (who, action) in checks {
        decisions.push(server.check(who, action, GLOBEX).await);
    }

    let server = server.restart().await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, again) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(exported, again, "the state changed across a restart");
    // Shutting down flushes the partner activity noted by Allow decisions (REL-3): one more
    // write at most.
    assert!(
        (revision..=revision + 1).contains(&server.app.revision()),
        "revision {} after a restart from {revision}",
        server.app.revision()
    );
    for ((who, action), before) in checks.into_iter().zip(decisions) {
        let after = server.check(who, action, GLOBEX).await;
        assert_eq!(after["decision"], before["decision"], "{who} {action}");
        assert_eq!(
            after["diagnostics"]["reasons"], before["diagnostics"]["reasons"],
            "{who} {action}"
        );
    }
    // Re-importing the export is a no-op on decisions too.
    server.import(&again).await;
    let (_, third) = server.get("/v1/admin/export").await;
    assert_eq!(again, third);
}

/// Connections without a token cannot exhaust the sidecar: past `max_connections`, a new
/// connection is answered at once with a 503 in the error shape (`Retry-After`) and closed; a
/// connection that holds a request open without finishing its headers is closed after the
/// header timeout; and a check over a connection already open keeps answering while the limit
/// is hit. (The figures are printed: connections held, time to shed, time to recover.)
#[tokio::test]
async fn half_open_connections_are_shed_fast_and_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const LIMIT: usize = 40;
    let header_timeout = std::time::Duration::from_secs(3);
    let server = harness::start(harness::Options {
        connections: partner_access::http::ConnectionLimits {
            max_connections: LIMIT,
            header_timeout,
        },
        ..harness::Options::default()
    })
    .await;
    server.import(&support::demo()).await;
    // A host's pooled connection, open before the flood.
    let pooled = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let check = |client: reqwest::Client| {
        let url = server.url("/v1/is_authorized");
        async move {
            client
                .post(url)
                .json(&json!({"principal": "Hub::User::\"ann@acme.example\"",
                              "action": "reports.access",
                              "resource": "Hub::Account::\"c-globex\""}))
                .send()
                .await
        }
    };
    assert_eq!(check(pooled.clone()).await.unwrap().status(), 200);

    // The flood: sockets that send half a request and then nothing, or nothing at all, all at
    // once; then what each one got within 300 ms (well inside the header timeout).
    let address = server
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..LIMIT + 20 {
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        if i % 2 == 0 {
            socket
                .write_all(
                    b"POST /v1/is_authorized HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n",
                )
                .await
                .unwrap();
        }
        let started = std::time::Instant::now();
        flood.spawn(async move {
            let mut answer = vec![0u8; 1024];
            let read = tokio::time::timeout(
                std::time::Duration::from_millis(300),
                socket.read(&mut answer),
            )
            .await;
            let text = match read {
                Ok(Ok(n)) if n > 0 => Some(String::from_utf8_lossy(&answer[..n]).into_owned()),
                _ => None,
            };
            (socket, text, started.elapsed())
        });
    }
    let mut held = Vec::new();
    let mut shed = 0;
    let mut slowest_shed = std::time::Duration::ZERO;
    while let Some(outcome) = flood.join_next().await {
        match outcome.unwrap() {
            (_, Some(text), elapsed) => {
                assert!(text.starts_with("HTTP/1.1 503"), "{text}");
                assert!(
                    text.to_ascii_lowercase().contains("retry-after: 1"),
                    "{text}"
                );
                let body = text.split("\r\n\r\n").nth(1).unwrap();
                let body: Value = serde_json::from_str(body).unwrap();
                assert_eq!(body["error"]["code"], "unavailable", "{text}");
                slowest_shed = slowest_shed.max(elapsed);
                shed += 1;
            }
            (socket, None, _) => held.push(socket),
        }
    }
    eprintln!(
        "connections held: {} (limit {LIMIT}, the rest pooled), shed: {shed}, slowest shed answer: {slowest_shed:?}",
        held.len()
    );
    // The hosts' pooled connections (the test client's, `pooled`) hold permits too.
    assert!(
        held.len() < LIMIT && held.len() >= LIMIT - 3,
        "{} held",
        held.len()
    );
    assert_eq!(held.len() + shed, LIMIT + 20);
    assert!(slowest_shed < std::time::Duration::from_millis(300));

    // The pooled connection still answers checks while the limit is hit.
    assert_eq!(check(pooled.clone()).await.unwrap().status(), 200);

    // After the header timeout the half-open connections are closed, and new ones are served.
    let started = std::time::Instant::now();
    for socket in &mut held {
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(header_timeout * 3, socket.read_to_end(&mut rest)).await;
        assert!(
            closed.is_ok(),
            "a half-open connection outlived the header timeout"
        );
    }
    let recovered = loop {
        match check(reqwest::Client::new()).await {
            Ok(response) if response.status() == 200 => break started.elapsed(),
            _ => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    };
    eprintln!(
        "half-open connections closed and a new connection served {recovered:?} after the flood"
    );
    assert!(recovered < header_timeout * 3);
}
