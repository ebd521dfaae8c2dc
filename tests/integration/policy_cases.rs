//! The declarative policy test corpus (`tests/policies/*.json`) run under `cargo test`, plus
//! the checks that the corpus is complete (every single-decision rule of the rule book has an Allow
//! and a Deny case) and that it really exercises the policies (removing a forbid fails a case).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use partner_access::policy::test_cases::{Expected, FileResult, discover, run_file};
use partner_access::policy::{PolicyEngine, SourceFile};

use crate::support::rule_ids::rule_ids;

/// The rule ids of the rule book (`docs/rules.md`) that are about a single decision: each must have at least one
/// Allow case and one Deny case in the corpus.
const SINGLE_DECISION_RULES: &[&str] = &[
    "CAP-1", "CAP-2", "CAP-3", "CAP-4", "CAP-5", "CAP-6", "CAP-7", "PA-1", "PA-2", "PA-3", "PA-4",
    "ADD-1", "ADD-2", "LINK-1", "LINK-3", "PERM-1", "PERM-2", "PERM-4", "REM-1", "REM-2", "REM-3",
    "REM-7", "REM-8", "REM-9", "MIG-1", "MIG-2", "MIG-3", "SEAT-1", "SEAT-2", "SEAT-3", "SEAT-4",
    "SEAT-6", "SEAT-7", "SEAT-8", "SEAT-9",
];

/// The rule ids that are not single decisions, and why: they are enforced by the commands over
/// the whole account, by events, or by reads, and are tested there.
const OTHER_RULES: &[(&str, &str)] = &[
    ("PA-5", "an outbox event"),
    ("ADD-3", "applies the clamp and the seat: a command outcome"),
    ("ADD-4", "CRM names in a read"),
    ("ADD-5", "the employees listing"),
    ("ADD-6", "per-employee outcome of the add command"),
    ("LINK-2", "a state check of the link command"),
    ("PERM-3", "automatic seat assignment by the command"),
    ("REM-4", "relationship state"),
    ("REM-5", "preview and confirm"),
    ("REM-6", "preview and confirm"),
    ("REL-1", "relationship state"),
    ("REL-2", "relationship state"),
    ("REL-3", "activity recording"),
    ("REL-4", "relationship state"),
    ("REL-5", "relationship read"),
    ("MIG-4", "an invariant over the account"),
    ("SEAT-5", "an invariant over the account"),
    ("OP-1", "every command"),
    ("OP-2", "every command"),
    ("OP-3", "every command"),
];

use crate::support::root;

fn engine() -> PolicyEngine {
    PolicyEngine::load(&root().join("policies"), &root().join("schema"))
        .unwrap_or_else(|e| panic!("policies do not load:\n{e}"))
}

fn run_corpus(engine: &PolicyEngine) -> Vec<FileResult> {
    let files = discover(&[root().join("tests/policies")]).unwrap();
    assert!(
        files.len() >= 5,
        "expected a test file per theme, found {files:?}"
    );
    files.iter().map(|f| run_file(engine, f)).collect()
}

#[test]
fn every_policy_case_passes() {
    let results = run_corpus(&engine());
    let mut failures = Vec::new();
    let mut total = 0;
    for file in &results {
        if let Some(error) = &file.error {
            failures.push(format!("{}: {error}", file.path.display()));
        }
        for case in &file.cases {
            total += 1;
            if let Some(failure) = &case.failure {
                failures.push(format!(
                    "{}: case `{}`: {failure}",
                    file.path.display(),
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} policy cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total > 100, "only {total} cases ran");
}

#[test]
fn every_single_decision_rule_has_an_allow_and_a_deny_case() {
    let results = run_corpus(&engine());
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for case in results.iter().flat_map(|f| &f.cases) {
        for rule in &case.rules {
            if let Some(known) = SINGLE_DECISION_RULES.iter().find(|r| **r == rule) {
                let entry = seen.entry(known).or_default();
                match case.expected {
                    Expected::Allow => entry.0 += 1,
                    Expected::Deny => entry.1 += 1,
                }
            }
        }
    }
    let missing: Vec<String> = SINGLE_DECISION_RULES
        .iter()
        .filter_map(|rule| match seen.get(rule) {
            Some((a, d)) if *a > 0 && *d > 0 => None,
            Some((a, d)) => Some(format!("{rule}: {a} allow, {d} deny")),
            None => Some(format!("{rule}: no case")),
        })
        .collect();
    assert!(
        missing.is_empty(),
        "rules without both outcomes:\n{}",
        missing.join("\n")
    );
}

/// Every rule id of the project's rule book (`docs/rules.md`) is classified above, so a new rule
/// cannot slip past the coverage check. (That the rule book names every rule of the
/// specification it restates is `tests/rule_book.rs`.)
#[test]
fn every_rule_of_the_rule_book_is_classified() {
    let text = std::fs::read_to_string(root().join("docs/rules.md")).unwrap();
    let ids = rule_ids(&text);
    assert!(
        ids.len() > 50,
        "found only {} rule ids in docs/rules.md",
        ids.len()
    );
    let classified: BTreeSet<&str> = SINGLE_DECISION_RULES
        .iter()
        .copied()
        .chain(OTHER_RULES.iter().map(|(id, _)| *id))
        .collect();
    let unclassified: Vec<_> = ids
        .iter()
        .filter(|id| !classified.contains(id.as_str()))
        .collect();
    assert!(
        unclassified.is_empty(),
        "rules not classified: {unclassified:?}"
    );
    let unknown: Vec<_> = classified.iter().filter(|id| !ids.contains(**id)).collect();
    assert!(
        unknown.is_empty(),
        "classified but not in docs/rules.md: {unknown:?}"
    );
}

/// The corpus exercises the policies: with the partner-admin forbid on SCIM removed, the case
/// that names it fails.
#[test]
fn removing_the_scim_forbid_fails_a_named_case() {
    let schema = SourceFile::read_dir(&root().join("schema"), "cedarschema").unwrap();
    let mut policies = SourceFile::read_dir(&root().join("policies"), "cedar").unwrap();
    let capabilities = policies
        .iter_mut()
        .find(|f| f.path.ends_with("capabilities.cedar"))
        .unwrap();
    let start = capabilities
        .text
        .find("/// A partner admin never provisions")
        .unwrap();
    let end = capabilities
        .text
        .find("/// A partner admin does not have full admin rights")
        .unwrap();
    capabilities.text.replace_range(start..end, "");
    let weakened = PolicyEngine::from_sources(&schema, &policies).unwrap();

    let result = run_file(&weakened, &root().join("tests/policies/capabilities.json"));
    let failed: Vec<_> = result.cases.iter().filter(|c| !c.passed()).collect();
    assert!(
        failed.iter().any(|c| c.name
            == "partner admin never provisions through SCIM, even if listed"
            && c.failure
                .as_deref()
                .unwrap()
                .contains("expected deny, got allow")),
        "{failed:#?}"
    );
}

/// A case that fails is reported with its name, the decision, the expected one and the reasons.
#[test]
fn a_failing_case_names_decision_expectation_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::copy(
        root().join("tests/policies/fixtures/agency.json"),
        fixtures.join("agency.json"),
    )
    .unwrap();
    let file = dir.path().join("wrong.json");
    std::fs::write(
        &file,
        r#"{"state": "fixtures/agency.json", "cases": [{"name": "wrongly expects allow",
            "request": {"principal": "Hub::User::\"zed@acme.example\"", "action": "scim.provision",
                        "resource": "Hub::Account::\"c-globex\""},
            "decision": "allow"}]}"#,
    )
    .unwrap();
    let result = run_file(&engine(), Path::new(&file));
    let failure = result.cases[0].failure.clone().unwrap();
    assert!(failure.contains("expected allow, got deny"), "{failure}");
    assert!(
        failure.contains("partner-admin-never-scim-or-migration"),
        "{failure}"
    );
}

/// The check path's optimizations (policies partitioned by action, scopes narrowed to the
/// action) decide every case of the corpus exactly as plain Cedar over the whole policy set.
#[test]
fn partitioned_decisions_equal_plain_cedar_on_the_corpus() {
    use partner_access::domain::{StateDocument, StateIndex};
    use partner_access::policy::CheckRequest;
    use serde_json::Value;

    let engine = engine();
    let mut compared = 0;
    for file in discover(&[root().join("tests/policies")]).unwrap() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let Value::Object(doc) = doc else { continue };
        let state = file.parent().unwrap().join(doc["state"].as_str().unwrap());
        let index = StateIndex::new(
            &StateDocument::from_json_str(&std::fs::read_to_string(state).unwrap()).unwrap(),
        );
        for case in doc["cases"].as_array().unwrap() {
            let r = &case["request"];
            let request = CheckRequest::from_parts(
                &r["principal"],
                &r["action"],
                &r["resource"],
                r.get("context")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            )
            .unwrap();
            let fast = engine.decide(&request, &index).unwrap();
            let plain = engine.decide_plain(&request, &index).unwrap();
            assert_eq!(
                (fast.allowed, &fast.reasons),
                (plain.allowed, &plain.reasons),
                "{}: {}",
                file.display(),
                case["name"]
            );
            compared += 1;
        }
    }
    assert!(compared > 150, "{compared}");
}
