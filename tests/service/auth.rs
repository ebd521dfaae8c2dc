//! Bearer tokens, proven over the route table itself: every route of
//! [`partner_access::http::routes`] is called with no token, a wrong token, a caller token and
//! the admin token, so a route added later without the right access level fails here.

use partner_access::http::{Access, Route, routes};
use reqwest::header::{AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common;

const CALLER: &str = "caller-token-5be1c07a";
const OTHER_CALLER: &str = "caller-token-2-d4e9f1";
const ADMIN: &str = "admin-token-93a6e2f8";
const WRONG: &str = "wrong-token-0c7d3b15";

fn with_tokens() -> common::Options {
    common::Options {
        caller_tokens: vec![CALLER.to_owned(), OTHER_CALLER.to_owned()],
        admin_token: Some(ADMIN.to_owned()),
        ..Default::default()
    }
}

/// A plausible value for a `{param}` of `path`, from the segment before it.
fn param_value(previous: &str, name: &str) -> &'static str {
    match (previous, name) {
        ("partners", _) => "p-acme",
        ("clients", _) => "c-globex",
        ("employees" | "users" | "partner-users", _) | (_, "email" | "employee") => {
            "ann@acme.example"
        }
        ("assets", _) | (_, "asset") => "deal-1",
        ("access-links", _) | (_, "token") => "tok-1",
        (_, "partner") => "p-acme",
        (_, "client") => "c-globex",
        _ => "x-1",
    }
}

/// The route's path with every `{param}` replaced by a plausible value.
fn concrete(path: &str) -> String {
    let mut out = Vec::new();
    let mut previous = "";
    for segment in path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            out.push(param_value(previous, name).to_owned());
        } else {
            out.push(segment.to_owned());
        }
        previous = segment;
    }
    let concrete = out.join("/");
    assert!(
        !concrete.contains('{') && !concrete.contains('}'),
        "unreplaced parameter in {path}"
    );
    concrete
}

/// A small JSON body for methods that carry one.
fn body_for(route: &Route) -> Option<Value> {
    (route.method == Method::POST || route.method == Method::PUT).then(|| {
        if route.path == "/v1/is_authorized" {
            json!({
                "principal": "Hub::User::\"ann@acme.example\"",
                "action": "crm.objects.edit",
                "resource": "Hub::Account::\"c-globex\"",
            })
        } else {
            json!({})
        }
    })
}

/// How a request authenticates itself.
#[derive(Debug, Clone, Copy)]
enum Credential {
    None,
    Bearer(&'static str),
    /// A value that is not a bearer token at all.
    Raw(&'static str),
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn call(server: &common::TestServer, route: &Route, credential: Credential) -> Answer {
    let path = concrete(route.path);
    let mut request = server
        .client
        .request(route.method.clone(), server.url(&path));
    match credential {
        Credential::None => {}
        Credential::Bearer(token) => request = request.bearer_auth(token),
        Credential::Raw(value) => request = request.header(AUTHORIZATION, value),
    }
    if let Some(body) = body_for(route) {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    Answer {
        status,
        headers,
        text,
    }
}

fn describe(route: &Route, credential: Credential) -> String {
    format!("{} {} with {credential:?}", route.method, route.path)
}

/// The answer is the contract's 401: code `unauthenticated` and `WWW-Authenticate: Bearer`.
fn assert_unauthenticated(answer: &Answer, what: &str) {
    assert_eq!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        answer.text
    );
    let body = answer.json();
    assert_eq!(body["error"]["code"], "unauthenticated", "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    let challenge = answer
        .headers
        .get(WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate header"))
        .to_str()
        .unwrap();
    assert!(
        challenge.starts_with("Bearer"),
        "{what}: WWW-Authenticate is {challenge:?}"
    );
}

/// The request got past authentication and reached its handler.
fn assert_admitted(answer: &Answer, what: &str) {
    assert_ne!(
        answer.status,
        StatusCode::UNAUTHORIZED,
        "{what}: {}",
        answer.text
    );
    assert!(
        answer.headers.get(WWW_AUTHENTICATE).is_none(),
        "{what}: WWW-Authenticate on an admitted request"
    );
    // The route is wired to its handler, not to the router's fallback.
    assert!(
        !answer.text.contains("no such path"),
        "{what}: answered by the fallback: {}",
        answer.text
    );
}

#[test]
fn the_route_table_is_sane() {
    let table = routes();
    assert!(table.len() >= 10, "{} routes", table.len());
    let public: Vec<&str> = table
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| r.path)
        .collect();
    assert_eq!(
        public,
        ["/healthz", "/readyz", "/ui", "/ui/app.js", "/ui/app.css"],
        "only the probes and the playground's static files (which carry no data) may be public"
    );
    for r in &table {
        if r.path.starts_with("/v1/admin/") {
            assert_eq!(r.access, Access::Admin, "{} {}", r.method, r.path);
        }
        // Every path turns into a concrete one.
        let _ = concrete(r.path);
    }
    let mut seen = std::collections::HashSet::new();
    for r in &table {
        assert!(
            seen.insert((r.method.clone(), r.path)),
            "duplicate route {} {}",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn every_non_public_route_refuses_a_missing_or_wrong_token() {
    let server = common::start(with_tokens()).await;
    let mut guarded = 0;
    for route in routes() {
        if route.access == Access::Public {
            continue;
        }
        guarded += 1;
        for credential in [
            Credential::None,
            Credential::Bearer(WRONG),
            Credential::Bearer(""),
            Credential::Raw(""),
            Credential::Raw("Basic YWRtaW46YWRtaW4="),
            // The right token under the wrong scheme is not a bearer token.
            Credential::Raw("Token admin-token-93a6e2f8"),
            // A token that only starts like the right one.
            Credential::Bearer("admin-token-93a6e2f8x"),
        ] {
            let answer = call(&server, &route, credential).await;
            assert_unauthenticated(&answer, &describe(&route, credential));
        }
    }
    assert!(guarded > 0);
}

#[tokio::test]
async fn admin_routes_refuse_a_caller_token() {
    let server = common::start(with_tokens()).await;
    let mut admin_routes = 0;
    for route in routes().into_iter().filter(|r| r.access == Access::Admin) {
        admin_routes += 1;
        for credential in [Credential::Bearer(CALLER), Credential::Bearer(OTHER_CALLER)] {
            let answer = call(&server, &route, credential).await;
            assert_unauthenticated(&answer, &describe(&route, credential));
        }
        let credential = Credential::Bearer(ADMIN);
        let answer = call(&server, &route, credential).await;
        assert_admitted(&answer, &describe(&route, credential));
    }
    assert!(admin_routes > 0, "the table has no admin route");
}

#[tokio::test]
async fn caller_routes_accept_caller_tokens_and_the_admin_token() {
    let server = common::start(with_tokens()).await;
    let mut caller_routes = 0;
    for route in routes().into_iter().filter(|r| r.access == Access::Caller) {
        caller_routes += 1;
        for credential in [
            Credential::Bearer(CALLER),
            Credential::Bearer(OTHER_CALLER),
            Credential::Bearer(ADMIN),
        ] {
            let answer = call(&server, &route, credential).await;
            assert_admitted(&answer, &describe(&route, credential));
        }
    }
    assert!(caller_routes > 0, "the table has no caller route");
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let server = common::start(with_tokens()).await;
    for route in routes().into_iter().filter(|r| r.access == Access::Public) {
        for credential in [
            Credential::None,
            Credential::Bearer(WRONG),
            Credential::Bearer(CALLER),
            Credential::Bearer(ADMIN),
        ] {
            let answer = call(&server, &route, credential).await;
            let what = describe(&route, credential);
            assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.text);
            assert!(answer.headers.get(WWW_AUTHENTICATE).is_none(), "{what}");
        }
    }
}

#[tokio::test]
async fn a_caller_token_gets_real_answers() {
    let server = common::start(with_tokens()).await;
    server.import(&common::demo()).await;
    let answer = server
        .check("ann@acme.example", "crm.objects.edit", "c-globex")
        .await;
    assert_eq!(answer["decision"], "Allow", "{answer}");
    let (status, body) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["partners"][0]["id"], "p-acme", "{body}");
}

#[tokio::test]
async fn without_tokens_every_route_is_open() {
    let server = common::start(common::Options::default()).await;
    server.import(&common::demo()).await;
    for route in routes() {
        for credential in [Credential::None, Credential::Bearer(WRONG)] {
            let answer = call(&server, &route, credential).await;
            assert_admitted(&answer, &describe(&route, credential));
        }
    }
    // The loop imported `{}` (an empty state); the demo again, then a real decision.
    server.import(&common::demo()).await;
    let answer = server
        .check("ann@acme.example", "crm.objects.edit", "c-globex")
        .await;
    assert_eq!(answer["decision"], "Allow", "{answer}");
}

#[tokio::test]
async fn tokens_are_never_echoed() {
    let server = common::start(with_tokens()).await;
    server.import(&common::demo()).await;
    let secrets = [CALLER, OTHER_CALLER, ADMIN, WRONG];
    for route in routes() {
        for credential in [
            Credential::None,
            Credential::Bearer(WRONG),
            Credential::Bearer(CALLER),
            Credential::Bearer(ADMIN),
            Credential::Raw("Basic wrong-token-0c7d3b15"),
        ] {
            let answer = call(&server, &route, credential).await;
            let what = describe(&route, credential);
            for secret in secrets {
                assert!(
                    !answer.text.contains(secret),
                    "{what}: the body echoes a token: {}",
                    answer.text
                );
                for (name, value) in &answer.headers {
                    let value = String::from_utf8_lossy(value.as_bytes());
                    assert!(
                        !value.contains(secret),
                        "{what}: header {name} echoes a token"
                    );
                }
            }
        }
    }
}

/// RFC 9110: the scheme is case-insensitive and the token is trimmed; a configured token that
/// came with white space (a trailing newline from a file or an environment variable) matches.
#[tokio::test]
async fn the_scheme_is_case_insensitive_and_tokens_are_trimmed_on_both_sides() {
    let server = common::start(common::Options {
        caller_tokens: vec![format!("  {CALLER}\n")],
        admin_token: Some(format!("{ADMIN}\n")),
        ..Default::default()
    })
    .await;
    for (value, path, expected) in [
        (
            format!("bearer {CALLER}"),
            "/v1/schema/actions",
            StatusCode::OK,
        ),
        (
            format!("BEARER  {CALLER} "),
            "/v1/schema/actions",
            StatusCode::OK,
        ),
        (
            format!("Bearer {ADMIN}"),
            "/v1/admin/export",
            StatusCode::OK,
        ),
        (
            format!("Basic {CALLER}"),
            "/v1/schema/actions",
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("Bearer{CALLER}"),
            "/v1/schema/actions",
            StatusCode::UNAUTHORIZED,
        ),
        (
            format!("Bearer {CALLER}x"),
            "/v1/schema/actions",
            StatusCode::UNAUTHORIZED,
        ),
    ] {
        let response = server
            .client
            .get(server.url(path))
            .header(AUTHORIZATION, &value)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "{value:?} on {path}");
    }
}

/// Without tokens the sidecar answers only loopback host names: a page elsewhere that rebinds
/// its own name to 127.0.0.1 can neither read nor change it. With tokens any name is answered
/// (the token is the check).
#[tokio::test]
async fn without_tokens_a_foreign_host_name_is_refused_dns_rebinding() {
    let open = common::start(common::Options::default()).await;
    let closed = common::start(with_tokens()).await;
    for (host, expected) in [
        ("localhost:8180", StatusCode::OK),
        ("127.0.0.1", StatusCode::OK),
        ("[::1]:8180", StatusCode::OK),
        ("evil.example", StatusCode::FORBIDDEN),
        ("evil.example:8180", StatusCode::FORBIDDEN),
        ("localhost.evil.example", StatusCode::FORBIDDEN),
    ] {
        for (path, method) in [
            ("/v1/admin/export", Method::GET),
            ("/v1/is_authorized", Method::POST),
        ] {
            let response = open
                .client
                .request(method.clone(), open.url(path))
                .header(reqwest::header::HOST, host)
                .json(&json!({"principal": "Hub::User::\"ann@acme.example\"",
                              "action": "reports.access",
                              "resource": "Hub::Account::\"c-globex\""}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                expected,
                "{method} {path} with Host {host}"
            );
            if expected == StatusCode::FORBIDDEN {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "forbidden", "{body}");
            }
        }
        let response = closed
            .client
            .get(closed.url("/v1/schema/actions"))
            .header(reqwest::header::HOST, host)
            .bearer_auth(CALLER)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "with a token, Host {host}"
        );
    }
}

/// The real binary with token files: SIGHUP re-reads them (rotation without a restart), and a
/// file that cannot be read keeps the tokens in force and says why in the log.
#[cfg(unix)]
#[tokio::test]
async fn sighup_rereads_the_token_files_and_a_bad_file_keeps_the_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let callers = dir.path().join("callers");
    let admin = dir.path().join("admin");
    let log = dir.path().join("log");
    std::fs::write(&callers, "old-caller\n").unwrap();
    std::fs::write(&admin, "old-admin\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_partner-access"))
        .arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--policies")
        .arg(common::root().join("policies"))
        .arg("--schema")
        .arg(common::root().join("schema"))
        .arg("--token-file")
        .arg(&callers)
        .arg("--admin-token-file")
        .arg(&admin)
        .env_remove("PARTNER_ACCESS_CONFIG")
        .env_remove("PARTNER_ACCESS_TOKENS")
        .env_remove("PARTNER_ACCESS_ADMIN_TOKEN")
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/v1/schema/actions");
    let status = |token: &'static str| {
        let request = client.get(&url).bearer_auth(token);
        async move {
            request
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    let hangup = || {
        assert!(
            std::process::Command::new("kill")
                .args(["-HUP", &pid])
                .status()
                .unwrap()
                .success()
        );
    };
    // Wait for it to listen.
    let started = std::time::Instant::now();
    while status("old-caller").await != 200 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "not serving"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status("new-caller").await, 401);

    // Rotate both files, then SIGHUP: the new tokens are in force, the old ones are not.
    std::fs::write(&callers, "new-caller\n").unwrap();
    std::fs::write(&admin, "new-admin\n").unwrap();
    hangup();
    let rotated = std::time::Instant::now();
    while status("new-caller").await != 200 {
        assert!(
            rotated.elapsed() < std::time::Duration::from_secs(10),
            "SIGHUP did not put the rotated caller token in force"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status("old-caller").await, 401);
    let export = format!("http://127.0.0.1:{port}/v1/admin/export");
    let admin_status = |token: &'static str| {
        let request = client.get(&export).bearer_auth(token);
        async move {
            request
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    assert_eq!(admin_status("new-admin").await, 200);
    assert_ne!(admin_status("old-admin").await, 200);

    // A file that cannot be read: the tokens in force stay, and the log says why.
    std::fs::remove_file(&callers).unwrap();
    hangup();
    let bad = std::time::Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("token files not reloaded") {
            assert!(text.contains("callers"), "the log names the file: {text}");
            break;
        }
        assert!(
            bad.elapsed() < std::time::Duration::from_secs(10),
            "no log of the failed reload: {text}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status("new-caller").await, 200);
    assert_eq!(admin_status("new-admin").await, 200);

    let _ = child.kill();
    let _ = child.wait();
}
