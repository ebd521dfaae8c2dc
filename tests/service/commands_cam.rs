//! The Client Access Manager's commands over HTTP, one or more tests per rule id of the rule book (docs/rules.md):
//! access links (PA-1..5), adding employees (ADD-1..6), permission sets (PERM-1..3), manual
//! links (LINK-1, LINK-2), deactivation, reactivation and removal (REM-1..9), the managed
//! relationship read at any instant (REL-1..5), idempotency keys, the audit log, and checks that
//! see a command before the next request.
//!
//! Every test shows the allowed path and the refused path, and proves that a refused or failed
//! command changed nothing: `GET /v1/admin/export` is the same before and after (the audit
//! record a refusal appends is not part of the export).

use partner_access::domain::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support;
use crate::support::harness::{self, TestServer};

pub(super) const ANN: &str = "ann@acme.example"; // partner super admin, view_edit; partner admin in globex, initech
pub(super) const EDDIE: &str = "eddie@acme.example"; // view_edit employee manager, no client user
pub(super) const VERA: &str = "vera@acme.example"; // `view` employee manager
pub(super) const BOB: &str = "bob@acme.example"; // standard partner user in globex, deactivated in hooli
pub(super) const PAT: &str = "pat@acme.example"; // partner admin in globex without reports.access, view_edit
pub(super) const KIM: &str = "kim@acme.example"; // partner admin in globex, view_edit
pub(super) const NINA: &str = "nina@acme.example"; // verified employee, user of no client
pub(super) const SUE: &str = "sue@acme.example"; // super admin in initech
pub(super) const SAM: &str = "sam@acme.example"; // super admin in initech
pub(super) const DANA: &str = "dana@acme.example"; // deactivated partner admin in hooli
pub(super) const GUS: &str = "gus@gmail.example"; // acme employee outside the approved domains; plain user of umbrella
pub(super) const ZED: &str = "zed@acme.example"; // partner admin in globex without CAM access (employee management none)
pub(super) const OWNER: &str = "owner@globex.example"; // globex's super admin
pub(super) const CLARA: &str = "clara@globex.example"; // globex user with users.add_edit
pub(super) const SALLY: &str = "sally@globex.example"; // globex user without users.add_edit
pub(super) const DEE: &str = "dee@globex.example"; // deactivated globex user with users.add_edit
pub(super) const UMA: &str = "uma@umbrella.example"; // umbrella's super admin
pub(super) const HANK: &str = "hank@hooli.example"; // hooli's super admin
pub(super) const OTTO: &str = "otto@apps.example"; // super admin of p-apps (tier other)
pub(super) const OLGA: &str = "olga@apps.example"; // employee of p-apps
pub(super) const RITA: &str = "rita@rival.example"; // super admin of p-rival (provider)
pub(super) const RON: &str = "ron@rival.example"; // partner admin of p-rival in rivalco
pub(super) const ROS: &str = "ros@rivalco.example"; // rivalco's super admin

/// The partner admin template of the rule book (docs/rules.md), sorted.
pub(super) const PARTNER_ADMIN_SET: [&str; 7] = [
    "apps.manage",
    "crm.objects.edit",
    "crm.objects.view",
    "hubs.access",
    "multi_account.manage",
    "reports.access",
    "users.add_edit",
];

// ---- helpers ----------------------------------------------------------------------------

/// A server with the agency fixture loaded.
pub(super) async fn agency_server() -> TestServer {
    server_with(&support::agency()).await
}

/// A server with a given state loaded.
pub(super) async fn server_with(doc: &Value) -> TestServer {
    let server = harness::start(harness::Options::default()).await;
    server.import(doc).await;
    server
}

/// The agency fixture, changed by `change`.
pub(super) fn agency_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut doc = support::agency();
    change(&mut doc);
    doc
}

/// The whole state.
pub(super) async fn export(server: &TestServer) -> Value {
    let (status, body) = server.get("/v1/admin/export").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The whole state and its revision (header `x-revision`).
async fn export_with_revision(server: &TestServer) -> (u64, Value) {
    let response = server
        .client
        .get(server.url("/v1/admin/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let revision = response
        .headers()
        .get("x-revision")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("an x-revision header");
    (revision, response.json().await.unwrap())
}

/// Sends a command that must succeed with `status`; returns its answer.
pub(super) async fn ok(
    server: &TestServer,
    method: Method,
    path: &str,
    body: &Value,
    status: u16,
) -> Value {
    let (got, answer) = server.send(method, path, Some(body)).await;
    assert_eq!(got.as_u16(), status, "{path} {body}: {answer}");
    answer
}

/// How a command is refused: the status and the error's `code`.
pub(super) type Refusal = (u16, &'static str);
pub(super) const FORBIDDEN: Refusal = (403, "forbidden");
pub(super) const CONFLICT: Refusal = (409, "conflict");
pub(super) const NOT_FOUND: Refusal = (404, "not_found");
pub(super) const INVALID: Refusal = (400, "invalid_request");

/// Sends a command that must be refused with `status` and `code`, proves that it changed
/// nothing, and returns the `error` object.
pub(super) async fn refused(
    server: &TestServer,
    method: Method,
    path: &str,
    body: &Value,
    (status, code): Refusal,
) -> Value {
    let before = export(server).await;
    let (got, answer) = server.send(method, path, Some(body)).await;
    assert_eq!(got.as_u16(), status, "{path} {body}: {answer}");
    assert_eq!(answer["error"]["code"], code, "{path} {body}: {answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{answer}"
    );
    assert_eq!(
        export(server).await,
        before,
        "a refused command changed the state: {path} {body}"
    );
    answer["error"].clone()
}

/// Asserts that an error names every one of `ids` in its `rules`.
pub(super) fn assert_rules(error: &Value, ids: &[&str]) {
    let rules = error["rules"].as_array().cloned().unwrap_or_default();
    for id in ids {
        assert!(rules.contains(&json!(id)), "`{id}` not in {error}");
    }
}

/// A client of a state document.
pub(super) fn client<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no client {id}"))
}

/// Every record of an e-mail in a client of a state document.
fn records_of(doc: &Value, client_id: &str, email: &str) -> Vec<Value> {
    client(doc, client_id)["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == email)
        .cloned()
        .collect()
}

/// The one record of an e-mail in a client of a state document, if any.
pub(super) fn user(doc: &Value, client_id: &str, email: &str) -> Option<Value> {
    let records = records_of(doc, client_id, email);
    assert!(records.len() <= 1, "duplicate users: {records:?}");
    records.into_iter().next()
}

/// A user of a client in a state document being built (for inline states).
pub(super) fn doc_user<'a>(doc: &'a mut Value, client_id: &str, email: &str) -> &'a mut Value {
    doc["clients"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"] == client_id)
        .unwrap()["users"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|u| u["email"] == email)
        .unwrap()
}

/// The e-mails of a client's users linked to a partner.
fn partner_users(doc: &Value, client_id: &str, partner: &str) -> Vec<String> {
    client(doc, client_id)["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["partner"] == partner)
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

/// Outbox events of one type.
pub(super) async fn events(server: &TestServer, kind: &str) -> Vec<Value> {
    let (status, body) = server.get("/v1/events?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["next"].is_null(), "{body}");
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .cloned()
        .collect()
}

/// The relationship of a client, now or at an instant.
pub(super) async fn relationship(server: &TestServer, client_id: &str, at: Option<&str>) -> Value {
    let path = match at {
        Some(at) => format!("/v1/clients/{client_id}/relationship?at={at}"),
        None => format!("/v1/clients/{client_id}/relationship"),
    };
    let (status, body) = server.get(&path).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Issues an access link of `employee` of `partner` by `actor`; returns the token.
pub(super) async fn issue(
    server: &TestServer,
    partner: &str,
    actor: &str,
    employee: &str,
) -> String {
    let answer = ok(
        server,
        Method::POST,
        &format!("/v1/partners/{partner}/access-links"),
        &json!({"actor": actor, "employee": employee}),
        201,
    )
    .await;
    assert_eq!(answer["employee"], employee, "{answer}");
    answer["token"].as_str().unwrap().to_owned()
}

pub(super) fn approve_path(token: &str) -> String {
    format!("/v1/access-links/{token}/approve")
}

/// A JSON list of strings, for comparing permission lists.
fn strings(list: &[&str]) -> Value {
    json!(list)
}

/// A stored permission list, sorted.
pub(super) fn sorted(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

// ---- PA: access links -------------------------------------------------------------------

#[tokio::test]
async fn pa1_only_partner_super_admins_and_view_edit_managers_get_links() {
    let server = agency_server().await;
    let path = "/v1/partners/p-acme/access-links";

    // Allowed: a partner super admin and a `view_edit` employee manager.
    for actor in [ANN, EDDIE] {
        let answer = ok(&server, Method::POST, path, &json!({"actor": actor}), 201).await;
        assert_eq!(answer["employee"], actor, "own link by default: {answer}");
        assert!(answer["token"].is_string(), "{answer}");
    }

    // Refused: `view` alone, no employee management, another partner's super admin, a client
    // user who is no partner employee.
    for (body, rules) in [
        (json!({"actor": VERA}), &["PA-1"][..]),
        (json!({"actor": BOB}), &["PA-1"][..]),
        (json!({"actor": OTTO, "employee": BOB}), &[][..]),
        (json!({"actor": OWNER, "employee": BOB}), &[][..]),
    ] {
        let error = refused(&server, Method::POST, path, &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }
    // An unknown partner.
    refused(
        &server,
        Method::POST,
        "/v1/partners/p-nope/access-links",
        &json!({"actor": ANN}),
        NOT_FOUND,
    )
    .await;

    // `view` can list (ADD-4: CRM name and official name) but not change.
    let (status, body) = server
        .get(&format!("/v1/partners/p-acme/clients?actor={VERA}"))
        .await;
    assert_eq!(status, 200, "{body}");
    let globex = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "c-globex")
        .unwrap();
    assert_eq!(globex["crm_name"], "Globex (Acme CRM)");
    assert_eq!(globex["official_name"], "Globex Corporation");
    let (status, body) = server
        .get(&format!("/v1/partners/p-acme/clients?actor={BOB}"))
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
}

#[tokio::test]
async fn pa2_a_link_of_a_tier_other_partner_is_never_approved() {
    let server = agency_server().await;
    // p-apps (tier `other`) may issue links, but no client can approve them.
    let olga = issue(&server, "p-apps", OTTO, OLGA).await;
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&olga),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PA-2", "partner-admins-from-eligible-tiers"]);
    assert!(events(&server, "access_link.approved").await.is_empty());

    // A provider's link is approved by the same approver in the same client.
    let rita = issue(&server, "p-rival", RITA, RITA).await;
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&rita),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        201,
    )
    .await;
    assert_eq!(answer["role"], "partner_admin", "{answer}");
    assert_eq!(answer["partner"], "p-rival", "{answer}");

    // The client is now managed by p-rival: a solutions partner's link is a LINK-2 conflict.
    let ann = issue(&server, "p-acme", ANN, ANN).await;
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&ann),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
}

#[tokio::test]
async fn pa3_own_and_on_behalf_links_but_never_a_strangers() {
    let server = agency_server().await;
    let path = "/v1/partners/p-acme/access-links";
    let own = issue(&server, "p-acme", ANN, ANN).await;
    let on_behalf = issue(&server, "p-acme", ANN, BOB).await;
    let again = issue(&server, "p-acme", ANN, BOB).await;
    let by_eddie = issue(&server, "p-acme", EDDIE, BOB).await;
    let nina = issue(&server, "p-acme", EDDIE, NINA).await;

    // Tokens are long, random and unique, and do not spell out whose they are.
    let tokens = [&own, &on_behalf, &again, &by_eddie, &nina];
    for token in tokens {
        assert!(token.len() >= 40, "{token}");
        assert!(!token.contains("acme") && !token.contains('@'), "{token}");
    }
    let unique: std::collections::BTreeSet<_> = tokens.iter().collect();
    assert_eq!(unique.len(), tokens.len(), "{tokens:?}");

    // Refused: another partner's employee, and an e-mail that is no employee.
    for (body, rules) in [
        (
            json!({"actor": ANN, "employee": RITA}),
            &["PA-3", "links-for-own-employees-only"][..],
        ),
        (
            json!({"actor": EDDIE, "employee": "nobody@acme.example"}),
            &[][..],
        ),
    ] {
        let error = refused(&server, Method::POST, path, &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }

    // A link works for any number of clients until rotated, and earlier links stay valid.
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&on_behalf),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        201,
    )
    .await;
    assert_eq!(answer["email"], BOB, "{answer}");
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&on_behalf),
        &json!({"actor": HANK, "client": "c-hooli"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "upgraded", "{answer}");
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&again),
        &json!({"actor": OWNER, "client": "c-globex"}),
        200,
    )
    .await;
    assert_eq!(answer["email"], BOB, "{answer}");
}

#[tokio::test]
async fn pa3_rotating_revokes_the_old_token() {
    let server = agency_server().await;
    let old = issue(&server, "p-acme", ANN, NINA).await;
    let rotated = ok(
        &server,
        Method::POST,
        "/v1/partners/p-acme/access-links",
        &json!({"actor": ANN, "employee": NINA, "rotate": true}),
        201,
    )
    .await;
    let new = rotated["token"].as_str().unwrap().to_owned();
    assert_ne!(old, new);

    // The old token is gone (404) and nothing changes.
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&old),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        NOT_FOUND,
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("access link"),
        "{error}"
    );
    refused(
        &server,
        Method::POST,
        &approve_path("pal_0000"),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        NOT_FOUND,
    )
    .await;

    // The new one works, in several clients.
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&new),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        201,
    )
    .await;
    assert_eq!(answer["outcome"], "created", "{answer}");
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&new),
        &json!({"actor": HANK, "client": "c-hooli"}),
        201,
    )
    .await;
    assert_eq!(answer["outcome"], "created", "{answer}");
    // Still refused after use.
    refused(
        &server,
        Method::POST,
        &approve_path(&old),
        &json!({"actor": OWNER, "client": "c-globex"}),
        NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn pa4_approval_creates_a_partner_admin_with_the_partner_seat() {
    let server = agency_server().await;
    let token = issue(&server, "p-acme", ANN, SUE).await;
    let path = approve_path(&token);

    // Refused: no users.add_edit; deactivated; an employee of the link's partner (even with
    // users.add_edit); an unknown client.
    for (body, rules) in [
        (json!({"actor": SALLY, "client": "c-globex"}), &["PA-4"][..]),
        (
            json!({"actor": DEE, "client": "c-globex"}),
            &["CAP-7", "deactivated-user"][..],
        ),
        (
            json!({"actor": ANN, "client": "c-globex"}),
            &["PA-4", "approver-not-of-link-partner"][..],
        ),
    ] {
        let error = refused(&server, Method::POST, &path, &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }
    refused(
        &server,
        Method::POST,
        &path,
        &json!({"actor": CLARA, "client": "c-nope"}),
        NOT_FOUND,
    )
    .await;

    // Allowed: a client user holding users.add_edit.
    let answer = ok(
        &server,
        Method::POST,
        &path,
        &json!({"actor": CLARA, "client": "c-globex"}),
        201,
    )
    .await;
    assert_eq!(answer["email"], SUE);
    assert_eq!(answer["outcome"], "created");
    assert_eq!(answer["client"], "c-globex");
    let state = export(&server).await;
    let sue = user(&state, "c-globex", SUE).expect("sue was created");
    assert_eq!(sue["role"], "partner_admin");
    assert_eq!(sue["seat"], "partner");
    assert_eq!(sue["partner"], "p-acme");
    assert_eq!(sue["status"], "active");
    assert_eq!(sorted(&sue["permissions"]), PARTNER_ADMIN_SET);
    assert_eq!(sorted(&answer["permissions"]), PARTNER_ADMIN_SET);

    // The check sees the new partner admin at once.
    let check = server.check(SUE, "multi_account.manage", "c-globex").await;
    assert_eq!(check["decision"], "Allow", "{check}");
    let check = server.check(SUE, "scim.provision", "c-globex").await;
    assert_eq!(check["decision"], "Deny", "{check}");
}

#[tokio::test]
async fn pa4_link3_approving_an_existing_user_upgrades_it_without_a_duplicate() {
    let server = agency_server().await;
    // nina (a verified employee of p-acme) is synced in as a plain user of umbrella: LINK-3
    // makes her a partner user of p-acme at once, and the approval upgrades that user.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/c-umbrella/users/{NINA}"),
            &json!({"role": "standard", "seat": "core", "permissions": ["crm.objects.view"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let before = export(&server).await;
    assert_eq!(
        user(&before, "c-umbrella", NINA).unwrap()["partner"],
        "p-acme"
    );
    assert_eq!(
        user(&before, "c-umbrella", NINA).unwrap()["role"],
        "standard"
    );
    let token = issue(&server, "p-acme", ANN, NINA).await;
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "upgraded", "{answer}");
    let state = export(&server).await;
    assert_eq!(records_of(&state, "c-umbrella", NINA).len(), 1);
    let nina = user(&state, "c-umbrella", NINA).unwrap();
    assert_eq!(nina["role"], "partner_admin");
    assert_eq!(nina["seat"], "partner");
    assert_eq!(nina["partner"], "p-acme");
    assert_eq!(sorted(&nina["permissions"]), PARTNER_ADMIN_SET);
    assert_eq!(
        client(&state, "c-umbrella")["users"]
            .as_array()
            .unwrap()
            .len(),
        client(&before, "c-umbrella")["users"]
            .as_array()
            .unwrap()
            .len()
    );
    // Approving again is another upgrade of the same single user.
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        200,
    )
    .await;
    assert_eq!(
        records_of(&export(&server).await, "c-umbrella", NINA).len(),
        1
    );
    assert_eq!(events(&server, "user.created").await.len(), 0);
    assert_eq!(events(&server, "permissions.changed").await.len(), 2);
}

/// A client whose only super admin is a partner employee, plus a client-side user manager.
fn solo_state() -> Value {
    agency_with(|doc| {
        doc["clients"].as_array_mut().unwrap().push(json!({
            "id": "c-solo", "official_name": "Solo", "pricing_model": "seat_based",
            "users": [
                {"email": SAM, "role": "super_admin", "seat": "core", "partner": "p-acme"},
                {"email": "helper@solo.example", "role": "standard", "seat": "core",
                 "permissions": ["users.add_edit"]}
            ]
        }));
    })
}

#[tokio::test]
async fn pa4_mig4_the_sole_super_admin_is_never_upgraded_away() {
    let server = server_with(&solo_state()).await;
    // A full admin (superadmins.manage, CAP-2) may approve the demotion, MIG-4 permitting.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-solo/users/full@solo.example",
            &json!({"role": "standard", "seat": "core",
                    "permissions": ["users.add_edit", "superadmins.manage"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = issue(&server, "p-acme", ANN, SAM).await;
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": "full@solo.example", "client": "c-solo"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["MIG-4"]);
    // Nor deactivated away: REM-2 would let ann deactivate a partner user, but the Client
    // Access Manager never touches a super admin (CAP-2).
    let error = refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-solo/partner-users/{SAM}/deactivate"),
        &json!({"actor": ANN}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["CAP-2", "cam-never-changes-super-admins"]);

    // With a second super admin the upgrade goes through.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-solo/users/boss@solo.example",
            &json!({"role": "super_admin", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": "full@solo.example", "client": "c-solo"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "upgraded");
    assert_eq!(
        user(&export(&server).await, "c-solo", SAM).unwrap()["role"],
        "partner_admin"
    );
}

/// PA-4 against CAP-2: approving a link whose employee is a super admin of the account demotes
/// that super admin (to partner admin), which is a full admin right (CAP-2), as the direct
/// path (client-side `user.set_permission_set`) already says. Both paths agree for every
/// approver: each role and each combination of `users.add_edit`, `superadmins.manage` and
/// `billing.edit` is refused by `super-admins-changed-by-full-admins-only` on the approval
/// exactly when the direct path is, and the approval succeeds only for a full admin who may
/// add users.
#[tokio::test]
async fn pa4_cap2_approving_a_link_demotes_a_super_admin_only_with_full_admin_rights() {
    const FORBID: &str = "super-admins-changed-by-full-admins-only";
    let optional = ["users.add_edit", "superadmins.manage", "billing.edit"];
    let server = harness::start(harness::Options::default()).await;
    let mut approvals = 0;
    for role in ["standard", "super_admin"] {
        for mask in 0..(1 << optional.len()) {
            let permissions: Vec<&str> = (0..optional.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| optional[i])
                .collect();
            let state = agency_with(|doc| {
                doc["clients"].as_array_mut().unwrap().push(json!({
                    "id": "c-solo", "official_name": "Solo", "pricing_model": "seat_based",
                    "users": [
                        {"email": SAM, "role": "super_admin", "seat": "core", "partner": "p-acme"},
                        {"email": "boss@solo.example", "role": "super_admin", "seat": "core"},
                        {"email": "approver@solo.example", "role": role, "seat": "core",
                         "permissions": permissions}
                    ]
                }));
            });
            let case = format!("{role} with {permissions:?}");
            let forbidden = |answer: &Value| {
                answer["error"]["rules"]
                    .as_array()
                    .is_some_and(|r| r.contains(&json!(FORBID)))
            };

            // The direct path: the approver changes the super admin to partner admin.
            server.import(&state).await;
            let (direct, direct_answer) = server
                .send(
                    Method::PUT,
                    &format!("/v1/clients/c-solo/users/{SAM}/permission-set"),
                    Some(&json!({"actor": "approver@solo.example",
                                 "permission_set": "partner_admin"})),
                )
                .await;

            // The approval of the super admin's access link.
            server.import(&state).await;
            let token = issue(&server, "p-acme", ANN, SAM).await;
            let (approval, answer) = server
                .send(
                    Method::POST,
                    &approve_path(&token),
                    Some(&json!({"actor": "approver@solo.example", "client": "c-solo"})),
                )
                .await;

            let full_admin = role == "super_admin" || permissions.contains(&"superadmins.manage");
            let adds_users = role == "super_admin" || permissions.contains(&"users.add_edit");
            assert_eq!(forbidden(&answer), !full_admin, "{case}: approval {answer}");
            assert_eq!(
                forbidden(&answer),
                forbidden(&direct_answer),
                "{case}: approval {answer}, direct path {direct} {direct_answer}"
            );
            if full_admin && adds_users {
                assert_eq!(approval.as_u16(), 200, "{case}: {answer}");
                assert_eq!(answer["outcome"], "upgraded", "{case}: {answer}");
                approvals += 1;
            } else {
                assert_eq!(approval.as_u16(), 403, "{case}: {answer}");
                assert!(
                    user(&export(&server).await, "c-solo", SAM).unwrap()["role"] == "super_admin",
                    "{case}: a refused approval changed the super admin"
                );
            }
        }
    }
    assert!(approvals > 0);
}

#[tokio::test]
async fn pa4_the_link_of_an_employee_not_eligible_for_the_partner_seat_is_a_seat5_conflict() {
    let server = agency_server().await;
    // gus (gmail.example) can never hold the partner seat, so he can never be a partner admin.
    let token = issue(&server, "p-acme", ANN, GUS).await;
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": OWNER, "client": "c-globex"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["SEAT-5"]);
    // The same situation through the CAM's add command (in Initech, where gus is no user yet:
    // in Globex he is an active user already, which ADD-6 leaves alone).
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-initech/partner-users",
        &json!({"actor": ANN, "employees": [GUS], "permission_set": "partner_admin"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["SEAT-5"]);
}

#[tokio::test]
async fn pa5_an_approval_emits_access_link_approved() {
    let server = agency_server().await;
    let token = issue(&server, "p-acme", EDDIE, SUE).await;
    refused(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": SALLY, "client": "c-globex"}),
        FORBIDDEN,
    )
    .await;
    assert!(
        events(&server, "access_link.approved").await.is_empty(),
        "a refusal emits nothing"
    );

    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": OWNER, "client": "c-globex"}),
        201,
    )
    .await;
    let approved = events(&server, "access_link.approved").await;
    assert_eq!(approved.len(), 1, "{approved:?}");
    let event = &approved[0];
    assert_eq!(event["client"], "c-globex");
    assert_eq!(event["data"]["employee"], SUE);
    assert_eq!(event["data"]["partner"], "p-acme");
    assert_eq!(event["data"]["approved_by"], OWNER);
    assert!(
        event["time"].is_string() && event["seq"].as_u64().unwrap() > 0,
        "{event}"
    );
    let created = events(&server, "user.created").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["data"]["email"], SUE);
}

// ---- ADD: adding employees ----------------------------------------------------------------

#[tokio::test]
async fn add1_a_partner_admin_adds_employees_of_its_own_partner_with_a_set() {
    let server = agency_server().await;
    let path = "/v1/clients/c-globex/partner-users";

    // Refused: another partner's employee; an unknown e-mail; an unknown set.
    let error = refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [RITA], "permission_set": "Sales rep"}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["ADD-1", "add-own-partner-employees-only"]);
    refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": ["nobody@acme.example"], "permission_set": "Sales rep"}),
        NOT_FOUND,
    )
    .await;
    let error = refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA], "permission_set": "Nope"}),
        INVALID,
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("Nope"),
        "{error}"
    );
    // The client's own sets are not the CAM's.
    refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA], "permission_set": "Support"}),
        INVALID,
    )
    .await;

    // Allowed: several employees at once with one of the partner's sets.
    let answer = ok(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA, EDDIE], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{answer}");
    for (result, email) in results.iter().zip([NINA, EDDIE]) {
        assert_eq!(result["employee"], email);
        assert_eq!(result["outcome"], "added");
        assert_eq!(
            result["permissions"],
            strings(&["crm.objects.edit", "reports.access"])
        );
        assert_eq!(result["withheld"], json!([]));
        assert_eq!(result["seat"], "partner");
    }
    let state = export(&server).await;
    for email in [NINA, EDDIE] {
        let u = user(&state, "c-globex", email).unwrap();
        assert_eq!(u["role"], "standard");
        assert_eq!(u["partner"], "p-acme");
        assert_eq!(u["status"], "active");
        assert_eq!(
            sorted(&u["permissions"]),
            ["crm.objects.edit", "reports.access"]
        );
    }
    assert_eq!(events(&server, "user.created").await.len(), 2);
}

#[tokio::test]
async fn add2_only_a_partner_admin_in_that_client_adds_employees() {
    let server = agency_server().await;
    let body =
        |actor: &str| json!({"actor": actor, "employees": [NINA], "permission_set": "Sales rep"});

    // A standard partner user; a view_edit manager who is no user there; the client's own super
    // admin (no partner employee); a deactivated partner admin; a partner admin elsewhere.
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &body(BOB),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &body(EDDIE),
        FORBIDDEN,
    )
    .await;
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &body(OWNER),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PA-1"]);
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users",
        &body(DANA),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["CAP-7"]);
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-umbrella/partner-users",
        &body(ANN),
        FORBIDDEN,
    )
    .await;
    // A client managed by another partner.
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-rivalco/partner-users",
        &body(ANN),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);

    // Allowed: any active partner admin of the client, of any partner, for its own employees.
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &body(KIM),
        201,
    )
    .await;
    assert_eq!(answer["results"][0]["outcome"], "added");
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-rivalco/partner-users",
        &json!({"actor": RON, "employees": [RITA], "permission_set": "partner_admin"}),
        201,
    )
    .await;
    assert_eq!(answer["results"][0]["seat"], "partner");
    let state = export(&server).await;
    assert_eq!(user(&state, "c-globex", NINA).unwrap()["partner"], "p-acme");
    assert_eq!(
        user(&state, "c-rivalco", RITA).unwrap()["role"],
        "partner_admin"
    );
}

#[tokio::test]
async fn add3_eligible_employees_get_the_partner_seat() {
    let server = agency_server().await;
    let path = "/v1/clients/c-initech/partner-users";

    // The partner admin set needs the partner seat (SEAT-5): gus is not eligible, so neither
    // employee is added.
    let error = refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA, GUS], "permission_set": "partner_admin"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["SEAT-5"]);

    let answer = ok(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA, GUS], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["employee"], NINA);
    assert_eq!(results[0]["seat"], "partner", "eligible: {answer}");
    assert_eq!(results[1]["employee"], GUS);
    assert_ne!(
        results[1]["seat"], "partner",
        "gus is outside the approved domains: {answer}"
    );
    let state = export(&server).await;
    assert_eq!(user(&state, "c-initech", NINA).unwrap()["seat"], "partner");
    assert_eq!(
        user(&state, "c-initech", NINA).unwrap()["partner"],
        "p-acme"
    );
    assert_ne!(user(&state, "c-initech", GUS).unwrap()["seat"], "partner");
    assert_eq!(user(&state, "c-initech", GUS).unwrap()["partner"], "p-acme");

    // The partner admin set for an eligible employee: partner admin with the partner seat.
    let answer = ok(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [EDDIE], "permission_set": "partner_admin"}),
        201,
    )
    .await;
    assert_eq!(answer["results"][0]["seat"], "partner");
    let eddie = user(&export(&server).await, "c-initech", EDDIE).unwrap();
    assert_eq!(eddie["role"], "partner_admin");
    assert_eq!(sorted(&eddie["permissions"]), PARTNER_ADMIN_SET);
}

#[tokio::test]
async fn add6_an_active_member_is_reported_and_the_others_still_added() {
    let server = agency_server().await;
    let before = export(&server).await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": ANN, "employees": [BOB, NINA], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{answer}");
    assert_eq!(results[0]["employee"], BOB);
    assert_eq!(results[0]["outcome"], "already_member");
    assert_eq!(results[1]["employee"], NINA);
    assert_eq!(results[1]["outcome"], "added");
    let state = export(&server).await;
    assert_eq!(
        user(&state, "c-globex", BOB),
        user(&before, "c-globex", BOB),
        "bob unchanged"
    );
    assert!(user(&state, "c-globex", NINA).is_some());

    // Only members: nothing is created (200), nobody changes.
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": ANN, "employees": [BOB, NINA], "permission_set": "partner_admin"}),
        200,
    )
    .await;
    assert!(
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "already_member"),
        "{answer}"
    );
    let after = export(&server).await;
    for email in [BOB, NINA] {
        assert_eq!(
            user(&after, "c-globex", email),
            user(&state, "c-globex", email)
        );
    }
}

#[tokio::test]
async fn add6_one_denied_employee_means_none_is_added() {
    let server = agency_server().await;
    let path = "/v1/clients/c-globex/partner-users";
    let error = refused(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA, EDDIE, RITA], "permission_set": "Sales rep"}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["ADD-1"]);
    refused(&server, Method::POST, path, &json!({"actor": ANN, "employees": [NINA, "nobody@acme.example"], "permission_set": "Sales rep"}), NOT_FOUND).await;
    assert!(events(&server, "user.created").await.is_empty());

    ok(
        &server,
        Method::POST,
        path,
        &json!({"actor": ANN, "employees": [NINA, EDDIE], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let state = export(&server).await;
    assert!(user(&state, "c-globex", NINA).is_some() && user(&state, "c-globex", EDDIE).is_some());
}

#[tokio::test]
async fn add6_an_active_user_not_yet_linked_is_already_member_and_unchanged() {
    // gus is an active user of globex that is not linked to the partner yet.
    let doc = agency_with(|doc| {
        doc_user(doc, "c-globex", GUS)
            .as_object_mut()
            .unwrap()
            .remove("partner");
    });
    let server = server_with(&doc).await;
    let before = export(&server).await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": ANN, "employees": [GUS, NINA], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[0]["employee"], GUS);
    assert_eq!(
        results[0]["outcome"], "already_member",
        "ADD-6 / The API: {answer}"
    );
    assert_eq!(results[1]["outcome"], "added");
    let state = export(&server).await;
    assert_eq!(
        user(&state, "c-globex", GUS),
        user(&before, "c-globex", GUS),
        "ADD-6: gus unchanged"
    );
}

// ---- PERM: permission sets ------------------------------------------------------------------

#[tokio::test]
async fn perm2_the_rule_book_example_withholds_what_the_admin_lacks() {
    let server = agency_server().await;
    // pat, a partner admin of globex, lacks reports.access.
    let before = export(&server).await;
    assert!(
        !user(&before, "c-globex", PAT).unwrap()["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("reports.access"))
    );
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": PAT, "employees": [NINA], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    let result = &answer["results"][0];
    assert_eq!(result["outcome"], "added");
    assert_eq!(result["permissions"], strings(&["crm.objects.edit"]));
    assert_eq!(result["withheld"], strings(&["reports.access"]));
    assert_eq!(result["seat"], "partner");
    let nina = user(&export(&server).await, "c-globex", NINA).unwrap();
    assert_eq!(nina["permissions"], strings(&["crm.objects.edit"]));
    // The same set from ann, who holds reports.access, grants it.
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": ANN, "employees": [EDDIE], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    assert_eq!(answer["results"][0]["withheld"], json!([]));

    let check = server.check(NINA, "crm.objects.edit", "c-globex").await;
    assert_eq!(check["decision"], "Allow", "{check}");
    let check = server.check(NINA, "reports.access", "c-globex").await;
    assert_eq!(check["decision"], "Deny", "{check}");
}

#[tokio::test]
async fn perm1_perm2_a_partner_admin_applies_a_set_and_keeps_what_it_cannot_take() {
    let doc = agency_with(|doc| {
        doc["partners"][0]["permission_sets"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "Viewer", "permissions": ["crm.objects.view"]}));
    });
    let server = server_with(&doc).await;
    let path = |client: &str, email: &str| {
        format!("/v1/clients/{client}/partner-users/{email}/permission-set")
    };
    let viewer = |actor: &str| json!({"actor": actor, "permission_set": "Viewer"});

    // Refused: no partner admin (bob, vera, eddie); a client's own user; a client where the
    // actor is nobody; an unknown set; an unknown user.
    refused(
        &server,
        Method::PUT,
        &path("c-globex", GUS),
        &viewer(BOB),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::PUT,
        &path("c-globex", GUS),
        &viewer(VERA),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::PUT,
        &path("c-globex", GUS),
        &viewer(EDDIE),
        FORBIDDEN,
    )
    .await;
    let error = refused(
        &server,
        Method::PUT,
        &path("c-globex", CLARA),
        &viewer(PAT),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PERM-1", "cam-targets-own-partner-users-only"]);
    refused(
        &server,
        Method::PUT,
        &path("c-rivalco", RON),
        &viewer(PAT),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::PUT,
        &path("c-globex", BOB),
        &json!({"actor": PAT, "permission_set": "Nope"}),
        INVALID,
    )
    .await;
    refused(
        &server,
        Method::PUT,
        &path("c-globex", NINA),
        &viewer(PAT),
        NOT_FOUND,
    )
    .await;

    // bob holds crm.objects.view, reports.access, multi_account.manage. pat lacks
    // reports.access, so applying "Viewer" cannot take it away: it is kept.
    let answer = ok(
        &server,
        Method::PUT,
        &path("c-globex", BOB),
        &viewer(PAT),
        200,
    )
    .await;
    assert_eq!(
        answer["permissions"],
        strings(&["crm.objects.view", "reports.access"]),
        "{answer}"
    );
    assert_eq!(answer["kept"], strings(&["reports.access"]), "{answer}");
    assert_eq!(answer["withheld"], json!([]), "{answer}");
    let bob = user(&export(&server).await, "c-globex", BOB).unwrap();
    assert_eq!(
        sorted(&bob["permissions"]),
        ["crm.objects.view", "reports.access"]
    );

    // "Sales rep" from pat: crm.objects.edit granted, reports.access stays, view revoked.
    let answer = ok(
        &server,
        Method::PUT,
        &path("c-globex", BOB),
        &json!({"actor": PAT, "permission_set": "Sales rep"}),
        200,
    )
    .await;
    assert_eq!(
        answer["permissions"],
        strings(&["crm.objects.edit", "reports.access"]),
        "{answer}"
    );

    // ann holds reports.access, so she can take it away.
    let answer = ok(
        &server,
        Method::PUT,
        &path("c-globex", BOB),
        &viewer(ANN),
        200,
    )
    .await;
    assert_eq!(
        answer["permissions"],
        strings(&["crm.objects.view"]),
        "{answer}"
    );
    assert_eq!(answer["kept"], json!([]), "{answer}");
    let check = server.check(BOB, "reports.access", "c-globex").await;
    assert_eq!(check["decision"], "Deny", "{check}");
}

#[tokio::test]
async fn perm1_a_partner_admin_never_demotes_a_super_admin() {
    let server = agency_server().await;
    // sam is a super admin of initech and a partner user of p-acme; ann is a partner admin
    // there. Partner admins have no full admin rights (CAP-2): changing sam to partner admin
    // is MIG-2's business, making him a standard user is nobody's through the CAM.
    let error = refused(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-initech/partner-users/{SAM}/permission-set"),
        &json!({"actor": ANN, "permission_set": "Sales rep"}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["CAP-2"]);
    assert_eq!(
        user(&export(&server).await, "c-initech", SAM).unwrap()["role"],
        "super_admin"
    );
}

#[tokio::test]
async fn perm3_the_cam_assigns_the_partner_seat_where_eligible() {
    let server = agency_server().await;
    // eddie: an eligible partner user on a core seat.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/c-globex/users/{EDDIE}"),
            &json!({"role": "standard", "seat": "core", "partner": "p-acme",
                     "permissions": ["crm.objects.view"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let path = |email: &str| format!("/v1/clients/c-globex/partner-users/{email}/permission-set");

    // gus is not eligible: the partner admin set would need the partner seat.
    let error = refused(
        &server,
        Method::PUT,
        &path(GUS),
        &json!({"actor": ANN, "permission_set": "partner_admin"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["SEAT-5"]);

    let answer = ok(
        &server,
        Method::PUT,
        &path(EDDIE),
        &json!({"actor": ANN, "permission_set": "Sales rep"}),
        200,
    )
    .await;
    assert_eq!(answer["seat"], "partner", "{answer}");
    let answer = ok(
        &server,
        Method::PUT,
        &path(GUS),
        &json!({"actor": ANN, "permission_set": "Sales rep"}),
        200,
    )
    .await;
    assert_eq!(answer["seat"], "core", "gus keeps his seat: {answer}");
    let state = export(&server).await;
    assert_eq!(user(&state, "c-globex", EDDIE).unwrap()["seat"], "partner");
    assert_eq!(user(&state, "c-globex", GUS).unwrap()["seat"], "core");
    let changed = events(&server, "seat.changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["data"]["email"], EDDIE);
    assert_eq!(changed[0]["data"]["to"], "partner");
}

// ---- LINK: manual links ---------------------------------------------------------------------

#[tokio::test]
async fn link1_an_existing_client_user_is_linked_and_nothing_else_changes() {
    // gus is a user of globex, not linked yet.
    let doc = agency_with(|doc| {
        doc_user(doc, "c-globex", GUS)
            .as_object_mut()
            .unwrap()
            .remove("partner");
    });
    let server = server_with(&doc).await;
    let gus_path = format!("/v1/partners/p-acme/employees/{GUS}/link");

    // Refused: `view` alone and no employee management (PA-1).
    for (body, rules) in [
        (
            json!({"actor": VERA, "client": "c-globex"}),
            &["LINK-1"][..],
        ),
        (json!({"actor": BOB, "client": "c-globex"}), &[][..]),
        (json!({"actor": RITA, "client": "c-globex"}), &[][..]),
    ] {
        let error = refused(&server, Method::POST, &gus_path, &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }

    let before = export(&server).await;
    let answer = ok(
        &server,
        Method::POST,
        &gus_path,
        &json!({"actor": ANN, "client": "c-globex"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "linked", "{answer}");
    let state = export(&server).await;
    let mut expected = user(&before, "c-globex", GUS).unwrap();
    expected["partner"] = json!("p-acme");
    assert_eq!(
        user(&state, "c-globex", GUS).unwrap(),
        expected,
        "only the link changes"
    );

    // A client never managed, where gus (no partner domain, so no LINK-3) is a plain user:
    // the manual link starts the relationship (REL-1).
    assert_eq!(
        relationship(&server, "c-umbrella", None).await["state"],
        "none"
    );
    let before = export(&server).await;
    let answer = ok(
        &server,
        Method::POST,
        &gus_path,
        &json!({"actor": EDDIE, "client": "c-umbrella"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "linked", "{answer}");
    let state = export(&server).await;
    let mut expected = user(&before, "c-umbrella", GUS).unwrap();
    expected["partner"] = json!("p-acme");
    assert_eq!(user(&state, "c-umbrella", GUS).unwrap(), expected);
    assert_eq!(client(&state, "c-umbrella")["managed_by"], "p-acme");
    let rel = relationship(&server, "c-umbrella", None).await;
    assert_eq!(rel["state"], "active", "{rel}");
    assert_eq!(rel["partner"], "p-acme", "{rel}");

    // Linking again is reported, and changes nobody.
    let answer = ok(
        &server,
        Method::POST,
        &gus_path,
        &json!({"actor": ANN, "client": "c-umbrella"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "already_linked", "{answer}");
    assert_eq!(
        user(&export(&server).await, "c-umbrella", GUS).unwrap(),
        expected
    );
}

#[tokio::test]
async fn link2_link3_a_non_user_or_a_client_of_another_partner_is_refused() {
    let server = agency_server().await;
    // bob is no user of umbrella.
    let error = refused(
        &server,
        Method::POST,
        &format!("/v1/partners/p-acme/employees/{BOB}/link"),
        &json!({"actor": ANN, "client": "c-umbrella"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
    // kim is a user of rivalco, which p-rival manages.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/c-rivalco/users/{KIM}"),
            &json!({"role": "standard", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let kim_path = format!("/v1/partners/p-acme/employees/{KIM}/link");
    let error = refused(
        &server,
        Method::POST,
        &kim_path,
        &json!({"actor": ANN, "client": "c-rivalco"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
    // Not an employee of the partner; a partner the actor is not an employee of; an unknown client.
    refused(
        &server,
        Method::POST,
        &format!("/v1/partners/p-acme/employees/{RON}/link"),
        &json!({"actor": ANN, "client": "c-rivalco"}),
        NOT_FOUND,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &format!("/v1/partners/p-rival/employees/{RON}/link"),
        &json!({"actor": ANN, "client": "c-rivalco"}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &kim_path,
        &json!({"actor": ANN, "client": "c-nope"}),
        NOT_FOUND,
    )
    .await;

    // Allowed: once kim is a user of a client no other partner manages.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/c-umbrella/users/{KIM}"),
            &json!({"role": "standard", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // kim is a verified employee: the upsert itself made her a partner user (LINK-3), so the
    // manual link finds nothing left to do.
    let answer = ok(
        &server,
        Method::POST,
        &kim_path,
        &json!({"actor": ANN, "client": "c-umbrella"}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "already_linked");
    let kim = user(&export(&server).await, "c-umbrella", KIM).unwrap();
    assert_eq!(kim["partner"], "p-acme");
    assert_eq!(kim["seat"], "core");
    assert_eq!(kim["role"], "standard");
}

// ---- REM: deactivation, reactivation, removal --------------------------------------------

#[tokio::test]
async fn rem5_pa1_the_preview_lists_clients_with_crm_names_and_assets_then_removal_uses_its_version()
 {
    let server = agency_server().await;
    let preview = format!("/v1/partners/p-acme/employees/{ANN}/removal-preview");
    let remove = format!("/v1/partners/p-acme/employees/{ANN}/remove");

    let first = ok(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": EDDIE}),
        200,
    )
    .await;
    let clients = first["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2, "{first}");
    let globex = clients.iter().find(|c| c["client"] == "c-globex").unwrap();
    assert_eq!(globex["crm_name"], "Globex (Acme CRM)");
    assert_eq!(
        globex["assets"],
        json!([{"id": "deal-1", "kind": "deal", "name": "Q3 renewal"}])
    );
    let initech = clients.iter().find(|c| c["client"] == "c-initech").unwrap();
    assert_eq!(initech["assets"], json!([]));
    let version = first["version"].as_str().unwrap().to_owned();
    assert!(!version.is_empty());

    // `view` sees the same preview, but cannot remove; no employee management cannot even look.
    let seen = ok(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": VERA}),
        200,
    )
    .await;
    assert_eq!(seen["version"], first["version"]);
    refused(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": BOB}),
        FORBIDDEN,
    )
    .await;
    let error = refused(
        &server,
        Method::POST,
        &remove,
        &json!({"actor": VERA, "clients": ["c-initech"], "version": version}),
        FORBIDDEN,
    )
    .await;
    // PA-1: `view` alone removes nobody.
    assert_rules(&error, &["PA-1", "cam-needs-employee-management"]);
    // A client that is not in the preview; an empty list.
    for body in [
        json!({"actor": EDDIE, "clients": ["c-umbrella"], "version": version}),
        json!({"actor": EDDIE, "clients": [], "version": version}),
    ] {
        refused(&server, Method::POST, &remove, &body, INVALID).await;
    }

    // eddie (REM-2: no user there) removes ann from initech only.
    let answer = ok(
        &server,
        Method::POST,
        &remove,
        &json!({"actor": EDDIE, "clients": ["c-initech"], "version": version}),
        200,
    )
    .await;
    assert_eq!(answer["removed_from"], json!(["c-initech"]), "{answer}");
    let state = export(&server).await;
    assert!(user(&state, "c-initech", ANN).is_none());
    assert!(user(&state, "c-globex", ANN).is_some());
    let removed = events(&server, "user.removed").await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0]["client"], "c-initech");

    // The old version is stale now.
    let error = refused(
        &server,
        Method::POST,
        &remove,
        &json!({"actor": EDDIE, "clients": ["c-globex"], "version": version}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["REM-5"]);
    let again = ok(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": EDDIE}),
        200,
    )
    .await;
    assert_eq!(again["clients"].as_array().unwrap().len(), 1);
    assert_ne!(again["version"], first["version"]);
}

#[tokio::test]
async fn rem5_a_change_between_preview_and_removal_is_refused_and_changes_nothing() {
    let server = agency_server().await;
    let preview = format!("/v1/partners/p-acme/employees/{ANN}/removal-preview");
    let remove = format!("/v1/partners/p-acme/employees/{ANN}/remove");
    let first = ok(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": EDDIE}),
        200,
    )
    .await;

    // A host syncs a new asset of ann's in between.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-globex/assets/deal-2",
            &json!({"kind": "deal", "name": "Q4 upsell", "owner": ANN}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for (body, rules) in [
        (
            json!({"actor": EDDIE, "clients": ["c-globex"], "version": first["version"]}),
            &["REM-5"][..],
        ),
        (
            json!({"actor": EDDIE, "clients": ["c-globex"], "version": "made-up"}),
            &[][..],
        ),
    ] {
        let error = refused(&server, Method::POST, &remove, &body, CONFLICT).await;
        assert_rules(&error, rules);
    }

    let second = ok(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": EDDIE}),
        200,
    )
    .await;
    let globex = second["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "c-globex")
        .unwrap()
        .clone();
    assert_eq!(globex["assets"].as_array().unwrap().len(), 2, "{second}");
    ok(&server, Method::POST, &remove,
        &json!({"actor": EDDIE, "clients": ["c-globex", "c-initech"], "version": second["version"]}), 200).await;
    let state = export(&server).await;
    assert!(user(&state, "c-globex", ANN).is_none() && user(&state, "c-initech", ANN).is_none());
}

#[tokio::test]
async fn rem1_rem2_removal_is_authorized_per_client() {
    let server = agency_server().await;
    // bob is a partner user in globex (active) and hooli (deactivated).
    let preview = format!("/v1/partners/p-acme/employees/{BOB}/removal-preview");
    let remove = format!("/v1/partners/p-acme/employees/{BOB}/remove");
    let first = ok(&server, Method::POST, &preview, &json!({"actor": ANN}), 200).await;
    assert_eq!(first["clients"].as_array().unwrap().len(), 2, "{first}");
    let version = first["version"].clone();

    // otto (another partner) cannot look; vera (`view`) cannot remove anywhere.
    refused(
        &server,
        Method::POST,
        &preview,
        &json!({"actor": OTTO}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &remove,
        &json!({"actor": VERA, "clients": ["c-globex", "c-hooli"], "version": version}),
        FORBIDDEN,
    )
    .await;

    // A partner super admin removes a partner user of its partner from every client, also
    // where it is no user (hooli).
    ok(
        &server,
        Method::POST,
        &remove,
        &json!({"actor": ANN, "clients": ["c-globex", "c-hooli"], "version": version}),
        200,
    )
    .await;
    let state = export(&server).await;
    assert!(user(&state, "c-globex", BOB).is_none());
    assert!(user(&state, "c-hooli", BOB).is_none());
    let removed = events(&server, "user.removed").await;
    assert_eq!(removed.len(), 2);
}

#[tokio::test]
async fn rem1_a_partner_admin_removes_a_partner_user_of_its_client() {
    let server = agency_server().await;
    // pat is a partner admin of globex with no employee management.
    let preview = format!("/v1/partners/p-acme/employees/{BOB}/removal-preview");
    let first = ok(&server, Method::POST, &preview, &json!({"actor": PAT}), 200).await;
    let globex = first["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "c-globex");
    assert!(globex.is_some(), "{first}");
    ok(
        &server,
        Method::POST,
        &format!("/v1/partners/p-acme/employees/{BOB}/remove"),
        &json!({"actor": PAT, "clients": ["c-globex"], "version": first["version"]}),
        200,
    )
    .await;
    assert!(user(&export(&server).await, "c-globex", BOB).is_none());
}

#[tokio::test]
async fn rem2_pa1_partner_managers_deactivate_partner_users_anywhere() {
    let server = agency_server().await;
    let path = format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate");
    // Refused: `view`; a standard partner user; another partner's super admin.
    let error = refused(
        &server,
        Method::POST,
        &path,
        &json!({"actor": VERA}),
        FORBIDDEN,
    )
    .await;
    // PA-1: `view` alone manages nobody from the partner account.
    assert_rules(&error, &["PA-1", "cam-needs-employee-management"]);
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{PAT}/deactivate"),
        &json!({"actor": BOB}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &path,
        &json!({"actor": RITA}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{NINA}/deactivate"),
        &json!({"actor": EDDIE}),
        NOT_FOUND,
    )
    .await;

    // eddie is no user of globex and still deactivates.
    let answer = ok(&server, Method::POST, &path, &json!({"actor": EDDIE}), 200).await;
    assert_eq!(answer["status"], "deactivated", "{answer}");
    assert_eq!(answer["outcome"], "changed", "{answer}");
    assert_eq!(
        user(&export(&server).await, "c-globex", BOB).unwrap()["status"],
        "deactivated"
    );
    // A partner admin of the client too.
    let answer = ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{GUS}/deactivate"),
        &json!({"actor": PAT}),
        200,
    )
    .await;
    assert_eq!(answer["status"], "deactivated");
    assert_eq!(events(&server, "user.deactivated").await.len(), 2);
}

#[tokio::test]
async fn rem3_reactivation_needs_a_partner_admin_in_that_client() {
    let server = agency_server().await;
    let deactivate = |email: &str| format!("/v1/clients/c-globex/partner-users/{email}/deactivate");
    let reactivate = |email: &str| format!("/v1/clients/c-globex/partner-users/{email}/reactivate");
    ok(
        &server,
        Method::POST,
        &deactivate(BOB),
        &json!({"actor": ANN}),
        200,
    )
    .await;

    // eddie (REM-2 deactivates) and vera cannot reactivate; nor bob himself.
    for (body, rules) in [
        (json!({"actor": EDDIE}), &["REM-3"][..]),
        (json!({"actor": VERA}), &[][..]),
        (json!({"actor": BOB}), &[][..]),
    ] {
        let error = refused(&server, Method::POST, &reactivate(BOB), &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }

    let answer = ok(
        &server,
        Method::POST,
        &reactivate(BOB),
        &json!({"actor": KIM}),
        200,
    )
    .await;
    assert_eq!(answer["status"], "active");
    assert_eq!(answer["outcome"], "changed");
    let answer = ok(
        &server,
        Method::POST,
        &reactivate(BOB),
        &json!({"actor": KIM}),
        200,
    )
    .await;
    assert_eq!(answer["outcome"], "unchanged");

    // A deactivated partner admin among active partner users cannot reactivate itself.
    ok(
        &server,
        Method::POST,
        &deactivate(PAT),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &reactivate(PAT),
        &json!({"actor": PAT}),
        FORBIDDEN,
    )
    .await;
    ok(
        &server,
        Method::POST,
        &reactivate(PAT),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    assert_eq!(
        user(&export(&server).await, "c-globex", PAT).unwrap()["status"],
        "active"
    );
}

#[tokio::test]
async fn rem7_when_every_partner_user_is_deactivated_the_partner_admin_reactivates() {
    let server = agency_server().await;
    let reactivate = |email: &str| format!("/v1/clients/c-hooli/partner-users/{email}/reactivate");
    // In hooli dana (partner admin) and bob are both deactivated. bob is no partner admin; ann
    // is no user of hooli.
    refused(
        &server,
        Method::POST,
        &reactivate(BOB),
        &json!({"actor": BOB}),
        FORBIDDEN,
    )
    .await;
    let error = refused(
        &server,
        Method::POST,
        &reactivate(DANA),
        &json!({"actor": ANN}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["REM-3"]);

    let answer = ok(
        &server,
        Method::POST,
        &reactivate(DANA),
        &json!({"actor": DANA}),
        200,
    )
    .await;
    assert_eq!(answer["status"], "active", "{answer}");
    // dana is an active partner admin again and reactivates bob.
    ok(
        &server,
        Method::POST,
        &reactivate(BOB),
        &json!({"actor": DANA}),
        200,
    )
    .await;
    let state = export(&server).await;
    assert_eq!(user(&state, "c-hooli", DANA).unwrap()["status"], "active");
    assert_eq!(user(&state, "c-hooli", BOB).unwrap()["status"], "active");
}

#[tokio::test]
async fn rem7_a_deactivated_partner_admin_removes_them_all() {
    let server = agency_server().await;
    let preview = ok(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/removal-preview",
        &json!({"actor": EDDIE}),
        200,
    )
    .await;
    // bob (deactivated, no partner admin) cannot remove them.
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/remove-all",
        &json!({"actor": BOB, "version": preview["version"]}),
        FORBIDDEN,
    )
    .await;
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/remove-all",
        &json!({"actor": DANA, "version": preview["version"]}),
        200,
    )
    .await;
    assert!(partner_users(&export(&server).await, "c-hooli", "p-acme").is_empty());
}

#[tokio::test]
async fn rem4_deactivation_keeps_the_relationship_and_checks_see_it_at_once() {
    let server = agency_server().await;
    // Every partner user of hooli is deactivated: still an active relationship.
    assert_eq!(
        relationship(&server, "c-hooli", None).await["state"],
        "active"
    );
    let check = server.check(BOB, "crm.objects.view", "c-globex").await;
    assert_eq!(check["decision"], "Allow", "{check}");

    ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    let check = server.check(BOB, "crm.objects.view", "c-globex").await;
    assert_eq!(
        check["decision"], "Deny",
        "the next request sees the deactivation: {check}"
    );
    assert!(
        check["diagnostics"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("deactivated-user")),
        "{check}"
    );
    let rel = relationship(&server, "c-globex", None).await;
    assert_eq!(rel["state"], "active", "REM-4: {rel}");
    assert_eq!(rel["partner"], "p-acme");

    // Deactivate every other partner user too: still active.
    for email in [PAT, KIM, GUS, "zed@acme.example"] {
        ok(
            &server,
            Method::POST,
            &format!("/v1/clients/c-globex/partner-users/{email}/deactivate"),
            &json!({"actor": ANN}),
            200,
        )
        .await;
    }
    ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{ANN}/deactivate"),
        &json!({"actor": EDDIE}),
        200,
    )
    .await;
    assert_eq!(
        relationship(&server, "c-globex", None).await["state"],
        "active"
    );

    ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{BOB}/reactivate"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    let check = server.check(BOB, "crm.objects.view", "c-globex").await;
    assert_eq!(check["decision"], "Allow", "{check}");
}

#[tokio::test]
async fn rem6_client_removal_preview_and_remove_all() {
    let server = agency_server().await;
    let preview_path = "/v1/clients/c-globex/partner-users/removal-preview";
    let remove_path = "/v1/clients/c-globex/partner-users/remove-all";

    // The client's own super admin uses no CAM; bob may not see the users.
    for (body, rules) in [
        (json!({"actor": OWNER}), &["PA-1"][..]),
        (json!({"actor": BOB}), &[][..]),
    ] {
        let error = refused(&server, Method::POST, preview_path, &body, FORBIDDEN).await;
        assert_rules(&error, rules);
    }

    let preview = ok(
        &server,
        Method::POST,
        preview_path,
        &json!({"actor": ANN}),
        200,
    )
    .await;
    let users = preview["users"].as_array().unwrap();
    let mut emails: Vec<&str> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    emails.sort_unstable();
    assert_eq!(
        emails,
        [ANN, BOB, GUS, KIM, PAT, "zed@acme.example"],
        "{preview}"
    );
    let ann = users.iter().find(|u| u["email"] == ANN).unwrap();
    assert_eq!(ann["assets"][0]["id"], "deal-1");
    let version = preview["version"].clone();

    // `view` previews but cannot remove; a stale version is refused.
    let seen = ok(
        &server,
        Method::POST,
        preview_path,
        &json!({"actor": VERA}),
        200,
    )
    .await;
    assert_eq!(seen["version"], version);
    refused(
        &server,
        Method::POST,
        remove_path,
        &json!({"actor": VERA, "version": version}),
        FORBIDDEN,
    )
    .await;
    let error = refused(
        &server,
        Method::POST,
        remove_path,
        &json!({"actor": ANN, "version": "stale"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["REM-6"]);

    let answer = ok(
        &server,
        Method::POST,
        remove_path,
        &json!({"actor": ANN, "version": version}),
        200,
    )
    .await;
    assert_eq!(answer["count"], 6, "{answer}");
    let state = export(&server).await;
    assert!(partner_users(&state, "c-globex", "p-acme").is_empty());
    assert!(user(&state, "c-globex", OWNER).is_some() && user(&state, "c-globex", CLARA).is_some());
    assert_eq!(events(&server, "user.removed").await.len(), 6);
    assert_eq!(events(&server, "relationship.ending").await.len(), 1);
}

#[tokio::test]
async fn rem8_recovery_by_a_partner_super_admin_who_is_no_user_there() {
    let server = agency_server().await;
    let preview = ok(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/removal-preview",
        &json!({"actor": ANN}),
        200,
    )
    .await;
    let users = preview["users"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{preview}");
    assert!(
        users.iter().all(|u| u["status"] == "deactivated"),
        "{preview}"
    );

    // vera (`view`) and bob cannot; another partner's super admin finds none of its users.
    for body in [
        json!({"actor": VERA, "version": preview["version"]}),
        json!({"actor": BOB, "version": preview["version"]}),
    ] {
        refused(
            &server,
            Method::POST,
            "/v1/clients/c-hooli/partner-users/remove-all",
            &body,
            FORBIDDEN,
        )
        .await;
    }
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/remove-all",
        &json!({"actor": RITA, "version": preview["version"]}),
        CONFLICT,
    )
    .await;

    ok(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/remove-all",
        &json!({"actor": ANN, "version": preview["version"]}),
        200,
    )
    .await;
    let state = export(&server).await;
    let left: Vec<_> = client(&state, "c-hooli")["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].clone())
        .collect();
    assert_eq!(left, vec![json!(HANK)]);
    assert_eq!(
        relationship(&server, "c-hooli", None).await["state"],
        "ending"
    );
}

#[tokio::test]
async fn rem9_a_partner_never_removes_a_clients_own_user() {
    let server = agency_server().await;
    // Through the CAM: deactivation and removal of the client's own users.
    for email in [CLARA, OWNER] {
        let error = refused(
            &server,
            Method::POST,
            &format!("/v1/clients/c-globex/partner-users/{email}/deactivate"),
            &json!({"actor": ANN}),
            FORBIDDEN,
        )
        .await;
        assert_rules(&error, &["REM-9", "cam-targets-own-partner-users-only"]);
    }
    refused(
        &server,
        Method::POST,
        &format!("/v1/partners/p-acme/employees/{CLARA}/removal-preview"),
        &json!({"actor": ANN}),
        NOT_FOUND,
    )
    .await;
    // From inside the client account, with users.add_edit.
    let error = refused(
        &server,
        Method::DELETE,
        &format!("/v1/clients/c-globex/users/{CLARA}"),
        &json!({"actor": ANN}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["REM-9"]);
    // Another partner's employee never touches p-acme's partner users either.
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate"),
        &json!({"actor": RITA}),
        FORBIDDEN,
    )
    .await;

    // Allowed: the partner's own partner users; the client's super admin removes a partner user.
    ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    ok(
        &server,
        Method::DELETE,
        &format!("/v1/clients/c-globex/users/{GUS}"),
        &json!({"actor": OWNER}),
        200,
    )
    .await;
    let state = export(&server).await;
    assert!(user(&state, "c-globex", GUS).is_none());
    assert!(user(&state, "c-globex", CLARA).is_some());
}

// ---- REL: the managed relationship --------------------------------------------------------

#[tokio::test]
async fn rel_remove_all_makes_it_ending_for_60_days_and_re_adding_makes_it_active() {
    let server = agency_server().await;
    // REL-1: a client never managed has none.
    let none = relationship(&server, "c-umbrella", None).await;
    assert_eq!(none["state"], "none", "{none}");
    assert!(
        none["partner"].is_null() && none["ends_at"].is_null(),
        "{none}"
    );
    assert_eq!(
        relationship(&server, "c-globex", None).await["state"],
        "active"
    );
    let (status, body) = server
        .get("/v1/clients/c-globex/relationship?at=yesterday")
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");

    // REL-2: removing every partner user of the partner: ending, 60 days after the last activity.
    let preview = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users/removal-preview",
        &json!({"actor": ANN}),
        200,
    )
    .await;
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users/remove-all",
        &json!({"actor": ANN, "version": preview["version"]}),
        200,
    )
    .await;
    let ending = relationship(&server, "c-globex", None).await;
    assert_eq!(ending["state"], "ending", "{ending}");
    assert_eq!(ending["partner"], "p-acme", "{ending}");
    let last = Timestamp::parse(ending["last_activity_at"].as_str().unwrap()).unwrap();
    let ends_at = Timestamp::parse(ending["ends_at"].as_str().unwrap()).unwrap();
    assert_eq!(ends_at, last.plus_days(60), "{ending}");

    // REL-5: at any instant.
    let at = |days: i64| last.plus_days(days).to_string();
    let day59 = relationship(&server, "c-globex", Some(&at(59))).await;
    assert_eq!(day59["state"], "ending", "{day59}");
    assert_eq!(day59["ends_at"], ending["ends_at"]);
    let day61 = relationship(&server, "c-globex", Some(&at(61))).await;
    assert_eq!(day61["state"], "ended", "{day61}");
    assert_eq!(
        relationship(&server, "c-globex", Some(&at(60))).await["state"],
        "ended"
    );

    // REL-4: a partner user again while ending: active again.
    let token = issue(&server, "p-acme", ANN, ANN).await;
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": OWNER, "client": "c-globex"}),
        201,
    )
    .await;
    let active = relationship(&server, "c-globex", None).await;
    assert_eq!(active["state"], "active", "{active}");
    assert_eq!(active["partner"], "p-acme");
    assert!(active["ends_at"].is_null(), "{active}");
    assert_eq!(
        relationship(&server, "c-globex", Some(&at(61))).await["state"],
        "active"
    );
}

#[tokio::test]
async fn rel5_before_the_relationship_started_it_is_none() {
    let server = agency_server().await;
    let token = issue(&server, "p-acme", ANN, NINA).await;
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        201,
    )
    .await;
    assert_eq!(
        relationship(&server, "c-umbrella", None).await["state"],
        "active"
    );
    let past = relationship(&server, "c-umbrella", Some("2000-01-01T00:00:00Z")).await;
    assert_eq!(
        past["state"], "none",
        "umbrella was never managed in 2000: {past}"
    );
}

#[tokio::test]
async fn rel4_after_ended_another_partner_may_start_a_relationship() {
    // rivalco: p-rival's users are gone; its relationship's last activity is long past (ended)
    // in one client, recent (ending) in the other.
    let recent = Timestamp::now().plus_days(-10).to_string();
    let doc = agency_with(|doc| {
        let clients = doc["clients"].as_array_mut().unwrap();
        let rivalco = clients.iter_mut().find(|c| c["id"] == "c-rivalco").unwrap();
        rivalco["users"]
            .as_array_mut()
            .unwrap()
            .retain(|u| u["email"] != RON);
        rivalco["relationship"] = json!({"partner": "p-rival",
            "started_at": "2020-01-01T00:00:00Z", "last_activity_at": "2020-01-01T00:00:00Z"});
        let mut other = rivalco.clone();
        other["id"] = json!("c-rivalco2");
        other["relationship"]["last_activity_at"] = json!(recent);
        clients.push(other);
    });
    let server = server_with(&doc).await;
    assert_eq!(
        relationship(&server, "c-rivalco", None).await["state"],
        "ended"
    );
    assert_eq!(
        relationship(&server, "c-rivalco2", None).await["state"],
        "ending"
    );

    let token = issue(&server, "p-acme", ANN, ANN).await;
    let error = refused(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": ROS, "client": "c-rivalco2"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": ROS, "client": "c-rivalco"}),
        201,
    )
    .await;
    let rel = relationship(&server, "c-rivalco", None).await;
    assert_eq!(rel["state"], "active", "{rel}");
    assert_eq!(rel["partner"], "p-acme", "{rel}");
}

/// The relationship history of a client (REL-4, REL-5).
async fn history(server: &TestServer, client_id: &str) -> Vec<Value> {
    let (status, body) = server
        .get(&format!("/v1/clients/{client_id}/relationship/history"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["client"], client_id, "{body}");
    body["relationships"].as_array().unwrap().clone()
}

/// An instant of an answer.
fn instant(value: &Value) -> Timestamp {
    Timestamp::parse(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not an instant: {value}")),
    )
    .unwrap()
}

/// Removes every partner user of p-acme from a client, as ann (REM-6).
async fn remove_all(server: &TestServer, client_id: &str) {
    let preview = ok(
        server,
        Method::POST,
        &format!("/v1/clients/{client_id}/partner-users/removal-preview"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    ok(
        server,
        Method::POST,
        &format!("/v1/clients/{client_id}/partner-users/remove-all"),
        &json!({"actor": ANN, "version": preview["version"]}),
        200,
    )
    .await;
}

/// Moves every instant of a client's relationship history `days` days (negative: into the
/// past), through export and import: the server's clock cannot be moved, its history can.
async fn shift_history(server: &TestServer, client_id: &str, days: i64) {
    fn shift(value: &mut Value, days: i64) {
        match value {
            Value::String(text) => {
                if let Ok(t) = Timestamp::parse(text) {
                    *text = t.plus_days(days).to_string();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| shift(v, days)),
            Value::Object(map) => map.values_mut().for_each(|v| shift(v, days)),
            _ => {}
        }
    }
    let mut state = export(server).await;
    let client = state["clients"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"] == client_id)
        .unwrap();
    assert!(client["relationship"]["periods"].is_array(), "{client}");
    shift(&mut client["relationship"], days);
    server.import(&state).await;
}

#[tokio::test]
async fn rel2_rel4_rel5_after_ended_a_new_relationship_starts_and_the_past_reads_from_history() {
    let server = agency_server().await;
    // REL-2: every partner user of p-acme removed from globex: ending.
    remove_all(&server, "c-globex").await;
    let ending = relationship(&server, "c-globex", None).await;
    assert_eq!(ending["state"], "ending", "{ending}");
    let first_start = instant(&ending["started_at"]);
    let listed = history(&server, "c-globex").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "ending", "{listed:?}");
    assert_eq!(listed[0]["partner"], "p-acme");
    assert!(listed[0]["ending_since"].is_string(), "{listed:?}");
    assert!(listed[0]["ended_at"].is_null(), "{listed:?}");

    // 100 days later (the history moved back 100 days; the first relationship also started 30
    // days before its removal): ended, 60 days after the last activity, the removal itself.
    shift_history(&server, "c-globex", -100).await;
    let mut state = export(&server).await;
    let globex = state["clients"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"] == "c-globex")
        .unwrap();
    let started = &mut globex["relationship"]["periods"][0]["started_at"];
    *started = json!(instant(started).plus_days(-30).to_string());
    server.import(&state).await;
    let ended = relationship(&server, "c-globex", None).await;
    assert_eq!(ended["state"], "ended", "{ended}");
    let removal = instant(&history(&server, "c-globex").await[0]["ending_since"]);
    let first_start = first_start.plus_days(-130);
    assert_eq!(instant(&ended["started_at"]), first_start, "{ended}");
    assert_eq!(instant(&ended["ends_at"]), removal.plus_days(60), "{ended}");
    assert_eq!(instant(&ended["last_activity_at"]), removal, "{ended}");

    // REL-4: a partner user of the same partner after `ended`: a new relationship, with a
    // start of its own.
    let before_new = Timestamp::now();
    let token = issue(&server, "p-acme", ANN, ANN).await;
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": OWNER, "client": "c-globex"}),
        201,
    )
    .await;
    let active = relationship(&server, "c-globex", None).await;
    assert_eq!(active["state"], "active", "{active}");
    assert_eq!(active["partner"], "p-acme", "{active}");
    let second_start = instant(&active["started_at"]);
    assert!(second_start >= before_new, "{active}");
    assert!(active["ends_at"].is_null(), "{active}");

    // The history lists both, oldest first; the ended one keeps its start and end.
    let listed = history(&server, "c-globex").await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["partner"], "p-acme");
    assert_eq!(listed[0]["state"], "ended");
    assert_eq!(instant(&listed[0]["started_at"]), first_start);
    assert_eq!(instant(&listed[0]["ending_since"]), removal);
    assert_eq!(instant(&listed[0]["ended_at"]), removal.plus_days(60));
    assert_eq!(instant(&listed[0]["last_activity_at"]), removal);
    assert_eq!(listed[1]["partner"], "p-acme");
    assert_eq!(listed[1]["state"], "active");
    assert_eq!(instant(&listed[1]["started_at"]), second_start);
    assert!(listed[1]["ending_since"].is_null(), "{listed:?}");
    assert!(listed[1]["ended_at"].is_null(), "{listed:?}");

    // REL-5: instants inside the first relationship are answered from it, as they were then.
    let at = |t: Timestamp| t.to_string();
    let five_days_before =
        relationship(&server, "c-globex", Some(&at(removal.plus_days(-5)))).await;
    assert_eq!(five_days_before["state"], "active", "{five_days_before}");
    assert_eq!(instant(&five_days_before["started_at"]), first_start);
    assert!(five_days_before["ends_at"].is_null(), "{five_days_before}");
    assert!(
        instant(&five_days_before["last_activity_at"]) <= removal.plus_days(-5),
        "{five_days_before}"
    );
    let while_ending = relationship(&server, "c-globex", Some(&at(removal.plus_days(10)))).await;
    assert_eq!(while_ending["state"], "ending", "{while_ending}");
    assert_eq!(instant(&while_ending["started_at"]), first_start);
    assert_eq!(instant(&while_ending["ends_at"]), removal.plus_days(60));
    assert_eq!(instant(&while_ending["last_activity_at"]), removal);
    let between = relationship(&server, "c-globex", Some(&at(removal.plus_days(70)))).await;
    assert_eq!(between["state"], "ended", "{between}");
    assert_eq!(instant(&between["started_at"]), first_start);
    let before_any = relationship(&server, "c-globex", Some(&at(first_start.plus_days(-1)))).await;
    assert_eq!(before_any["state"], "none", "{before_any}");

    // REL-4, first half: ending, then a partner user comes back: the same relationship is
    // active again.
    remove_all(&server, "c-globex").await;
    assert_eq!(
        relationship(&server, "c-globex", None).await["state"],
        "ending"
    );
    let token = issue(&server, "p-acme", ANN, ANN).await;
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": OWNER, "client": "c-globex"}),
        201,
    )
    .await;
    let resumed = relationship(&server, "c-globex", None).await;
    assert_eq!(resumed["state"], "active", "{resumed}");
    assert_eq!(instant(&resumed["started_at"]), second_start, "{resumed}");
    let listed = history(&server, "c-globex").await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[1]["state"], "active");
    assert!(listed[1]["ending_since"].is_null(), "{listed:?}");
    assert_eq!(events(&server, "relationship.ending").await.len(), 2);
}

#[tokio::test]
async fn rel5_five_days_before_a_removal_the_relationship_was_active() {
    // A first-edition record: globex managed since 30 days ago.
    let started = Timestamp::now().plus_days(-30);
    let doc = agency_with(|doc| {
        let globex = doc["clients"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| c["id"] == "c-globex")
            .unwrap();
        globex["relationship"] = json!({"partner": "p-acme",
            "started_at": started.to_string(), "last_activity_at": started.to_string()});
    });
    let server = server_with(&doc).await;
    remove_all(&server, "c-globex").await;
    let now = relationship(&server, "c-globex", None).await;
    assert_eq!(now["state"], "ending", "{now}");
    let removal = instant(&history(&server, "c-globex").await[0]["ending_since"]);

    let at = removal.plus_days(-5);
    let then = relationship(&server, "c-globex", Some(&at.to_string())).await;
    assert_eq!(then["state"], "active", "{then}");
    assert!(then["ends_at"].is_null(), "{then}");
    assert_eq!(instant(&then["started_at"]), started, "{then}");
    assert!(
        instant(&then["last_activity_at"]) <= at,
        "the last activity as of {at}, not later: {then}"
    );
    assert_eq!(instant(&then["at"]), at);
    // And the history says so too.
    let listed = history(&server, "c-globex").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(instant(&listed[0]["started_at"]), started);
}

#[tokio::test]
async fn rel5_the_history_of_a_client_never_managed_is_empty_and_an_unknown_client_is_404() {
    let server = agency_server().await;
    assert!(history(&server, "c-umbrella").await.is_empty());
    let (status, body) = server
        .get("/v1/clients/c-nowhere/relationship/history")
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // A client imported as managed, with partner users and no history yet: one relationship
    // of unknown start, active, like the relationship read says.
    let listed = history(&server, "c-globex").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["state"], "active");
    assert_eq!(
        relationship(&server, "c-globex", None).await["state"],
        "active"
    );
}

// ---- idempotency, audit ----------------------------------------------------------------------

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_applies_once() {
    let server = agency_server().await;
    let path = "/v1/clients/c-globex/partner-users";
    let body = json!({"actor": ANN, "employees": [NINA], "permission_set": "Sales rep"});

    let (status, replayed, first) = server.post_keyed(path, "key-1", &body).await;
    assert_eq!(status, 201, "{first}");
    assert!(!replayed);
    let (revision, state) = export_with_revision(&server).await;
    assert_eq!(first["revision"], revision);

    let (status, replayed, second) = server.post_keyed(path, "key-1", &body).await;
    assert_eq!(status, 201, "{second}");
    assert!(replayed, "idempotent-replayed: true");
    assert_eq!(second, first);
    let (again, after) = export_with_revision(&server).await;
    assert_eq!(again, revision, "a replay writes nothing");
    assert_eq!(after, state);
    assert_eq!(
        events(&server, "user.created").await.len(),
        1,
        "applied once"
    );

    // The same key with another request: 409, nothing applied.
    let other = json!({"actor": ANN, "employees": [EDDIE], "permission_set": "Sales rep"});
    let (status, _, answer) = server.post_keyed(path, "key-1", &other).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict");
    assert_eq!(export(&server).await, state);
    assert!(user(&export(&server).await, "c-globex", EDDIE).is_none());

    // A refusal is replayed as the same refusal.
    let deny = json!({"actor": VERA});
    let deny_path = format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate");
    let (status, _, first) = server.post_keyed(&deny_path, "key-2", &deny).await;
    assert_eq!(status, 403, "{first}");
    let (status, _, second) = server.post_keyed(&deny_path, "key-2", &deny).await;
    assert_eq!(status, 403, "{second}");
    assert_eq!(second["error"]["rules"], first["error"]["rules"]);
    assert_eq!(export(&server).await, state);
}

#[tokio::test]
async fn the_audit_log_lists_allowed_and_denied_commands_with_paging_pa1() {
    let server = agency_server().await;
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users",
        &json!({"actor": ANN, "employees": [NINA], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{BOB}/deactivate"),
        &json!({"actor": VERA}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-globex/partner-users/{CLARA}/deactivate"),
        &json!({"actor": ANN}),
        FORBIDDEN,
    )
    .await;
    refused(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users/remove-all",
        &json!({"actor": ANN, "version": "stale"}),
        CONFLICT,
    )
    .await;
    // Another client's record.
    refused(
        &server,
        Method::POST,
        &format!("/v1/partners/p-acme/employees/{BOB}/link"),
        &json!({"actor": ANN, "client": "c-umbrella"}),
        CONFLICT,
    )
    .await;

    let (status, page) = server.get("/v1/audit?client=c-globex").await;
    assert_eq!(status, 200, "{page}");
    let records = page["records"].as_array().unwrap().clone();
    assert_eq!(records.len(), 4, "{page}");
    assert!(page["next"].is_null());
    assert!(records.iter().all(|r| r["client"] == "c-globex"), "{page}");

    let added = &records[0];
    assert_eq!(added["command"], "partner_users.add");
    assert_eq!(added["actor"], ANN);
    assert_eq!(added["decision"], "allow");
    assert_eq!(added["outcome"], "applied");
    assert!(
        added["policies"]
            .as_array()
            .unwrap()
            .contains(&json!("partner-admin-manages-partner-users")),
        "{added}"
    );
    assert!(
        added["rules"].as_array().unwrap().contains(&json!("ADD-1")),
        "{added}"
    );
    assert!(
        added["revision"].as_u64().is_some() && added["time"].is_string(),
        "{added}"
    );

    let vera = &records[1];
    assert_eq!(vera["actor"], VERA);
    assert_eq!(vera["command"], "partner_user.deactivate");
    assert_eq!(vera["decision"], "deny");
    assert_eq!(vera["outcome"], "denied");
    assert!(
        vera["rules"].as_array().unwrap().contains(&json!("PA-1")),
        "{vera}"
    );
    assert!(vera["message"].is_string(), "{vera}");

    let clara = &records[2];
    assert_eq!(clara["decision"], "deny");
    assert!(
        clara["policies"]
            .as_array()
            .unwrap()
            .contains(&json!("cam-targets-own-partner-users-only")),
        "{clara}"
    );
    assert!(
        clara["rules"].as_array().unwrap().contains(&json!("REM-9")),
        "{clara}"
    );

    let stale = &records[3];
    assert_eq!(stale["outcome"], "conflict");
    assert_eq!(stale["rules"], json!(["REM-6"]));

    // Paging: one record at a time gives the same records.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = server
            .get(&format!("/v1/audit?client=c-globex&limit=1&after={after}"))
            .await;
        assert_eq!(status, 200, "{page}");
        paged.extend(page["records"].as_array().unwrap().iter().cloned());
        match page["next"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
        assert!(paged.len() <= records.len(), "paging does not end");
    }
    assert_eq!(paged, records);
    let seqs: Vec<u64> = records.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    // Unfiltered, the other client's refusal is there too.
    let (_, all) = server.get("/v1/audit?limit=1000").await;
    let umbrella = all["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["client"] == "c-umbrella")
        .cloned()
        .unwrap();
    assert_eq!(umbrella["outcome"], "conflict");
    assert_eq!(umbrella["rules"], json!(["LINK-2"]));
}
