//! Hostile and malformed input: no request makes the server answer 500, panic or stop.
//!
//! Every route that reads a body (`/v1/is_authorized`, its batch, the AuthZEN evaluation(s),
//! `/v1/admin/import` and the `PUT /v1/admin/...` upserts) is fed malformed JSON, wrong types,
//! an oversized body, 100,000-deep nesting, unknown entity types, awkward ids, empty strings,
//! missing or wrong content types, non-UTF-8 bytes and empty bodies. Each answer must carry the
//! status and error code of the API in the `{"error": {"code", "message"}}` shape, refused writes
//! must change nothing, and after the abuse the server must still answer `GET /healthz` and
//! decide a valid check.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support;
use crate::support::harness::{self, TestServer};

const ANN: &str = "ann@acme.example";
const OWNER: &str = "owner@globex.example";
const JSON: Option<&str> = Some("application/json");
/// Twice the default body limit of 1 MiB.
const TWO_MIB: usize = 2 * 1024 * 1024;

/// Every route that reads a JSON body.
fn body_routes() -> Vec<(Method, &'static str)> {
    vec![
        (Method::POST, "/v1/is_authorized"),
        (Method::POST, "/v1/is_authorized/batch"),
        (Method::POST, "/access/v1/evaluation"),
        (Method::POST, "/access/v1/evaluations"),
        (Method::POST, "/v1/admin/import"),
        (Method::PUT, "/v1/admin/partners/p-acme"),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
        ),
        (Method::PUT, "/v1/admin/clients/c-globex"),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
        ),
        (Method::PUT, "/v1/admin/clients/c-globex/assets/deal-1"),
    ]
}

/// A server with the demo state loaded.
async fn demo_server() -> TestServer {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    server
}

/// A request of exactly these bytes with exactly this content type (none when `None`).
fn request(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let mut request = server.client.request(method, server.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header(reqwest::header::CONTENT_TYPE, content_type);
    }
    request
}

/// Sends a request; the answer's body is parsed as JSON, or kept as a JSON string when it is
/// not JSON (so a failed assertion shows it).
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("the server did not answer: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Sends exactly these bytes with exactly this content type (none when `None`).
async fn raw(
    server: &TestServer,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    answer(request(server, method, path, content_type, body)).await
}

/// Sends JSON text with `Content-Type: application/json`.
async fn send_text(
    server: &TestServer,
    method: &Method,
    path: &str,
    text: &str,
) -> (StatusCode, Value) {
    raw(server, method.clone(), path, JSON, text.to_owned()).await
}

/// Asserts an error answer: the status, the code, and the shape `{"error": {"code",
/// "message", "rules"?, "details"?}}` with a non-empty message.
fn assert_error(what: &str, status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{what}: {body}");
    let Some(root) = body.as_object() else {
        panic!("{what}: the error body is not a JSON object: {body}");
    };
    assert_eq!(
        root.len(),
        1,
        "{what}: only `error` at the top level: {body}"
    );
    let Some(error) = root.get("error").and_then(Value::as_object) else {
        panic!("{what}: no `error` object: {body}");
    };
    assert_eq!(
        error.get("code").and_then(Value::as_str),
        Some(code),
        "{what}: {body}"
    );
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(!message.trim().is_empty(), "{what}: empty message: {body}");
    for key in error.keys() {
        assert!(
            ["code", "message", "rules", "details"].contains(&key.as_str()),
            "{what}: unexpected key `{key}` in the error: {body}"
        );
    }
}

fn assert_invalid(what: &str, status: StatusCode, body: &Value) {
    assert_error(
        what,
        status,
        body,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

/// The message of an error answer.
fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// The server is still up and still decides: `/healthz` is 200 and a valid check is allowed.
async fn assert_alive(server: &TestServer) {
    let (status, body) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK, "healthz after the abuse: {body}");
    let answer = server.check(ANN, "crm.objects.edit", "c-globex").await;
    assert_eq!(
        answer["decision"], "Allow",
        "a valid check after the abuse: {answer}"
    );
    let answer = server.check(OWNER, "billing.edit", "c-globex").await;
    assert_eq!(
        answer["decision"], "Allow",
        "a valid check after the abuse: {answer}"
    );
}

/// The whole state, to prove that refused writes changed nothing.
async fn export(server: &TestServer) -> Value {
    let (status, body) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A valid check in object form.
fn check(principal: &str, action: &str, resource: &str) -> Value {
    json!({
        "principal": {"type": "Hub::User", "id": principal},
        "action": {"type": "Hub::Action", "id": action},
        "resource": {"type": "Hub::Account", "id": resource},
    })
}

/// A valid AuthZEN evaluation.
fn evaluation(subject: &str, action: &str, resource: &str) -> Value {
    json!({
        "subject": {"type": "user", "id": subject},
        "action": {"name": action},
        "resource": {"type": "account", "id": resource},
    })
}

/// `[[[...]]]`, `depth` deep.
fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"a":{"a":...1...}}`, `depth` deep.
fn deep_object(depth: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
}

/// A JSON value followed by more characters.
const TRAILING: [&str; 4] = ["{} {}", "{}garbage", "{}\n\u{0}", "{\"partners\": []}]"];

#[tokio::test]
async fn malformed_json_is_400_on_every_route() {
    let server = demo_server().await;
    let before = export(&server).await;
    let malformed = [
        "{",
        "}",
        "[",
        "{\"principal\":",
        "{\"principal\": {\"type\": \"Hub::User\", \"id\": \"ann@acme.example\"",
        "not json",
        "{'principal': 'x'}",
        "{principal: 1}",
        "{\"a\": 1,}",
        "{\"a\" 1}",
        "{\"a\": tru}",
        "{\"a\": NaN}",
        "{\"a\": 01}",
        "{\"a\": \"unterminated}",
        "{\"a\": \"bad escape \\q\"}",
        "nul",
        "\u{feff}{}",
        "{\"a\": 1} // comment",
    ];
    for (method, path) in body_routes() {
        for text in malformed.iter().chain(TRAILING.iter()) {
            let (status, body) = send_text(&server, &method, path, text).await;
            assert_invalid(&format!("{method} {path} with {text:?}"), status, &body);
        }
    }
    assert_eq!(
        export(&server).await,
        before,
        "a malformed body changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn non_object_bodies_are_400_on_every_route() {
    let server = demo_server().await;
    let before = export(&server).await;
    let bodies = [
        "42",
        "-1",
        "1.5",
        "1e999",
        "\"a string\"",
        "\"\"",
        "null",
        "true",
    ];
    for (method, path) in body_routes() {
        for text in bodies {
            let (status, body) = send_text(&server, &method, path, text).await;
            assert_invalid(&format!("{method} {path} with {text}"), status, &body);
        }
    }
    assert_eq!(
        export(&server).await,
        before,
        "a non-object body changed the state"
    );
    assert_alive(&server).await;
}

/// Arrays where an object is expected, that fit no field of any body.
#[tokio::test]
async fn array_bodies_are_400_on_every_route() {
    let server = demo_server().await;
    let before = export(&server).await;
    let bodies = ["[{}]", "[1, 2, 3]", "[null]"];
    for (method, path) in body_routes() {
        for text in bodies {
            let (status, body) = send_text(&server, &method, path, text).await;
            assert_invalid(&format!("{method} {path} with {text}"), status, &body);
        }
    }
    assert_eq!(
        export(&server).await,
        before,
        "an array body changed the state"
    );
    assert_alive(&server).await;
}

/// Serde's derive also reads a struct from a JSON array of its fields in declaration
/// order, and no handler refuses that form. A check is decided from
/// `[principal, action, resource]`, `POST /v1/admin/import` with `[]` replaces the whole state
/// with an empty one, and `PUT .../employees/{email}` with `[]` resets the employee.
#[tokio::test]
async fn positional_array_bodies_are_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let cases: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/v1/is_authorized",
            json!([{"type": "Hub::User", "id": ANN}, "crm.objects.edit", "Hub::Account::\"c-globex\""]),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!([[check(ANN, "crm.objects.edit", "c-globex")]]),
        ),
        (Method::POST, "/v1/is_authorized/batch", json!([[1]])),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!([["user", ANN], ["crm.objects.edit"], ["account", "c-globex"]]),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!([["user", ANN], ["crm.objects.edit"], ["account", "c-globex"]]),
        ),
        (Method::POST, "/v1/admin/import", json!([])),
        (Method::POST, "/v1/admin/import", json!([[], []])),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!(["Acme Agency", "solutions_partner"]),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!([]),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!([false, "none"]),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!(["Globex Corporation", "seat_based"]),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!(["standard", "core"]),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!(["", "", OWNER]),
        ),
    ];
    for (method, path, body) in &cases {
        let (status, answer) = server.send(method.clone(), path, Some(body)).await;
        assert_invalid(&format!("{method} {path} with {body}"), status, &answer);
    }
    // Inside a batch, an array item is that item's error, not a decision.
    let (status, answer) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": [[{"type": "Hub::User", "id": ANN}, "crm.objects.edit", "Hub::Account::\"c-globex\""]]}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["results"][0]["decision"], "Deny", "{answer}");
    assert_eq!(
        answer["results"][0]["error"]["code"], "invalid_request",
        "{answer}"
    );
    assert_eq!(
        export(&server).await,
        before,
        "an array body changed the state"
    );
    assert_alive(&server).await;
}

/// Characters after the document are refused: `{} {}` or `{}garbage` must not be imported as
/// an empty document that replaces the whole state.
#[tokio::test]
async fn import_refuses_trailing_characters() {
    let server = demo_server().await;
    let before = export(&server).await;
    for text in TRAILING {
        let (status, body) = send_text(&server, &Method::POST, "/v1/admin/import", text).await;
        assert_invalid(&format!("import with {text:?}"), status, &body);
    }
    assert_eq!(
        export(&server).await,
        before,
        "trailing characters changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn wrong_field_types_are_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let principal = json!({"type": "Hub::User", "id": ANN});
    let resource = json!({"type": "Hub::Account", "id": "c-globex"});
    let cases: Vec<(Method, &str, Value)> = vec![
        // Checks.
        (Method::POST, "/v1/is_authorized", json!({})),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": 42, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": [ANN], "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": true, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": null, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": {"type": "Hub::User", "id": 7}, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": {"type": ["Hub::User"], "id": ANN}, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": {"type": "Hub::User", "id": ANN, "extra": 1}, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": {"type": "Hub::User"}, "action": "crm.objects.edit", "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": 7, "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": ["crm.objects.edit"], "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": {}, "resource": resource}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": "crm.objects.edit", "resource": 1.5}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": "crm.objects.edit"}),
        ),
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": principal, "action": "crm.objects.edit", "resource": resource, "extra": true}),
        ),
        // Batch.
        (Method::POST, "/v1/is_authorized/batch", json!({})),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": {}}),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": "all of them"}),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": 3}),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": null}),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": [check(ANN, "crm.objects.edit", "c-globex")], "extra": 1}),
        ),
        // AuthZEN.
        (Method::POST, "/access/v1/evaluation", json!({})),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": "user", "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": 1, "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": "user", "id": 5}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": "user", "id": ANN}, "action": "crm.objects.edit", "resource": {"type": "account", "id": "c-globex"}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": "user", "id": ANN}, "action": {"name": 1}, "resource": {"type": "account", "id": "c-globex"}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": "user", "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": []}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            json!({"subject": {"type": "user", "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": null}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"evaluations": {}}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"evaluations": "x"}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"evaluations": [1]}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"subject": 5, "evaluations": [evaluation(ANN, "crm.objects.edit", "c-globex")]}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"evaluations": [{"subject": {"type": "user", "id": ANN}, "action": {"name": ["x"]}, "resource": {"type": "account", "id": "c-globex"}}]}),
        ),
        (
            Method::POST,
            "/access/v1/evaluations",
            json!({"evaluations": [evaluation(ANN, "crm.objects.edit", "c-globex")], "options": {"evaluations_semantic": "all_at_once"}}),
        ),
        // Import.
        (Method::POST, "/v1/admin/import", json!({"partners": {}})),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": "p-acme"}),
        ),
        (Method::POST, "/v1/admin/import", json!({"partners": [1]})),
        (Method::POST, "/v1/admin/import", json!({"clients": 5})),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": 5, "tier": "other"}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": "p-x", "tier": 5}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": "p-x", "tier": "other", "employees": "everyone"}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"clients": [{"id": "c-x", "pricing_model": "legacy", "users": [{"email": "a@b.example", "role": "standard", "seat": 3}]}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [], "clients": [], "extra": 1}),
        ),
        // Upserts.
        (Method::PUT, "/v1/admin/partners/p-acme", json!({})),
        (Method::PUT, "/v1/admin/partners/p-acme", json!({"tier": 5})),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "name": 5}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "email_domains": "acme.example"}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "employees": {}}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "crm_names": []}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!({"super_admin": "yes"}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!({"employee_management": 1}),
        ),
        (Method::PUT, "/v1/admin/clients/c-globex", json!({})),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": 1}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "managed_by": 5}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "users": {}}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "assets": "deal-1"}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": 1, "seat": "partner"}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": []}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "permissions": "all"}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "status": true}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "keep_billing": "no"}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({"owner": 5}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({"owner": ANN, "kind": []}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({"owner": ANN, "name": {}}),
        ),
    ];
    for (method, path, body) in &cases {
        let (status, answer) = server.send(method.clone(), path, Some(body)).await;
        assert_invalid(&format!("{method} {path} with {body}"), status, &answer);
    }
    assert_eq!(
        export(&server).await,
        before,
        "a wrongly typed body changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn two_mib_bodies_are_413_payload_too_large() {
    let server = demo_server().await;
    let before = export(&server).await;
    let padding = "x".repeat(TWO_MIB);
    for (method, path) in body_routes() {
        // Valid JSON, valid shape for the checks, only too big.
        let body = format!(
            "{{\"principal\": \"Hub::User::\\\"{padding}\\\"\", \"action\": \"crm.objects.edit\", \"resource\": \"Hub::Account::\\\"c-globex\\\"\"}}"
        );
        let (status, answer) = send_text(&server, &method, path, &body).await;
        assert_error(
            &format!("{method} {path} with 2 MiB"),
            status,
            &answer,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        );
    }
    assert_eq!(
        export(&server).await,
        before,
        "an oversized body changed the state"
    );
    assert_alive(&server).await;
}

/// A body over the limit is `413` in the error shape, `{"error": {"code":
/// "payload_too_large", ...}}`, on the import too (axum's own rejection is plain text).
#[tokio::test]
async fn import_413_has_the_error_shape() {
    let server = demo_server().await;
    let mut doc = support::demo();
    doc["partners"][0]["name"] = json!("x".repeat(TWO_MIB));
    let (status, answer) =
        send_text(&server, &Method::POST, "/v1/admin/import", &doc.to_string()).await;
    assert_error(
        "import of 2 MiB",
        status,
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn bodies_just_under_the_limit_are_not_413() {
    let server = demo_server().await;
    // 1 MiB minus a little: read, then refused for what it says, not for its size.
    let padding = "x".repeat(1024 * 1024 - 200);
    let body = format!(
        "{{\"principal\": {{\"type\": \"Hub::User\", \"id\": \"{padding}\"}}, \"action\": \"crm.objects.edit\", \"resource\": \"Hub::Account::\\\"c-globex\\\"\"}}"
    );
    let (status, answer) = send_text(&server, &Method::POST, "/v1/is_authorized", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Deny");
    assert_alive(&server).await;
}

#[tokio::test]
async fn hundred_thousand_deep_nesting_is_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let arrays = deep_array(100_000);
    let objects = deep_object(100_000);
    for (method, path) in body_routes() {
        for (name, deep) in [("arrays", &arrays), ("objects", &objects)] {
            // At the top level, and as the value of the first field each route reads.
            let bodies = [
                deep.clone(),
                format!(
                    "{{\"principal\": {deep}, \"action\": \"crm.objects.edit\", \"resource\": \"c\"}}"
                ),
                format!("{{\"requests\": [{deep}]}}"),
                format!("{{\"subject\": {deep}}}"),
                format!("{{\"partners\": {deep}}}"),
                format!("{{\"tier\": {deep}}}"),
                format!("{{\"context\": {{\"a\": {deep}}}}}"),
            ];
            for (i, body) in bodies.iter().enumerate() {
                let (status, answer) = send_text(&server, &method, path, body).await;
                assert_invalid(
                    &format!("{method} {path} with 100,000-deep {name} (form {i})"),
                    status,
                    &answer,
                );
                assert!(
                    message(&answer).chars().count() <= 1000,
                    "the message is kept short: {} chars",
                    message(&answer).chars().count()
                );
            }
        }
    }
    assert_eq!(
        export(&server).await,
        before,
        "a deep body changed the state"
    );
    assert_alive(&server).await;
}

/// Nesting below serde_json's recursion limit reaches the handlers, the context walk and Cedar.
#[tokio::test]
async fn moderately_deep_values_reach_the_engine_and_are_refused() {
    let server = demo_server().await;
    for depth in [10, 60, 120] {
        let objects: Value = serde_json::from_str(&deep_object(depth)).unwrap();
        let arrays: Value = serde_json::from_str(&deep_array(depth)).unwrap();
        for deep in [&objects, &arrays] {
            // As the context of an action that declares none.
            let mut body = check(ANN, "crm.objects.edit", "c-globex");
            body["context"] = json!({"a": deep});
            let (status, answer) = server.post("/v1/is_authorized", &body).await;
            assert_invalid(&format!("context {depth} deep"), status, &answer);
            // As the context of an action that declares one.
            let body = json!({
                "principal": format!("Hub::User::\"{ANN}\""),
                "action": "partner_user.deactivate",
                "resource": "Hub::Account::\"c-globex\"",
                "context": {"target": deep},
            });
            let (status, answer) = server.post("/v1/is_authorized", &body).await;
            assert_invalid(&format!("context.target {depth} deep"), status, &answer);
            // As the principal.
            let body = json!({"principal": deep, "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""});
            let (status, answer) = server.post("/v1/is_authorized", &body).await;
            assert_invalid(&format!("principal {depth} deep"), status, &answer);
            // In AuthZEN.
            let mut body = evaluation(ANN, "crm.objects.edit", "c-globex");
            body["context"] = json!({"a": deep});
            let (status, answer) = server.post("/access/v1/evaluation", &body).await;
            assert_invalid(&format!("AuthZEN context {depth} deep"), status, &answer);
            // In a state document.
            let body =
                json!({"partners": [{"id": "p-x", "tier": "other", "crm_names": {"c-x": deep}}]});
            let (status, answer) = server.post("/v1/admin/import", &body).await;
            assert_invalid(&format!("import {depth} deep"), status, &answer);
            // In an upsert.
            let body = json!({"tier": "other", "crm_names": {"c-x": deep}});
            let (status, answer) = server.put("/v1/admin/partners/p-x", &body).await;
            assert_invalid(&format!("upsert {depth} deep"), status, &answer);
        }
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn unknown_entity_types_are_400() {
    let server = demo_server().await;
    let account = json!({"type": "Hub::Account", "id": "c-globex"});
    let user = json!({"type": "Hub::User", "id": ANN});
    let photo = json!({"type": "Hub::Photo", "id": "p-1"});
    let bodies = [
        json!({"principal": photo, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": photo}),
        json!({"principal": "Hub::Photo::\"p-1\"", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": "Hub::Photo::\"p-1\""}),
        json!({"principal": user, "action": {"type": "Hub::Photo", "id": "crm.objects.edit"}, "resource": account}),
        json!({"principal": user, "action": "Hub::Photo::\"crm.objects.edit\"", "resource": account}),
        json!({"principal": {"__entity": photo}, "action": "crm.objects.edit", "resource": account}),
        // Types outside the namespace, or without one.
        json!({"principal": {"type": "User", "id": ANN}, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": "User::\"ann@acme.example\"", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": {"type": "Other::User", "id": ANN}, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": {"type": "hub::user", "id": ANN}, "action": "crm.objects.edit", "resource": account}),
        // Not references at all.
        json!({"principal": "ann@acme.example", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": "Hub::User::ann", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": "Hub::User::\"a\"::\"b\"", "action": "crm.objects.edit", "resource": account}),
        // Known types in the wrong place for the action.
        json!({"principal": account, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": user}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": {"type": "Hub::Partner", "id": "p-acme"}}),
        json!({"principal": {"type": "Hub::Action", "id": "crm.objects.edit"}, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "Hub::User::\"crm.objects.edit\"", "resource": account}),
    ];
    for body in &bodies {
        let (status, answer) = server.post("/v1/is_authorized", body).await;
        assert_invalid(&format!("check {body}"), status, &answer);
    }
    let (status, answer) = server.post("/v1/is_authorized", &bodies[0]).await;
    assert!(message(&answer).contains("Hub::Photo"), "{status} {answer}");

    // AuthZEN: types it does not map.
    for (subject, resource) in [
        ("Hub::Photo", "account"),
        ("photo", "account"),
        ("user", "Hub::Photo"),
        ("user", "photo"),
        ("account", "account"),
        ("user", "user"),
        ("USER", "account"),
    ] {
        let body = json!({
            "subject": {"type": subject, "id": ANN},
            "action": {"name": "crm.objects.edit"},
            "resource": {"type": resource, "id": "c-globex"},
        });
        let (status, answer) = server.post("/access/v1/evaluation", &body).await;
        assert_invalid(&format!("evaluation {body}"), status, &answer);
        let (status, answer) = server
            .post("/access/v1/evaluations", &json!({"evaluations": [body]}))
            .await;
        assert_invalid(&format!("evaluations {body}"), status, &answer);
    }
    assert_alive(&server).await;
}

/// Ids with quotes, `::`, newlines, unicode and the like are ids like any other: the store
/// does not know them, so the answer is a Deny naming the reference, not an error.
#[tokio::test]
async fn awkward_ids_are_unknown_references_not_errors() {
    let server = demo_server().await;
    let long = "x".repeat(10_000);
    let ids: Vec<&str> = vec![
        "quo\"te@acme.example",
        "\"",
        "a::b",
        "Hub::User::\"ann@acme.example\"",
        "line\nbreak@acme.example",
        "tab\there",
        "nul\u{0}byte",
        "back\\slash",
        "ünïcødé@例え.jp",
        "👤@🏢.example",
        "\u{202e}lpmaxe.emca@nna",
        "zero\u{200b}width@acme.example",
        "{\"type\": \"Hub::User\"}",
        "' OR 1=1 --",
        "../../etc/passwd",
        "%00",
        &long,
    ];
    for id in &ids {
        // An error quotes the id; one past the message bound (1,024 characters) is quoted by
        // its start, so that is what must be there.
        let named = id.escape_debug().to_string();
        let quoted: String = named.chars().take(500).collect();
        // Unknown principal, object form.
        let body = json!({
            "principal": {"type": "Hub::User", "id": id},
            "action": "crm.objects.edit",
            "resource": {"type": "Hub::Account", "id": "c-globex"},
        });
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_eq!(status, StatusCode::OK, "principal {id:?}: {answer}");
        assert_eq!(answer["decision"], "Deny", "principal {id:?}: {answer}");
        assert_eq!(answer["diagnostics"]["reasons"], json!([]), "{answer}");
        let errors = answer["diagnostics"]["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| {
                let e = e.as_str().unwrap_or_default();
                // User ids that parse as e-mails are lower-cased.
                e.contains("unknown principal") && e.to_lowercase().contains(&quoted.to_lowercase())
            }),
            "principal {id:?}: no error naming it: {answer}"
        );

        // Unknown resource, object form.
        let body = json!({
            "principal": {"type": "Hub::User", "id": ANN},
            "action": "crm.objects.edit",
            "resource": {"type": "Hub::Account", "id": id},
        });
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_eq!(status, StatusCode::OK, "resource {id:?}: {answer}");
        assert_eq!(answer["decision"], "Deny", "resource {id:?}: {answer}");
        let errors = answer["diagnostics"]["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| {
                let e = e.as_str().unwrap_or_default();
                e.contains("unknown resource") && e.contains(&quoted)
            }),
            "resource {id:?}: no error naming it: {answer}"
        );

        // String form, with Cedar's escapes.
        let body = json!({
            "principal": format!("Hub::User::\"{named}\""),
            "action": "Hub::Action::\"crm.objects.edit\"",
            "resource": format!("Hub::Account::\"{named}\""),
        });
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_eq!(status, StatusCode::OK, "string form {id:?}: {answer}");
        assert_eq!(answer["decision"], "Deny", "string form {id:?}: {answer}");
        assert_eq!(
            answer["diagnostics"]["errors"].as_array().map(Vec::len),
            Some(2),
            "both references are named: {answer}"
        );

        // AuthZEN.
        let (status, answer) = server
            .post(
                "/access/v1/evaluation",
                &evaluation(id, "crm.objects.edit", "c-globex"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "AuthZEN subject {id:?}: {answer}");
        assert_eq!(answer["decision"], false, "{answer}");
        assert!(
            answer["context"]["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e
                    .as_str()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains(&quoted.to_lowercase()))),
            "AuthZEN subject {id:?}: no error naming it: {answer}"
        );
        let (status, answer) = server
            .post(
                "/access/v1/evaluation",
                &evaluation(ANN, "crm.objects.edit", id),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "AuthZEN resource {id:?}: {answer}");
        assert_eq!(answer["decision"], false, "{answer}");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn empty_strings_are_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let user = json!({"type": "Hub::User", "id": ANN});
    let account = json!({"type": "Hub::Account", "id": "c-globex"});
    let checks = [
        json!({"principal": {"type": "Hub::User", "id": ""}, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": {"type": "Hub::Account", "id": ""}}),
        json!({"principal": {"type": "", "id": ANN}, "action": "crm.objects.edit", "resource": account}),
        json!({"principal": "", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": "Hub::User::\"\"", "action": "crm.objects.edit", "resource": account}),
        json!({"principal": user, "action": "", "resource": account}),
        json!({"principal": user, "action": "Hub::Action::\"\"", "resource": account}),
        json!({"principal": user, "action": {"type": "Hub::Action", "id": ""}, "resource": account}),
        json!({"principal": user, "action": "crm.objects.edit", "resource": ""}),
    ];
    for body in &checks {
        let (status, answer) = server.post("/v1/is_authorized", body).await;
        assert_invalid(&format!("check {body}"), status, &answer);
    }
    let evaluations = [
        json!({"subject": {"type": "user", "id": ""}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}),
        json!({"subject": {"type": "", "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": "c-globex"}}),
        json!({"subject": {"type": "user", "id": ANN}, "action": {"name": ""}, "resource": {"type": "account", "id": "c-globex"}}),
        json!({"subject": {"type": "user", "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "account", "id": ""}}),
        json!({"subject": {"type": "user", "id": ANN}, "action": {"name": "crm.objects.edit"}, "resource": {"type": "", "id": "c-globex"}}),
    ];
    for body in &evaluations {
        let (status, answer) = server.post("/access/v1/evaluation", body).await;
        assert_invalid(&format!("evaluation {body}"), status, &answer);
        let (status, answer) = server
            .post("/access/v1/evaluations", &json!({"evaluations": [body]}))
            .await;
        assert_invalid(&format!("evaluations {body}"), status, &answer);
    }
    let writes: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": "", "tier": "other"}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": "p-x", "tier": ""}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"partners": [{"id": "p-x", "tier": "other", "employees": [{"email": ""}]}]}),
        ),
        (
            Method::POST,
            "/v1/admin/import",
            json!({"clients": [{"id": "", "pricing_model": "legacy"}]}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme",
            json!({"tier": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!({"employee_management": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "managed_by": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "", "seat": "partner"}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "permissions": [""]}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "partner": ""}),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({"owner": ""}),
        ),
    ];
    for (method, path, body) in &writes {
        let (status, answer) = server.send(method.clone(), path, Some(body)).await;
        assert_invalid(&format!("{method} {path} with {body}"), status, &answer);
    }
    assert_eq!(
        export(&server).await,
        before,
        "an empty string changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn missing_or_wrong_content_type_is_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let check = check(ANN, "crm.objects.edit", "c-globex").to_string();
    for (method, path) in body_routes() {
        if path == "/v1/admin/import" {
            continue; // below
        }
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/xml"),
            Some(""),
            Some("json"),
        ] {
            let (status, answer) =
                raw(&server, method.clone(), path, content_type, check.clone()).await;
            assert_invalid(
                &format!("{method} {path} with Content-Type {content_type:?}"),
                status,
                &answer,
            );
        }
    }
    // The checks accept JSON with a charset or a `+json` suffix: the refusal above is about
    // the type, not the header's exact spelling.
    for content_type in [
        "application/json; charset=utf-8",
        "application/json;charset=UTF-8",
    ] {
        let (status, answer) = raw(
            &server,
            Method::POST,
            "/v1/is_authorized",
            Some(content_type),
            check.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{content_type}: {answer}");
        assert_eq!(answer["decision"], "Allow", "{answer}");
    }
    assert_eq!(
        export(&server).await,
        before,
        "a body without JSON content type changed the state"
    );
    assert_alive(&server).await;
}

/// The API: "All bodies are JSON (`Content-Type: application/json`)", and every other route
/// refuses a body not declared JSON, the import too: a `text/plain` or form-encoded body (a
/// request a browser page may send cross-site without a preflight) must not replace the state.
#[tokio::test]
async fn import_without_json_content_type_is_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let empty_state = json!({"partners": [], "clients": []}).to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (status, answer) = raw(
            &server,
            Method::POST,
            "/v1/admin/import?mode=replace",
            content_type,
            empty_state.clone(),
        )
        .await;
        assert_invalid(
            &format!("import with Content-Type {content_type:?}"),
            status,
            &answer,
        );
    }
    assert_eq!(
        export(&server).await,
        before,
        "an import without JSON content type changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn non_utf8_bodies_are_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    let bodies: Vec<Vec<u8>> = vec![
        vec![0xff, 0xfe, 0xfd],
        vec![0xff, 0xfe, b'{', 0, b'}', 0],
        b"{\"principal\": \"\xff\", \"action\": \"crm.objects.edit\", \"resource\": \"x\"}"
            .to_vec(),
        b"{\"partners\": [{\"id\": \"caf\xe9\", \"tier\": \"other\"}]}".to_vec(),
        b"{\"tier\": \"\xc0\xaf\"}".to_vec(),
        b"{\"a\": \"\xed\xa0\x80\"}".to_vec(),
        // Valid UTF-8, but a lone surrogate in an escape.
        b"{\"principal\": \"Hub::User::\\\"\\ud800\\\"\", \"tier\": \"\\udfff\"}".to_vec(),
        b"\x00\x00\x00{".to_vec(),
    ];
    for (method, path) in body_routes() {
        for bytes in &bodies {
            let (status, answer) = raw(&server, method.clone(), path, JSON, bytes.clone()).await;
            assert_invalid(
                &format!(
                    "{method} {path} with bytes {:?}",
                    String::from_utf8_lossy(bytes)
                ),
                status,
                &answer,
            );
        }
    }
    assert_eq!(
        export(&server).await,
        before,
        "a non-UTF-8 body changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn empty_bodies_are_400() {
    let server = demo_server().await;
    let before = export(&server).await;
    for (method, path) in body_routes() {
        for (content_type, bytes) in [(JSON, ""), (JSON, " \n\t "), (None, "")] {
            let (status, answer) = raw(&server, method.clone(), path, content_type, bytes).await;
            assert_invalid(
                &format!("{method} {path} with body {bytes:?} and Content-Type {content_type:?}"),
                status,
                &answer,
            );
        }
        // No body at all (no Content-Length either).
        let (status, answer) = raw(&server, method.clone(), path, None, Vec::new()).await;
        assert_invalid(&format!("{method} {path} with no body"), status, &answer);
    }
    assert_eq!(
        export(&server).await,
        before,
        "an empty body changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn batch_sizes_outside_1_to_1000_are_400() {
    let server = demo_server().await;
    let one = check(ANN, "crm.objects.edit", "c-globex");

    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": []}))
        .await;
    assert_invalid("a batch of 0", status, &answer);

    let (status, answer) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": vec![one.clone(); 1001]}),
        )
        .await;
    assert_invalid("a batch of 1,001", status, &answer);
    assert!(
        message(&answer).contains("1001"),
        "the message gives the count: {answer}"
    );

    // A batch of 1,001 bad items is refused as a whole too, without deciding any.
    let (status, answer) = server
        .post(
            "/v1/is_authorized/batch",
            &json!({"requests": vec![json!(7); 1001]}),
        )
        .await;
    assert_invalid("a batch of 1,001 bad items", status, &answer);

    // The bounds themselves are accepted.
    for n in [1, 1000] {
        let (status, answer) = server
            .post(
                "/v1/is_authorized/batch",
                &json!({"requests": vec![one.clone(); n]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "a batch of {n}: {answer}");
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), n);
        assert!(
            results
                .iter()
                .all(|r| r["decision"] == "Allow" && r.get("error").is_none())
        );
    }

    // AuthZEN's boxcar has the same upper bound.
    let (status, answer) = server
        .post(
            "/access/v1/evaluations",
            &json!({"evaluations": vec![evaluation(ANN, "crm.objects.edit", "c-globex"); 1001]}),
        )
        .await;
    assert_invalid("1,001 AuthZEN evaluations", status, &answer);
    // An empty boxcar is not an error the server chokes on.
    let (status, answer) = server
        .post("/access/v1/evaluations", &json!({"evaluations": []}))
        .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
        "0 AuthZEN evaluations: {status} {answer}"
    );
    if status == StatusCode::BAD_REQUEST {
        assert_invalid("0 AuthZEN evaluations", status, &answer);
    } else {
        assert_eq!(answer["evaluations"], json!([]), "{answer}");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn one_bad_batch_item_does_not_fail_the_others() {
    let server = demo_server().await;
    let good = check(ANN, "crm.objects.edit", "c-globex");
    let mut unknown_field = good.clone();
    unknown_field["colour"] = json!("blue");
    let mut context_not_object = good.clone();
    context_not_object["context"] = json!("x");
    let deep: Value = serde_json::from_str(&deep_array(50)).unwrap();
    let requests = vec![
        good.clone(), // 0
        json!({"principal": 42, "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""}), // 1
        check(ANN, "crm.objects.delete", "c-globex"), // 2 unknown action
        json!({"principal": {"type": "Hub::Photo", "id": "x"}, "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""}), // 3
        context_not_object,                                              // 4
        unknown_field,                                                   // 5
        json!(7),                                                        // 6
        Value::Null,                                                     // 7
        check("nobody@nowhere.example", "crm.objects.edit", "c-globex"), // 8 unknown: not bad
        json!({"principal": deep, "action": "crm.objects.edit", "resource": "Hub::Account::\"c-globex\""}), // 9
        check(OWNER, "billing.edit", "c-globex"),  // 10
        check("", "crm.objects.edit", "c-globex"), // 11
        json!("Hub::User::\"ann@acme.example\""),  // 12
        good,                                      // 13
    ];
    let bad = [1, 2, 3, 4, 5, 6, 7, 9, 11, 12];
    let (status, answer) = server
        .post("/v1/is_authorized/batch", &json!({"requests": requests}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        requests.len(),
        "one answer per item: {answer}"
    );
    for (i, result) in results.iter().enumerate() {
        if bad.contains(&i) {
            assert_eq!(result["decision"], "Deny", "item {i}: {result}");
            assert_eq!(
                result["error"]["code"], "invalid_request",
                "item {i}: {result}"
            );
            let message = result["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&format!("requests[{i}]")),
                "item {i}: {result}"
            );
            assert_eq!(
                result["diagnostics"]["reasons"],
                json!([]),
                "item {i}: {result}"
            );
        } else {
            assert!(
                result.get("error").is_none(),
                "item {i} is not bad: {result}"
            );
        }
    }
    for i in [0, 10, 13] {
        assert_eq!(results[i]["decision"], "Allow", "item {i}: {}", results[i]);
        assert_ne!(
            results[i]["diagnostics"]["reasons"],
            json!([]),
            "item {i}: {}",
            results[i]
        );
    }
    assert_eq!(results[8]["decision"], "Deny");
    assert!(
        results[8]["diagnostics"]["errors"]
            .to_string()
            .contains("nobody@nowhere.example"),
        "{}",
        results[8]
    );
    // The unknown action's error names the action.
    assert!(
        results[2]["error"]["message"]
            .to_string()
            .contains("crm.objects.delete")
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn unknown_actions_are_400_invalid_request() {
    let server = demo_server().await;
    let user = json!({"type": "Hub::User", "id": ANN});
    let account = json!({"type": "Hub::Account", "id": "c-globex"});
    for action in [
        json!("crm.objects.delete"),
        json!("CRM.OBJECTS.EDIT"),
        json!("crm.objects.edit "),
        json!(" crm.objects.edit"),
        json!("crm.objects"),
        json!("Hub::Action::\"crm.objects.delete\""),
        json!({"type": "Hub::Action", "id": "crm.objects.delete"}),
        json!({"type": "Hub::Action", "id": "line\nbreak"}),
        json!("naïve.action"),
        json!("x".repeat(10_000)),
    ] {
        let body = json!({"principal": user, "action": action, "resource": account});
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_invalid(&format!("action {action}"), status, &answer);
    }
    let (_, answer) = server
        .post(
            "/v1/is_authorized",
            &check(ANN, "crm.objects.delete", "c-globex"),
        )
        .await;
    assert!(
        message(&answer).contains("crm.objects.delete"),
        "names the action: {answer}"
    );

    let (status, answer) = server
        .post(
            "/access/v1/evaluation",
            &evaluation(ANN, "crm.objects.delete", "c-globex"),
        )
        .await;
    assert_invalid("AuthZEN unknown action", status, &answer);
    let (status, answer) = server
        .post(
            "/access/v1/evaluations",
            &json!({"evaluations": [evaluation(ANN, "crm.objects.edit", "c-globex"), evaluation(ANN, "crm.objects.delete", "c-globex")]}),
        )
        .await;
    assert_invalid(
        "AuthZEN evaluations with an unknown action",
        status,
        &answer,
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn unknown_principal_or_resource_is_a_deny_naming_it() {
    let server = demo_server().await;
    let cases = [
        (
            "nobody@nowhere.example",
            "c-globex",
            vec!["unknown principal", "nobody@nowhere.example"],
        ),
        (ANN, "c-nowhere", vec!["unknown resource", "c-nowhere"]),
        (
            "not-an-email",
            "c-globex",
            vec!["unknown principal", "not-an-email"],
        ),
    ];
    for (principal, resource, needles) in &cases {
        let (status, answer) = server
            .post(
                "/v1/is_authorized",
                &check(principal, "crm.objects.edit", resource),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["decision"], "Deny", "{answer}");
        assert_eq!(answer["diagnostics"]["reasons"], json!([]), "{answer}");
        let errors = answer["diagnostics"]["errors"].to_string();
        for needle in needles {
            assert!(errors.contains(needle), "`{needle}` in {answer}");
        }
        let (status, answer) = server
            .post(
                "/access/v1/evaluation",
                &evaluation(principal, "crm.objects.edit", resource),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["decision"], false, "{answer}");
        assert!(
            answer["context"]["errors"].to_string().contains(needles[1]),
            "{answer}"
        );
    }
    // Both unknown: both named.
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &check("nobody@nowhere.example", "crm.objects.edit", "c-nowhere"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Deny");
    assert_eq!(
        answer["diagnostics"]["errors"].as_array().map(Vec::len),
        Some(2),
        "{answer}"
    );
    // A partner resource that does not exist, for an action on partners.
    let body = json!({
        "principal": format!("Hub::User::\"{ANN}\""),
        "action": "access_link.issue",
        "resource": "Hub::Partner::\"p-nowhere\"",
        "context": {"target": {"type": "Hub::User", "id": ANN}},
    });
    let (status, answer) = server.post("/v1/is_authorized", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Deny");
    assert!(
        answer["diagnostics"]["errors"]
            .to_string()
            .contains("p-nowhere"),
        "{answer}"
    );
    // An unknown user named in the context is denied too, and named.
    let body = json!({
        "principal": format!("Hub::User::\"{ANN}\""),
        "action": "partner_user.deactivate",
        "resource": "Hub::Account::\"c-globex\"",
        "context": {"target": {"type": "Hub::User", "id": "line\nbreak"}},
    });
    let (status, answer) = server.post("/v1/is_authorized", &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["decision"], "Deny", "{answer}");
    assert_alive(&server).await;
}

#[tokio::test]
async fn a_context_that_is_not_an_object_is_400() {
    let server = demo_server().await;
    for context in [
        json!(1),
        json!("x"),
        json!([]),
        json!([{"a": 1}]),
        json!(true),
        json!(1.5),
    ] {
        let mut body = check(ANN, "crm.objects.edit", "c-globex");
        body["context"] = context.clone();
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_invalid(&format!("context {context}"), status, &answer);

        let mut body = evaluation(ANN, "crm.objects.edit", "c-globex");
        body["context"] = context.clone();
        let (status, answer) = server.post("/access/v1/evaluation", &body).await;
        assert_invalid(&format!("AuthZEN context {context}"), status, &answer);
        let (status, answer) = server
            .post("/access/v1/evaluations", &json!({"evaluations": [body]}))
            .await;
        assert_invalid(
            &format!("AuthZEN evaluations context {context}"),
            status,
            &answer,
        );
    }
    // Attributes the action does not declare, or of the wrong type.
    let mut body = check(ANN, "crm.objects.edit", "c-globex");
    body["context"] = json!({"surprise": 1});
    let (status, answer) = server.post("/v1/is_authorized", &body).await;
    assert_invalid("an undeclared context attribute", status, &answer);
    let body = json!({
        "principal": format!("Hub::User::\"{ANN}\""),
        "action": "partner_user.deactivate",
        "resource": "Hub::Account::\"c-globex\"",
        "context": {"target": 42},
    });
    let (status, answer) = server.post("/v1/is_authorized", &body).await;
    assert_invalid("context.target of the wrong type", status, &answer);
    // Values Cedar cannot hold, and declared attributes that are missing or not references.
    let bob = json!({"type": "Hub::User", "id": "bob@acme.example"});
    for (action, context) in [
        (
            "partner_user.reactivate",
            json!({"target": bob, "all_partner_users_deactivated": 18_446_744_073_709_551_615_u64}),
        ),
        (
            "partner_user.reactivate",
            json!({"target": bob, "all_partner_users_deactivated": null}),
        ),
        ("partner_user.reactivate", json!({"target": bob})),
        (
            "partner_user.reactivate",
            json!({"target": "x", "all_partner_users_deactivated": false}),
        ),
        (
            "partner_user.reactivate",
            json!({"target": 5, "all_partner_users_deactivated": false}),
        ),
        ("partner_users.add", json!({"target": bob})),
        (
            "partner_user.deactivate",
            json!({"target": bob, "surprise": true}),
        ),
    ] {
        let body = json!({
            "principal": format!("Hub::User::\"{ANN}\""),
            "action": action,
            "resource": "Hub::Account::\"c-globex\"",
            "context": context,
        });
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_invalid(&format!("{action} with context {context}"), status, &answer);
    }

    // `null` and `{}` are "no context".
    for context in [Value::Null, json!({})] {
        let mut body = check(ANN, "crm.objects.edit", "c-globex");
        body["context"] = context.clone();
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_eq!(status, StatusCode::OK, "context {context}: {answer}");
        assert_eq!(answer["decision"], "Allow", "context {context}: {answer}");
    }
    assert_alive(&server).await;
}

/// A context is type-checked against the action's declared context: `target`, declared
/// `User`, refuses a `Hub::Photo`, a `Hub::Account` or a `Hub::Partner`; a `Bool` refuses
/// `-1`, `"true"`, a record or a set; a `String` refuses `5`; and `{}` is refused for an action
/// that requires `target`. The API makes each a malformed request (400), never a decision.
#[tokio::test]
async fn context_is_type_checked_against_the_schema() {
    let server = demo_server().await;
    let bob = json!({"type": "Hub::User", "id": "bob@acme.example"});
    let mut cases = Vec::new();
    for target in [
        json!({"type": "Hub::Photo", "id": "x"}),
        json!({"__entity": {"type": "Hub::Photo", "id": "x"}}),
        json!({"type": "Hub::Account", "id": "c-globex"}),
        json!({"type": "Hub::Partner", "id": "p-acme"}),
    ] {
        cases.push(("partner_user.deactivate", json!({"target": target})));
    }
    for flag in [json!(-1), json!("true"), json!({"a": 1}), json!([true])] {
        cases.push((
            "partner_user.reactivate",
            json!({"target": bob, "all_partner_users_deactivated": flag}),
        ));
    }
    cases.push(("partner_users.add", json!({"target": bob, "role": 5})));
    cases.push(("partner_users.add", json!({"target": bob, "role": true})));
    cases.push(("partner_user.deactivate", json!({})));
    for (action, context) in &cases {
        let body = json!({
            "principal": format!("Hub::User::\"{ANN}\""),
            "action": action,
            "resource": "Hub::Account::\"c-globex\"",
            "context": context,
        });
        let (status, answer) = server.post("/v1/is_authorized", &body).await;
        assert_invalid(&format!("{action} with context {context}"), status, &answer);
    }
    assert_alive(&server).await;
}

/// The API: "The string form `Hub::User::\"ann@acme.example\"` is accepted anywhere an object
/// is." So in the context too: it is decided exactly like the object form.
#[tokio::test]
async fn string_form_references_are_accepted_in_the_context() {
    let server = demo_server().await;
    let body = |target: Value| {
        json!({
            "principal": format!("Hub::User::\"{ANN}\""),
            "action": "partner_user.deactivate",
            "resource": "Hub::Account::\"c-globex\"",
            "context": {"target": target},
        })
    };
    let (status, object_form) = server
        .post(
            "/v1/is_authorized",
            &body(json!({"type": "Hub::User", "id": "bob@acme.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{object_form}");
    let (status, string_form) = server
        .post(
            "/v1/is_authorized",
            &body(json!("Hub::User::\"bob@acme.example\"")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{string_form}");
    assert_eq!(string_form["decision"], object_form["decision"]);
    assert_eq!(string_form["diagnostics"], object_form["diagnostics"]);
    assert_alive(&server).await;
}

#[tokio::test]
async fn import_refuses_unknown_query_parameters_and_bad_modes() {
    let server = demo_server().await;
    let before = export(&server).await;
    // A valid document with a bad query: the query is what is refused.
    let mut doc = support::demo();
    doc["partners"][0]["name"] = json!("Renamed by a refused import");
    for query in [
        "?foo=bar",
        "?mode=replace&foo=bar",
        "?Mode=replace",
        "?mode=overwrite",
        "?mode=Replace",
        "?mode=MERGE",
        "?mode=",
        "?mode",
        "?mode=replace&mode=merge",
        "?mode=%FF",
        "?mode=replace%00",
        "?mode=1",
        "?mode[]=replace",
        "?dry_run=true",
    ] {
        let path = format!("/v1/admin/import{query}");
        let (status, answer) = server.post(&path, &doc).await;
        assert_invalid(&format!("import{query}"), status, &answer);
    }
    let (_, answer) = server.post("/v1/admin/import?foo=bar", &doc).await;
    assert!(
        message(&answer).contains("foo"),
        "names the parameter: {answer}"
    );
    let (_, answer) = server.post("/v1/admin/import?mode=overwrite", &doc).await;
    assert!(
        message(&answer).contains("overwrite"),
        "names the value: {answer}"
    );
    assert_eq!(
        export(&server).await,
        before,
        "a refused import changed the state"
    );

    // The accepted spellings still work.
    for query in ["", "?mode=replace", "?mode=merge"] {
        let (status, answer) = server
            .post(&format!("/v1/admin/import{query}"), &support::demo())
            .await;
        assert_eq!(status, StatusCode::OK, "import{query}: {answer}");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn upserts_refuse_unknown_fields_naming_them() {
    let server = demo_server().await;
    let before = export(&server).await;
    let cases: Vec<(&str, Value)> = vec![
        (
            "/v1/admin/partners/p-acme",
            json!({"name": "Acme Agency", "tier": "solutions_partner", "email_domains": ["acme.example"]}),
        ),
        (
            "/v1/admin/partners/p-acme/employees/ann@acme.example",
            json!({"super_admin": true, "employee_management": "view_edit"}),
        ),
        (
            "/v1/admin/clients/c-globex",
            json!({"official_name": "Globex Corporation", "pricing_model": "seat_based", "managed_by": "p-acme"}),
        ),
        (
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            json!({"role": "partner_admin", "seat": "partner", "partner": "p-acme", "permissions": ["crm.objects.edit"]}),
        ),
        (
            "/v1/admin/clients/c-globex/assets/deal-1",
            json!({"kind": "deal", "name": "Q3 renewal", "owner": "ann@acme.example"}),
        ),
    ];
    for (path, valid) in &cases {
        for field in ["colour", "Tier", "super-admin", "", "id", "__proto__"] {
            let mut body = valid.clone();
            body[field] = json!("x");
            let (status, answer) = server.put(path, &body).await;
            assert_invalid(&format!("PUT {path} with field {field:?}"), status, &answer);
            assert!(
                message(&answer).contains(&format!("`{field}`")),
                "PUT {path}: the message names `{field}`: {answer}"
            );
        }
    }
    // Unknown fields nested in the records an upsert carries.
    let nested: Vec<(&str, Value)> = vec![
        (
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "employees": [{"email": ANN, "colour": "x"}]}),
        ),
        (
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "permission_sets": [{"name": "Sales rep", "permissions": [], "colour": "x"}]}),
        ),
        (
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "users": [{"email": OWNER, "role": "super_admin", "seat": "core", "colour": "x"}]}),
        ),
        (
            "/v1/admin/clients/c-globex",
            json!({"pricing_model": "seat_based", "assets": [{"id": "deal-1", "kind": "deal", "name": "n", "owner": OWNER, "colour": "x"}]}),
        ),
    ];
    for (path, body) in &nested {
        let (status, answer) = server.put(path, body).await;
        assert_invalid(&format!("PUT {path} with {body}"), status, &answer);
        assert!(
            message(&answer).contains("`colour`"),
            "PUT {path}: names the field: {answer}"
        );
    }
    // And in a state document, at the top and deep inside.
    let mut doc = support::demo();
    doc["colour"] = json!("x");
    let (status, answer) = server.post("/v1/admin/import", &doc).await;
    assert_invalid("import with an unknown top-level field", status, &answer);
    assert!(message(&answer).contains("`colour`"), "{answer}");
    let mut doc = support::demo();
    doc["clients"][0]["users"][1]["colour"] = json!("x");
    let (status, answer) = server.post("/v1/admin/import", &doc).await;
    assert_invalid("import with an unknown nested field", status, &answer);
    assert!(message(&answer).contains("`colour`"), "{answer}");

    assert_eq!(
        export(&server).await,
        before,
        "an upsert with an unknown field changed the state"
    );
    assert_alive(&server).await;
}

#[tokio::test]
async fn upserts_refuse_invalid_path_segments() {
    let server = demo_server().await;
    let before = export(&server).await;
    let employee = json!({"super_admin": false, "employee_management": "none"});
    let user = json!({"role": "standard", "seat": "core"});
    let partner = json!({"tier": "other"});
    let client = json!({"pricing_model": "legacy"});
    let asset = json!({"kind": "deal", "name": "n", "owner": OWNER});
    let long = "x".repeat(300);
    let long_email = format!("{}@acme.example", "x".repeat(400));
    let cases: Vec<(String, &Value)> = vec![
        // E-mails that are not e-mails.
        (
            "/v1/admin/partners/p-acme/employees/not-an-email".into(),
            &employee,
        ),
        (
            "/v1/admin/partners/p-acme/employees/@acme.example".into(),
            &employee,
        ),
        ("/v1/admin/partners/p-acme/employees/ann@".into(), &employee),
        (
            "/v1/admin/partners/p-acme/employees/a@b@acme.example".into(),
            &employee,
        ),
        (
            "/v1/admin/partners/p-acme/employees/a%20b@acme.example".into(),
            &employee,
        ),
        (
            "/v1/admin/partners/p-acme/employees/ann%0A@acme.example".into(),
            &employee,
        ),
        (
            "/v1/admin/partners/p-acme/employees/ann%00@acme.example".into(),
            &employee,
        ),
        (
            "/v1/admin/partners/p-acme/employees/%FF%FE@acme.example".into(),
            &employee,
        ),
        ("/v1/admin/partners/p-acme/employees/%40".into(), &employee),
        (
            format!("/v1/admin/partners/p-acme/employees/{long_email}"),
            &employee,
        ),
        (
            "/v1/admin/clients/c-globex/users/not-an-email".into(),
            &user,
        ),
        (
            "/v1/admin/clients/c-globex/users/ann%0D%0A@acme.example".into(),
            &user,
        ),
        (
            "/v1/admin/clients/c-globex/users/%E2%80%A8@acme.example".into(),
            &user,
        ),
        (
            "/v1/admin/clients/c-globex/users/%C0%AF@acme.example".into(),
            &user,
        ),
        // Ids with control characters, invalid UTF-8, or too long.
        ("/v1/admin/partners/p%0Aacme".into(), &partner),
        ("/v1/admin/partners/p%00acme".into(), &partner),
        ("/v1/admin/partners/%FF".into(), &partner),
        (format!("/v1/admin/partners/{long}"), &partner),
        ("/v1/admin/clients/c%09globex".into(), &client),
        ("/v1/admin/clients/%7F".into(), &client),
        (format!("/v1/admin/clients/{long}"), &client),
        ("/v1/admin/clients/c-globex/assets/deal%0A1".into(), &asset),
        (format!("/v1/admin/clients/c-globex/assets/{long}"), &asset),
        ("/v1/admin/clients/c%0A/assets/deal-1".into(), &asset),
        (
            "/v1/admin/clients/c%0A/users/ann@acme.example".into(),
            &user,
        ),
    ];
    for (path, body) in &cases {
        let (status, answer) = server.put(path, body).await;
        assert_invalid(&format!("PUT {path}"), status, &answer);
    }
    let (_, answer) = server
        .put(
            "/v1/admin/partners/p-acme/employees/not-an-email",
            &employee,
        )
        .await;
    assert!(
        message(&answer).contains("not-an-email"),
        "names the segment: {answer}"
    );
    // E-mails in bodies are checked the same way.
    for owner in ["not-an-email", "a b@c.example", "x\n@c.example", ""] {
        let (status, answer) = server
            .put(
                "/v1/admin/clients/c-globex/assets/deal-1",
                &json!({"kind": "deal", "name": "n", "owner": owner}),
            )
            .await;
        assert_invalid(&format!("asset owner {owner:?}"), status, &answer);
    }
    // Well-formed but unknown parents are 404, not 400 nor 500.
    let (status, answer) = server
        .put(
            "/v1/admin/partners/p-nowhere/employees/x@nowhere.example",
            &employee,
        )
        .await;
    assert_error(
        "employee of an unknown partner",
        status,
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, answer) = server
        .put("/v1/admin/clients/c-nowhere/users/x@nowhere.example", &user)
        .await;
    assert_error(
        "user of an unknown client",
        status,
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    let (status, answer) = server
        .put("/v1/admin/clients/c-nowhere/assets/deal-1", &asset)
        .await;
    assert_error(
        "asset of an unknown client",
        status,
        &answer,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    assert_eq!(
        export(&server).await,
        before,
        "an upsert with a bad path changed the state"
    );
    assert_alive(&server).await;
}

/// Paths and methods nobody routes get the error shape too.
#[tokio::test]
async fn unrouted_paths_and_methods_get_the_error_shape() {
    let server = demo_server().await;
    for (method, path, status, code) in [
        (
            Method::GET,
            "/v1/is_authorized",
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            Method::DELETE,
            "/v1/admin/import",
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/admin/partners/p-acme",
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
        ),
        (
            Method::POST,
            "/v1/is_authorized/",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch/x",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/admin/partners/",
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::PUT,
            "/v1/admin/partners//employees/ann@acme.example",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (Method::POST, "/%FF%FE", StatusCode::NOT_FOUND, "not_found"),
    ] {
        let (got, answer) = raw(&server, method.clone(), path, JSON, "{}").await;
        assert_error(&format!("{method} {path}"), got, &answer, status, code);
    }
    assert_alive(&server).await;
}

/// Everything at once, concurrently, on one server: it answers every request and keeps
/// deciding.
#[tokio::test]
async fn a_flood_of_bad_requests_leaves_the_server_up() {
    let server = demo_server().await;
    let deep = deep_array(100_000);
    let big = "x".repeat(TWO_MIB);
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"[1, 2, 3]".to_vec(),
        b"\xff\xfe".to_vec(),
        Vec::new(),
        deep.into_bytes(),
        big.into_bytes(),
        json!({"principal": 1, "action": 2, "resource": 3})
            .to_string()
            .into_bytes(),
    ];
    let mut requests = Vec::new();
    let mut names = Vec::new();
    for (method, path) in body_routes() {
        for bytes in &bodies {
            names.push(format!("{method} {path} ({} bytes)", bytes.len()));
            requests.push(answer(request(
                &server,
                method.clone(),
                path,
                JSON,
                bytes.clone(),
            )));
        }
    }
    let answers = futures_join_all(requests).await;
    for (name, (status, answer)) in names.iter().zip(answers) {
        let shown = answer.to_string().chars().take(300).collect::<String>();
        assert!(status.is_client_error(), "{name}: a 4xx: {status} {shown}");
        assert!(
            answer["error"]["code"].is_string(),
            "{name}: error shape: {shown}"
        );
    }
    assert_alive(&server).await;
}

/// Runs the futures concurrently on the test's runtime (no extra dependency).
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for (i, future) in futures.into_iter().enumerate() {
        set.spawn(async move { (i, future.await) });
    }
    let mut outputs = Vec::new();
    while let Some(joined) = set.join_next().await {
        outputs.push(joined.unwrap());
    }
    outputs.sort_by_key(|(i, _)| *i);
    outputs.into_iter().map(|(_, output)| output).collect()
}

/// Every object of `value`, as JSON text in which that one object names its first key a second
/// time (with another value, so which one wins would matter), with the object's path.
fn with_one_duplicate_key(value: &Value) -> Vec<(String, String)> {
    fn text(value: &Value, target: &[usize], here: &mut Vec<usize>, out: &mut String) {
        match value {
            Value::Object(map) => {
                out.push('{');
                let mut first = true;
                for (i, (key, item)) in map.iter().enumerate() {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(&serde_json::to_string(key).unwrap());
                    out.push(':');
                    here.push(i);
                    text(item, target, here, out);
                    here.pop();
                }
                if here.as_slice() == target
                    && let Some((key, _)) = map.iter().next()
                {
                    out.push_str(&format!(
                        ",{}:\"the other value\"",
                        serde_json::to_string(key).unwrap()
                    ));
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    here.push(i);
                    text(item, target, here, out);
                    here.pop();
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    fn objects(value: &Value, here: &mut Vec<usize>, found: &mut Vec<Vec<usize>>) {
        match value {
            Value::Object(map) => {
                if !map.is_empty() {
                    found.push(here.clone());
                }
                for (i, item) in map.values().enumerate() {
                    here.push(i);
                    objects(item, here, found);
                    here.pop();
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    here.push(i);
                    objects(item, here, found);
                    here.pop();
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    objects(value, &mut Vec::new(), &mut found);
    found
        .into_iter()
        .map(|target| {
            let mut out = String::new();
            text(value, &target, &mut Vec::new(), &mut out);
            (format!("{target:?}"), out)
        })
        .collect()
}

/// A key named twice in one object is a 400 at every depth, on every kind of body: a
/// reference with two ids is never decided as either (one document, one meaning).
#[tokio::test]
async fn a_key_named_twice_in_one_object_is_400_at_every_depth() {
    let server = demo_server().await;
    let before = export(&server).await;
    let bodies = [
        (
            Method::POST,
            "/v1/is_authorized",
            json!({"principal": {"type": "Hub::User", "id": "ann@acme.example"},
                   "action": {"type": "Hub::Action", "id": "reports.access"},
                   "resource": {"type": "Hub::Account", "id": "c-globex"},
                   "context": {"a": {"b": {"c": 1}}}}),
        ),
        (
            Method::POST,
            "/v1/is_authorized/batch",
            json!({"requests": [check("ann@acme.example", "reports.access", "c-globex"),
                                {"principal": {"type": "Hub::User", "id": "pat@acme.example"},
                                 "action": "reports.access",
                                 "resource": {"type": "Hub::Account", "id": "c-globex"}}]}),
        ),
        (
            Method::POST,
            "/access/v1/evaluation",
            evaluation("ann@acme.example", "reports.access", "c-globex"),
        ),
        (
            Method::PUT,
            "/v1/admin/clients/c-globex/users/bob@acme.example",
            json!({"role": "standard", "seat": "partner", "partner": "p-acme",
                   "permissions": ["crm.objects.view"]}),
        ),
        (
            Method::POST,
            "/v1/clients/c-globex/partner-users",
            json!({"actor": "ann@acme.example", "employees": ["cy@acme.example"],
                   "permission_set": "Sales rep"}),
        ),
    ];
    let mut tried = 0;
    for (method, path, body) in &bodies {
        for (at, text) in with_one_duplicate_key(body) {
            let (status, answer) = send_text(&server, method, path, &text).await;
            assert_invalid(
                &format!("{method} {path} duplicate at {at}: {text}"),
                status,
                &answer,
            );
            assert!(
                message(&answer).contains("appears twice"),
                "{method} {path} at {at}: {answer}"
            );
            tried += 1;
        }
    }
    assert!(tried >= 15, "only {tried} objects");
    assert_eq!(
        export(&server).await,
        before,
        "a refused body changed the state"
    );
    assert_alive(&server).await;
}

/// Different identities never fold onto one user: only ASCII letters fold, nothing is trimmed,
/// and invisible characters are refused. Every look-alike of a user that may do something is
/// either refused (400) or decided as somebody else (a Deny), never as that user.
#[tokio::test]
async fn look_alike_identities_never_fold_onto_a_user() {
    let server = demo_server().await;
    let before = export(&server).await;
    // ASCII case folds: the same person.
    let (status, answer) = server
        .post(
            "/v1/is_authorized",
            &check("ANN@Acme.Example", "reports.access", "c-globex"),
        )
        .await;
    assert_eq!(
        (status.as_u16(), answer["decision"].clone()),
        (200, json!("Allow"))
    );
    let ann = "ann@acme.example";
    let mut look_alikes: Vec<String> = vec![
        format!(" {ann}"),
        format!("{ann} "),
        format!("{ann}\n"),
        format!("{ann}\t"),
        format!("{ann}\u{a0}"),
        "ann\u{200b}@acme.example".into(),
        "\u{feff}ann@acme.example".into(),
        "\u{0430}nn@acme.example".into(),  // Cyrillic a
        "ann@acme.exampl\u{0435}".into(),  // Cyrillic e
        "\u{ff41}nn@acme.example".into(),  // fullwidth a
        "\u{212b}nn@acme.example".into(),  // Angstrom sign
        "a\u{0301}nn@acme.example".into(), // combining accent
    ];
    // And generated ones: each ASCII letter of the address replaced by a character that
    // Unicode case rules (not ASCII ones) would fold or normalise onto it.
    for (i, c) in ann.char_indices() {
        let twin = match c {
            'k' => Some('\u{212a}'),
            's' => Some('\u{017f}'),
            'a' => Some('\u{00e0}'),
            'e' => Some('\u{00e9}'),
            'x' => Some('\u{0445}'),
            'p' => Some('\u{0440}'),
            'c' => Some('\u{0441}'),
            'm' => Some('\u{217f}'),
            'l' => Some('\u{217c}'),
            'n' => Some('\u{0274}'),
            _ => None,
        };
        if let Some(twin) = twin {
            look_alikes.push(format!("{}{twin}{}", &ann[..i], &ann[i + c.len_utf8()..]));
        }
    }
    for look_alike in &look_alikes {
        let (status, answer) = server
            .post(
                "/v1/is_authorized",
                &check(look_alike, "reports.access", "c-globex"),
            )
            .await;
        assert!(
            status == StatusCode::BAD_REQUEST || answer["decision"] == "Deny",
            "{look_alike:?} was decided as ann: {status} {answer}"
        );
        let (status, answer) = server
            .post(
                "/v1/clients/c-globex/partner-users",
                &json!({"actor": look_alike, "employees": ["cy@acme.example"],
                        "permission_set": "Sales rep"}),
            )
            .await;
        assert!(
            matches!(status.as_u16(), 400 | 403 | 404),
            "{look_alike:?} acted as ann: {status} {answer}"
        );
    }
    assert_eq!(
        export(&server).await,
        before,
        "a look-alike changed the state"
    );
}

/// Every string in a JSON value, with its path.
fn strings<'v>(value: &'v Value, path: String, out: &mut Vec<(String, &'v str)>) {
    match value {
        Value::String(s) => out.push((path, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                strings(item, format!("{path}.{key}"), out);
            }
        }
        _ => {}
    }
}

/// A decision quotes the reference it could not resolve; a reference of any length is looked
/// up, so the quote is cut: no text of a check's answer (single, batch item, AuthZEN) is over
/// 1,024 characters, whatever was sent.
#[tokio::test]
async fn decisions_quote_long_references_within_the_message_bound() {
    let server = demo_server().await;
    for length in [1_025, 5_000, 100_000] {
        let long = format!("{}@acme.example", "x".repeat(length));
        let single = check(&long, "crm.objects.edit", "c-globex");
        let answers = [
            server.post("/v1/is_authorized", &single).await,
            server
                .post(
                    "/v1/is_authorized/batch",
                    &json!({"requests": [single.clone(), {"principal": 1}]}),
                )
                .await,
            server
                .post(
                    "/access/v1/evaluation",
                    &json!({"subject": {"type": "user", "id": long},
                            "action": {"name": "crm.objects.edit"},
                            "resource": {"type": "account", "id": "c-globex"}}),
                )
                .await,
        ];
        for (status, answer) in answers {
            assert_eq!(status, StatusCode::OK, "{length}: {answer}");
            let mut found = Vec::new();
            strings(&answer, String::new(), &mut found);
            for (path, text) in found {
                assert!(
                    text.chars().count() <= 1024,
                    "{length}: {path} has {} characters",
                    text.chars().count()
                );
            }
            let shown = answer.to_string();
            assert!(
                shown.contains("characters left out"),
                "{length}: {}",
                &shown[..300.min(shown.len())]
            );
        }
    }
}
