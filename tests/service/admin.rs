//! Administration over HTTP: import (replace, merge, all or nothing), export round trips,
//! upserts and their validation, and restarts that keep everything.

use serde_json::{Value, json};

use crate::support;
use crate::support::harness;

async fn export(server: &harness::TestServer) -> Value {
    let (status, body) = server.get("/v1/admin/export").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn export_round_trips_through_import() {
    let server = harness::start(harness::Options::default()).await;
    let first = server.import(&support::agency()).await;
    let exported = export(&server).await;
    let second = server.import(&exported).await;
    assert_eq!(second, first + 1, "every write bumps the revision");
    assert_eq!(export(&server).await, exported);
    assert_eq!(
        exported["clients"].as_array().unwrap().len(),
        support::agency()["clients"].as_array().unwrap().len()
    );
}

#[tokio::test]
async fn an_invalid_import_changes_nothing_and_lists_every_problem() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let before = export(&server).await;
    let mut bad = support::demo();
    bad["clients"][0]["users"][1]["seat"] = json!("core"); // the partner admin loses its seat
    bad["clients"][0]["users"][0]["status"] = json!("deactivated"); // no active super admin
    let (status, body) = server.post("/v1/admin/import", &bad).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    let rules = body["error"]["rules"].as_array().unwrap();
    assert!(
        rules.contains(&json!("SEAT-5")) && rules.contains(&json!("MIG-4")),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    assert_eq!(export(&server).await, before);

    let (status, body) = server
        .post(
            "/v1/admin/import",
            &json!({"clients": [{"id": "c", "pricing_model": "gold"}]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("clients[0].pricing_model") && message.contains("gold"),
        "{message}"
    );
    assert_eq!(export(&server).await, before);
}

#[tokio::test]
async fn merge_replaces_by_id_and_keeps_the_rest() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let extra = json!({"clients": [{"id": "c-new", "official_name": "New Co",
        "pricing_model": "legacy",
        "users": [{"email": "boss@new.example", "role": "super_admin", "seat": "core"}]}]});
    let (status, body) = server.post("/v1/admin/import?mode=merge", &extra).await;
    assert_eq!(status, 200, "{body}");
    let state = export(&server).await;
    let ids: Vec<_> = state["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("c-globex"), json!("c-new")]);
    assert_eq!(
        server
            .check("ann@acme.example", "reports.access", "c-globex")
            .await["decision"],
        "Allow"
    );
    assert_eq!(
        server
            .check("boss@new.example", "billing.edit", "c-new")
            .await["decision"],
        "Allow"
    );

    let (status, _) = server.post("/v1/admin/import?mode=replace", &extra).await;
    assert_eq!(status, 200);
    let state = export(&server).await;
    assert_eq!(state["clients"].as_array().unwrap().len(), 1);
    assert!(state["partners"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn upserts_change_what_checks_see() {
    let server = harness::start(harness::Options::default()).await;
    let start = server.import(&support::demo()).await;

    // A new client, its super admin, an asset.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-initech",
            &json!({"official_name": "Initech", "pricing_model": "legacy",
            "users": [{"email": "ian@initech.example", "role": "super_admin", "seat": "core"}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revision"], start + 1);
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-initech/assets/deal-9",
            &json!({"kind": "deal", "name": "Big", "owner": "ian@initech.example"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // A new employee of the partner, then a user of the client linked to it.
    let (status, body) = server
        .put(
            "/v1/admin/partners/p-acme/employees/Nina@Acme.example",
            &json!({"employee_management": "view"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server
            .check("nina@acme.example", "crm.objects.view", "c-initech")
            .await["decision"],
        "Deny"
    );
    let (status, body) = server
        .put("/v1/admin/clients/c-initech/users/nina@acme.example",
             &json!({"role": "standard", "seat": "partner", "partner": "p-acme", "permissions": ["crm.objects.view"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server
            .check("nina@acme.example", "crm.objects.view", "c-initech")
            .await["decision"],
        "Allow"
    );

    // The partner's tier and domains.
    let (status, body) = server
        .put(
            "/v1/admin/partners/p-acme",
            &json!({"name": "Acme", "tier": "provider", "email_domains": ["acme.example"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let state = export(&server).await;
    let partner = &state["partners"][0];
    assert_eq!(partner["tier"], "provider");
    assert_eq!(
        partner["employees"].as_array().unwrap().len(),
        support::demo()["partners"][0]["employees"]
            .as_array()
            .unwrap()
            .len()
            + 1,
        "employees kept: {partner}"
    );
    let client = state["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "c-initech")
        .unwrap();
    assert_eq!(client["assets"][0]["id"], "deal-9");
}

#[tokio::test]
async fn upserts_that_break_a_rule_change_nothing() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let before = export(&server).await;

    // SEAT-5: a partner admin must hold the partner seat.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-globex/users/ann@acme.example",
            &json!({"role": "partner_admin", "seat": "core", "partner": "p-acme"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["rules"], json!(["SEAT-5"]));

    // MIG-4: the only super admin cannot stop being one.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-globex/users/owner@globex.example",
            &json!({"role": "standard", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["rules"], json!(["MIG-4"]));

    // Unknown client: 404.
    let (status, body) = server
        .put(
            "/v1/admin/clients/c-nope/users/x@y.example",
            &json!({"role": "standard", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");

    // An e-mail belongs to one partner: moving an employee is a conflict.
    let (status, _) = server
        .put("/v1/admin/partners/p-other", &json!({"tier": "other"}))
        .await;
    assert_eq!(status, 200);
    let before_move = export(&server).await;
    let (status, body) = server
        .put(
            "/v1/admin/partners/p-other/employees/ann@acme.example",
            &json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(export(&server).await, before_move);

    // Everything before the partner upsert is as it was.
    let after = export(&server).await;
    assert_eq!(after["clients"], before["clients"]);
}

#[tokio::test]
async fn a_restart_on_the_same_data_directory_keeps_everything() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::agency()).await;
    let before = export(&server).await;
    let decision = server
        .check("zed@acme.example", "scim.provision", "c-globex")
        .await;

    let server = server.restart().await;
    assert_eq!(export(&server).await, before);
    let again = server
        .check("zed@acme.example", "scim.provision", "c-globex")
        .await;
    assert_eq!(again["decision"], decision["decision"]);
    assert_eq!(again["diagnostics"], decision["diagnostics"]);
    assert_eq!(again["revision"], revision);
}

/// `mode=empty` loads a document only into a store that holds no partner and no client; over
/// a state it is a 409 that changes nothing.
#[tokio::test]
async fn an_import_into_an_empty_store_only_is_refused_over_a_state() {
    let server = harness::start(harness::Options::default()).await;
    let (status, body) = server
        .post("/v1/admin/import?mode=empty", &support::demo())
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    let before = export(&server).await;
    let (status, body) = server
        .post("/v1/admin/import?mode=empty", &support::agency())
        .await;
    assert_eq!(status, reqwest::StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already holds a state"),
        "{body}"
    );
    assert_eq!(export(&server).await, before, "nothing changed");
}

/// The audit log's records with `command` starting `admin.`, oldest first.
async fn admin_audit(server: &harness::TestServer) -> Vec<Value> {
    let (status, body) = server.get("/v1/audit?limit=1000").await;
    assert_eq!(status, 200, "{body}");
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["command"].as_str().unwrap().starts_with("admin."))
        .cloned()
        .collect()
}

#[tokio::test]
async fn every_applied_administration_write_is_audited_and_a_refused_one_writes_nothing() {
    let server = harness::start(harness::Options::default()).await;
    let imported = server.import(&support::demo()).await;
    let records = admin_audit(&server).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0]["command"], "admin.import");
    assert_eq!(records[0]["actor"], "admin-token");
    assert_eq!(records[0]["outcome"], "applied");
    assert_eq!(records[0]["revision"], imported);
    assert!(
        records[0]["message"]
            .as_str()
            .unwrap()
            .contains("1 clients"),
        "{records:#?}"
    );

    let (status, body) = server
        .put(
            "/v1/admin/clients/c-globex/users/bob@acme.example",
            &json!({"role": "standard", "seat": "core", "partner": "p-acme"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let records = admin_audit(&server).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[1]["command"], "admin.upsert_user");
    assert_eq!(
        records[1]["target"],
        "client/c-globex/user/bob@acme.example"
    );
    assert_eq!(records[1]["client"], "c-globex");
    assert_eq!(records[1]["revision"], body["revision"]);
    assert!(records[1]["policy_version"].as_str().unwrap().len() == 64);

    for (path, body) in [
        (
            "/v1/admin/partners/p-acme",
            json!({"tier": "solutions_partner", "email_domains": ["acme.example"]}),
        ),
        (
            "/v1/admin/partners/p-acme/employees/zed@acme.example",
            json!({}),
        ),
        (
            "/v1/admin/clients/c-globex",
            json!({"official_name": "Globex", "pricing_model": "seat_based", "managed_by": "p-acme"}),
        ),
        (
            "/v1/admin/clients/c-globex/assets/a-1",
            json!({"kind": "workflow", "name": "Nurture", "owner": "bob@acme.example"}),
        ),
    ] {
        let (status, answer) = server.put(path, &body).await;
        assert_eq!(status, 200, "{path}: {answer}");
    }
    let commands: Vec<Value> = admin_audit(&server)
        .await
        .iter()
        .map(|r| r["command"].clone())
        .collect();
    assert_eq!(
        commands,
        [
            "admin.import",
            "admin.upsert_user",
            "admin.upsert_partner",
            "admin.upsert_employee",
            "admin.upsert_client",
            "admin.upsert_asset"
        ]
    );

    // Refused (MIG-4): nothing written, not even an audit record.
    let (status, _) = server
        .put(
            "/v1/admin/clients/c-globex/users/owner@globex.example",
            &json!({"role": "standard", "seat": "core"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(admin_audit(&server).await.len(), 6);
}
