//! What policy authors run besides `validate`: `partner-access test --filter/--junit` and
//! `partner-access lint`, exercised through the real binary on temporary copies of `policies/`,
//! `schema/` and `tests/policies/`, edited or broken on purpose.
//!
//! Why it exists: a filter that silently selects nothing, a JUnit file a CI system cannot parse,
//! or a lint that misses the very mistake it names would all pass unnoticed in daily use; these
//! tests make each of them fail loudly. Expected counts are computed from the corpus files, not
//! written down, so the tests keep meaning something as the corpus grows.
//!
//! The JUnit report is parsed by python3's `xml.etree` (a conforming XML parser independent of
//! the writer), which must be on the PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::root;

/// Runs the binary in `dir` (where `policies/`, `schema/` and `tests/policies/` are the
/// defaults), with the environment's policy settings removed so only `dir` counts.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .args(args)
        .current_dir(dir)
        .env_remove("PARTNER_ACCESS_POLICIES")
        .env_remove("PARTNER_ACCESS_SCHEMA")
        .output()
        .unwrap()
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// A copy of the repository's policies, schema and policy tests, to edit on purpose.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["policies", "schema", "tests/policies"] {
        copy_tree(&root().join(sub), &dir.path().join(sub));
    }
    dir
}

/// The case names of each test file of `dir/tests/policies`, read independently of the runner.
fn corpus_case_names(dir: &Path) -> Vec<(String, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("tests/policies"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let cases = match &value {
                Value::Array(cases) => cases.clone(),
                other => other["cases"].as_array().unwrap().clone(),
            };
            let names = cases
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    c["name"]
                        .as_str()
                        .map_or_else(|| format!("case {i}"), str::to_owned)
                })
                .collect();
            (
                path.file_name().unwrap().to_str().unwrap().to_owned(),
                names,
            )
        })
        .collect()
}

/// The line (1-based) of the first line of `file` containing `needle`.
fn line_of(file: &Path, needle: &str) -> usize {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {}", file.display()))
        + 1
}

fn write_policies(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join("policies").join(name), text).unwrap();
}

// ---------------------------------------------------------------------------------------------
// test --filter
// ---------------------------------------------------------------------------------------------

#[test]
fn filter_runs_only_the_cases_whose_name_contains_it_and_says_how_many() {
    let dir = workspace();
    let corpus = corpus_case_names(dir.path());
    let total: usize = corpus.iter().map(|(_, n)| n.len()).sum();
    // A word that several, but not all, cases of more than one file use.
    let filter = "partner admin";
    let matching: Vec<(&str, usize)> = corpus
        .iter()
        .map(|(file, names)| {
            (
                file.as_str(),
                names.iter().filter(|n| n.contains(filter)).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    let selected: usize = matching.iter().map(|(_, n)| n).sum();
    assert!(
        selected > 1 && selected < total && matching.len() > 1,
        "the corpus no longer suits this test: {matching:?} of {total}"
    );

    let out = run_in(dir.path(), &["test", "--filter", filter, "--coverage"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "filter `{filter}`: {selected} of {total} cases selected, in {} of {} file(s)",
            matching.len(),
            corpus.len()
        )),
        "{stdout}"
    );
    // Only the selected cases ran: the per-file counts and the total say so.
    for (file, n) in &matching {
        assert!(
            stdout.contains(&format!("{file}: ok ({n} passed, 0 failed)")),
            "{file}: {stdout}"
        );
    }
    assert!(
        stdout.contains(&format!("\n{selected} passed, 0 failed")),
        "{stdout}"
    );
    // Coverage still works, over the selected cases.
    assert!(
        stdout.contains("policies exercised (by the selected cases)"),
        "{stdout}"
    );
}

#[test]
fn filter_naming_a_file_runs_all_its_cases() {
    let dir = workspace();
    let corpus = corpus_case_names(dir.path());
    // The file-name match adds to the case-name match: count both as the runner should.
    let expected: usize = corpus
        .iter()
        .map(|(file, names)| {
            if file == "reads.json" {
                names.len()
            } else {
                names.iter().filter(|n| n.contains("reads")).count()
            }
        })
        .sum();
    let reads = corpus.iter().find(|(f, _)| f == "reads.json").unwrap();
    assert!(!reads.1.is_empty());
    for filter in ["reads", "reads.json"] {
        let out = run_in(dir.path(), &["test", "--filter", filter]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("filter `{filter}`: {expected} of ")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("reads.json: ok ({} passed", reads.1.len())),
            "{stdout}"
        );
    }
}

#[test]
fn a_filter_that_selects_nothing_is_an_error_and_runs_nothing() {
    let dir = workspace();
    let out = run_in(dir.path(), &["test", "--filter", "no case is called this"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("--filter `no case is called this` selected no case"),
        "{stderr}"
    );
    assert!(!stdout.contains("passed"), "{stdout}");
}

#[test]
fn a_filter_does_not_hide_a_broken_test_file() {
    let dir = workspace();
    std::fs::write(dir.path().join("tests/policies/broken.json"), "{ not json").unwrap();
    let out = run_in(dir.path(), &["test", "--filter", "partner admin"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("broken.json: FAILED (0 passed, 1 failed)") && stdout.contains("not JSON"),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// test --junit
// ---------------------------------------------------------------------------------------------

/// Parses a JUnit file with python3's XML parser and returns what it read, as JSON.
fn parse_junit(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
def node(e):
    return {"tag": e.tag, "attrib": e.attrib, "text": e.text or "",
            "children": [node(c) for c in e]}
print(json.dumps(node(root)))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .expect("python3 is needed to check the JUnit XML");
    assert!(
        out.status.success(),
        "the JUnit report is not well-formed XML:\n{}\n---\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn children<'a>(node: &'a Value, tag: &str) -> Vec<&'a Value> {
    node["children"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tag"] == tag)
        .collect()
}

#[test]
fn junit_report_is_well_formed_with_a_suite_per_file_and_a_failure_for_a_failing_case() {
    let dir = workspace();
    // A name full of markup and a control character: the writer must escape the first and
    // replace the second (XML 1.0 cannot carry U+0001 at all, not even as `&#1;`).
    let nasty = "owner <b>edits</b> & \"quotes\" 'too'\u{1}";
    let failing = serde_json::json!({
        "state": "fixtures/agency.json",
        "cases": [
            {"name": "zed may not provision through SCIM",
             "request": {"principal": "Hub::User::\"zed@acme.example\"", "action": "scim.provision",
                         "resource": "Hub::Account::\"c-globex\""},
             "decision": "deny"},
            {"name": nasty,
             "request": {"principal": "Hub::User::\"zed@acme.example\"", "action": "scim.provision",
                         "resource": "Hub::Account::\"c-globex\""},
             "decision": "allow", "reason": ["some-permit"]}
        ]
    });
    std::fs::write(
        dir.path().join("tests/policies/zz_wrong.json"),
        serde_json::to_string_pretty(&failing).unwrap(),
    )
    .unwrap();
    let report = dir.path().join("report.xml");
    let out = run_in(dir.path(), &["test", "--junit", report.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");

    let root_node = parse_junit(&report);
    assert_eq!(root_node["tag"], "testsuites");
    let corpus = corpus_case_names(dir.path());
    let suites = children(&root_node, "testsuite");
    assert_eq!(suites.len(), corpus.len(), "one testsuite per test file");
    let total: usize = corpus.iter().map(|(_, n)| n.len()).sum();
    assert_eq!(root_node["attrib"]["tests"], total.to_string());
    assert_eq!(root_node["attrib"]["failures"], "1");

    for (suite, (file, names)) in suites.iter().zip(&corpus) {
        let name = suite["attrib"]["name"].as_str().unwrap();
        assert!(name.ends_with(file.as_str()), "{name} vs {file}");
        let cases = children(suite, "testcase");
        assert_eq!(cases.len(), names.len(), "{name}");
        assert_eq!(suite["attrib"]["tests"], names.len().to_string());
        for (case, expected) in cases.iter().zip(names) {
            assert_eq!(case["attrib"]["classname"], name, "classname is the file");
            // The parser's view of the name is the case's name, with only the character XML
            // cannot hold replaced.
            assert_eq!(
                case["attrib"]["name"],
                expected.replace('\u{1}', "\u{FFFD}")
            );
        }
    }

    let wrong = suites
        .iter()
        .find(|s| {
            s["attrib"]["name"]
                .as_str()
                .unwrap()
                .ends_with("zz_wrong.json")
        })
        .unwrap();
    assert_eq!(wrong["attrib"]["failures"], "1");
    let cases = children(wrong, "testcase");
    assert!(
        children(cases[0], "failure").is_empty(),
        "a passing case has no failure"
    );
    let failures = children(cases[1], "failure");
    assert_eq!(failures.len(), 1, "{:?}", cases[1]);
    let failure = failures[0];
    let message = failure["attrib"]["message"].as_str().unwrap();
    assert!(message.contains("expected allow, got deny"), "{message}");
    assert!(
        message.contains("missing reason(s) `some-permit`"),
        "{message}"
    );
    let body = failure["text"].as_str().unwrap();
    assert!(
        body.contains("expected: decision allow, reasons including [some-permit], 0 error(s)"),
        "{body}"
    );
    assert!(
        body.contains("actual:   decision deny, reasons [partner-admin-never-scim-or-migration]"),
        "{body}"
    );
}

#[test]
fn junit_report_lists_only_the_filtered_cases() {
    let dir = workspace();
    let report = dir.path().join("filtered.xml");
    let out = run_in(
        dir.path(),
        &[
            "test",
            "--filter",
            "reads",
            "--junit",
            report.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let root_node = parse_junit(&report);
    let selected: usize = children(&root_node, "testsuite")
        .iter()
        .map(|s| children(s, "testcase").len())
        .sum();
    assert!(
        stdout.contains(&format!("filter `reads`: {selected} of ")),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------------------------
// lint
// ---------------------------------------------------------------------------------------------

#[test]
fn lint_is_clean_on_the_repository_policies() {
    let out = run_in(&root(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("ok: no findings in "), "{stdout}");
}

#[test]
fn lint_finds_an_action_no_permit_applies_to() {
    let dir = workspace();
    let schema = dir.path().join("schema/hub.cedarschema");
    let text_before = std::fs::read_to_string(&schema).unwrap();
    let end = text_before.rfind('}').unwrap();
    let declaration = "  action \"orphan.feature\" appliesTo { principal: User, resource: Account, context: {} };\n";
    std::fs::write(
        &schema,
        format!(
            "{}{declaration}{}",
            &text_before[..end],
            &text_before[end..]
        ),
    )
    .unwrap();
    let line = line_of(&schema, "\"orphan.feature\"");

    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "schema/hub.cedarschema:{line}: unused-action: action `orphan.feature` is declared \
             but no permit can ever apply to it; every request for it is denied"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("1 finding(s)"), "{stdout}");
}

#[test]
fn lint_finds_an_action_that_only_forbids_apply_to() {
    let dir = workspace();
    // Remove the one permit of multi-account management: its forbids remain.
    let file = dir.path().join("policies/capabilities.cedar");
    let source = std::fs::read_to_string(&file).unwrap();
    let start = source
        .find("/// A partner user may manage this account from its partner account")
        .unwrap();
    let end = source.find("/// A user on a paid Sales Hub seat").unwrap();
    std::fs::write(&file, format!("{}{}", &source[..start], &source[end..])).unwrap();

    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let line = line_of(
        &dir.path().join("schema/hub.cedarschema"),
        "\"multi_account.manage\"",
    );
    let expected = format!(
        "schema/hub.cedarschema:{line}: unused-action: action `multi_account.manage` is \
         declared but no permit can ever apply to it (only forbids apply: "
    );
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(
        stdout.contains("`super-admin-no-multi-account`"),
        "the forbids are named: {stdout}"
    );
}

#[test]
fn lint_finds_a_permit_shadowed_by_an_unconditional_forbid() {
    let dir = workspace();
    write_policies(
        dir.path(),
        "zz_lint.cedar",
        "@id(\"reports-off\")\nforbid (principal is Hub::User, action == Hub::Action::\"reports.access\", resource);\n",
    );
    let permit_line = line_of(
        &dir.path().join("policies/capabilities.cedar"),
        "@id(\"listed.reports.access\")",
    );

    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "policies/capabilities.cedar:{permit_line}: shadowed-by-forbid: permit \
             `listed.reports.access` is shadowed: every request it matches is denied by the \
             unconditional forbid `reports-off` (policies/zz_lint.cedar:1)"
        )),
        "{stdout}"
    );
    // The super admin template also covers reports.access, but ten other actions too: only
    // partly covered, so not shadowed.
    assert!(
        !stdout.contains("`super-admin-template` is shadowed"),
        "{stdout}"
    );
    assert!(stdout.contains("1 finding(s)"), "{stdout}");

    // The same forbid with a condition leaves the permit the requests where it is false.
    write_policies(
        dir.path(),
        "zz_lint.cedar",
        "@id(\"reports-off\")\nforbid (principal is Hub::User, action == Hub::Action::\"reports.access\", resource is Hub::Account)\nwhen { resource.pricing_model == \"legacy\" };\n",
    );
    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
}

#[test]
fn lint_finds_policies_that_can_never_apply_under_the_schema() {
    let dir = workspace();
    write_policies(
        dir.path(),
        "zz_lint.cedar",
        concat!(
            "// CRM objects are edited in client accounts, never in a partner account.\n",
            "@id(\"edit-in-partner-accounts\")\n",
            "permit (principal is Hub::User, action == Hub::Action::\"crm.objects.edit\", resource is Hub::Partner);\n",
            "\n",
            "@id(\"views-when-context-has-target\")\n",
            "permit (principal, action == Hub::Action::\"crm.objects.view\", resource)\n",
            "when { context has target };\n",
        ),
    );

    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "policies/zz_lint.cedar:2: never-applies: permit `edit-in-partner-accounts` can \
             never apply: no action of its scope can be used with its principal and resource \
             types"
        ),
        "{stdout}"
    );
    // `crm.objects.view` declares an empty context: `context has target` is false for every
    // request the schema allows.
    assert!(
        stdout.contains(
            "policies/zz_lint.cedar:5: never-applies: permit `views-when-context-has-target` \
             can never apply: its condition is false for every request the schema allows"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("2 finding(s)"), "{stdout}");
}

#[test]
fn lint_exits_2_when_the_policies_do_not_load() {
    let dir = workspace();
    write_policies(
        dir.path(),
        "zz_broken.cedar",
        "@id(\"broken\")\npermit (principal, action, resource) when { principal. };\n",
    );
    let out = run_in(dir.path(), &["lint"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("policies/zz_broken.cedar:2:"), "{stderr}");
    assert!(stderr.contains("nothing was linted"), "{stderr}");
}
