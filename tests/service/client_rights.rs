//! What is granted from inside a client account, over HTTP:
//!
//! - PERM-2: a client super admin grants every permission, the partner admin template in full;
//!   a client user who is not a super admin grants only what it holds;
//! - PERM-4 with SEAT-4: single permissions client-side, the role kept;
//! - SEAT-9 with SEAT-8: paid hub licences besides the seat, and every paid seat or licence
//!   behind one billing authorization, however it is given (creation included);
//! - the admin upserts take the records the export writes.

use reqwest::Method;
use serde_json::json;

use super::commands_cam::{
    ANN, BOB, CLARA, FORBIDDEN, INVALID, KIM, NINA, OWNER, PARTNER_ADMIN_SET, SALLY, UMA,
    agency_server, assert_rules, client, export, ok, refused, sorted, user,
};

const IAN: &str = "ian@initech.example"; // initech's own super admin
const LENA: &str = "lena@initech.example"; // initech user on a paid Sales seat, no permissions
const BILL: &str = "bill@globex.example"; // globex user with users.add_edit and billing.edit

#[tokio::test]
async fn perm2_a_client_super_admin_gives_the_partner_admin_template_in_full() {
    let server = agency_server().await;
    // bob is a standard partner user on the partner seat; globex's super admin makes him a
    // partner admin client-side.
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/users/{BOB}/permission-set"),
        &json!({"actor": OWNER, "permission_set": "partner_admin"}),
        200,
    )
    .await;
    assert_eq!(answer["withheld"], json!([]), "{answer}");
    let bob = user(&export(&server).await, "c-globex", BOB).unwrap();
    assert_eq!(bob["role"], "partner_admin");
    assert_eq!(sorted(&bob["permissions"]), PARTNER_ADMIN_SET, "{bob}");
    assert_eq!(
        server.check(BOB, "multi_account.manage", "c-globex").await["decision"],
        "Allow"
    );

    // Created that way too: uma makes nina a partner admin of umbrella on the partner seat.
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-umbrella/users",
        &json!({"actor": UMA, "email": NINA, "seat": "partner", "permission_set": "partner_admin"}),
        201,
    )
    .await;
    assert_eq!(
        sorted(&answer["permissions"]),
        PARTNER_ADMIN_SET,
        "{answer}"
    );

    // A client user who is not a super admin gives only what it holds: clara (users.add_edit,
    // crm.objects.view) cannot give sally reports.access.
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/users/{SALLY}/permissions/reports.access"),
        &json!({"actor": CLARA}),
        200,
    )
    .await;
    assert_eq!(answer["withheld"], json!(["reports.access"]), "{answer}");

    // Multi-account management is for partner employees only, whoever grants it.
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/users/{SALLY}/permissions/multi_account.manage"),
        &json!({"actor": OWNER}),
        200,
    )
    .await;
    assert_eq!(
        answer["withheld"],
        json!(["multi_account.manage"]),
        "{answer}"
    );
}

#[tokio::test]
async fn perm4_seat4_single_permissions_client_side_keep_the_role() {
    let server = agency_server().await;
    // The super admin adds billing to a partner admin (CAP-6): still a partner admin.
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/users/{ANN}/permissions/billing.edit"),
        &json!({"actor": OWNER}),
        200,
    )
    .await;
    assert_eq!(answer["role"], "partner_admin", "{answer}");
    assert_eq!(
        server.check(ANN, "billing.edit", "c-globex").await["decision"],
        "Allow"
    );
    // ...and takes multi-account management away (a super admin may take every permission).
    let answer = ok(
        &server,
        Method::DELETE,
        &format!("/v1/clients/c-globex/users/{ANN}/permissions/multi_account.manage"),
        &json!({"actor": OWNER}),
        200,
    )
    .await;
    assert_eq!(answer["kept"], json!([]), "{answer}");
    let ann = user(&export(&server).await, "c-globex", ANN).unwrap();
    assert_eq!(ann["role"], "partner_admin");
    assert!(!sorted(&ann["permissions"]).contains(&"multi_account.manage".to_owned()));

    // SEAT-4: a partner-seat user's permissions need users.add_edit and billing.edit.
    let error = refused(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/users/{KIM}/permissions/crm.objects.view"),
        &json!({"actor": CLARA}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["SEAT-4", "partner-seat-permissions-need-billing"]);
    // Without users.add_edit, nothing.
    refused(
        &server,
        Method::DELETE,
        &format!("/v1/clients/c-globex/users/{CLARA}/permissions/crm.objects.view"),
        &json!({"actor": SALLY}),
        FORBIDDEN,
    )
    .await;
}

#[tokio::test]
async fn seat9_a_partner_admin_on_legacy_pricing_gets_paid_features_from_a_licence() {
    let server = agency_server().await;
    // initech is on legacy pricing: ann's partner seat gives her no paid Sales features.
    assert_eq!(
        server
            .check(ANN, "sales_hub.paid_features", "c-initech")
            .await["decision"],
        "Deny"
    );
    let path = format!("/v1/clients/c-initech/users/{ANN}/paid-hubs");
    // Assigning a licence needs SEAT-8's rights: a user without them changes nothing.
    let error = refused(
        &server,
        Method::PUT,
        &path,
        &json!({"actor": LENA, "paid_hubs": ["sales"]}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["SEAT-8"]);
    refused(
        &server,
        Method::PUT,
        &path,
        &json!({"actor": IAN, "paid_hubs": ["marketing"]}),
        INVALID,
    )
    .await;
    let answer = ok(
        &server,
        Method::PUT,
        &path,
        &json!({"actor": IAN, "paid_hubs": ["service", "sales", "sales"]}),
        200,
    )
    .await;
    assert_eq!(answer["paid_hubs"], json!(["sales", "service"]), "{answer}");
    // The licence is besides the seat: ann stays a partner admin on the partner seat.
    assert_eq!(answer["seat"], "partner");
    assert_eq!(answer["role"], "partner_admin");
    assert_eq!(
        server
            .check(ANN, "sales_hub.paid_features", "c-initech")
            .await["decision"],
        "Allow"
    );
    let state = export(&server).await;
    assert_eq!(
        user(&state, "c-initech", ANN).unwrap()["paid_hubs"],
        json!(["sales", "service"])
    );
    // A user the document gave no licences reads as none.
    assert_eq!(
        user(&state, "c-initech", LENA).unwrap()["paid_hubs"],
        json!([])
    );
    assert_eq!(client(&state, "c-initech")["pricing_model"], "legacy");

    // Taking them away is the same authorization.
    ok(
        &server,
        Method::PUT,
        &path,
        &json!({"actor": IAN, "paid_hubs": []}),
        200,
    )
    .await;
    assert_eq!(
        server
            .check(ANN, "sales_hub.paid_features", "c-initech")
            .await["decision"],
        "Deny"
    );
}

#[tokio::test]
async fn seat8_seat9_creating_a_user_gives_no_paid_seat_or_licence_without_billing_rights() {
    let server = agency_server().await;
    // clara may create users (users.add_edit) but not spend money (no billing.edit).
    for body in [
        json!({"actor": CLARA, "email": "new1@globex.example", "seat": "sales_paid",
               "permission_set": "Support"}),
        json!({"actor": CLARA, "email": "new2@globex.example", "seat": "core",
               "permission_set": "Support", "paid_hubs": ["service"]}),
    ] {
        let error = refused(
            &server,
            Method::POST,
            "/v1/clients/c-globex/users",
            &body,
            FORBIDDEN,
        )
        .await;
        assert_rules(&error, &["SEAT-8"]);
    }
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/users",
        &json!({"actor": CLARA, "email": "new3@globex.example", "seat": "core",
                "permission_set": "Support"}),
        201,
    )
    .await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/users",
        &json!({"actor": BILL, "email": "new4@globex.example", "seat": "sales_paid",
                "permission_set": "Support", "paid_hubs": ["service"]}),
        201,
    )
    .await;
    assert_eq!(answer["paid_hubs"], json!(["service"]), "{answer}");
}

#[tokio::test]
async fn upserts_take_the_records_the_export_writes() {
    let server = agency_server().await;
    let state = export(&server).await;
    // Every record as exported, sent back to its own path, is accepted and changes nothing.
    let acme = &state["partners"][0];
    let partner = acme["id"].as_str().unwrap();
    let mut puts = vec![(format!("/v1/admin/partners/{partner}"), acme.clone())];
    let employee = &acme["employees"][0];
    puts.push((
        format!(
            "/v1/admin/partners/{partner}/employees/{}",
            employee["email"].as_str().unwrap()
        ),
        employee.clone(),
    ));
    let globex = client(&state, "c-globex").clone();
    puts.push(("/v1/admin/clients/c-globex".to_owned(), globex.clone()));
    let ann = user(&state, "c-globex", ANN).unwrap();
    puts.push((
        format!("/v1/admin/clients/c-globex/users/{ANN}"),
        ann.clone(),
    ));
    let asset = &globex["assets"][0];
    puts.push((
        format!(
            "/v1/admin/clients/c-globex/assets/{}",
            asset["id"].as_str().unwrap()
        ),
        asset.clone(),
    ));
    for (path, record) in &puts {
        let (status, body) = server.put(path, record).await;
        assert_eq!(status, 200, "PUT {path} {record}: {body}");
    }
    assert_eq!(
        export(&server).await,
        state,
        "the records were sent back unchanged"
    );

    // An id in the body that is not the path's is a 400 naming both.
    let mut other = ann.clone();
    other["email"] = json!(KIM);
    let (status, body) = server
        .put(&format!("/v1/admin/clients/c-globex/users/{ANN}"), &other)
        .await;
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(KIM) && message.contains(ANN), "{message}");
    let mut other = globex;
    other["id"] = json!("c-initech");
    let (status, body) = server.put("/v1/admin/clients/c-globex", &other).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        export(&server).await,
        state,
        "a refused upsert changed the state"
    );
}
