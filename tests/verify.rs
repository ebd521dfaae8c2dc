//! `partner-access verify` as a policy author runs it: the real binary and a real SMT solver.
//!
//! The solver tests need one (`CVC5`, as `tools/install-cvc5 DIR` prints it, or `cvc5` on
//! the `PATH`); without it they are reported as ignored, and under `CI` they fail (see
//! `tests/support/needs.rs`). The tests of bad input need no solver.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

use std::path::Path;
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Failed, Trial};

mod support;

use support::{needs, root};

fn verify(args: &[&str], solver: Option<&str>) -> (Output, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_partner-access"));
    command
        .arg("verify")
        .args(args)
        .current_dir(root())
        .env_remove("PARTNER_ACCESS_POLICIES")
        .env_remove("PARTNER_ACCESS_SCHEMA");
    match solver {
        Some(solver) => command.env("CVC5", solver),
        None => command.env("CVC5", "/nonexistent/cvc5"),
    };
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// A copy of the repository's policies with `extra` appended to `capabilities.cedar`.
fn policies_with(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("policies")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    let file = dir.path().join("capabilities.cedar");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n{extra}\n")).unwrap();
    dir
}

fn path(dir: &Path) -> &str {
    dir.to_str().unwrap()
}

/// The repository's policies never error, and its `properties/` hold, for every request:
/// each property checked in at least one request environment.
fn the_repository_policies_and_properties_hold(solver: String) -> Result<(), Failed> {
    let (out, stdout, stderr) = verify(&[], Some(&solver));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("ok: "), "{stdout}");

    let (out, stdout, stderr) = verify(&["--format", "json"], Some(&solver));
    assert!(out.status.success(), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let properties = std::fs::read_to_string(root().join("properties/capabilities.cedar")).unwrap();
    let ids: Vec<&str> = properties
        .split("@id(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(ids.len() >= 3, "the repository's properties: {ids:?}");
    for id in ids {
        let held = report["held"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(check, _)| check.starts_with(&format!("property {id}: ")))
            .map(|(_, count)| count.as_u64().unwrap())
            .sum::<u64>();
        assert!(held >= 1, "property {id} was checked nowhere: {report:#}");
    }
    Ok(())
}

/// A property that can prove nothing is refused, not passed: one whose conditions never hold,
/// and one that names an action the schema does not declare.
fn a_property_that_matches_nothing_is_refused(solver: String) -> Result<(), Failed> {
    let cases = [
        (
            r#"@id("impossible")
@property("never")
permit (principal is Hub::User, action == Hub::Action::"billing.edit", resource is Hub::Account)
when { principal.email == "a" && principal.email == "b" };"#,
            "property impossible matches no request the schema allows",
        ),
        (
            r#"@id("misspelled")
@property("never")
permit (principal is Hub::User, action == Hub::Action::"billing.edti", resource is Hub::Account);"#,
            "property misspelled does not validate against the schema",
        ),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.cedar"), text).unwrap();
        let (out, stdout, stderr) = verify(&["--properties", path(dir.path())], Some(&solver));
        assert_eq!(out.status.code(), Some(2), "{text}\n{stdout}{stderr}");
        assert!(stderr.contains(expected), "{text}\n{stderr}");
    }
    Ok(())
}

/// A forbid that can overflow is found, with a request and entities that make it error.
fn a_policy_that_can_error_is_found_with_a_counterexample(solver: String) -> Result<(), Failed> {
    let dir = policies_with(
        r#"@id("overflowing-forbid")
forbid (principal is Hub::User, action == Hub::Action::"apps.manage", resource is Hub::Account)
when {
  principal.hasTag(resource.key) &&
  principal.getTag(resource.key).permissions.contains("marker") &&
  9223372036854775807 + 1 > 0
};"#,
    );
    let (out, stdout, stderr) = verify(&["--policies", path(dir.path())], Some(&solver));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(
            "FAILED policy overflowing-forbid never errors (Hub::User, Hub::Action::\"apps.manage\", Hub::Account)"
        ),
        "{stdout}"
    );
    // The counterexample is the one that errors: the marker permission is held.
    assert!(stdout.contains("\"permissions\":[\"marker\"]"), "{stdout}");
    assert!(stdout.contains("FAILED: "), "{stdout}");
    Ok(())
}

/// A set that allows more than the repository's fails `--against` it, and a property that
/// does not hold fails, each with a counterexample; the JSON report says the same.
fn new_allows_and_false_properties_are_found(solver: String) -> Result<(), Failed> {
    let dir = policies_with(
        r#"@id("standard-users-see-reports")
permit (principal is Hub::User, action == Hub::Action::"reports.access", resource is Hub::Account)
when { principal.hasTag(resource.key) && principal.getTag(resource.key).role == "standard" };"#,
    );
    let properties = tempfile::tempdir().unwrap();
    std::fs::write(
        properties.path().join("billing.cedar"),
        r#"@id("super-admins-always-bill")
@property("always")
permit (principal is Hub::User, action == Hub::Action::"billing.edit", resource is Hub::Account)
when { principal.hasTag(resource.key) && principal.getTag(resource.key).role == "super_admin" };

@id("non-members-never-bill")
@property("never")
permit (principal is Hub::User, action == Hub::Action::"billing.edit", resource is Hub::Account)
unless { principal.hasTag(resource.key) };
"#,
    )
    .unwrap();
    let args = [
        "--policies",
        path(dir.path()),
        "--against",
        "policies",
        "--properties",
        path(properties.path()),
    ];
    let (out, stdout, stderr) = verify(&args, Some(&solver));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let failed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("FAILED "))
        .collect();
    assert_eq!(failed.len(), 2, "{stdout}");
    assert!(
        failed[1].starts_with("FAILED allows nothing that ")
            && failed[1].ends_with("(Hub::User, Hub::Action::\"reports.access\", Hub::Account)"),
        "{stdout}"
    );
    // A super admin whose status is not "active" is denied billing: the "always" fails.
    assert_eq!(
        failed[0],
        "FAILED property super-admins-always-bill: always allowed (Hub::User, Hub::Action::\"billing.edit\", Hub::Account)",
        "{stdout}"
    );

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (out, stdout, stderr) = verify(&json_args, Some(&solver));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{report:#}");
    assert_eq!(failures[0]["check"]["kind"], "property");
    assert_eq!(failures[0]["check"]["id"], "super-admins-always-bill");
    assert_eq!(failures[1]["check"]["kind"], "no_new_allows");
    let user = failures[1]["counterexample"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uid"]["type"] == "Hub::User")
        .unwrap();
    let membership = user["tags"].as_object().unwrap().values().next().unwrap();
    assert_eq!(membership["role"], "standard", "{report:#}");
    assert!(
        report["held"]["property non-members-never-bill: never allowed"]
            .as_u64()
            .unwrap()
            >= 1,
        "{report:#}"
    );
    Ok(())
}

/// Bad property files and a missing solver: exit 2 and a message that names the problem.
fn bad_properties_and_a_missing_solver_are_named() -> Result<(), Failed> {
    let cases = [
        (
            "@id(\"p\")\npermit (principal, action, resource);\n",
            "a property needs @id(\"...\") and @property(\"never\") or @property(\"always\")",
        ),
        (
            "@id(\"p\")\n@property(\"never\")\nforbid (principal, action, resource);\n",
            "property p is a forbid",
        ),
        (
            "@id(\"p\")\n@property(\"never\")\npermit (principal, action, resource\n",
            "props.cedar",
        ),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("props.cedar"), text).unwrap();
        let (out, stdout, stderr) = verify(&["--properties", path(dir.path())], None);
        assert_eq!(out.status.code(), Some(2), "{text}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
    }
    let (out, _, stderr) = verify(&["--properties", "/nonexistent/properties"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("/nonexistent/properties: no such properties directory"),
        "{stderr}"
    );

    let (out, _, stderr) = verify(&[], None);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot start the SMT solver `/nonexistent/cvc5`"),
        "{stderr}"
    );
    Ok(())
}

/// `policies push --properties`: a set that breaks a property is refused with the
/// counterexample and nothing is stored; the repository's set is proved and stored.
fn a_push_that_breaks_a_property_is_refused_with_its_counterexample(
    solver: String,
) -> Result<(), Failed> {
    let data = tempfile::tempdir().unwrap();
    let push = |policies: &str| {
        let output = Command::new(env!("CARGO_BIN_EXE_partner-access"))
            .args(["policies", "push", policies, "--properties", "properties"])
            .args(["--data", path(data.path()), "--actor", "tests"])
            .current_dir(root())
            .env("CVC5", &solver)
            .env_remove("PARTNER_ACCESS_SCHEMA")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output.status.success(), stdout, stderr)
    };
    let list = || {
        let output = Command::new(env!("CARGO_BIN_EXE_partner-access"))
            .args([
                "policies",
                "list",
                "--format",
                "json",
                "--data",
                path(data.path()),
            ])
            .current_dir(root())
            .output()
            .unwrap();
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        list["versions"].as_array().map_or(0, Vec::len)
    };
    // A partner admin allowed SCIM provisioning, against the property that forbids it.
    let widened = policies_with(
        r#"@id("partner-admins-provision")
permit (principal is Hub::User, action == Hub::Action::"scim.provision", resource is Hub::Account)
when { principal.hasTag(resource.key) && principal.getTag(resource.key).role == "partner_admin" };"#,
    );
    // ... and without the forbid that keeps them out.
    let capabilities = widened.path().join("capabilities.cedar");
    let text = std::fs::read_to_string(&capabilities).unwrap();
    let start = text
        .find("@id(\"partner-admin-never-scim-or-migration\")")
        .unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    std::fs::write(&capabilities, format!("{}{}", &text[..start], &text[end..])).unwrap();

    let (ok, stdout, stderr) = push(path(widened.path()));
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stderr.contains("does not hold its properties; nothing was stored"),
        "{stderr}"
    );
    assert!(
        stderr.contains("FAILED property partner-admins-never-provision-or-migrate: never allowed")
            && stderr.contains("counterexample: principal Hub::User::"),
        "{stderr}"
    );
    assert_eq!(list(), 0, "nothing stored");

    let (ok, stdout, stderr) = push("policies");
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("properties proved: ok: "), "{stdout}");
    assert_eq!(list(), 1);
    Ok(())
}

/// The solver `CVC5` names, else `cvc5` on the `PATH`.
fn solver() -> Option<String> {
    if let Some(solver) = std::env::var_os("CVC5") {
        return Some(solver.to_string_lossy().into_owned());
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("cvc5"))
            .find(|candidate| candidate.is_file())
            .map(|found| found.display().to_string())
    })
}

fn main() {
    let args = Arguments::from_args();
    let solver = needs::Need {
        value: solver(),
        how: "an SMT solver: `export CVC5=$(tools/install-cvc5 DIR)` (cvc5 1.3.1 from PyPI), \
              or a cvc5 executable on the PATH",
    };
    solver.report("verify", 5);
    let trials = vec![
        solver.trial(
            "the_repository_policies_and_properties_hold",
            the_repository_policies_and_properties_hold,
        ),
        solver.trial(
            "a_policy_that_can_error_is_found_with_a_counterexample",
            a_policy_that_can_error_is_found_with_a_counterexample,
        ),
        solver.trial(
            "new_allows_and_false_properties_are_found",
            new_allows_and_false_properties_are_found,
        ),
        solver.trial(
            "a_property_that_matches_nothing_is_refused",
            a_property_that_matches_nothing_is_refused,
        ),
        solver.trial(
            "a_push_that_breaks_a_property_is_refused_with_its_counterexample",
            a_push_that_breaks_a_property_is_refused_with_its_counterexample,
        ),
        Trial::test(
            "bad_properties_and_a_missing_solver_are_named",
            bad_properties_and_a_missing_solver_are_named,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}
