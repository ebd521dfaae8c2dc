//! The command line as a user runs it: the real binary, its exit codes and its messages.
//! Every bad input gives one clear message naming the file, field or line.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::root;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .args(args)
        .current_dir(root())
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

/// A copy of the policies and schema in a temporary directory, to break on purpose.
fn policy_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["policies", "schema"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        for entry in std::fs::read_dir(root().join(sub)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(sub).join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn validate_accepts_the_repository_policies() {
    let out = run(&["validate"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
}

#[test]
fn test_prints_per_file_results_and_exits_1_on_a_failure() {
    let out = run(&["test"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("tests/policies/capabilities.json: ok ("),
        "{stdout}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("failing.json");
    std::fs::write(
        &file,
        format!(
            r#"{{"state": "{}", "cases": [
                {{"name": "owner may edit", "request": {{"principal": "Hub::User::\"owner@globex.example\"",
                  "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""}}, "decision": "allow"}},
                {{"name": "owner may not edit (wrong)", "request": {{"principal": "Hub::User::\"owner@globex.example\"",
                  "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""}}, "decision": "deny"}}]}}"#,
            root().join("examples/demo-state.json").display()
        ),
    )
    .unwrap();
    let out = run(&["test", path_str(&file)]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("failing.json: FAILED (1 passed, 1 failed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAIL owner may not edit (wrong): expected deny, got allow"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn test_coverage_lists_unexercised_policies() {
    let out = run(&["test", "--coverage", "tests/policies/reads.json"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("not exercised: super-admin-template (policies/capabilities.cedar:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not exercised: cam-users-view-partner"),
        "{stdout}"
    );
}

#[test]
fn check_answers_allow_with_exit_0_and_deny_with_exit_2() {
    let allow = run(&[
        "check",
        "--principal",
        "Hub::User::\"ann@acme.example\"",
        "--action",
        "crm.objects.edit",
        "--resource",
        "Hub::Account::\"c-globex\"",
        "--state",
        "examples/demo-state.json",
    ]);
    let (stdout, _) = text(&allow);
    assert_eq!(allow.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("\"Allow\"") && stdout.contains("listed.crm.objects.edit"),
        "{stdout}"
    );

    let deny = run(&[
        "check",
        "--principal",
        r#"{"type": "Hub::User", "id": "ann@acme.example"}"#,
        "--action",
        "Hub::Action::\"scim.provision\"",
        "--resource",
        "Hub::Account::\"c-globex\"",
        "--state",
        "examples/demo-state.json",
    ]);
    let (stdout, _) = text(&deny);
    assert_eq!(deny.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("partner-admin-never-scim-or-migration"),
        "{stdout}"
    );
}

#[test]
fn a_malformed_state_document_names_the_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"partners\": [\n  {\"id\": \"p\",\n").unwrap();
    let out = run(&[
        "check",
        "--principal",
        "Hub::User::\"a@b.c\"",
        "--action",
        "reports.access",
        "--resource",
        "Hub::Account::\"c\"",
        "--state",
        path_str(&state),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("state.json") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_unknown_seat_names_the_field_and_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        r#"{"clients": [{"id": "c", "pricing_model": "legacy",
           "users": [{"email": "o@c.example", "role": "super_admin", "seat": "platinum"}]}]}"#,
    )
    .unwrap();
    let out = run(&[
        "check",
        "--principal",
        "Hub::User::\"o@c.example\"",
        "--action",
        "reports.access",
        "--resource",
        "Hub::Account::\"c\"",
        "--state",
        path_str(&state),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("clients[0].users[0].seat"), "{stderr}");
    assert!(stderr.contains("`platinum`"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn an_inconsistent_state_document_lists_every_problem_with_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    std::fs::write(
        &state,
        r#"{"partners": [{"id": "p", "tier": "provider", "employees": [{"email": "a@p.example"}]}],
            "clients": [{"id": "c", "pricing_model": "legacy", "users": [
              {"email": "a@p.example", "role": "partner_admin", "seat": "core", "partner": "p"}]}]}"#,
    )
    .unwrap();
    let out = run(&[
        "check",
        "--principal",
        "Hub::User::\"a@p.example\"",
        "--action",
        "reports.access",
        "--resource",
        "Hub::Account::\"c\"",
        "--state",
        path_str(&state),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(
            "clients[0].users[0]: partner admin `a@p.example` must hold the partner seat"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("(SEAT-5)") && stderr.contains("(MIG-4)"),
        "{stderr}"
    );
}

#[test]
fn a_policy_syntax_error_names_file_and_line() {
    let dir = policy_copy();
    std::fs::write(
        dir.path().join("policies/broken.cedar"),
        "@id(\"ok\")\npermit(principal, action, resource) when { false };\n\n@id(\"broken\")\npermit(principal, action, resource) when { principal. };\n",
    )
    .unwrap();
    let out = run(&[
        "validate",
        "--policies",
        path_str(&dir.path().join("policies")),
        "--schema",
        path_str(&dir.path().join("schema")),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("broken.cedar:5:"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_policy_that_does_not_validate_names_file_line_and_attribute() {
    let dir = policy_copy();
    std::fs::write(
        dir.path().join("policies/typo.cedar"),
        "// A typo in an attribute name.\n@id(\"typo\")\npermit (principal, action == Hub::Action::\"reports.access\", resource)\nwhen { principal.emial == \"x\" };\n",
    )
    .unwrap();
    let out = run(&[
        "validate",
        "--policies",
        path_str(&dir.path().join("policies")),
        "--schema",
        path_str(&dir.path().join("schema")),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("typo.cedar:4:"), "{stderr}");
    assert!(stderr.contains("emial"), "{stderr}");
}

#[test]
fn fmt_check_passes_on_the_repository_and_fails_on_unformatted_policies() {
    let out = run(&["fmt", "--check"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    // Success says so, naming what was checked.
    assert!(
        stdout.starts_with("ok: ")
            && stdout.contains("policy files")
            && stdout.contains("formatted"),
        "{stdout}"
    );

    let dir = policy_copy();
    std::fs::write(
        dir.path().join("policies/ugly.cedar"),
        "@id(\"ugly\") permit(principal,action,resource)when{false};",
    )
    .unwrap();
    let out = run(&[
        "fmt",
        "--check",
        "--policies",
        path_str(&dir.path().join("policies")),
    ]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("not formatted:") && stdout.contains("ugly.cedar"),
        "{stdout}"
    );
}

#[test]
fn bad_references_are_errors_not_panics() {
    for principal in [
        "User::\"x\"",
        "not a ref",
        "{\"type\": \"Hub::Photo\", \"id\": \"x\"}",
        "",
    ] {
        let out = run(&[
            "check",
            "--principal",
            principal,
            "--action",
            "reports.access",
            "--resource",
            "Hub::Account::\"c-globex\"",
            "--state",
            "examples/demo-state.json",
        ]);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{principal}: {stderr}");
        assert!(
            stderr.starts_with("error: principal:"),
            "{principal}: {stderr}"
        );
    }
    let out = run(&[
        "check",
        "--principal",
        "Hub::User::\"ann@acme.example\"",
        "--action",
        "fly",
        "--resource",
        "Hub::Account::\"c-globex\"",
        "--state",
        "examples/demo-state.json",
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("unknown action `fly`"), "{stderr}");
}

/// `serve` refuses to start with a schema that drops a permission the stored state holds, with
/// a message like `validate`'s naming the permission and its holders; the same store starts
/// with a schema that only drops a permission nobody holds.
#[test]
fn serve_refuses_a_schema_that_orphans_stored_permissions() {
    let dir = policy_copy();
    let data = dir.path().join("data");
    let out = run(&[
        "import",
        "--data",
        path_str(&data),
        "examples/demo-state.json",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let schema_file = dir.path().join("schema/hub.cedarschema");
    let original = std::fs::read_to_string(&schema_file).unwrap();
    let without = |action: &str| {
        let declaration = original.find(&format!("action \"{action}\"")).unwrap();
        let start = original[..declaration].rfind("@permission(").unwrap();
        let end = start + original[start..].find('\n').unwrap() + 1;
        format!("{}{}", &original[..start], &original[end..])
    };
    // Serves until killed when it starts; the output of a refusal when it does not.
    let serve = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_partner-access"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--data",
                path_str(&data),
                "--policies",
                path_str(&dir.path().join("policies")),
                "--schema",
                path_str(&dir.path().join("schema")),
            ])
            .current_dir(root())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return Some(child.wait_with_output().unwrap());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        None
    };

    // `reports.access` is held by users and permission sets of the demo state.
    std::fs::write(&schema_file, without("reports.access")).unwrap();
    let out = serve().expect("serve started with a schema that orphans `reports.access`");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the policies do not fit the stored state")
            && stderr.contains("`reports.access` is held by")
            && stderr.contains("in client `c-globex`"),
        "{stderr}"
    );
    // Nobody holds `datacenter.migrate` (a super admin's comes from the template).
    std::fs::write(&schema_file, without("datacenter.migrate")).unwrap();
    assert!(
        serve().is_none(),
        "serve did not start without `datacenter.migrate`"
    );
}

/// A mistyped action is answered with the declared action it most likely meant; a name near
/// none gets no guess.
#[test]
fn a_mistyped_action_gets_a_did_you_mean() {
    let check = |action: &str| {
        let out = run(&[
            "check",
            "--principal",
            "Hub::User::\"ann@acme.example\"",
            "--action",
            action,
            "--resource",
            "Hub::Account::\"c-globex\"",
            "--state",
            "examples/demo-state.json",
        ]);
        assert_eq!(out.status.code(), Some(1));
        text(&out).1
    };
    let stderr = check("crm.object.edit");
    assert!(
        stderr.contains("did you mean `crm.objects.edit`?"),
        "{stderr}"
    );
    let stderr = check("Reports.Access");
    assert!(
        stderr.contains("did you mean `reports.access`?"),
        "{stderr}"
    );
    let stderr = check("fly");
    assert!(!stderr.contains("did you mean"), "{stderr}");
}

/// An import into a store that holds a state asks for `--replace` (or `--merge`) and changes
/// nothing without it; into an empty store it needs neither.
#[test]
fn an_import_over_a_state_asks_for_replace_or_merge() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let import = |extra: &[&str]| {
        let mut args = vec![
            "import",
            "--data",
            path_str(&data),
            "examples/demo-state.json",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let out = import(&[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("loaded into an empty store"), "{stdout}");
    let export = || text(&run(&["export", "--data", path_str(&data)])).0;
    let before = export();

    let out = import(&[]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already holds a state")
            && stderr.contains("--replace")
            && stderr.contains("--merge")
            && stderr.contains(path_str(&data)),
        "{stderr}"
    );
    assert_eq!(export(), before, "a refused import changes nothing");

    let out = import(&["--replace"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("replaced the state"), "{stdout}");
    let out = import(&["--merge"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("merged into the state"), "{stdout}");
    let out = import(&["--merge", "--replace"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses both");
}

/// `serve` says why it cannot start once (not as a log line and again as an `error:` line),
/// and a missing schema directory is named as one, with the flag that sets it.
#[test]
fn serve_says_a_fatal_error_once_and_names_a_missing_schema_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-schema-here");
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data",
        path_str(&dir.path().join("data")),
        "--schema",
        path_str(&missing),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("no such directory").count(),
        1,
        "said once: {stderr}"
    );
    assert!(
        stderr.contains(path_str(&missing))
            && stderr.contains("schema directory")
            && stderr.contains("--schema"),
        "{stderr}"
    );
}

/// Sends one HTTP/1.1 request over a Unix socket and returns the whole answer.
fn request_over_unix(socket: &Path, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// `serve --listen unix:PATH`: the socket file gets the mode asked for, answers the API (with
/// no `Host` check: no browser reaches a socket), is refused to a second sidecar while the
/// first listens, replaces a stale socket file, and is removed at shutdown; a path that is a
/// regular file is left alone and refused.
#[test]
fn serve_listens_on_a_unix_socket() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("pa.sock");
    let listen = format!("unix:{}", socket.display());
    let serve = |data: &str, mode: &str| {
        Command::new(env!("CARGO_BIN_EXE_partner-access"))
            .args([
                "serve",
                "--demo",
                "--listen",
                &listen,
                "--socket-mode",
                mode,
            ])
            .args(["--data", path_str(&dir.path().join(data))])
            .current_dir(root())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // A stale socket file, as a killed sidecar leaves it: nobody listens on it.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());

    let mut first = serve("a", "600");
    let ready = (0..200).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    assert!(ready, "the sidecar never listened on {}", socket.display());
    let metadata = std::fs::metadata(&socket).unwrap();
    assert!(metadata.file_type().is_socket());
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);

    let body = r#"{"principal":"Hub::User::\"ann@acme.example\"","action":"crm.objects.edit","resource":"Hub::Account::\"c-globex\""}"#;
    let answer = request_over_unix(
        &socket,
        &format!(
            "POST /v1/is_authorized HTTP/1.1\r\nhost: docker\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    // A client's `Host` (here Docker's) is not checked over the socket: no browser reaches it.
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""decision":"Allow""#), "{answer}");

    let second = serve("b", "600").wait_with_output().unwrap();
    let (_, stderr) = text(&second);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another sidecar holds"), "{stderr}");
    assert!(socket.exists(), "the first sidecar's socket stays");

    let stopped = Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(first.wait().unwrap().success());
    assert!(!socket.exists(), "the socket file is removed at shutdown");

    std::fs::write(&socket, "not a socket").unwrap();
    let refused = serve("c", "600").wait_with_output().unwrap();
    let (_, stderr) = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a socket"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&socket).unwrap(), "not a socket");
}

fn policies_cmd(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .args(args)
        .current_dir(root())
        .env_remove("PARTNER_ACCESS_STORE")
        .env_remove("PARTNER_ACCESS_SCHEMA")
        .env("USER", "tester")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    (out.status.success(), stdout, stderr)
}

/// `policies push/list/activate/pull` on a data directory: a push validates, runs its tests
/// (a failing one stores nothing), stores the set once per content; activation by a prefix of
/// the hash; `pull` gives back files whose version is the pushed one.
#[test]
fn policies_push_list_activate_and_pull_on_a_data_directory() {
    let data = tempfile::tempdir().unwrap();
    let data = path_str(data.path()).to_owned();
    let store = ["--data", data.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(store.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let call = |args: &[&str]| {
        let owned = with(args);
        policies_cmd(&owned.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let (ok, stdout, stderr) = call(&[
        "policies",
        "push",
        "policies",
        "--schema",
        "schema",
        "--tests",
        "tests/policies",
    ]);
    assert!(ok, "{stdout}{stderr}");
    let v1 = stdout
        .strip_prefix("pushed ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_eq!(v1.len(), 64, "{stdout}");
    assert!(
        stdout.contains("test case(s) passed in 6 file(s)"),
        "{stdout}"
    );

    // The same files again: nothing stored.
    let (ok, stdout, _) = call(&["policies", "push", "policies", "--schema", "schema"]);
    assert!(ok && stdout.contains("stored already"), "{stdout}");

    // A set the project's tests refuse: nothing stored, the failures listed.
    let copy = policy_copy();
    std::fs::write(
        copy.path().join("policies/zz_forbid.cedar"),
        "@id(\"test-forbid-everything\")\nforbid (principal, action, resource);\n",
    )
    .unwrap();
    let forbidding = copy.path().join("policies");
    let (ok, stdout, stderr) = call(&[
        "policies",
        "push",
        path_str(&forbidding),
        "--schema",
        "schema",
        "--tests",
        "tests/policies/seats.json",
    ]);
    assert!(!ok, "{stdout}{stderr}");
    assert!(
        stderr.contains("test(s) failed; nothing was stored"),
        "{stderr}"
    );
    assert!(stderr.contains("tests/policies/seats.json: "), "{stderr}");

    // A policy that does not parse: named with its file.
    std::fs::write(copy.path().join("policies/zz_forbid.cedar"), "permit (").unwrap();
    let (ok, _, stderr) = call(&[
        "policies",
        "push",
        path_str(&forbidding),
        "--schema",
        "schema",
    ]);
    assert!(!ok);
    assert!(stderr.contains("zz_forbid.cedar"), "{stderr}");

    let (ok, stdout, stderr) = call(&["policies", "list", "--format", "json"]);
    assert!(ok, "{stderr}");
    let history: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "{history}"
    );
    assert_eq!(history["versions"][0]["pushed_by"], "tester");
    assert_eq!(history["versions"][0]["active"], false);
    assert!(history.get("active").is_none(), "{history}");

    // Activation by a prefix; a prefix too short or unknown is refused.
    let (ok, stdout, stderr) = call(&["policies", "activate", &v1[..10]]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), format!("activated {v1}"));
    let (ok, _, stderr) = call(&["policies", "activate", "abc"]);
    assert!(!ok && stderr.contains("at least 8 hex digits"), "{stderr}");
    let (ok, _, stderr) = call(&["policies", "activate", "0123456789"]);
    assert!(
        !ok && stderr.contains("no stored policy version"),
        "{stderr}"
    );

    let (ok, stdout, _) = call(&["policies", "list"]);
    assert!(ok);
    assert!(stdout.contains(&format!("* {}", &v1[..16])), "{stdout}");
    assert!(stdout.contains("by tester"), "{stdout}");

    // Pulled back, the files are the same version.
    let out = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = call(&["policies", "pull", &v1[..8], path_str(out.path())]);
    assert!(ok, "{stderr}");
    let validated = run(&[
        "validate",
        "--policies",
        path_str(&out.path().join("policies")),
        "--schema",
        path_str(&out.path().join("schema")),
    ]);
    let (stdout, stderr) = text(&validated);
    assert!(validated.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!("policy version: {v1}")),
        "{stdout}"
    );
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line_itself() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{shell}: {stderr}");
        for word in [
            "partner-access",
            "serve",
            "policies",
            // Fish spells a long flag `-l activity-flush-secs`, the others `--activity-flush-secs`.
            "activity-flush-secs",
        ] {
            assert!(stdout.contains(word), "{shell}: no `{word}`");
        }
    }
    let out = run(&["completions", "tcsh"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("tcsh"), "{stderr}");

    let out = run(&["man"]);
    let (page, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(page.contains(".TH partner-access 1"), "{page}");
    assert!(page.contains("serve"), "{page}");

    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("man1");
    let out = run(&["man", "--out", path_str(&out_dir)]);
    assert!(out.status.success(), "{}", text(&out).1);
    for page in [
        "partner-access.1",
        "partner-access-serve.1",
        "partner-access-policies-push.1",
    ] {
        let text = std::fs::read_to_string(out_dir.join(page)).unwrap();
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
}

#[test]
fn version_names_the_cedar_version_and_the_store_formats() {
    let out = run(&["--version"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(concat!("partner-access ", env!("CARGO_PKG_VERSION")))
    );
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let cedar = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"cedar-policy\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with(&format!("Cedar {cedar} (policy language "))),
        "{stdout}"
    );
    assert_eq!(
        lines.get(2).copied(),
        Some("store formats: redb file layout 1, PostgreSQL schema V1"),
        "{stdout}"
    );
    // `-V` is the release alone.
    let (short, _) = text(&run(&["-V"]));
    assert_eq!(short.trim(), lines[0]);
}

/// A minimal XML well-formedness check (declaration, elements properly nested and closed,
/// quoted attributes, known entities, nothing after the root): the names of the elements
/// opened, in order, or what is wrong.
fn xml_elements(text: &str) -> Result<Vec<String>, String> {
    let mut rest = text.trim();
    if let Some(after) = rest.strip_prefix("<?xml") {
        rest = after.split_once("?>").ok_or("unclosed declaration")?.1;
    }
    let (mut open, mut seen): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let mut closed_root = false;
    while !rest.is_empty() {
        let Some(start) = rest.find('<') else {
            check_text(rest)?;
            if open.is_empty() && !rest.trim().is_empty() {
                return Err(format!("text outside the root: {rest:?}"));
            }
            break;
        };
        check_text(&rest[..start])?;
        if open.is_empty() && !rest[..start].trim().is_empty() {
            return Err("text outside the root".into());
        }
        let end = rest[start..].find('>').ok_or("unclosed tag")? + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            if open.pop().as_deref() != Some(name.trim()) {
                return Err(format!("</{name}> closes nothing open"));
            }
            closed_root |= open.is_empty();
            continue;
        }
        if closed_root {
            return Err("a second root element".into());
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body
            .split_whitespace()
            .next()
            .ok_or("an empty tag")?
            .to_owned();
        let mut attrs = body[name.len()..].trim();
        while !attrs.is_empty() {
            let (key, value) = attrs
                .split_once("=\"")
                .ok_or(format!("unquoted attribute in <{tag}>"))?;
            if key.trim().is_empty() || key.trim().contains(char::is_whitespace) {
                return Err(format!("bad attribute name in <{tag}>"));
            }
            let (value, after) = value.split_once('"').ok_or("unclosed attribute")?;
            if value.contains('<') {
                return Err(format!("`<` in an attribute of <{tag}>"));
            }
            check_text(value)?;
            attrs = after.trim();
        }
        seen.push(name.clone());
        if self_closing {
            closed_root |= open.is_empty();
        } else {
            open.push(name);
        }
    }
    if !open.is_empty() || !closed_root {
        return Err(format!("unclosed elements: {open:?}"));
    }
    Ok(seen)
}

fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let entity = &rest[at..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
            .iter()
            .any(|e| entity.starts_with(e))
        {
            return Err(format!("a bare `&`: {entity:.20}"));
        }
        rest = &rest[at + 1..];
    }
    Ok(())
}

#[test]
fn the_xml_check_refuses_what_is_not_xml() {
    assert_eq!(
        xml_elements(r#"<?xml version="1.0"?><a x="1"><b/>t &amp; u</a>"#),
        Ok(vec!["a".to_owned(), "b".to_owned()])
    );
    for bad in [
        "<a><b></a></b>",
        "<a>",
        "<a x=1/>",
        "<a>&</a>",
        "<a/><b/>",
        "<a/>text",
    ] {
        assert!(xml_elements(bad).is_err(), "{bad}");
    }
}

/// The demo state's client, three times (Globex, Initech, Umbrella), Ann without
/// `reports.access` in Umbrella; and the project's policies changed twice: partner admins lose
/// the `reports.access` of their list, standard users gain `billing.edit`.
fn impact_fixture() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut state: serde_json::Value =
        serde_json::from_str(partner_access::cli::DEMO_STATE).unwrap();
    let client = state["clients"][0].clone();
    let mut clients = Vec::new();
    for (i, id) in ["c-globex", "c-initech", "c-umbrella"].iter().enumerate() {
        let mut c = client.clone();
        c["id"] = (*id).into();
        for user in c["users"].as_array_mut().unwrap() {
            if user["role"] == "super_admin" {
                user["email"] = format!("owner@{}.example", &id[2..]).into();
            }
            if i == 2 && user["email"] == "ann@acme.example" {
                let perms = user["permissions"].as_array_mut().unwrap();
                perms.retain(|p| p != "reports.access");
            }
        }
        clients.push(c);
    }
    state["clients"] = clients.into();
    let state_path = dir.path().join("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();

    let after = policy_copy();
    let file = after.path().join("policies/capabilities.cedar");
    let reports = r#"principal.getTag(resource.key).permissions.contains("reports.access")"#;
    let billing = r#"principal.getTag(resource.key).permissions.contains("billing.edit")"#;
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(reports) && text.contains(billing));
    let text = text
        .replace(
            reports,
            &format!(r#"{reports} && principal.getTag(resource.key).role != "partner_admin""#),
        )
        .replace(
            billing,
            &format!(r#"({billing} || principal.getTag(resource.key).role == "standard")"#),
        );
    std::fs::write(&file, text).unwrap();
    let after_path = dir.path().join("after");
    std::fs::rename(after.path(), &after_path).unwrap();
    let state_path = path_str(&state_path).to_owned();
    let after_path = path_str(&after_path).to_owned();
    (dir, state_path, after_path)
}

/// `policies diff` between two directories over a state document: exactly the decisions the
/// change flips, grouped, counted per action and per role, with their first examples; as text,
/// JSON and JUnit XML; `--fail-on-change` exits 2.
#[test]
fn policies_diff_between_two_directories_counts_each_flipped_decision() {
    let (_dir, state, after) = impact_fixture();
    let diff = |format: &str, extra: &[&str]| {
        let mut args = vec![
            "policies",
            "diff",
            "--from",
            ".",
            "--to",
            after.as_str(),
            "--state",
            state.as_str(),
            "--format",
            format,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };

    let out = diff("text", &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("12 memberships × 17 check actions = 204 decisions"),
        "{stdout}"
    );
    assert!(
        stdout.contains("5 decisions change: 2 allow → deny, 3 deny → allow"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[2] reports.access  allow → deny  2 decisions (partner_admin 2)\n      before: listed.reports.access (CAP-1, CAP-6)\n      after:  (no policy: denied by default)\n      e.g. ann@acme.example in c-globex (partner_admin)\n      e.g. ann@acme.example in c-initech (partner_admin)\n"),
        "{stdout}"
    );

    let out = diff("json", &["--examples", "1"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["memberships"], 12);
    assert_eq!(
        report["changed"],
        serde_json::json!({"allow_to_deny": 2, "deny_to_allow": 3})
    );
    assert_eq!(
        report["by_role"],
        serde_json::json!({
            "partner_admin": {"allow_to_deny": 2, "deny_to_allow": 0},
            "standard": {"allow_to_deny": 0, "deny_to_allow": 3},
        })
    );
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{report}");
    assert_eq!(groups[0]["action"], "billing.edit");
    assert_eq!(groups[0]["direction"], "deny_to_allow");
    assert_eq!(groups[0]["count"], 3);
    assert_eq!(groups[0]["before"]["policies"], serde_json::json!([]));
    assert_eq!(
        groups[0]["after"]["policies"],
        serde_json::json!(["listed.billing.edit"])
    );
    assert_eq!(
        groups[0]["examples"],
        serde_json::json!([{"user": "bob@acme.example", "account": "c-globex", "role": "standard"}])
    );
    assert_eq!(groups[1]["action"], "reports.access");
    assert_eq!(groups[1]["count"], 2);

    let out = diff("junit", &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    let elements = xml_elements(&stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"));
    assert_eq!(
        elements.iter().filter(|e| *e == "testcase").count(),
        2,
        "{stdout}"
    );
    assert_eq!(
        elements.iter().filter(|e| *e == "failure").count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains(r#"failures="2""#), "{stdout}");

    let out = diff("text", &["--fail-on-change"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    let same = run(&[
        "policies",
        "diff",
        "--from",
        ".",
        "--to",
        ".",
        "--state",
        state.as_str(),
        "--fail-on-change",
    ]);
    let (stdout, stderr) = text(&same);
    assert!(same.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("0 decisions change"), "{stdout}");
}

/// `policies push --expect-impact`: a push whose impact on the store's state is not the one
/// acknowledged is refused and stores nothing; the acknowledged one is stored.
#[test]
fn a_push_whose_impact_is_not_the_acknowledged_one_stores_nothing() {
    let (dir, state, after) = impact_fixture();
    let data = dir.path().join("data");
    let data = path_str(&data).to_owned();
    let out = run(&["import", state.as_str(), "--data", data.as_str()]);
    assert!(out.status.success(), "{:?}", text(&out));
    let (ok, stdout, stderr) = policies_cmd(&[
        "policies",
        "push",
        "policies",
        "--schema",
        "schema",
        "--activate",
        "--data",
        data.as_str(),
    ]);
    assert!(ok, "{stdout}{stderr}");

    // The impact against the active version, on the store's state.
    let (ok, acknowledged, stderr) = policies_cmd(&[
        "policies",
        "diff",
        "--to",
        after.as_str(),
        "--data",
        data.as_str(),
        "--format",
        "json",
    ]);
    assert!(ok, "{stderr}");
    let mut report: serde_json::Value = serde_json::from_str(&acknowledged).unwrap();
    assert_eq!(report["changed"]["allow_to_deny"], 2, "{report}");
    report["groups"][1]["count"] = 1.into();
    let wrong = dir.path().join("wrong.json");
    std::fs::write(&wrong, report.to_string()).unwrap();
    let right = dir.path().join("right.json");
    std::fs::write(&right, &acknowledged).unwrap();

    let push = |ack: &Path| {
        policies_cmd(&[
            "policies",
            "push",
            &format!("{after}/policies"),
            "--schema",
            &format!("{after}/schema"),
            "--expect-impact",
            path_str(ack),
            "--data",
            data.as_str(),
        ])
    };
    let versions = || {
        let (ok, list, stderr) = policies_cmd(&[
            "policies",
            "list",
            "--format",
            "json",
            "--data",
            data.as_str(),
        ]);
        assert!(ok, "{stderr}");
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        list["versions"].as_array().unwrap().len()
    };
    let (ok, stdout, stderr) = push(&wrong);
    assert!(!ok, "{stdout}{stderr}");
    assert!(stderr.contains("is not the one acknowledged"), "{stderr}");
    assert!(
        stderr.contains("computed, not acknowledged: reports.access allow → deny [listed.reports.access] → []: 2"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was stored"), "{stderr}");
    assert_eq!(versions(), 1, "nothing stored");

    let (ok, stdout, stderr) = push(&right);
    assert!(ok, "{stdout}{stderr}");
    assert!(
        stdout.contains("impact acknowledged: 5 changed decisions in 2 groups"),
        "{stdout}"
    );
    assert_eq!(versions(), 2);
}
