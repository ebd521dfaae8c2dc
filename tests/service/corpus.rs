//! The whole declarative policy corpus through the HTTP API: every case's decision over HTTP
//! equals the library's decision (and the case's expectation).

use std::collections::BTreeMap;

use partner_access::domain::{StateDocument, StateIndex};
use partner_access::policy::test_cases::discover;
use partner_access::policy::{CheckRequest, PolicyEngine};
use serde_json::{Map, Value};

use crate::support;
use crate::support::harness;

#[tokio::test]
async fn every_policy_case_decides_the_same_over_http() {
    let server = harness::start(harness::Options::default()).await;
    let engine = PolicyEngine::load(
        &support::root().join("policies"),
        &support::root().join("schema"),
    )
    .unwrap();
    let files = discover(&[support::root().join("tests/policies")]).unwrap();
    let mut imported: Option<String> = None;
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        // Files in the cedar CLI's format carry raw entities, not a state: not for the API.
        let Value::Object(doc) = doc else { continue };
        let state_path = file.parent().unwrap().join(
            doc["state"]
                .as_str()
                .expect("corpus files name their state"),
        );
        let state_text = std::fs::read_to_string(&state_path).unwrap();
        if imported.as_deref() != Some(state_text.as_str()) {
            server
                .import(&serde_json::from_str::<Value>(&state_text).unwrap())
                .await;
            imported = Some(state_text.clone());
        }
        let index = StateIndex::new(&StateDocument::from_json_str(&state_text).unwrap());
        for case in doc["cases"].as_array().unwrap() {
            let request = &case["request"];
            let (status, answer) = server
                .post(
                    "/v1/is_authorized",
                    &serde_json::json!({
                        "principal": request["principal"],
                        "action": request["action"],
                        "resource": request["resource"],
                        "context": request.get("context").cloned().unwrap_or(Value::Object(Map::new())),
                    }),
                )
                .await;
            assert_eq!(status, 200, "{}: {answer}", case["name"]);
            let library = engine
                .decide(
                    &CheckRequest::from_parts(
                        &request["principal"],
                        &request["action"],
                        &request["resource"],
                        request
                            .get("context")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default(),
                    )
                    .unwrap(),
                    &index,
                )
                .unwrap();
            let http_allowed = answer["decision"] == "Allow";
            let expected_allowed = case["decision"] == "allow";
            let http_reasons: Vec<String> =
                serde_json::from_value(answer["diagnostics"]["reasons"].clone()).unwrap();
            if http_allowed != library.allowed
                || http_allowed != expected_allowed
                || http_reasons != library.reasons
            {
                mismatches.push(format!(
                    "{} / {}: http {} {:?}, library {} {:?}, expected {}",
                    file.display(),
                    case["name"],
                    answer["decision"],
                    http_reasons,
                    library.allowed,
                    library.reasons,
                    case["decision"]
                ));
            }
            compared += 1;
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(compared > 100, "only {compared} cases compared");
    let mut by_outcome = BTreeMap::new();
    *by_outcome.entry("compared").or_insert(0) += compared;
    eprintln!("{by_outcome:?}");
}
