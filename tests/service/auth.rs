//! Bearer tokens and their scopes, proven over the route table itself: every route of
//! [`partner_access::http::routes`] is called with no token, a wrong token, a check token, a
//! caller token and the admin token, so a route added later without the right access level
//! fails here.

use partner_access::http::{Access, Route, Scope, routes};
use reqwest::header::{AUTHORIZATION, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support;
use crate::support::harness;

const CHECK: &str = "check-token-61f0a2c9";
const CALLER: &str = "caller-token-5be1c07a";
const OTHER_CALLER: &str = "caller-token-2-d4e9f1";
const ADMIN: &str = "admin-token-93a6e2f8";
const WRONG: &str = "wrong-token-0c7d3b15";

fn with_tokens() -> harness::Options {
    harness::Options {
        check_tokens: vec![CHECK.to_owned()],
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

async fn call(server: &harness::TestServer, route: &Route, credential: Credential) -> Answer {
    let path = concrete(&route.path);
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
    let mut response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let streamed = headers
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let text = if streamed {
        // An event stream does not end: what it sends at once stands for its body here.
        match tokio::time::timeout(std::time::Duration::from_millis(300), response.chunk()).await {
            Ok(Ok(Some(chunk))) => String::from_utf8_lossy(&chunk).into_owned(),
            _ => String::new(),
        }
    } else {
        response.text().await.unwrap()
    };
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

/// The answer is a 403 for a valid token without the route's scope: code `forbidden`, a message
/// naming the scope needed and the one held, and RFC 6750's `insufficient_scope` challenge.
fn assert_insufficient_scope(answer: &Answer, what: &str, needed: &str, held: &str) {
    assert_eq!(
        answer.status,
        StatusCode::FORBIDDEN,
        "{what}: {}",
        answer.text
    );
    let body = answer.json();
    assert_eq!(body["error"]["code"], "forbidden", "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("`{needed}` scope"))
            && message.contains(&format!("`{held}` scope")),
        "{what}: {body}"
    );
    let challenge = answer
        .headers
        .get(WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("{what}: no WWW-Authenticate header"))
        .to_str()
        .unwrap();
    assert_eq!(
        challenge,
        format!("Bearer error=\"insufficient_scope\", scope=\"{needed}\""),
        "{what}"
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
        !answer.text.contains("scope;"),
        "{what}: refused for its scope: {}",
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
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        public,
        [
            "/healthz",
            "/readyz",
            "/ui",
            "/ui/",
            "/ui/app.js",
            "/ui/app.css"
        ],
        "only the probes and the playground's static files (which carry no data) may be public"
    );
    // A check token decides and reads what carries no user data; nothing that lists users,
    // explains a decision (which names the state it read) or changes anything.
    let check: Vec<String> = table
        .iter()
        .filter(|r| r.access == Access::Check)
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        check,
        [
            "GET /metrics",
            "GET /openapi.json",
            "GET /v1/schema/actions",
            "GET /v1/policies",
            "POST /v1/is_authorized",
            "POST /v1/is_authorized/batch",
            "POST /v1/actions_allowed",
            "POST /access/v1/evaluation",
            "POST /access/v1/evaluations",
        ],
        "the check scope's routes"
    );
    for r in &table {
        if r.path.starts_with("/v1/admin/") {
            assert_eq!(r.access, Access::Admin, "{} {}", r.method, r.path);
        }
        // Every path turns into a concrete one.
        let _ = concrete(&r.path);
    }
    let mut seen = std::collections::HashSet::new();
    for r in &table {
        assert!(
            seen.insert((r.method.clone(), r.path.clone())),
            "duplicate route {} {}",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn every_non_public_route_refuses_a_missing_or_wrong_token() {
    let server = harness::start(with_tokens()).await;
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

/// Every route against every scope of token: admitted at or above the route's scope, 403
/// `insufficient_scope` below it, never answered by the handler for a lower scope.
#[tokio::test]
async fn every_route_admits_exactly_the_scopes_at_or_above_its_own() {
    let server = harness::start(with_tokens()).await;
    server.import(&support::demo()).await;
    let tokens = [
        (CHECK, Scope::Check),
        (CALLER, Scope::Caller),
        (OTHER_CALLER, Scope::Caller),
        (ADMIN, Scope::Admin),
    ];
    let mut refused = 0;
    for route in routes() {
        let Some(needed) = route.access.scope() else {
            continue;
        };
        for (token, held) in tokens {
            let credential = Credential::Bearer(token);
            let answer = call(&server, &route, credential).await;
            let what = describe(&route, credential);
            if held >= needed {
                assert_admitted(&answer, &what);
            } else {
                assert_insufficient_scope(&answer, &what, needed.name(), held.name());
                refused += 1;
            }
        }
        // An import in the loop replaced the state; put the demo back for the next routes.
        if route.path == "/v1/admin/import" {
            server.import(&support::demo()).await;
        }
    }
    assert!(refused > 0, "no route refused a lower scope");
}

/// What the issue that introduced scopes asked for, spelled out: a check-only host decides,
/// but cannot list users, read explanations or change anything.
#[tokio::test]
async fn a_check_token_decides_but_cannot_search_explain_or_change() {
    let server = harness::start(with_tokens()).await;
    server.import(&support::demo()).await;
    let check = json!({
        "principal": "Hub::User::\"ann@acme.example\"",
        "action": "crm.objects.edit",
        "resource": "Hub::Account::\"c-globex\"",
    });
    let response = server
        .client
        .post(server.url("/v1/is_authorized"))
        .bearer_auth(CHECK)
        .json(&check)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["decision"], "Allow", "{body}");
    for (method, path, body) in [
        (Method::GET, "/v1/search?q=ann", None),
        (Method::POST, "/v1/explain", Some(check.clone())),
        (Method::GET, "/v1/users/ann@acme.example/accounts", None),
        (Method::GET, "/v1/clients/c-globex/users", None),
        (
            Method::POST,
            "/v1/clients/c-globex/users",
            Some(json!({"email": "eve@globex.example", "role": "user"})),
        ),
    ] {
        let mut request = server
            .client
            .request(method.clone(), server.url(path))
            .bearer_auth(CHECK);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains("`caller` scope"),
            "{body}"
        );
    }
    // Nothing was created by the refused command.
    let (_, users) = server.get("/v1/clients/c-globex/users").await;
    assert!(!users.to_string().contains("eve@globex.example"), "{users}");
}

/// The OpenAPI document states each operation's scope, and it is the router's.
#[tokio::test]
async fn the_openapi_document_states_each_route_s_scope() {
    let server = harness::start(with_tokens()).await;
    let response = server
        .client
        .get(server.url("/openapi.json"))
        .bearer_auth(CHECK)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    let mut documented = 0;
    for route in routes() {
        let operation = &doc["paths"][route.path.as_str()][route.method.as_str().to_lowercase()];
        if operation.is_null() {
            continue;
        }
        documented += 1;
        let expected = match route.access.scope() {
            Some(scope) => json!([{ "bearer": [scope.name()] }]),
            None => Value::Null,
        };
        assert_eq!(
            operation["security"], expected,
            "{} {}",
            route.method, route.path
        );
    }
    assert!(documented >= 30, "{documented} operations documented");
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let server = harness::start(with_tokens()).await;
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
    let server = harness::start(with_tokens()).await;
    server.import(&support::demo()).await;
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
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    for route in routes() {
        for credential in [Credential::None, Credential::Bearer(WRONG)] {
            let answer = call(&server, &route, credential).await;
            assert_admitted(&answer, &describe(&route, credential));
        }
    }
    // The loop imported `{}` (an empty state); the demo again, then a real decision.
    server.import(&support::demo()).await;
    let answer = server
        .check("ann@acme.example", "crm.objects.edit", "c-globex")
        .await;
    assert_eq!(answer["decision"], "Allow", "{answer}");
}

#[tokio::test]
async fn tokens_are_never_echoed() {
    let server = harness::start(with_tokens()).await;
    server.import(&support::demo()).await;
    let secrets = [CHECK, CALLER, OTHER_CALLER, ADMIN, WRONG];
    for route in routes() {
        for credential in [
            Credential::None,
            Credential::Bearer(WRONG),
            Credential::Bearer(CHECK),
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
    let server = harness::start(harness::Options {
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
    let open = harness::start(harness::Options::default()).await;
    let closed = harness::start(with_tokens()).await;
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
    let checks = dir.path().join("checks");
    let log = dir.path().join("log");
    std::fs::write(&checks, "old-check\n").unwrap();
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
        .arg(support::root().join("policies"))
        .arg("--schema")
        .arg(support::root().join("schema"))
        .arg("--token-file")
        .arg(&callers)
        .arg("--check-token-file")
        .arg(&checks)
        .arg("--admin-token-file")
        .arg(&admin)
        .env_remove("PARTNER_ACCESS_CONFIG")
        .env_remove("PARTNER_ACCESS_TOKENS")
        .env_remove("PARTNER_ACCESS_CHECK_TOKENS")
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
    assert_eq!(status("old-check").await, 200);

    // Rotate the files, then SIGHUP: the new tokens are in force, the old ones are not.
    std::fs::write(&checks, "new-check\n").unwrap();
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
    assert_eq!(status("new-check").await, 200);
    assert_eq!(status("old-check").await, 401);
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
