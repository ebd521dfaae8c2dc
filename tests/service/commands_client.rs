//! Commands issued in the client account, over HTTP: super admin to partner admin (MIG-1..4),
//! creating users and seats (SEAT-2..9), client-side permission sets (SEAT-4), client-side
//! removal (REM-9), the audit of every command (OP-1, OP-3), bad input (OP-2), the error table
//! of the API for commands, the MIG-4 invariant and ADD-6 under concurrent requests, and the
//! Client Access Manager's reads.
//!
//! Every refused or failed command is checked to change nothing: the state document of
//! `GET /v1/admin/export` (which holds no audit records) is the same before and after.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support;
use crate::support::faults::FaultStore;
use crate::support::harness::{self, TestServer};

const GLOBEX: &str = "c-globex";
const INITECH: &str = "c-initech";

const OWNER: &str = "owner@globex.example";
const CLARA: &str = "clara@globex.example";
const BILL: &str = "bill@globex.example";
const SALLY: &str = "sally@globex.example";
const ANN: &str = "ann@acme.example";
const KIM: &str = "kim@acme.example";
const BOB: &str = "bob@acme.example";
const GUS: &str = "gus@gmail.example";
const EDDIE: &str = "eddie@acme.example";
const VERA: &str = "vera@acme.example";
const OTTO: &str = "otto@apps.example";
const IAN: &str = "ian@initech.example";
const SAM: &str = "sam@acme.example";
const SUE: &str = "sue@acme.example";
const OLGA: &str = "olga@apps.example";
const LENA: &str = "lena@initech.example";
const ZED: &str = "zed@acme.example";

// ---- helpers --------------------------------------------------------------------------------

async fn agency_server() -> TestServer {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::agency()).await;
    server
}

async fn export(server: &TestServer) -> Value {
    let (status, body) = server.get("/v1/admin/export").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Asserts that the state is still `before`.
async fn assert_unchanged(server: &TestServer, before: &Value, what: &str) {
    assert_eq!(
        &export(server).await,
        before,
        "{what}: a refused or failed command changed the state"
    );
}

/// A user's record in a client of a state document.
fn user_in(state: &Value, client: &str, email: &str) -> Option<Value> {
    state["clients"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == client)?["users"]
        .as_array()?
        .iter()
        .find(|u| u["email"] == email)
        .cloned()
}

async fn user(server: &TestServer, client: &str, email: &str) -> Value {
    user_in(&export(server).await, client, email)
        .unwrap_or_else(|| panic!("`{email}` is not a user of `{client}`"))
}

/// The active super admins of a client.
fn active_super_admins(state: &Value, client: &str) -> Vec<String> {
    state["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == client)
        .unwrap()["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "super_admin" && u["status"] == "active")
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

/// `DELETE /v1/clients/{client}/users/{email}` by `actor`.
async fn remove(
    server: &TestServer,
    client: &str,
    email: &str,
    actor: &str,
) -> (StatusCode, Value) {
    server
        .send(
            Method::DELETE,
            &format!("/v1/clients/{client}/users/{email}"),
            Some(&json!({"actor": actor})),
        )
        .await
}

async fn migrate(
    server: &TestServer,
    client: &str,
    actor: &str,
    user: &str,
    keep_billing: bool,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/clients/{client}/partner-admins"),
            &json!({"actor": actor, "user": user, "keep_billing": keep_billing}),
        )
        .await
}

async fn create(
    server: &TestServer,
    client: &str,
    actor: &str,
    email: &str,
    seat: &str,
    set: &str,
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/clients/{client}/users"),
            &json!({"actor": actor, "email": email, "seat": seat, "permission_set": set}),
        )
        .await
}

async fn set_seat(
    server: &TestServer,
    client: &str,
    actor: &str,
    email: &str,
    seat: &str,
) -> (StatusCode, Value) {
    server
        .put(
            &format!("/v1/clients/{client}/users/{email}/seat"),
            &json!({"actor": actor, "seat": seat}),
        )
        .await
}

async fn set_client_set(
    server: &TestServer,
    client: &str,
    actor: &str,
    email: &str,
    set: &str,
) -> (StatusCode, Value) {
    server
        .put(
            &format!("/v1/clients/{client}/users/{email}/permission-set"),
            &json!({"actor": actor, "permission_set": set}),
        )
        .await
}

async fn assign_seats(
    server: &TestServer,
    client: &str,
    actor: &str,
    users: &[&str],
) -> (StatusCode, Value) {
    server
        .post(
            &format!("/v1/clients/{client}/seats"),
            &json!({"actor": actor, "users": users, "seat": "partner"}),
        )
        .await
}

/// Asserts an error answer: status, code, a non-empty message.
/// How a command is refused: the status and the error's `code`.
type Refusal = (StatusCode, &'static str);
const FORBIDDEN: Refusal = (StatusCode::FORBIDDEN, "forbidden");
const CONFLICT: Refusal = (StatusCode::CONFLICT, "conflict");
const NOT_FOUND: Refusal = (StatusCode::NOT_FOUND, "not_found");
const INVALID: Refusal = (StatusCode::BAD_REQUEST, "invalid_request");

/// Asserts an error answer: this status and code, and a message.
fn assert_error(what: &str, status: StatusCode, body: &Value, (expected, code): Refusal) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: no message: {body}"
    );
}

/// The `rules` of an error answer.
fn rules(body: &Value) -> Vec<String> {
    body["error"]["rules"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn assert_rules_contain(what: &str, body: &Value, expected: &[&str]) {
    let rules = rules(body);
    for r in expected {
        assert!(
            rules.iter().any(|x| x == r),
            "{what}: `{r}` not among the rules {rules:?}: {body}"
        );
    }
}

fn message(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The decision of one check.
async fn decision(server: &TestServer, principal: &str, action: &str, client: &str) -> String {
    server.check(principal, action, client).await["decision"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The audit records of a client, oldest first.
async fn audit(server: &TestServer, client: &str) -> Vec<Value> {
    let (status, body) = server
        .get(&format!("/v1/audit?client={client}&limit=1000"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["records"].as_array().unwrap().clone()
}

/// The outbox, oldest first.
async fn events(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.get("/v1/events?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["records"].as_array().unwrap().clone()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const PARTNER_ADMIN_PERMISSIONS: [&str; 7] = [
    "crm.objects.view",
    "crm.objects.edit",
    "hubs.access",
    "apps.manage",
    "reports.access",
    "users.add_edit",
    "multi_account.manage",
];

/// A small account whose only super admin, sam, is an Acme employee linked to Acme; ann is
/// its partner admin, clive a client user who may manage super admins.
fn solo_state() -> Value {
    json!({
        "partners": [{
            "id": "p-acme", "name": "Acme Agency", "tier": "solutions_partner",
            "email_domains": ["acme.example"],
            "employees": [
                {"email": ANN, "super_admin": true, "employee_management": "view_edit"},
                {"email": SAM, "super_admin": false, "employee_management": "view_edit"}
            ],
            "permission_sets": [{"name": "Sales rep", "permissions": ["crm.objects.edit", "reports.access"]}],
            "crm_names": {}
        }],
        "clients": [{
            "id": "c-solo", "official_name": "Solo", "pricing_model": "seat_based",
            "managed_by": "p-acme",
            "users": [
                {"email": SAM, "role": "super_admin", "seat": "core", "partner": "p-acme"},
                {"email": ANN, "role": "partner_admin", "seat": "partner", "partner": "p-acme",
                 "permissions": PARTNER_ADMIN_PERMISSIONS},
                {"email": "clive@solo.example", "role": "standard", "seat": "core",
                 "permissions": ["users.add_edit", "superadmins.manage"]}
            ],
            "assets": [],
            "permission_sets": [{"name": "Support", "permissions": ["crm.objects.view"]}]
        }]
    })
}

/// One account, `c-many`, with `n` active super admins `sa00@...` (Acme employees linked to
/// Acme when `linked`), and rex, a client user who may manage super admins. Ann is Acme's
/// partner-account super admin (not a user of the account).
fn many_super_admins_state(n: usize, linked: bool) -> Value {
    let domain = if linked {
        "acme.example"
    } else {
        "many.example"
    };
    let admins: Vec<String> = (0..n).map(|i| format!("sa{i:02}@{domain}")).collect();
    let mut employees =
        vec![json!({"email": ANN, "super_admin": true, "employee_management": "view_edit"})];
    let mut users = vec![
        json!({"email": "rex@many.example", "role": "standard", "seat": "core",
        "permissions": ["users.add_edit", "superadmins.manage"]}),
    ];
    for a in &admins {
        if linked {
            employees.push(
                json!({"email": a, "super_admin": false, "employee_management": "view_edit"}),
            );
            users.push(
                json!({"email": a, "role": "super_admin", "seat": "core", "partner": "p-acme"}),
            );
        } else {
            users.push(json!({"email": a, "role": "super_admin", "seat": "core"}));
        }
    }
    json!({
        "partners": [{
            "id": "p-acme", "name": "Acme Agency", "tier": "solutions_partner",
            "email_domains": ["acme.example"], "employees": employees,
            "permission_sets": [], "crm_names": {}
        }],
        "clients": [{
            "id": "c-many", "official_name": "Many", "pricing_model": "seat_based",
            "managed_by": if linked { json!("p-acme") } else { Value::Null },
            "users": users, "assets": [],
            "permission_sets": [{"name": "Support", "permissions": ["crm.objects.view"]}]
        }]
    })
}

fn sa(i: usize, linked: bool) -> String {
    if linked {
        format!("sa{i:02}@acme.example")
    } else {
        format!("sa{i:02}@many.example")
    }
}

// ---- MIG ------------------------------------------------------------------------------------

#[tokio::test]
async fn mig1_a_partner_employee_super_admin_changes_itself_to_partner_admin() {
    let server = agency_server().await;
    let before = export(&server).await;

    // The client's own super admin is no partner employee: refused, with the deciding rules.
    let (status, body) = migrate(&server, INITECH, IAN, IAN, false).await;
    assert_error("ian changes itself", status, &body, FORBIDDEN);
    assert_rules_contain("ian changes itself", &body, &["MIG-1"]);
    // An employee of a partner of tier `other` (PA-2).
    let (status, body) = migrate(&server, INITECH, OLGA, OLGA, false).await;
    assert_error("olga changes itself", status, &body, FORBIDDEN);
    assert_rules_contain("olga changes itself", &body, &["PA-2"]);
    // A super admin changes only itself (MIG-2 needs a partner admin).
    let (status, body) = migrate(&server, INITECH, SUE, SAM, false).await;
    assert_error("sue changes sam", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "MIG-1 refusals").await;

    let (status, body) = migrate(&server, INITECH, SAM, SAM, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sam = user(&server, INITECH, SAM).await;
    assert_eq!(sam["role"], "partner_admin", "{sam}");
    assert_eq!(sam["seat"], "partner", "{sam}");
    assert_eq!(sam["partner"], "p-acme", "{sam}");
    assert_eq!(sam["status"], "active", "{sam}");
    let permissions = strings(&sam["permissions"]);
    for p in PARTNER_ADMIN_PERMISSIONS {
        assert!(permissions.iter().any(|x| x == p), "{p}: {sam}");
    }
    // A partner admin never provisions through SCIM nor manages super admins (CAP-2, CAP-5).
    for action in ["scim.provision", "superadmins.manage", "datacenter.migrate"] {
        assert_eq!(
            decision(&server, SAM, action, INITECH).await,
            "Deny",
            "{action}"
        );
    }
    assert_eq!(
        decision(&server, SAM, "multi_account.manage", INITECH).await,
        "Allow"
    );
    // The others are untouched.
    assert_eq!(user(&server, INITECH, IAN).await["role"], "super_admin");
    assert_eq!(user(&server, INITECH, SUE).await["role"], "super_admin");
}

#[tokio::test]
async fn mig2_a_partner_admin_changes_colleagues_never_the_clients_own_super_admins() {
    let server = agency_server().await;
    let (status, body) = migrate(&server, INITECH, SAM, SAM, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = export(&server).await;

    // Never the client's own super admin, nor another partner's employee.
    let (status, body) = migrate(&server, INITECH, SAM, IAN, false).await;
    assert_error("sam changes ian", status, &body, FORBIDDEN);
    assert_rules_contain("sam changes ian", &body, &["MIG-1"]);
    let (status, body) = migrate(&server, INITECH, SAM, OLGA, false).await;
    assert_error("sam changes olga", status, &body, FORBIDDEN);
    // Only a super admin can be changed: lena is a standard user.
    let (status, body) = migrate(&server, INITECH, SAM, LENA, false).await;
    assert_error("sam changes lena", status, &body, FORBIDDEN);
    // The client's own super admin cannot change a partner's employee either.
    let (status, body) = migrate(&server, INITECH, IAN, SUE, false).await;
    assert_error("ian changes sue", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "MIG-2 refusals").await;

    let (status, body) = migrate(&server, INITECH, SAM, SUE, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sue = user(&server, INITECH, SUE).await;
    assert_eq!(sue["role"], "partner_admin", "{sue}");
    assert_eq!(sue["seat"], "partner", "{sue}");
    assert_eq!(sue["partner"], "p-acme", "{sue}");
    let state = export(&server).await;
    assert_eq!(
        active_super_admins(&state, INITECH),
        vec![IAN.to_owned(), OLGA.to_owned()]
    );
}

#[tokio::test]
async fn mig3_keep_billing_keeps_billing_edit_and_transactions() {
    let server = agency_server().await;
    for user in [SAM, SUE] {
        for action in ["billing.edit", "billing.transactions"] {
            assert_eq!(
                decision(&server, user, action, INITECH).await,
                "Allow",
                "{user} {action} as super admin"
            );
        }
    }

    let (status, body) = migrate(&server, INITECH, SAM, SAM, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = migrate(&server, INITECH, SAM, SUE, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for action in ["billing.edit", "billing.transactions"] {
        assert_eq!(
            decision(&server, SAM, action, INITECH).await,
            "Allow",
            "sam kept {action}"
        );
        assert_eq!(
            decision(&server, SUE, action, INITECH).await,
            "Deny",
            "sue lost {action}"
        );
    }
    let state = export(&server).await;
    let sam = user_in(&state, INITECH, SAM).unwrap();
    let sue = user_in(&state, INITECH, SUE).unwrap();
    assert_eq!(sam["keep_billing"], true, "{sam}");
    assert_eq!(sue["keep_billing"], false, "{sue}");
    assert!(strings(&sam["permissions"]).contains(&"billing.edit".to_owned()));
    assert!(strings(&sam["permissions"]).contains(&"billing.transactions".to_owned()));
    assert!(
        !strings(&sue["permissions"])
            .iter()
            .any(|p| p.starts_with("billing."))
    );
    // Keeping billing gives no other full admin right.
    assert_eq!(
        decision(&server, SAM, "superadmins.manage", INITECH).await,
        "Deny"
    );
}

#[tokio::test]
async fn mig4_the_only_super_admin_can_be_changed_by_no_one() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&solo_state()).await;
    let before = export(&server).await;
    const SOLO: &str = "c-solo";
    const CLIVE: &str = "clive@solo.example";

    let mut refusals: Vec<(&str, (StatusCode, Value))> = vec![
        (
            "sam changes itself",
            migrate(&server, SOLO, SAM, SAM, false).await,
        ),
        (
            "sam changes itself, keeping billing",
            migrate(&server, SOLO, SAM, SAM, true).await,
        ),
        (
            "ann changes sam",
            migrate(&server, SOLO, ANN, SAM, false).await,
        ),
        ("clive removes sam", remove(&server, SOLO, SAM, CLIVE).await),
        ("sam removes itself", remove(&server, SOLO, SAM, SAM).await),
        (
            "clive applies a client set to sam",
            set_client_set(&server, SOLO, CLIVE, SAM, "Support").await,
        ),
        (
            "sam applies a client set to itself",
            set_client_set(&server, SOLO, SAM, SAM, "Support").await,
        ),
    ];
    // The agency's Globex has one super admin too.
    let agency = agency_server().await;
    let agency_before = export(&agency).await;
    refusals.push((
        "globex's owner removes itself",
        remove(&agency, GLOBEX, OWNER, OWNER).await,
    ));
    refusals.push((
        "rex removes globex's owner",
        remove(&agency, GLOBEX, OWNER, "rex@globex.example").await,
    ));
    refusals.push((
        "globex's owner applies a client set to itself",
        set_client_set(&agency, GLOBEX, OWNER, OWNER, "Support").await,
    ));
    for (what, (status, body)) in &refusals {
        assert_error(what, *status, body, CONFLICT);
        assert_eq!(rules(body), vec!["MIG-4".to_owned()], "{what}: {body}");
    }
    // Through the Client Access Manager a super admin is not changed at all (CAP-2): refused
    // by the policies before the invariant is even asked.
    let cam_refusals: Vec<(&str, (StatusCode, Value))> = vec![
        (
            "ann deactivates sam",
            server
                .post(
                    &format!("/v1/clients/{SOLO}/partner-users/{SAM}/deactivate"),
                    &json!({"actor": ANN}),
                )
                .await,
        ),
        (
            "ann applies a partner set to sam",
            server
                .put(
                    &format!("/v1/clients/{SOLO}/partner-users/{SAM}/permission-set"),
                    &json!({"actor": ANN, "permission_set": "Sales rep"}),
                )
                .await,
        ),
    ];
    for (what, (status, body)) in &cam_refusals {
        assert_error(what, *status, body, FORBIDDEN);
        assert!(rules(body).contains(&"CAP-2".to_owned()), "{what}: {body}");
    }
    assert_unchanged(&server, &before, "MIG-4 refusals").await;
    assert_unchanged(&agency, &agency_before, "MIG-4 refusals").await;

    // A seat change never touches role or status: the only super admin keeps being one.
    let (status, body) = set_seat(&server, SOLO, SAM, SAM, "view_only").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let state = export(&server).await;
    assert_eq!(active_super_admins(&state, SOLO), vec![SAM.to_owned()]);

    // With a second super admin, sam may change itself; the second is then the only one.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/{SOLO}/users/boss@solo.example"),
            &json!({"role": "super_admin", "seat": "core"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = migrate(&server, SOLO, SAM, SAM, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let before = export(&server).await;
    assert_eq!(
        active_super_admins(&before, SOLO),
        vec!["boss@solo.example".to_owned()]
    );
    let (status, body) = remove(&server, SOLO, "boss@solo.example", CLIVE).await;
    assert_error("clive removes boss", status, &body, CONFLICT);
    assert_eq!(rules(&body), vec!["MIG-4".to_owned()], "{body}");
    assert_unchanged(&server, &before, "MIG-4 after migration").await;
}

// ---- SEAT -----------------------------------------------------------------------------------

#[tokio::test]
async fn seat2_seat6_creating_users_with_the_partner_seat_only_if_eligible() {
    let server = harness::start(harness::Options::default()).await;
    let mut doc = support::agency();
    for client in doc["clients"].as_array_mut().unwrap() {
        if client["id"] == INITECH {
            client["permission_sets"] =
                json!([{"name": "Support", "permissions": ["crm.objects.view", "hubs.access"]}]);
        }
    }
    server.import(&doc).await;
    let before = export(&server).await;

    // SEAT-2: a partner employee without a partner domain, and an employee of an app partner.
    let (status, body) = create(&server, INITECH, IAN, GUS, "partner", "Support").await;
    assert_error("gus with the partner seat", status, &body, FORBIDDEN);
    assert_rules_contain("gus", &body, &["SEAT-2"]);
    assert!(message(&body).contains(GUS), "{body}");
    let (status, body) = create(&server, GLOBEX, CLARA, OTTO, "partner", "Support").await;
    assert_error("otto with the partner seat", status, &body, FORBIDDEN);
    assert_rules_contain("otto", &body, &["SEAT-2"]);
    assert!(message(&body).contains(OTTO), "{body}");
    // Creating an existing user.
    let (status, body) = create(&server, GLOBEX, CLARA, SALLY, "core", "Support").await;
    assert_error("sally again", status, &body, CONFLICT);
    assert!(message(&body).contains(SALLY), "{body}");
    // E-mails are compared case-insensitively.
    let (status, body) = create(
        &server,
        GLOBEX,
        CLARA,
        "Sally@Globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("Sally again", status, &body, CONFLICT);
    // Someone without users.add_edit.
    let (status, body) = create(
        &server,
        GLOBEX,
        SALLY,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("sally creates", status, &body, FORBIDDEN);
    assert_rules_contain("sally creates", &body, &["SEAT-6"]);
    // A deactivated user with users.add_edit can do nothing (CAP-7).
    let (status, body) = create(
        &server,
        GLOBEX,
        "dee@globex.example",
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("dee creates", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "SEAT-2/SEAT-6 refusals").await;

    // Otherwise core or view-only.
    let (status, body) = create(&server, INITECH, IAN, GUS, "view_only", "Support").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = create(&server, GLOBEX, CLARA, OTTO, "core", "Support").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(user(&server, GLOBEX, OTTO).await["seat"], "core");
    // An eligible employee gets the partner seat; clara grants only what it holds (PERM-2).
    let (status, body) = create(&server, GLOBEX, CLARA, EDDIE, "partner", "Support").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["seat"], "partner", "{body}");
    assert_eq!(
        strings(&body["permissions"]),
        vec!["crm.objects.view"],
        "{body}"
    );
    assert_eq!(strings(&body["withheld"]), vec!["hubs.access"], "{body}");
    let eddie = user(&server, GLOBEX, EDDIE).await;
    assert_eq!(eddie["seat"], "partner", "{eddie}");
    assert_eq!(eddie["role"], "standard", "{eddie}");
    assert_eq!(eddie["status"], "active", "{eddie}");

    // Each new user got its `user.created` notice.
    let events = events(&server).await;
    for (client, email, by) in [
        (INITECH, GUS, IAN),
        (GLOBEX, OTTO, CLARA),
        (GLOBEX, EDDIE, CLARA),
    ] {
        let created: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == "user.created" && e["data"]["email"] == email)
            .collect();
        assert_eq!(created.len(), 1, "{email}: {events:?}");
        assert_eq!(created[0]["client"], client, "{:?}", created[0]);
        assert_eq!(created[0]["data"]["created_by"], by, "{:?}", created[0]);
    }
}

#[tokio::test]
async fn seat7_a_partner_user_needs_users_add_edit_to_create_users() {
    let server = agency_server().await;
    let before = export(&server).await;
    // bob is a partner user (partner seat) without users.add_edit.
    let (status, body) = create(
        &server,
        GLOBEX,
        BOB,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("bob creates", status, &body, FORBIDDEN);
    assert_rules_contain("bob creates", &body, &["SEAT-7"]);
    // A partner employee who is no user of the account at all.
    let (status, body) = create(
        &server,
        GLOBEX,
        EDDIE,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("eddie creates", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "SEAT-7 refusals").await;

    // ann, a partner user holding users.add_edit, creates a user.
    let (status, body) = create(
        &server,
        GLOBEX,
        ANN,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let new = user(&server, GLOBEX, "new@globex.example").await;
    assert_eq!(new["seat"], "core", "{new}");
    assert_eq!(
        strings(&new["permissions"]),
        vec!["crm.objects.view", "hubs.access"],
        "{new}"
    );
    assert!(
        events(&server)
            .await
            .iter()
            .any(|e| e["type"] == "user.created"
                && e["data"]["email"] == "new@globex.example"
                && e["data"]["created_by"] == ANN)
    );
}

#[tokio::test]
async fn seat3_bulk_partner_seat_is_all_or_nothing() {
    let server = agency_server().await;
    let before = export(&server).await;

    let (status, body) = assign_seats(&server, INITECH, IAN, &[SAM, LENA, SUE]).await;
    assert_error("one ineligible", status, &body, CONFLICT);
    assert_rules_contain("one ineligible", &body, &["SEAT-3"]);
    assert!(message(&body).contains(LENA), "{body}");
    assert!(
        !message(&body).contains(SAM),
        "only the ineligible are named: {body}"
    );
    // Several ineligible: each named.
    let (status, body) = assign_seats(&server, INITECH, IAN, &[LENA, OLGA, SAM]).await;
    assert_error("two ineligible", status, &body, CONFLICT);
    assert!(
        message(&body).contains(LENA) && message(&body).contains(OLGA),
        "{body}"
    );
    // Someone who may not change seats.
    let (status, body) = assign_seats(&server, INITECH, LENA, &[SAM, SUE]).await;
    assert_error("lena assigns", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "SEAT-3 refusals").await;
    assert_eq!(user(&server, INITECH, SAM).await["seat"], "core");

    let (status, body) = assign_seats(&server, INITECH, IAN, &[SAM, SUE]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let state = export(&server).await;
    for email in [SAM, SUE] {
        let u = user_in(&state, INITECH, email).unwrap();
        assert_eq!(u["seat"], "partner", "{u}");
        assert_eq!(u["role"], "super_admin", "a seat grants no role: {u}");
    }
    assert_eq!(
        user_in(&state, INITECH, LENA).unwrap()["seat"],
        "sales_paid"
    );
}

#[tokio::test]
async fn seat4_client_side_sets_for_partner_seat_users_need_users_add_edit_and_billing() {
    let server = agency_server().await;
    let before = export(&server).await;

    // clara has users.add_edit but not billing.edit; bob holds the partner seat.
    let (status, body) = set_client_set(&server, GLOBEX, CLARA, BOB, "Support").await;
    assert_error("clara changes bob", status, &body, FORBIDDEN);
    assert_rules_contain(
        "clara changes bob",
        &body,
        &["SEAT-4", "partner-seat-permissions-need-billing"],
    );
    // A partner admin with users.add_edit only.
    let (status, body) = set_client_set(&server, GLOBEX, ANN, BOB, "Support").await;
    assert_error("ann changes bob", status, &body, FORBIDDEN);
    assert_rules_contain("ann changes bob", &body, &["SEAT-4"]);
    // Without users.add_edit at all.
    let (status, body) =
        set_client_set(&server, GLOBEX, SALLY, "ivy@globex.example", "Support").await;
    assert_error("sally changes ivy", status, &body, FORBIDDEN);
    assert_unchanged(&server, &before, "SEAT-4 refusals").await;

    // users.add_edit alone is enough for a user without the partner seat.
    let (status, body) = set_client_set(&server, GLOBEX, CLARA, SALLY, "Support").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // users.add_edit and billing.edit: bill changes bob, grant only what you hold (PERM-2).
    let (status, body) = set_client_set(&server, GLOBEX, BILL, BOB, "Support").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "standard", "{body}");
    assert_eq!(strings(&body["withheld"]), vec!["hubs.access"], "{body}");
    // A partner admin holding both (kim) and the super admin may too.
    let (status, body) = set_client_set(&server, GLOBEX, KIM, BOB, "Support").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = set_client_set(&server, GLOBEX, OWNER, BOB, "Support").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bob = user(&server, GLOBEX, BOB).await;
    assert!(
        strings(&bob["permissions"]).contains(&"hubs.access".to_owned()),
        "{bob}"
    );
    assert_eq!(bob["seat"], "partner", "{bob}");
}

#[tokio::test]
async fn seat5_a_partner_admin_keeps_the_partner_seat() {
    let server = agency_server().await;
    let before = export(&server).await;
    for seat in ["core", "view_only", "sales_paid", "none"] {
        let (status, body) = set_seat(&server, GLOBEX, OWNER, ANN, seat).await;
        assert_error(&format!("ann to {seat}"), status, &body, CONFLICT);
        assert_eq!(rules(&body), vec!["SEAT-5".to_owned()], "{body}");
    }
    // The partner admin set for a user not on the partner seat.
    let (status, body) = set_client_set(&server, GLOBEX, OWNER, GUS, "partner_admin").await;
    assert_error("gus to partner admin", status, &body, CONFLICT);
    assert_rules_contain("gus to partner admin", &body, &["SEAT-5"]);
    assert_unchanged(&server, &before, "SEAT-5 refusals").await;

    // A partner seat does not require being partner admin: bob (standard) loses it and gets it
    // back.
    let (status, body) = set_seat(&server, GLOBEX, OWNER, BOB, "core").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user(&server, GLOBEX, BOB).await["seat"], "core");
    let (status, body) = set_seat(&server, GLOBEX, OWNER, BOB, "partner").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bob = user(&server, GLOBEX, BOB).await;
    assert_eq!(bob["seat"], "partner", "{bob}");
    assert_eq!(bob["role"], "standard", "{bob}");
    // Ann keeps the partner seat when it is "changed" to the partner seat.
    let (status, body) = set_seat(&server, GLOBEX, OWNER, ANN, "partner").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn seat8_seat_changes_need_a_super_admin_or_users_add_edit_and_billing_edit() {
    let server = agency_server().await;
    let before = export(&server).await;
    for actor in [CLARA, ANN, SALLY, "rex@globex.example", EDDIE] {
        let (status, body) = set_seat(&server, GLOBEX, actor, SALLY, "core").await;
        assert_error(&format!("{actor} changes a seat"), status, &body, FORBIDDEN);
        assert_rules_contain(actor, &body, &["SEAT-8"]);
    }
    // A deactivated user can do nothing, whatever it holds (CAP-7).
    let (status, body) = set_seat(&server, GLOBEX, "dee@globex.example", SALLY, "core").await;
    assert_error("dee changes a seat", status, &body, FORBIDDEN);
    assert_rules_contain("dee changes a seat", &body, &["CAP-7", "deactivated-user"]);
    // The partner seat for someone ineligible: SEAT-2.
    let (status, body) = set_seat(&server, GLOBEX, OWNER, GUS, "partner").await;
    assert_error("gus to the partner seat", status, &body, FORBIDDEN);
    assert_rules_contain("gus to the partner seat", &body, &["SEAT-2"]);
    assert_unchanged(&server, &before, "SEAT-8 refusals").await;

    let (status, body) = set_seat(&server, GLOBEX, BILL, SALLY, "core").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user(&server, GLOBEX, SALLY).await["seat"], "core");
    let (status, body) = set_seat(&server, GLOBEX, OWNER, SALLY, "view_only").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user(&server, GLOBEX, SALLY).await["seat"], "view_only");
    // kim: a partner admin who kept billing.
    let (status, body) = set_seat(&server, GLOBEX, KIM, SALLY, "sales_paid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user(&server, GLOBEX, SALLY).await["seat"], "sales_paid");
    let seat_events: Vec<_> = events(&server)
        .await
        .into_iter()
        .filter(|e| e["type"] == "seat.changed" && e["data"]["email"] == SALLY)
        .collect();
    assert_eq!(seat_events.len(), 3, "{seat_events:?}");
}

#[tokio::test]
async fn seat9_the_partner_seat_gives_paid_features_on_seat_based_pricing_only() {
    let server = agency_server().await;
    const PAID: [&str; 2] = ["sales_hub.paid_features", "service_hub.paid_features"];
    // Seat-based Globex: bob holds the partner seat.
    for action in PAID {
        assert_eq!(
            decision(&server, BOB, action, GLOBEX).await,
            "Allow",
            "{action}"
        );
    }
    let (status, body) = set_seat(&server, GLOBEX, OWNER, BOB, "core").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for action in PAID {
        assert_eq!(
            decision(&server, BOB, action, GLOBEX).await,
            "Deny",
            "{action}"
        );
    }
    let (status, body) = set_seat(&server, GLOBEX, OWNER, BOB, "partner").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for action in PAID {
        assert_eq!(
            decision(&server, BOB, action, GLOBEX).await,
            "Allow",
            "{action}"
        );
    }

    // Legacy Initech: the partner seat gives no paid features; the paid seat still does.
    for action in PAID {
        assert_eq!(
            decision(&server, SAM, action, INITECH).await,
            "Deny",
            "{action}"
        );
    }
    let (status, body) = set_seat(&server, INITECH, IAN, SAM, "partner").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user(&server, INITECH, SAM).await["seat"], "partner");
    for action in PAID {
        assert_eq!(
            decision(&server, SAM, action, INITECH).await,
            "Deny",
            "{action}"
        );
    }
    let (status, body) = set_seat(&server, INITECH, IAN, SAM, "sales_paid").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        decision(&server, SAM, "sales_hub.paid_features", INITECH).await,
        "Allow"
    );
    assert_eq!(
        decision(&server, SAM, "service_hub.paid_features", INITECH).await,
        "Deny"
    );
}

// ---- REM-9 ----------------------------------------------------------------------------------

#[tokio::test]
async fn rem9_client_side_removal_of_partner_users() {
    let server = agency_server().await;
    let before = export(&server).await;

    // A partner user never removes a client's own user.
    let (status, body) = remove(&server, GLOBEX, SALLY, ANN).await;
    assert_error("ann removes sally", status, &body, FORBIDDEN);
    assert_rules_contain(
        "ann removes sally",
        &body,
        &["REM-9", "partners-remove-own-partner-users-only"],
    );
    let (status, body) = remove(&server, GLOBEX, CLARA, KIM).await;
    assert_error("kim removes clara", status, &body, FORBIDDEN);
    assert_rules_contain("kim removes clara", &body, &["REM-9"]);
    let (status, body) = remove(&server, GLOBEX, OWNER, ANN).await;
    assert_error("ann removes the owner", status, &body, FORBIDDEN);
    // A client user with users.add_edit removes no super admin (CAP-2).
    let (status, body) = remove(&server, GLOBEX, OWNER, CLARA).await;
    assert_error("clara removes the owner", status, &body, FORBIDDEN);
    assert_rules_contain(
        "clara removes the owner",
        &body,
        &["CAP-2", "super-admins-changed-by-full-admins-only"],
    );
    // Nor another partner's user: ron is Rival's partner admin in RivalCo; ann is no user there.
    let (status, body) = remove(&server, "c-rivalco", "ron@rival.example", ANN).await;
    assert_error("ann removes ron", status, &body, FORBIDDEN);
    // Without users.add_edit.
    let (status, body) = remove(&server, GLOBEX, BOB, SALLY).await;
    assert_error("sally removes bob", status, &body, FORBIDDEN);
    assert_rules_contain("sally removes bob", &body, &["REM-9"]);
    assert_unchanged(&server, &before, "REM-9 refusals").await;

    // clara (users.add_edit) removes a partner user.
    let (status, body) = remove(&server, GLOBEX, BOB, CLARA).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "removed", "{body}");
    let state = export(&server).await;
    assert!(user_in(&state, GLOBEX, BOB).is_none());
    assert!(
        user_in(&state, "c-hooli", BOB).is_some(),
        "only from that account"
    );
    // A partner admin removes a partner user of its own partner.
    let (status, body) = remove(&server, GLOBEX, GUS, ANN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(user_in(&export(&server).await, GLOBEX, GUS).is_none());
    let removed: Vec<_> = events(&server)
        .await
        .into_iter()
        .filter(|e| e["type"] == "user.removed" && e["client"] == GLOBEX)
        .map(|e| (e["data"]["email"].clone(), e["data"]["removed_by"].clone()))
        .collect();
    assert_eq!(
        removed,
        vec![(json!(BOB), json!(CLARA)), (json!(GUS), json!(ANN))]
    );
    // Removing it again: it is no user any more.
    let (status, body) = remove(&server, GLOBEX, BOB, CLARA).await;
    assert_error("bob again", status, &body, NOT_FOUND);
}

// ---- OP -------------------------------------------------------------------------------------

#[tokio::test]
async fn op1_op3_every_command_allowed_or_refused_is_audited() {
    let server = agency_server().await;
    let start = audit(&server, GLOBEX).await.len();

    let (status, body) = create(
        &server,
        GLOBEX,
        CLARA,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, denied) = remove(&server, GLOBEX, SALLY, ANN).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{denied}");
    let (status, by_default) = set_seat(&server, GLOBEX, CLARA, SALLY, "core").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{by_default}");
    let (status, conflict) = remove(&server, GLOBEX, OWNER, OWNER).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    let (status, missing) = set_seat(&server, GLOBEX, OWNER, "nobody@globex.example", "core").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    // A command on another client is not in Globex's audit.
    let (status, body) = set_seat(&server, INITECH, IAN, LENA, "core").await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let records = audit(&server, GLOBEX).await;
    let records = &records[start..];
    assert_eq!(records.len(), 5, "{records:#?}");
    for r in records {
        for field in [
            "actor", "command", "target", "decision", "policies", "rules", "outcome", "time",
        ] {
            assert!(!r[field].is_null(), "no `{field}`: {r}");
        }
        assert_eq!(r["client"], GLOBEX, "{r}");
    }

    let applied = &records[0];
    assert_eq!(applied["actor"], CLARA, "{applied}");
    assert_eq!(applied["command"], "user.create", "{applied}");
    assert_eq!(
        applied["target"], "client/c-globex/user/new@globex.example",
        "{applied}"
    );
    assert_eq!(applied["decision"], "allow", "{applied}");
    assert_eq!(applied["outcome"], "applied", "{applied}");
    assert!(
        strings(&applied["policies"]).contains(&"users-add-edit-manages-users".to_owned()),
        "{applied}"
    );
    assert!(
        strings(&applied["rules"]).contains(&"SEAT-6".to_owned()),
        "{applied}"
    );

    // A denial by a forbid: the answer and the audit name the rule and the policy.
    let forbidden = &records[1];
    assert_eq!(forbidden["actor"], ANN, "{forbidden}");
    assert_eq!(forbidden["command"], "user.remove", "{forbidden}");
    assert_eq!(
        forbidden["target"],
        "client/c-globex/user/sally@globex.example"
    );
    assert_eq!(forbidden["decision"], "deny", "{forbidden}");
    assert_eq!(forbidden["outcome"], "denied", "{forbidden}");
    assert!(
        strings(&forbidden["policies"])
            .contains(&"partners-remove-own-partner-users-only".to_owned()),
        "{forbidden}"
    );
    assert!(
        strings(&forbidden["rules"]).contains(&"REM-9".to_owned()),
        "{forbidden}"
    );
    assert_rules_contain(
        "ann removes sally",
        &denied,
        &["REM-9", "partners-remove-own-partner-users-only"],
    );
    assert!(
        message(&denied).contains("partners-remove-own-partner-users-only"),
        "{denied}"
    );

    // A denial because no policy permits: the rules of the action.
    let default_deny = &records[2];
    assert_eq!(default_deny["actor"], CLARA);
    assert_eq!(default_deny["command"], "user.set_seat");
    assert_eq!(default_deny["decision"], "deny");
    assert_eq!(default_deny["outcome"], "denied");
    assert!(
        strings(&default_deny["rules"]).contains(&"SEAT-8".to_owned()),
        "{default_deny}"
    );
    assert_rules_contain("clara changes a seat", &by_default, &["SEAT-8"]);

    let refused = &records[3];
    assert_eq!(refused["command"], "user.remove");
    assert_eq!(
        refused["decision"], "allow",
        "the policies allowed; the invariant refused"
    );
    assert_eq!(refused["outcome"], "conflict");
    assert_eq!(strings(&refused["rules"]), vec!["MIG-4"]);
    assert!(!strings(&refused["policies"]).is_empty(), "{refused}");

    let not_found = &records[4];
    assert_eq!(not_found["command"], "user.set_seat");
    assert_eq!(not_found["outcome"], "not_found");
    assert_eq!(
        not_found["target"],
        "client/c-globex/user/nobody@globex.example"
    );

    let initech = audit(&server, INITECH).await;
    let last = initech.last().unwrap();
    assert_eq!(last["actor"], IAN, "{last}");
    assert_eq!(last["outcome"], "applied", "{last}");
}

#[tokio::test]
async fn op1_migrations_and_bulk_seats_are_audited_allowed_and_denied() {
    let server = agency_server().await;
    let start = audit(&server, INITECH).await.len();
    let (status, _) = migrate(&server, INITECH, IAN, IAN, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = migrate(&server, INITECH, SAM, SAM, true).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = assign_seats(&server, INITECH, IAN, &[LENA]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = assign_seats(&server, INITECH, IAN, &[SUE]).await;
    assert_eq!(status, StatusCode::OK);
    let records = audit(&server, INITECH).await;
    let summary: Vec<_> = records[start..]
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().to_owned(),
                r["command"].as_str().unwrap().to_owned(),
                r["decision"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        (IAN, "partner_admin.migrate", "deny", "denied"),
        (SAM, "partner_admin.migrate", "allow", "applied"),
        (IAN, "user.assign_seats", "allow", "conflict"),
        (IAN, "user.assign_seats", "allow", "applied"),
    ]
    .map(|(a, c, d, o)| (a.to_owned(), c.to_owned(), d.to_owned(), o.to_owned()));
    assert_eq!(summary, expected, "{:#?}", &records[start..]);
    let migration = &records[start + 1];
    assert!(
        strings(&migration["policies"]).contains(&"super-admin-migrates-itself".to_owned()),
        "{migration}"
    );
    assert!(
        strings(&migration["rules"]).contains(&"MIG-1".to_owned()),
        "{migration}"
    );
    assert!(strings(&records[start + 2]["rules"]).contains(&"SEAT-3".to_owned()));
}

/// What a request was, its answer, the expected status and code, and what the message names.
type BadInputCase = (
    &'static str,
    (StatusCode, Value),
    StatusCode,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn op2_unknown_things_are_named_and_change_nothing() {
    let server = agency_server().await;
    let before = export(&server).await;

    let cases: Vec<BadInputCase> = vec![
        (
            "create in an unknown client",
            create(
                &server,
                "c-nope",
                CLARA,
                "new@globex.example",
                "core",
                "Support",
            )
            .await,
            StatusCode::NOT_FOUND,
            "not_found",
            "c-nope",
        ),
        (
            "seat of an unknown client",
            set_seat(&server, "c-nope", OWNER, SALLY, "core").await,
            StatusCode::NOT_FOUND,
            "not_found",
            "c-nope",
        ),
        (
            "migrate in an unknown client",
            migrate(&server, "c-nope", SAM, SAM, false).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "c-nope",
        ),
        (
            "seats in an unknown client",
            assign_seats(&server, "c-nope", IAN, &[SAM]).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "c-nope",
        ),
        (
            "remove from an unknown client",
            remove(&server, "c-nope", SALLY, OWNER).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "c-nope",
        ),
        (
            "seat of an unknown user",
            set_seat(&server, GLOBEX, OWNER, "nobody@globex.example", "core").await,
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody@globex.example",
        ),
        (
            "set of an unknown user",
            set_client_set(&server, GLOBEX, OWNER, "nobody@globex.example", "Support").await,
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody@globex.example",
        ),
        (
            "remove an unknown user",
            remove(&server, GLOBEX, "nobody@globex.example", OWNER).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody@globex.example",
        ),
        (
            "migrate an unknown user",
            migrate(&server, INITECH, SAM, "nobody@initech.example", false).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody@initech.example",
        ),
        (
            "bulk seat for an unknown user",
            assign_seats(&server, INITECH, IAN, &[SAM, "nobody@initech.example"]).await,
            StatusCode::NOT_FOUND,
            "not_found",
            "nobody@initech.example",
        ),
        (
            "create with an unknown permission set",
            create(&server, GLOBEX, CLARA, "new@globex.example", "core", "Gold").await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Gold",
        ),
        (
            "apply an unknown permission set",
            set_client_set(&server, GLOBEX, OWNER, SALLY, "Gold").await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Gold",
        ),
        (
            // A partner's set is not the client's.
            "apply a partner's set client-side",
            set_client_set(&server, GLOBEX, OWNER, SALLY, "Sales rep").await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Sales rep",
        ),
        (
            "create with an unknown seat",
            create(
                &server,
                GLOBEX,
                CLARA,
                "new@globex.example",
                "gold",
                "Support",
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "gold",
        ),
        (
            "change to an unknown seat",
            set_seat(&server, GLOBEX, OWNER, SALLY, "platinum").await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "platinum",
        ),
        (
            "bulk seat other than partner",
            server
                .post(
                    &format!("/v1/clients/{GLOBEX}/seats"),
                    &json!({"actor": OWNER, "users": [SALLY], "seat": "core"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "seat",
        ),
        (
            "bulk seat with an unknown seat",
            server
                .post(
                    &format!("/v1/clients/{GLOBEX}/seats"),
                    &json!({"actor": OWNER, "users": [SALLY], "seat": "gold"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "gold",
        ),
        (
            "create with a malformed e-mail",
            create(&server, GLOBEX, CLARA, "not-an-email", "core", "Support").await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "email",
        ),
        (
            "migrate with an unknown field",
            server
                .post(
                    &format!("/v1/clients/{INITECH}/partner-admins"),
                    &json!({"actor": SAM, "user": SAM, "keep_billing": false, "kep": true}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "kep",
        ),
        (
            "migrate with keep_billing of the wrong type",
            server
                .post(
                    &format!("/v1/clients/{INITECH}/partner-admins"),
                    &json!({"actor": SAM, "user": SAM, "keep_billing": "yes"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "keep_billing",
        ),
        (
            "a command without its actor",
            server
                .put(
                    &format!("/v1/clients/{GLOBEX}/users/{SALLY}/seat"),
                    &json!({"seat": "core"}),
                )
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "actor",
        ),
    ];
    for (what, (status, body), expected, code, named) in &cases {
        assert_error(what, *status, body, (*expected, *code));
        assert!(
            message(body).contains(named),
            "{what}: `{named}` not named: {body}"
        );
    }
    assert_unchanged(&server, &before, "OP-2").await;
}

// ---- the error table ------------------------------------------------------------------------

#[tokio::test]
async fn command_errors_have_the_status_and_code_of_the_error_table() {
    let server = agency_server().await;
    let before = export(&server).await;
    let url = server.url(&format!("/v1/clients/{GLOBEX}/users"));

    // 400: malformed JSON, wrong types, unknown values, empty lists.
    for text in [
        "{not json",
        "",
        "[]",
        "{\"actor\": 7}",
        "{\"actor\": \"clara@globex.example\"} x",
    ] {
        let response = server
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(text)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_error(&format!("body {text:?}"), status, &body, INVALID);
    }
    let (status, body) = create(
        &server,
        GLOBEX,
        CLARA,
        "new@globex.example",
        "gold",
        "Support",
    )
    .await;
    assert_error("unknown seat", status, &body, INVALID);
    let (status, body) = create(&server, GLOBEX, CLARA, "new@globex.example", "core", "Gold").await;
    assert_error("unknown set", status, &body, INVALID);
    let (status, body) = server
        .post(
            &format!("/v1/clients/{GLOBEX}/partner-users"),
            &json!({"actor": ANN, "employees": [], "permission_set": "Sales rep"}),
        )
        .await;
    assert_error("no employees", status, &body, INVALID);
    assert!(message(&body).contains("employees"), "{body}");
    let (status, body) = assign_seats(&server, INITECH, IAN, &[]).await;
    assert_error("no users", status, &body, INVALID);
    assert!(message(&body).contains("users"), "{body}");

    // 403, 404, 409.
    let (status, body) = create(
        &server,
        GLOBEX,
        SALLY,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_error("sally creates", status, &body, FORBIDDEN);
    assert!(!rules(&body).is_empty(), "{body}");
    let (status, body) = remove(&server, "c-nope", SALLY, OWNER).await;
    assert_error("unknown client", status, &body, NOT_FOUND);
    let (status, body) = set_seat(&server, GLOBEX, OWNER, ANN, "core").await;
    assert_error("SEAT-5", status, &body, CONFLICT);

    // 413: a command body over 1 MiB.
    let (status, body) = server
        .post(
            &format!("/v1/clients/{GLOBEX}/users"),
            &json!({"actor": CLARA, "email": "new@globex.example", "seat": "core",
                    "permission_set": "x".repeat(1024 * 1024 + 10)}),
        )
        .await;
    assert_error(
        "over 1 MiB",
        status,
        &body,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    );
    let (status, body) = server
        .send(
            Method::DELETE,
            &format!("/v1/clients/{GLOBEX}/users/{BOB}"),
            Some(&json!({"actor": CLARA, "pad": "x".repeat(2 * 1024 * 1024)})),
        )
        .await;
    assert_error(
        "a 2 MiB delete",
        status,
        &body,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
    );

    assert_unchanged(&server, &before, "the error table").await;
}

#[tokio::test]
async fn commands_without_a_token_are_401_unauthenticated() {
    let server = harness::start(harness::Options {
        caller_tokens: vec!["t".into()],
        admin_token: Some("a".into()),
        ..Default::default()
    })
    .await;
    server.import(&support::agency()).await;
    let before = export(&server).await;
    let body = json!({"actor": CLARA, "email": "new@globex.example", "seat": "core",
                      "permission_set": "Support"});
    let url = server.url(&format!("/v1/clients/{GLOBEX}/users"));
    for token in [None, Some("wrong"), Some("")] {
        let mut request = server.client.post(&url).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_error(
            &format!("token {token:?}"),
            status,
            &answer,
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
        );
    }
    let response = server
        .client
        .delete(server.url(&format!("/v1/clients/{GLOBEX}/users/{BOB}")))
        .json(&json!({"actor": CLARA}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_unchanged(&server, &before, "401").await;
    assert!(
        audit(&server, GLOBEX)
            .await
            .iter()
            .all(|r| r["actor"] != CLARA),
        "an unauthenticated request is no command"
    );

    // With the caller token it is applied.
    let (status, answer) = server
        .post(&format!("/v1/clients/{GLOBEX}/users"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

#[tokio::test]
async fn a_store_that_cannot_be_written_makes_commands_503_and_changes_nothing() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FaultStore::open(dir.path()));
    let dyn_store: Arc<dyn partner_access::store::Store> = store.clone();
    let server = harness::start_on(
        dyn_store,
        dir.path().to_owned(),
        harness::Options::default(),
    )
    .await;
    server.import(&support::agency()).await;
    let before = export(&server).await;
    let audit_before = audit(&server, GLOBEX).await;

    store.faults.begin_write_fails.store(true, Ordering::SeqCst);
    let answers = vec![
        (
            "create",
            create(
                &server,
                GLOBEX,
                CLARA,
                "new@globex.example",
                "core",
                "Support",
            )
            .await,
        ),
        (
            "seat",
            set_seat(&server, GLOBEX, OWNER, SALLY, "core").await,
        ),
        (
            "set",
            set_client_set(&server, GLOBEX, OWNER, SALLY, "Support").await,
        ),
        ("remove", remove(&server, GLOBEX, BOB, CLARA).await),
        ("migrate", migrate(&server, INITECH, SAM, SAM, true).await),
        ("seats", assign_seats(&server, INITECH, IAN, &[SAM]).await),
        // A command the policies would deny: never an answer but 503 either.
        (
            "denied",
            create(
                &server,
                GLOBEX,
                SALLY,
                "new@globex.example",
                "core",
                "Support",
            )
            .await,
        ),
    ];
    for (what, (status, body)) in &answers {
        assert_error(
            what,
            *status,
            body,
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        );
    }
    store
        .faults
        .begin_write_fails
        .store(false, Ordering::SeqCst);
    assert_unchanged(&server, &before, "503").await;
    assert_eq!(audit(&server, GLOBEX).await, audit_before);

    // The store writes again: the command is applied.
    let (status, body) = create(
        &server,
        GLOBEX,
        CLARA,
        "new@globex.example",
        "core",
        "Support",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ---- concurrency ----------------------------------------------------------------------------

/// Runs `requests` concurrently; returns each status with its body, in request order.
async fn concurrently(
    server: &Arc<TestServer>,
    requests: Vec<(Method, String, Value)>,
) -> Vec<(StatusCode, Value)> {
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(method, path, body)| {
            let server = server.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                server.send(method, &path, Some(&body)).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(answers: &[(StatusCode, Value)], status: StatusCode) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

/// One outsider removes all 32 super admins at once: exactly one removal must be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_of_every_super_admin_leave_exactly_one() {
    let server = Arc::new(harness::start(harness::Options::default()).await);
    server.import(&many_super_admins_state(32, false)).await;
    let requests = (0..32)
        .map(|i| {
            (
                Method::DELETE,
                format!("/v1/clients/c-many/users/{}", sa(i, false)),
                json!({"actor": "rex@many.example"}),
            )
        })
        .collect();
    let answers = concurrently(&server, requests).await;
    let ok = count(&answers, StatusCode::OK);
    let conflicts = count(&answers, StatusCode::CONFLICT);
    assert_eq!(ok + conflicts, 32, "{answers:?}");
    assert_eq!(conflicts, 1, "{answers:?}");
    for (status, body) in &answers {
        if *status == StatusCode::CONFLICT {
            assert_eq!(rules(body), vec!["MIG-4".to_owned()], "{body}");
        }
    }
    let state = export(&server).await;
    assert_eq!(active_super_admins(&state, "c-many").len(), 1, "{state}");
    // OP-1 under concurrency too: every request has its audit record.
    let records = audit(&server, "c-many").await;
    assert_eq!(records.len(), 32, "{records:#?}");
    assert_eq!(
        records.iter().filter(|r| r["outcome"] == "applied").count(),
        31
    );
    assert_eq!(
        records
            .iter()
            .filter(|r| r["outcome"] == "conflict")
            .count(),
        1
    );
}

/// 32 super admins; super admin i removes super admin (i+1) mod 32, all at once. A request whose
/// actor was removed first is denied (it is no user any more); the account never loses its
/// last super admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_removals_among_super_admins_never_leave_none() {
    let server = Arc::new(harness::start(harness::Options::default()).await);
    server.import(&many_super_admins_state(32, false)).await;
    let requests = (0..32)
        .map(|i| {
            (
                Method::DELETE,
                format!("/v1/clients/c-many/users/{}", sa((i + 1) % 32, false)),
                json!({"actor": sa(i, false)}),
            )
        })
        .collect();
    let answers = concurrently(&server, requests).await;
    let ok = count(&answers, StatusCode::OK);
    let forbidden = count(&answers, StatusCode::FORBIDDEN);
    let conflicts = count(&answers, StatusCode::CONFLICT);
    assert_eq!(ok + forbidden + conflicts, 32, "{answers:?}");
    let state = export(&server).await;
    let remaining = active_super_admins(&state, "c-many");
    assert!(!remaining.is_empty(), "no super admin left: {state}");
    assert_eq!(remaining.len(), 32 - ok, "{answers:?}");
    for (i, (status, body)) in answers.iter().enumerate() {
        let target = sa((i + 1) % 32, false);
        match *status {
            StatusCode::OK => assert!(!remaining.contains(&target), "{target}"),
            StatusCode::FORBIDDEN => {
                assert!(
                    !remaining.contains(&sa(i, false)),
                    "request {i} was denied although its actor is still there: {body}"
                );
                assert!(remaining.contains(&target), "{target}");
            }
            _ => assert_eq!(rules(body), vec!["MIG-4".to_owned()], "{body}"),
        }
    }
}

/// Deactivations (Client Access Manager), demotions (client-side permission set) and
/// self-migrations to partner admin (MIG-1) of 32 different super admins at once: exactly one
/// is refused, one super admin stays active.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deactivations_and_demotions_leave_exactly_one_super_admin() {
    let server = Arc::new(harness::start(harness::Options::default()).await);
    server.import(&many_super_admins_state(32, true)).await;
    let requests = (0..32)
        .map(|i| {
            let admin = sa(i, true);
            match i % 3 {
                // The CAM never touches super admins (CAP-2), so the third kind of change is a
                // client-side removal by a holder of superadmins.manage.
                0 => (
                    Method::DELETE,
                    format!("/v1/clients/c-many/users/{admin}"),
                    json!({"actor": "rex@many.example"}),
                ),
                1 => (
                    Method::PUT,
                    format!("/v1/clients/c-many/users/{admin}/permission-set"),
                    json!({"actor": "rex@many.example", "permission_set": "Support"}),
                ),
                _ => (
                    Method::POST,
                    "/v1/clients/c-many/partner-admins".to_owned(),
                    json!({"actor": admin, "user": admin, "keep_billing": false}),
                ),
            }
        })
        .collect();
    let answers = concurrently(&server, requests).await;
    let ok = count(&answers, StatusCode::OK);
    let conflicts = count(&answers, StatusCode::CONFLICT);
    assert_eq!(ok + conflicts, 32, "{answers:?}");
    assert_eq!(conflicts, 1, "{answers:?}");
    for (status, body) in &answers {
        if *status == StatusCode::CONFLICT {
            assert_eq!(rules(body), vec!["MIG-4".to_owned()], "{body}");
        }
    }
    let state = export(&server).await;
    assert_eq!(active_super_admins(&state, "c-many").len(), 1, "{state}");
}

/// 16 identical concurrent adds of one employee: one user record, added once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_the_same_employee_leave_one_user_record() {
    let server = Arc::new(harness::start(harness::Options::default()).await);
    server.import(&support::agency()).await;
    let requests = (0..16)
        .map(|_| {
            (
                Method::POST,
                format!("/v1/clients/{GLOBEX}/partner-users"),
                json!({"actor": ANN, "employees": [EDDIE], "permission_set": "Sales rep"}),
            )
        })
        .collect();
    let answers = concurrently(&server, requests).await;
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for (status, body) in &answers {
        assert!(status.is_success(), "{status}: {body}");
        let outcome = body["results"][0]["outcome"].as_str().unwrap().to_owned();
        *outcomes.entry(outcome).or_default() += 1;
    }
    assert_eq!(outcomes.get("added"), Some(&1), "{outcomes:?}");
    assert_eq!(outcomes.get("already_member"), Some(&15), "{outcomes:?}");
    assert_eq!(count(&answers, StatusCode::CREATED), 1, "{answers:?}");

    let state = export(&server).await;
    let records = state["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == GLOBEX)
        .unwrap()["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["email"] == EDDIE)
        .count();
    assert_eq!(records, 1, "{state}");
    let eddie = user_in(&state, GLOBEX, EDDIE).unwrap();
    assert_eq!(eddie["partner"], "p-acme", "{eddie}");
    assert_eq!(eddie["seat"], "partner", "{eddie}");
    let created = events(&server)
        .await
        .iter()
        .filter(|e| e["type"] == "user.created" && e["data"]["email"] == EDDIE)
        .count();
    assert_eq!(created, 1);
}

// ---- reads ----------------------------------------------------------------------------------

#[tokio::test]
async fn client_users_read_needs_users_add_edit_a_partner_admin_or_a_cam_user() {
    let server = agency_server().await;
    for actor in [CLARA, OWNER, ANN, VERA] {
        let (status, body) = server
            .get(&format!("/v1/clients/{GLOBEX}/users?actor={actor}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{actor}: {body}");
        assert_eq!(body["official_name"], "Globex Corporation", "{body}");
        assert_eq!(body["crm_name"], "Globex (Acme CRM)", "{body}");
        let users = body["users"].as_array().unwrap();
        assert_eq!(users.len(), 15, "{body}");
        let kim = users.iter().find(|u| u["email"] == KIM).unwrap();
        for field in [
            "role",
            "seat",
            "permissions",
            "status",
            "partner",
            "keep_billing",
        ] {
            assert!(!kim[field].is_null(), "{field}: {kim}");
        }
        assert_eq!(kim["keep_billing"], true);
    }
    // sally has no users.add_edit; dee has it but is deactivated; bob is a partner user with
    // no employee management; otto is another partner's.
    for actor in [SALLY, "dee@globex.example", BOB, OTTO] {
        let (status, body) = server
            .get(&format!("/v1/clients/{GLOBEX}/users?actor={actor}"))
            .await;
        assert_error(actor, status, &body, FORBIDDEN);
        assert!(!rules(&body).is_empty(), "{body}");
    }
    let (status, body) = server
        .get(&format!("/v1/clients/c-nope/users?actor={CLARA}"))
        .await;
    assert_error("unknown client", status, &body, NOT_FOUND);
    let (status, body) = server.get(&format!("/v1/clients/{GLOBEX}/users")).await;
    assert_error("no actor", status, &body, INVALID);
}

#[tokio::test]
async fn partner_clients_read_filters_by_access_and_shows_both_names() {
    let server = agency_server().await;
    let ids = |body: &Value| -> Vec<String> {
        body["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let path = |actor: &str, access: Option<&str>| match access {
        Some(a) => format!("/v1/partners/p-acme/clients?actor={actor}&access={a}"),
        None => format!("/v1/partners/p-acme/clients?actor={actor}"),
    };

    let (status, body) = server.get(&path(ANN, None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![GLOBEX, "c-hooli", INITECH], "{body}");
    let globex = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == GLOBEX)
        .unwrap();
    // ADD-4: the CRM name, with the official name next to it.
    assert_eq!(globex["crm_name"], "Globex (Acme CRM)", "{globex}");
    assert_eq!(globex["official_name"], "Globex Corporation", "{globex}");
    assert_eq!(globex["relationship"], "active", "{globex}");
    assert_eq!(globex["users"]["super_admin"], 1, "{globex}");
    assert_eq!(globex["users"]["partner_admin"], 4, "{globex}");
    let initech = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == INITECH)
        .unwrap();
    assert_eq!(initech["official_name"], "Initech", "{initech}");
    assert!(initech["crm_name"].is_null(), "{initech}");

    let (status, body) = server.get(&path(ANN, Some("partner_admin"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![GLOBEX, INITECH], "{body}");
    let (status, body) = server.get(&path(VERA, Some("partner_user"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec![GLOBEX, INITECH], "{body}");
    let (status, body) = server.get(&path(ANN, Some("deactivated"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), vec!["c-hooli"], "{body}");

    // The counts follow the commands: once sam is partner admin, Initech has two.
    let (status, body) = migrate(&server, INITECH, SAM, SAM, false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = server.get(&path(ANN, None)).await;
    let initech = body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == INITECH)
        .unwrap()
        .clone();
    assert_eq!(initech["users"]["partner_admin"], 2, "{initech}");

    // PA-1: no employee management, another partner's employee.
    for actor in [BOB, OTTO, "rita@rival.example", CLARA] {
        let (status, body) = server.get(&path(actor, None)).await;
        assert_error(actor, status, &body, FORBIDDEN);
        assert_rules_contain(actor, &body, &["PA-1"]);
    }
    let (status, body) = server.get(&path(ANN, Some("everyone"))).await;
    assert_error("unknown filter", status, &body, INVALID);
    let (status, body) = server
        .get(&format!("/v1/partners/p-nope/clients?actor={ANN}"))
        .await;
    assert_error("unknown partner", status, &body, NOT_FOUND);
    assert!(message(&body).contains("p-nope"), "{body}");
}

#[tokio::test]
async fn partner_employees_read_marks_verified_employees() {
    let server = agency_server().await;
    for actor in [ANN, VERA, EDDIE] {
        let (status, body) = server
            .get(&format!("/v1/partners/p-acme/employees?actor={actor}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{actor}: {body}");
        let employees = body["employees"].as_array().unwrap();
        assert_eq!(employees.len(), 12, "{body}");
        let find = |email: &str| {
            employees
                .iter()
                .find(|e| e["email"] == email)
                .unwrap()
                .clone()
        };
        let ann = find(ANN);
        assert_eq!(ann["verified"], true, "{ann}");
        assert_eq!(ann["super_admin"], true, "{ann}");
        assert_eq!(ann["employee_management"], "view_edit", "{ann}");
        let clients = strings(&ann["clients"]);
        assert!(
            clients.contains(&GLOBEX.to_owned()) && clients.contains(&INITECH.to_owned()),
            "{ann}"
        );
        let gus = find(GUS);
        assert_eq!(gus["verified"], false, "{gus}");
        assert_eq!(
            strings(&gus["clients"]),
            vec![GLOBEX, "c-umbrella"],
            "{gus}"
        );
        assert_eq!(
            find(EDDIE)["clients"],
            json!([]),
            "eddie is no client's user"
        );
    }
    for actor in [BOB, OTTO, ZED, OWNER] {
        let (status, body) = server
            .get(&format!("/v1/partners/p-acme/employees?actor={actor}"))
            .await;
        assert_error(actor, status, &body, FORBIDDEN);
        assert_rules_contain(actor, &body, &["PA-1"]);
    }
    // A new user shows up in the employee's clients.
    let (status, body) = create(&server, INITECH, IAN, EDDIE, "partner", "partner_admin").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = server
        .get(&format!("/v1/partners/p-acme/employees?actor={ANN}"))
        .await;
    let eddie = body["employees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["email"] == EDDIE)
        .unwrap()
        .clone();
    assert_eq!(strings(&eddie["clients"]), vec![INITECH], "{eddie}");
}
