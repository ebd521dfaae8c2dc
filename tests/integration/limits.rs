//! The documented input limits (`docs/limits.md`), each shown from both sides: the value AT the
//! limit is accepted and does its work, one OVER it is a 4xx in the API's error shape whose
//! message names the field and the limit.
//!
//! Limits keep one request's cost bounded: without them a single body could ask for a million
//! checks, a list of a million e-mails, or an id the size of the body. A limit that is only
//! written down, or that is off by one, is found here. Where the sidecar has no limit, or
//! answers an over-limit value some other way than the brief asks, the test is written as the
//! limit should behave and marked `#[ignore = "bug: ..."]` (run them with `--ignored`).
//!
//! The server is the test kit's (`tests/support/harness.rs`): in-process on an ephemeral port
//! with a temporary data directory, on redb.

use std::time::Duration;

use partner_access::fixtures::{Size, generate};
use partner_access::http::MAX_BATCH;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::demo;
use crate::support::harness::{self, TestServer};

const ANN: &str = "ann@acme.example";
const OWNER: &str = "owner@globex.example";
const MIB: usize = 1024 * 1024;
/// The limits as documented; the tests compare the sidecar with these numbers, not with its
/// own constants, so changing a constant without the documentation fails here.
const MAX_LIST: usize = 1000;
const MAX_ID: usize = 256;
const MAX_EMAIL: usize = 320;
const MAX_KEY: usize = 256;
const MAX_PAGE: usize = 1000;
/// serde_json's recursion limit: 128 containers deep is refused, so 127 is the deepest read.
const MAX_DEPTH: usize = 127;

// ---- harness ------------------------------------------------------------------------------

/// Starts the kit's server on redb (router, body limit, timeout) with no tokens, a request
/// timeout of 60 s, and `doc` loaded through the app.
async fn start_with(body_limit: usize, doc: &Value) -> TestServer {
    let server = harness::start_redb(harness::Options {
        body_limit,
        request_timeout: Duration::from_secs(60),
        ..harness::Options::default()
    })
    .await;
    server.load(doc);
    server
}

async fn start(doc: &Value) -> TestServer {
    start_with(MIB, doc).await
}

/// Asserts a 2xx answer.
fn assert_ok(what: &str, status: StatusCode, body: &Value) {
    assert!(status.is_success(), "{what}: {status} {body}");
}

/// Asserts an error answer of the API: this status and code, `{"error": {"code", "message",
/// "rules"?, "details"?}}` and nothing else, and a message that contains every one of `names`
/// (the field and the limit).
fn assert_refused(
    what: &str,
    status: StatusCode,
    body: &Value,
    expected: StatusCode,
    code: &str,
    names: &[&str],
) {
    assert_eq!(status, expected, "{what}: {body}");
    let root = body
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not a JSON object: {body}"));
    assert_eq!(root.len(), 1, "{what}: only `error` at the top: {body}");
    let error = root["error"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: no `error` object: {body}"));
    assert_eq!(error["code"], code, "{what}: {body}");
    for key in error.keys() {
        assert!(
            ["code", "message", "rules", "details"].contains(&key.as_str()),
            "{what}: unexpected `{key}`: {body}"
        );
    }
    let message = error["message"].as_str().unwrap_or_default();
    for name in names {
        assert!(
            message.contains(name),
            "{what}: the message should name `{name}`: {message}"
        );
    }
}

fn assert_invalid(what: &str, status: StatusCode, body: &Value, names: &[&str]) {
    assert_refused(
        what,
        status,
        body,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        names,
    );
}

/// A check in string form.
fn check(principal: &str, action: &str, client: &str) -> Value {
    json!({
        "principal": format!("Hub::User::\"{principal}\""),
        "action": action,
        "resource": format!("Hub::Account::\"{client}\""),
    })
}

/// An AuthZEN evaluation.
fn evaluation(subject: &str, action: &str, client: &str) -> Value {
    json!({
        "subject": {"type": "user", "id": subject},
        "action": {"name": action},
        "resource": {"type": "account", "id": client},
    })
}

/// `value` padded with trailing spaces (valid JSON whitespace) to exactly `len` bytes.
fn padded(value: &Value, len: usize) -> Vec<u8> {
    let mut bytes = value.to_string().into_bytes();
    assert!(bytes.len() <= len, "the body is already over {len} bytes");
    bytes.resize(len, b' ');
    bytes
}

/// `depth` nested arrays: `[[[]]]` is 3.
fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// An e-mail address of exactly `len` characters at `domain`.
fn email_of_len(len: usize, domain: &str) -> String {
    let local = len - 1 - domain.len();
    format!("{}@{domain}", "e".repeat(local))
}

/// The demo state with `n` more employees of `p-acme` (`e{i}@acme.example`, verified by the
/// partner's domain, so eligible for the partner seat).
fn demo_with_employees(n: usize) -> Value {
    let mut doc = demo();
    let employees = doc["partners"][0]["employees"].as_array_mut().unwrap();
    for i in 0..n {
        employees.push(json!({"email": format!("e{i}@acme.example")}));
    }
    doc
}

// ---- body size ----------------------------------------------------------------------------

/// 1 MiB exactly is read and decided; one byte more is 413 before anything is parsed.
#[tokio::test]
async fn body_of_exactly_1_mib_is_read_and_one_byte_more_is_413() {
    let server = start(&demo()).await;
    let body = check(ANN, "crm.objects.edit", "c-globex");
    let (status, answer) = server
        .raw(Method::POST, "/v1/is_authorized", &[], padded(&body, MIB))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Allow", "{answer}");
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized",
            &[],
            padded(&body, MIB + 1),
        )
        .await;
    assert_refused(
        "check of 1 MiB + 1",
        status,
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &["request body", "1 MiB"],
    );
    // A command body goes through the same limit.
    let path = "/v1/clients/c-globex/partner-users/bob@acme.example/deactivate";
    let body = json!({"actor": ANN});
    let (status, answer) = server
        .raw(Method::POST, path, &[], padded(&body, MIB))
        .await;
    assert_ok("deactivate of exactly 1 MiB", status, &answer);
    assert_eq!(answer["status"], "deactivated", "{answer}");
    let (status, answer) = server
        .raw(Method::POST, path, &[], padded(&body, MIB + 1))
        .await;
    assert_refused(
        "deactivate of 1 MiB + 1",
        status,
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &["request body", "1 MiB"],
    );
    server.stop().await;
}

/// `--body-limit` moves the limit to exactly the configured number of bytes.
#[tokio::test]
async fn a_configured_body_limit_is_exact() {
    let limit = 4096;
    let server = start_with(limit, &demo()).await;
    let body = check(ANN, "crm.objects.edit", "c-globex");
    let (status, answer) = server
        .raw(Method::POST, "/v1/is_authorized", &[], padded(&body, limit))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized",
            &[],
            padded(&body, limit + 1),
        )
        .await;
    assert_refused(
        "check of limit + 1",
        status,
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &["request body"],
    );
    server.stop().await;
}

/// With a configured limit the 413 message still says "(default 1 MiB)": an operator who set
/// 4096 bytes reads a number that is not the limit in force.
#[tokio::test]
async fn the_413_message_names_the_configured_limit() {
    let limit = 4096;
    let server = start_with(limit, &demo()).await;
    let body = check(ANN, "crm.objects.edit", "c-globex");
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized",
            &[],
            padded(&body, limit + 1),
        )
        .await;
    assert_refused(
        "check of limit + 1",
        status,
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &["request body", "4096"],
    );
    server.stop().await;
}

// ---- JSON depth ---------------------------------------------------------------------------

/// The body `{"requests": <depth - 1 nested arrays>}`: `depth` containers in all.
fn batch_of_depth(depth: usize) -> Vec<u8> {
    format!("{{\"requests\": [{}]}}", nested(depth - 2)).into_bytes()
}

/// The deepest body read is 127 containers (the top-level object counts); 128 is 400. The
/// batch answers a too-deep-to-be-a-check item with an item error, so 127 is really read.
#[tokio::test]
async fn json_127_deep_is_read_and_128_deep_is_400() {
    let server = start(&demo()).await;
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized/batch",
            &[],
            batch_of_depth(MAX_DEPTH),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["results"][0]["error"]["code"], "invalid_request");
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized/batch",
            &[],
            batch_of_depth(MAX_DEPTH + 1),
        )
        .await;
    assert_invalid(
        "batch 128 deep",
        status,
        &answer,
        &["requests", "recursion limit"],
    );

    // AuthZEN reads `options` as any JSON value: 127 deep in all is decided, 128 is 400.
    let at = |depth: usize| {
        let mut text = evaluation(ANN, "crm.objects.edit", "c-globex").to_string();
        text.pop();
        // `evaluations` holds one item; `options` is the top object's member.
        text.push_str(&format!(
            ", \"evaluations\": [{{}}], \"options\": {{\"x\": {}}}}}",
            nested(depth - 2)
        ));
        text.into_bytes()
    };
    let (status, answer) = server
        .raw(Method::POST, "/access/v1/evaluations", &[], at(MAX_DEPTH))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["evaluations"][0]["decision"], true, "{answer}");
    let (status, answer) = server
        .raw(
            Method::POST,
            "/access/v1/evaluations",
            &[],
            at(MAX_DEPTH + 1),
        )
        .await;
    assert_invalid(
        "evaluations 128 deep",
        status,
        &answer,
        &["options", "recursion limit"],
    );
    server.stop().await;
}

/// serde_json's message says "recursion limit exceeded" but not what the limit is.
#[tokio::test]
async fn the_depth_error_names_the_limit() {
    let server = start(&demo()).await;
    let (status, answer) = server
        .raw(
            Method::POST,
            "/v1/is_authorized/batch",
            &[],
            batch_of_depth(MAX_DEPTH + 1),
        )
        .await;
    assert_invalid("batch 128 deep", status, &answer, &["requests", "127"]);
    server.stop().await;
}

// ---- batch sizes --------------------------------------------------------------------------

#[tokio::test]
async fn batch_of_1000_checks_is_answered_and_1001_is_400() {
    assert_eq!(MAX_BATCH, MAX_LIST, "the documented batch limit");
    let server = start(&demo()).await;
    // Alternate an Allow and a Deny so the answers are seen to be in request order.
    let items: Vec<Value> = (0..MAX_BATCH)
        .map(|i| {
            let action = if i % 2 == 0 {
                "crm.objects.edit"
            } else {
                "scim.provision"
            };
            check(ANN, action, "c-globex")
        })
        .collect();
    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": items}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_BATCH);
    for (i, result) in results.iter().enumerate() {
        let expected = if i % 2 == 0 { "Allow" } else { "Deny" };
        assert_eq!(result["decision"], expected, "item {i}: {result}");
    }
    let mut over = items.clone();
    over.push(check(ANN, "crm.objects.edit", "c-globex"));
    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": over}))
        .await;
    assert_invalid(
        "batch of 1001",
        status,
        &answer,
        &["requests", "1000", "1001"],
    );
    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": []}))
        .await;
    assert_invalid("empty batch", status, &answer, &["requests", "1000"]);
    server.stop().await;
}

#[tokio::test]
async fn authzen_1000_evaluations_are_answered_and_1001_is_400() {
    let server = start(&demo()).await;
    let items = vec![evaluation(ANN, "crm.objects.edit", "c-globex"); MAX_BATCH];
    let (status, answer) = server
        .post("/access/v1/evaluations", &json!({"evaluations": items}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let evaluations = answer["evaluations"].as_array().unwrap();
    assert_eq!(evaluations.len(), MAX_BATCH);
    assert!(
        evaluations.iter().all(|e| e["decision"] == true),
        "{answer}"
    );
    let over = vec![evaluation(ANN, "crm.objects.edit", "c-globex"); MAX_BATCH + 1];
    let (status, answer) = server
        .post("/access/v1/evaluations", &json!({"evaluations": over}))
        .await;
    assert_invalid(
        "evaluations of 1001",
        status,
        &answer,
        &["evaluations", "1000"],
    );
    server.stop().await;
}

// ---- list sizes in commands ---------------------------------------------------------------

/// 1,000 distinct employees are added in one command (one transaction, 1,000 authorizations
/// and grant clamps); 1,001 is refused before any work. The outbox then holds more than a
/// page, which the page-limit test below reads.
#[tokio::test]
async fn employees_1000_are_added_and_1001_is_400_and_a_page_holds_at_most_1000() {
    let server = start(&demo_with_employees(MAX_LIST + 1)).await;
    let employees: Vec<String> = (0..MAX_LIST)
        .map(|i| format!("e{i}@acme.example"))
        .collect();
    let path = "/v1/clients/c-globex/partner-users";
    let mut over = employees.clone();
    over.push(format!("e{MAX_LIST}@acme.example"));
    let (status, answer) = server
        .post(
            path,
            &json!({"actor": ANN, "employees": over, "permission_set": "Sales rep"}),
        )
        .await;
    assert_invalid(
        "1001 employees",
        status,
        &answer,
        &["employees", "1000", "1001"],
    );
    let (status, answer) = server
        .post(
            path,
            &json!({"actor": ANN, "employees": employees, "permission_set": "Sales rep"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_LIST);
    assert!(
        results.iter().all(|r| r["outcome"] == "added"),
        "{}",
        results[0]
    );

    // One more `user.created` event: the outbox now holds over 1,000 events, so a page of
    // 1,000 is full, and asking for more gets at most 1,000.
    let (status, answer) = server
        .post(
            path,
            &json!({"actor": ANN, "employees": [format!("e{MAX_LIST}@acme.example")],
                    "permission_set": "Sales rep"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, page) = server.get("/v1/events?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["records"].as_array().unwrap().len(), MAX_PAGE);
    assert!(page["next"].is_u64(), "more remain: {}", page["next"]);
    // Over the page limit: a 400 naming it, never a silently shorter page.
    let (status, page) = server.get("/v1/events?limit=5000").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(
        page["error"]["message"].as_str().unwrap().contains("1000"),
        "{page}"
    );

    // The same 1,000 users take the partner seat in one command (SEAT-3); 1,001 is refused.
    let (status, answer) = server
        .post(
            "/v1/clients/c-globex/seats",
            &json!({"actor": OWNER, "users": employees, "seat": "partner"}),
        )
        .await;
    assert_ok("1000 users", status, &answer);
    assert_eq!(answer["users"].as_array().unwrap().len(), MAX_LIST);
    let mut over = employees;
    over.push(OWNER.to_owned());
    let (status, answer) = server
        .post(
            "/v1/clients/c-globex/seats",
            &json!({"actor": OWNER, "users": over, "seat": "partner"}),
        )
        .await;
    assert_invalid("1001 users", status, &answer, &["users", "1000", "1001"]);
    server.stop().await;
}

/// An employee who is a partner user of 1,000 clients is removed from all of them in one
/// command; a list of 1,001 is refused.
#[tokio::test]
async fn clients_1000_are_removed_from_and_1001_is_400() {
    let doc = generate(Size {
        partners: 1,
        clients: MAX_LIST,
        users_per_client: 0,
    });
    let server = start(&serde_json::to_value(&doc).unwrap()).await;
    let (admin, rep) = ("admin0@p0.example", "rep0@p0.example");
    let base = format!("/v1/partners/p0/employees/{rep}");
    let (status, preview) = server
        .post(&format!("{base}/removal-preview"), &json!({"actor": admin}))
        .await;
    assert_ok("preview", status, &preview);
    let clients: Vec<Value> = preview["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].clone())
        .collect();
    assert_eq!(clients.len(), MAX_LIST, "{}", preview["clients"][0]);
    let version = preview["version"].clone();

    let mut over = clients.clone();
    over.push(json!("c-extra"));
    let (status, answer) = server
        .post(
            &format!("{base}/remove"),
            &json!({"actor": admin, "clients": over, "version": version}),
        )
        .await;
    assert_invalid(
        "1001 clients",
        status,
        &answer,
        &["clients", "1000", "1001"],
    );
    let (status, answer) = server
        .post(
            &format!("{base}/remove"),
            &json!({"actor": admin, "clients": clients, "version": version}),
        )
        .await;
    assert_ok("remove from 1000 clients", status, &answer);
    assert_eq!(answer["removed_from"].as_array().unwrap().len(), MAX_LIST);
    assert!(
        server
            .app
            .export()
            .unwrap()
            .0
            .clients
            .iter()
            .all(|c| c.users.iter().all(|u| u.email.as_str() != rep)),
        "the employee is gone from every client"
    );
    server.stop().await;
}

/// `employees` and `users` may repeat an e-mail (it counts once); `clients` may not: the
/// second mention of a client the employee was just removed from is a 404 and the whole
/// command is refused.
#[tokio::test]
async fn a_client_listed_twice_is_removed_from_once() {
    let server = start(&demo()).await;
    let base = "/v1/partners/p-acme/employees/bob@acme.example";
    let (status, preview) = server
        .post(&format!("{base}/removal-preview"), &json!({"actor": ANN}))
        .await;
    assert_ok("preview", status, &preview);
    let (status, answer) = server
        .post(
            &format!("{base}/remove"),
            &json!({"actor": ANN, "clients": ["c-globex", "c-globex"],
                    "version": preview["version"]}),
        )
        .await;
    assert_ok("remove with a repeated client", status, &answer);
    server.stop().await;
}

// ---- ids and e-mails ----------------------------------------------------------------------

/// Partner, client, asset and permission set ids of 256 characters are stored and used; 257
/// are refused naming the kind of id and the limit, in a path segment and in a body.
#[tokio::test]
async fn ids_of_256_characters_are_accepted_and_257_are_400() {
    let server = start(&demo()).await;
    let id = |c: char, len: usize| c.to_string().repeat(len);
    let (partner, client, asset, set) = (
        id('p', MAX_ID),
        id('c', MAX_ID),
        id('a', MAX_ID),
        id('s', MAX_ID),
    );
    let (status, answer) = server
        .put(
            &format!("/v1/admin/partners/{partner}"),
            &json!({"tier": "solutions_partner", "email_domains": ["long.example"],
                    "employees": [{"email": "lee@long.example", "super_admin": true}],
                    "permission_sets": [{"name": set, "permissions": ["crm.objects.view"]}]}),
        )
        .await;
    assert_ok("partner id of 256", status, &answer);
    let (status, answer) = server
        .put(
            &format!("/v1/admin/clients/{client}"),
            &json!({"pricing_model": "seat_based", "managed_by": partner,
                    "users": [{"email": "boss@long.example", "role": "super_admin", "seat": "core"},
                              {"email": "lee@long.example", "role": "partner_admin",
                               "seat": "partner", "partner": partner,
                               "permissions": ["crm.objects.view", "multi_account.manage"]}]}),
        )
        .await;
    assert_ok("client id of 256", status, &answer);
    let (status, answer) = server
        .put(
            &format!("/v1/admin/clients/{client}/assets/{asset}"),
            &json!({"owner": "lee@long.example"}),
        )
        .await;
    assert_ok("asset id of 256", status, &answer);
    // The 256-character permission set name is used by a command, and the long ids decide.
    let (status, answer) = server
        .put(
            &format!("/v1/admin/partners/{partner}/employees/kai@long.example"),
            &json!({}),
        )
        .await;
    assert_ok("employee", status, &answer);
    let (status, answer) = server
        .post(
            &format!("/v1/clients/{client}/partner-users"),
            &json!({"actor": "lee@long.example", "employees": ["kai@long.example"],
                    "permission_set": set}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["results"][0]["outcome"], "added", "{answer}");
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &check("kai@long.example", "crm.objects.view", &client),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Allow", "{answer}");

    // One more character, in paths.
    let long = |c: char| id(c, MAX_ID + 1);
    for (path, body, kind) in [
        (
            format!("/v1/admin/partners/{}", long('p')),
            json!({"tier": "other"}),
            "partner id",
        ),
        (
            format!("/v1/admin/clients/{}", long('c')),
            json!({"pricing_model": "legacy"}),
            "client id",
        ),
        (
            format!("/v1/admin/clients/{client}/assets/{}", long('a')),
            json!({"owner": "lee@long.example"}),
            "asset id",
        ),
    ] {
        let (status, answer) = server.put(&path, &body).await;
        assert_invalid(kind, status, &answer, &[kind, "256"]);
    }
    let (status, answer) = server
        .post(
            &format!("/v1/clients/{}/users", long('c')),
            &json!({"actor": OWNER, "email": "x@globex.example", "seat": "core",
                    "permission_set": "x"}),
        )
        .await;
    assert_invalid(
        "client id in a command path",
        status,
        &answer,
        &["client id", "256"],
    );
    // And in bodies, with the field's path.
    for (path, body, names) in [
        (
            "/v1/clients/c-globex/partner-users".to_owned(),
            json!({"actor": ANN, "employees": ["cy@acme.example"], "permission_set": long('s')}),
            ["permission_set", "permission set name", "256"],
        ),
        (
            "/v1/partners/p-acme/employees/bob@acme.example/link".to_owned(),
            json!({"actor": ANN, "client": long('c')}),
            ["client", "client id", "256"],
        ),
        (
            "/v1/admin/import".to_owned(),
            json!({"partners": [{"id": long('p'), "tier": "other"}]}),
            ["partners[0].id", "partner id", "256"],
        ),
    ] {
        let (status, answer) = server.post(&path, &body).await;
        assert_invalid(&path, status, &answer, &names);
    }
    // A permission name is bounded the same way (the catalogue's names are far shorter).
    let (status, answer) = server
        .put(
            "/v1/admin/clients/c-globex/users/bob@acme.example",
            &json!({"role": "standard", "seat": "partner", "partner": "p-acme",
                    "permissions": ["x".repeat(MAX_ID + 1)]}),
        )
        .await;
    assert_invalid(
        "permission of 257",
        status,
        &answer,
        &["permissions[0]", "permission", "256"],
    );
    server.stop().await;
}

/// E-mails of 320 characters (RFC 5321's limit) work as actor, path segment and list item;
/// 321 are refused naming the field, "e-mail" and 320.
#[tokio::test]
async fn emails_of_320_characters_are_accepted_and_321_are_400() {
    let server = start(&demo()).await;
    let at = email_of_len(MAX_EMAIL, "acme.example");
    let over = email_of_len(MAX_EMAIL + 1, "acme.example");
    assert_eq!((at.chars().count(), over.chars().count()), (320, 321));
    // Stored as an employee through the path, then acting and acted on through bodies.
    let (status, answer) = server
        .put(
            &format!("/v1/admin/partners/p-acme/employees/{at}"),
            &json!({"super_admin": true, "employee_management": "view_edit"}),
        )
        .await;
    assert_ok("employee e-mail of 320", status, &answer);
    let (status, answer) = server
        .post(
            "/v1/clients/c-globex/partner-users",
            &json!({"actor": ANN, "employees": [at], "permission_set": "Sales rep"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["results"][0]["employee"], at.as_str());
    let (status, answer) = server
        .post(
            "/v1/partners/p-acme/access-links",
            &json!({"actor": at, "employee": "bob@acme.example"}),
        )
        .await;
    assert_ok("actor of 320", status, &answer);

    let (status, answer) = server
        .put(
            &format!("/v1/admin/partners/p-acme/employees/{over}"),
            &json!({}),
        )
        .await;
    assert_invalid("path e-mail of 321", status, &answer, &["e-mail", "320"]);
    for (body, field) in [
        (
            json!({"actor": over, "employee": "bob@acme.example"}),
            "actor",
        ),
        (json!({"actor": ANN, "employee": over}), "employee"),
    ] {
        let (status, answer) = server.post("/v1/partners/p-acme/access-links", &body).await;
        assert_invalid(field, status, &answer, &[field, "e-mail", "320"]);
    }
    let (status, answer) = server
        .post(
            "/v1/clients/c-globex/partner-users",
            &json!({"actor": ANN, "employees": ["cy@acme.example", over],
                    "permission_set": "Sales rep"}),
        )
        .await;
    assert_invalid(
        "employees[1]",
        status,
        &answer,
        &["employees[1]", "e-mail", "320"],
    );
    server.stop().await;
}

// ---- idempotency keys ---------------------------------------------------------------------

#[tokio::test]
async fn idempotency_keys_of_256_characters_are_accepted_and_257_are_400() {
    let server = start(&demo()).await;
    let path = "/v1/clients/c-globex/partner-users/bob@acme.example/deactivate";
    let body = json!({"actor": ANN}).to_string().into_bytes();
    let key = "k".repeat(MAX_KEY);
    let (status, first) = server
        .raw(
            Method::POST,
            path,
            &[("idempotency-key", key.as_str())],
            body.clone(),
        )
        .await;
    assert_ok("key of 256", status, &first);
    // Accepted means used: the repeat is the stored answer, not a second deactivation.
    let response = server
        .client
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .header("idempotency-key", &key)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        response
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..]),
        "the repeat with a 256-character key is a replay"
    );
    let over = "k".repeat(MAX_KEY + 1);
    let (status, answer) = server
        .raw(
            Method::POST,
            path,
            &[("idempotency-key", over.as_str())],
            body.clone(),
        )
        .await;
    assert_invalid("key of 257", status, &answer, &["Idempotency-Key", "256"]);
    let (status, answer) = server
        .raw(Method::POST, path, &[("idempotency-key", "")], body)
        .await;
    assert_invalid("empty key", status, &answer, &["Idempotency-Key", "256"]);
    server.stop().await;
}

// ---- page limit ---------------------------------------------------------------------------

/// `limit` is documented as 1 to 1,000; 1,001 is silently served as 1,000 and 0 as 1, so a
/// caller that asks for more never learns it got less than it asked for.
#[tokio::test]
async fn page_limits_outside_1_to_1000_are_400() {
    let server = start(&demo()).await;
    let (status, page) = server.get("/v1/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for path in [
        "/v1/audit?limit=1001",
        "/v1/events?limit=1001",
        "/v1/audit?limit=0",
    ] {
        let (status, answer) = server.get(path).await;
        assert_invalid(path, status, &answer, &["limit", "1000"]);
    }
    server.stop().await;
}

// ---- missing limits -----------------------------------------------------------------------

/// A permission set, or a user's stored permissions, may list any number of entries (the
/// same permission repeated): 50,000 fit in a 1 MiB body, are stored as sent, rewritten with
/// the record on every write and turned into a Cedar set on every uncached check of that user.
/// Like the lists of commands they should stop at 1,000 (the catalogue has 14 permissions).
#[tokio::test]
async fn permission_lists_over_1000_entries_are_400() {
    let server = start(&demo()).await;
    let catalogue = [
        "crm.objects.view",
        "crm.objects.edit",
        "hubs.access",
        "apps.manage",
        "reports.access",
    ];
    let at: Vec<&str> = catalogue.iter().copied().cycle().take(MAX_LIST).collect();
    let over: Vec<&str> = catalogue
        .iter()
        .copied()
        .cycle()
        .take(MAX_LIST + 1)
        .collect();
    let partner = |perms: &[&str]| {
        json!({"tier": "solutions_partner", "email_domains": ["acme.example"],
               "permission_sets": [{"name": "Big", "permissions": perms}]})
    };
    let (status, answer) = server.put("/v1/admin/partners/p-acme", &partner(&at)).await;
    assert_ok("set of 1000", status, &answer);
    let (status, answer) = server
        .put("/v1/admin/partners/p-acme", &partner(&over))
        .await;
    assert_invalid("set of 1001", status, &answer, &["permissions", "1000"]);
    let user = |perms: &[&str]| json!({"role": "standard", "seat": "partner", "partner": "p-acme", "permissions": perms});
    let path = "/v1/admin/clients/c-globex/users/bob@acme.example";
    let (status, answer) = server.put(path, &user(&at)).await;
    assert_ok("user permissions of 1000", status, &answer);
    let (status, answer) = server.put(path, &user(&over)).await;
    assert_invalid(
        "user permissions of 1001",
        status,
        &answer,
        &["permissions", "1000"],
    );
    server.stop().await;
}
