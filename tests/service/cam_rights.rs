//! Who may use the Client Access Manager, and what it reaches, over HTTP:
//!
//! - PA-1: every CAM command needs CAM access (partner super admin or `view_edit`), and those
//!   that also need a role in the client need both;
//! - PERM-4: single permissions through the CAM, clamped by PERM-2, the role kept; a whole set
//!   that is not the partner admin template makes a partner admin standard;
//! - REM-7: reactivating everyone is one command;
//! - LINK-3 (with PERM-3 and REL-1): verified employees are partner users however they were
//!   created, unless another partner manages the account.
//!
//! As in `commands_cam`, every refusal is shown to change nothing.

use reqwest::Method;
use serde_json::{Value, json};

use super::commands_cam::{
    ANN, BOB, CONFLICT, DANA, EDDIE, FORBIDDEN, GUS, HANK, INVALID, KIM, NINA, PAT, SAM, UMA, ZED,
    agency_server, agency_with, approve_path, assert_rules, client, events, export, issue, ok,
    refused, relationship, server_with, sorted, user,
};
use crate::support::harness::TestServer;

/// Gives a partner employee other partner-side rights (`none`, `view`, `view_edit`).
async fn employee_rights(server: &TestServer, email: &str, management: &str) {
    let (status, body) = server
        .put(
            &format!("/v1/admin/partners/p-acme/employees/{email}"),
            &json!({"super_admin": false, "employee_management": management}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn permission_path(client: &str, employee: &str, permission: &str) -> String {
    format!("/v1/clients/{client}/partner-users/{employee}/permissions/{permission}")
}

#[tokio::test]
async fn pa1_every_cam_command_needs_cam_access_besides_the_role_in_the_client() {
    let server = agency_server().await;
    // zed is a partner admin of globex (with multi-account management) whose partner-side
    // employee management is `none`: it keeps its rights in globex...
    let check = server.check(ZED, "multi_account.manage", "c-globex").await;
    assert_eq!(check["decision"], "Allow", "{check}");
    // ...and manages nobody from the partner account, whatever the command.
    let preview = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users/removal-preview",
        &json!({"actor": ZED}),
        200,
    )
    .await;
    let version = preview["version"].as_str().unwrap().to_owned();
    let globex = "/v1/clients/c-globex/partner-users";
    let commands: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            globex.to_owned(),
            json!({"actor": ZED, "employees": [NINA], "permission_set": "Sales rep"}),
        ),
        (
            Method::PUT,
            format!("{globex}/{BOB}/permission-set"),
            json!({"actor": ZED, "permission_set": "Sales rep"}),
        ),
        (
            Method::PUT,
            format!("{globex}/{ZED}/permission-set"),
            json!({"actor": ZED, "permission_set": "partner_admin"}),
        ),
        (
            Method::PUT,
            permission_path("c-globex", BOB, "apps.manage"),
            json!({"actor": ZED}),
        ),
        (
            Method::DELETE,
            permission_path("c-globex", BOB, "crm.objects.view"),
            json!({"actor": ZED}),
        ),
        (
            Method::POST,
            format!("{globex}/{BOB}/deactivate"),
            json!({"actor": ZED}),
        ),
        (
            Method::POST,
            format!("{globex}/{BOB}/reactivate"),
            json!({"actor": ZED}),
        ),
        (
            Method::POST,
            format!("{globex}/reactivate-all"),
            json!({"actor": ZED}),
        ),
        (
            Method::POST,
            format!("{globex}/remove-all"),
            json!({"actor": ZED, "version": version}),
        ),
    ];
    for (method, path, body) in commands {
        let error = refused(&server, method, &path, &body, FORBIDDEN).await;
        assert_rules(&error, &["PA-1", "cam-needs-employee-management"]);
    }

    // `view` alone lists but does not change (PA-1 [product]).
    employee_rights(&server, ZED, "view").await;
    let error = refused(
        &server,
        Method::PUT,
        &permission_path("c-globex", BOB, "apps.manage"),
        &json!({"actor": ZED}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PA-1"]);

    // With CAM access the same partner admin adds, changes and removes...
    employee_rights(&server, ZED, "view_edit").await;
    let answer = ok(
        &server,
        Method::POST,
        globex,
        &json!({"actor": ZED, "employees": [NINA], "permission_set": "Sales rep"}),
        201,
    )
    .await;
    assert_eq!(answer["results"][0]["outcome"], "added", "{answer}");
    ok(
        &server,
        Method::POST,
        &format!("{globex}/{NINA}/deactivate"),
        &json!({"actor": ZED}),
        200,
    )
    .await;
    // ...but CAM access alone is not enough where a role in the client is needed too: eddie
    // (`view_edit`, no user of globex) adds nobody there (ADD-2).
    let error = refused(
        &server,
        Method::POST,
        globex,
        &json!({"actor": EDDIE, "employees": [NINA], "permission_set": "Sales rep"}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["ADD-2"]);
}

#[tokio::test]
async fn pa1_mig1_a_super_admin_without_cam_access_does_not_change_itself_to_partner_admin() {
    let server = agency_server().await;
    employee_rights(&server, SAM, "none").await;
    let migrate = json!({"actor": SAM, "user": SAM, "keep_billing": false});
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-initech/partner-admins",
        &migrate,
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PA-1"]);
    employee_rights(&server, SAM, "view_edit").await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-initech/partner-admins",
        &migrate,
        200,
    )
    .await;
    assert_eq!(answer["role"], "partner_admin", "{answer}");
}

#[tokio::test]
async fn perm4_the_cam_adds_and_removes_one_permission_and_the_role_stays() {
    let server = agency_server().await;
    // One more permission for a standard partner user.
    let answer = ok(
        &server,
        Method::PUT,
        &permission_path("c-globex", BOB, "apps.manage"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    assert_eq!(answer["role"], "standard", "{answer}");
    assert_eq!(answer["withheld"], json!([]), "{answer}");
    let state = export(&server).await;
    let bob = user(&state, "c-globex", BOB).unwrap();
    assert!(
        sorted(&bob["permissions"]).contains(&"apps.manage".to_owned()),
        "{bob}"
    );
    assert_eq!(
        server.check(BOB, "apps.manage", "c-globex").await["decision"],
        "Allow"
    );

    // One permission less for a partner admin: still a partner admin (CAP-6).
    let answer = ok(
        &server,
        Method::DELETE,
        &permission_path("c-globex", KIM, "reports.access"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    assert_eq!(answer["role"], "partner_admin", "{answer}");
    let kim = user(&export(&server).await, "c-globex", KIM).unwrap();
    assert_eq!(kim["role"], "partner_admin");
    assert!(!sorted(&kim["permissions"]).contains(&"reports.access".to_owned()));
    assert_eq!(
        server.check(KIM, "reports.access", "c-globex").await["decision"],
        "Deny"
    );
    assert_eq!(
        server.check(KIM, "multi_account.manage", "c-globex").await["decision"],
        "Allow"
    );

    // PERM-2: pat does not hold reports.access, so it neither gives nor takes it: the answer
    // says so and the user is as it was.
    let before = export(&server).await;
    let answer = ok(
        &server,
        Method::PUT,
        &permission_path("c-globex", GUS, "reports.access"),
        &json!({"actor": PAT}),
        200,
    )
    .await;
    assert_eq!(answer["withheld"], json!(["reports.access"]), "{answer}");
    let answer = ok(
        &server,
        Method::DELETE,
        &permission_path("c-globex", BOB, "reports.access"),
        &json!({"actor": PAT}),
        200,
    )
    .await;
    assert_eq!(answer["kept"], json!(["reports.access"]), "{answer}");
    let after = export(&server).await;
    assert_eq!(
        user(&after, "c-globex", GUS).unwrap()["permissions"],
        user(&before, "c-globex", GUS).unwrap()["permissions"]
    );
    assert_eq!(
        user(&after, "c-globex", BOB).unwrap()["permissions"],
        user(&before, "c-globex", BOB).unwrap()["permissions"]
    );

    // CAP-5/CAP-6: no adjustment gives a partner admin SCIM.
    let answer = ok(
        &server,
        Method::PUT,
        &permission_path("c-globex", KIM, "scim.provision"),
        &json!({"actor": ANN}),
        200,
    )
    .await;
    assert_eq!(answer["withheld"], json!(["scim.provision"]), "{answer}");

    // A permission outside the catalogue is a 400 naming it.
    let error = refused(
        &server,
        Method::PUT,
        &permission_path("c-globex", BOB, "teleport.use"),
        &json!({"actor": ANN}),
        INVALID,
    )
    .await;
    assert!(
        error["message"].as_str().unwrap().contains("teleport.use"),
        "{error}"
    );
}

#[tokio::test]
async fn perm4_a_set_that_is_not_the_template_makes_a_partner_admin_standard_with_what_it_gives() {
    let server = agency_server().await;
    // kim holds the partner admin template plus both billing permissions; ann holds the
    // template without billing. Applying "Sales rep" gives (P − A) ∪ (S ∩ A).
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-globex/partner-users/{KIM}/permission-set"),
        &json!({"actor": ANN, "permission_set": "Sales rep"}),
        200,
    )
    .await;
    assert_eq!(answer["role"], "standard", "{answer}");
    let kim = user(&export(&server).await, "c-globex", KIM).unwrap();
    assert_eq!(kim["role"], "standard");
    assert_eq!(
        sorted(&kim["permissions"]),
        [
            "billing.edit",
            "billing.transactions",
            "crm.objects.edit",
            "reports.access"
        ],
        "{kim}"
    );
    assert_eq!(
        answer["kept"],
        json!(["billing.edit", "billing.transactions"])
    );
    // A standard user that should no longer have multi-account management does not keep it.
    assert_eq!(
        server.check(KIM, "multi_account.manage", "c-globex").await["decision"],
        "Deny"
    );
}

#[tokio::test]
async fn rem7_a_deactivated_partner_admin_reactivates_everyone_in_one_command() {
    // hooli: dana (partner admin) and bob, every partner user of p-acme there, deactivated.
    let server = agency_server().await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/reactivate-all",
        &json!({"actor": DANA}),
        200,
    )
    .await;
    let mut reactivated: Vec<String> = answer["reactivated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    reactivated.sort();
    assert_eq!(reactivated, [BOB, DANA], "{answer}");
    let state = export(&server).await;
    for email in [BOB, DANA] {
        assert_eq!(user(&state, "c-hooli", email).unwrap()["status"], "active");
    }
    assert_eq!(events(&server, "user.reactivated").await.len(), 2);
    assert_eq!(
        server.check(DANA, "crm.objects.edit", "c-hooli").await["decision"],
        "Allow"
    );

    // One by one, the first reactivation locks the deactivated admin out of the rest: the
    // reason "all" has to be one command.
    let server = agency_server().await;
    ok(
        &server,
        Method::POST,
        &format!("/v1/clients/c-hooli/partner-users/{BOB}/reactivate"),
        &json!({"actor": DANA}),
        200,
    )
    .await;
    refused(
        &server,
        Method::POST,
        &format!("/v1/clients/c-hooli/partner-users/{DANA}/reactivate"),
        &json!({"actor": DANA}),
        FORBIDDEN,
    )
    .await;

    // Nobody else reactivates them: a plain partner user, the client's super admin, a partner
    // admin without CAM access.
    let server = agency_server().await;
    for actor in [BOB, HANK] {
        refused(
            &server,
            Method::POST,
            "/v1/clients/c-hooli/partner-users/reactivate-all",
            &json!({"actor": actor}),
            FORBIDDEN,
        )
        .await;
    }
    employee_rights(&server, DANA, "none").await;
    let error = refused(
        &server,
        Method::POST,
        "/v1/clients/c-hooli/partner-users/reactivate-all",
        &json!({"actor": DANA}),
        FORBIDDEN,
    )
    .await;
    assert_rules(&error, &["PA-1"]);

    // In an account where nobody is deactivated there is nothing to do, for whoever may.
    let server = agency_server().await;
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-globex/partner-users/reactivate-all",
        &json!({"actor": ANN}),
        200,
    )
    .await;
    assert_eq!(answer["reactivated"], json!([]), "{answer}");
}

/// Umbrella, unmanaged, with a permission set of its own.
fn umbrella_with_a_viewer_set() -> Value {
    agency_with(|doc| {
        let clients = doc["clients"].as_array_mut().unwrap();
        let umbrella = clients
            .iter_mut()
            .find(|c| c["id"] == "c-umbrella")
            .unwrap();
        umbrella["permission_sets"] =
            json!([{"name": "Viewer", "permissions": ["crm.objects.view"]}]);
    })
}

#[tokio::test]
async fn link3_perm3_a_verified_employee_created_client_side_is_a_partner_user_the_cam_manages() {
    let server = server_with(&umbrella_with_a_viewer_set()).await;
    assert_eq!(
        relationship(&server, "c-umbrella", None).await["state"],
        "none"
    );
    // uma creates nina, a verified employee of p-acme, on a core seat: no manual link.
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-umbrella/users",
        &json!({"actor": UMA, "email": NINA, "seat": "core", "permission_set": "Viewer"}),
        201,
    )
    .await;
    assert_eq!(answer["partner"], "p-acme", "{answer}");
    let state = export(&server).await;
    assert_eq!(
        user(&state, "c-umbrella", NINA).unwrap()["partner"],
        "p-acme"
    );
    assert_eq!(client(&state, "c-umbrella")["managed_by"], "p-acme");
    // It earns managed credit like any partner user (REL-1).
    let rel = relationship(&server, "c-umbrella", None).await;
    assert_eq!(rel["state"], "active", "{rel}");
    assert_eq!(rel["partner"], "p-acme", "{rel}");
    let linked = events(&server, "user.linked").await;
    assert_eq!(linked.len(), 1, "{linked:?}");
    assert_eq!(linked[0]["data"]["rule"], "LINK-3");

    // The CAM reaches it: ann becomes partner admin of umbrella through her access link, then
    // changes nina's permissions, which moves her to the partner seat with no extra step
    // (PERM-3).
    let token = issue(&server, "p-acme", ANN, ANN).await;
    ok(
        &server,
        Method::POST,
        &approve_path(&token),
        &json!({"actor": UMA, "client": "c-umbrella"}),
        201,
    )
    .await;
    let answer = ok(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-umbrella/partner-users/{NINA}/permission-set"),
        &json!({"actor": ANN, "permission_set": "Sales rep"}),
        200,
    )
    .await;
    assert_eq!(answer["seat"], "partner", "{answer}");
    assert_eq!(
        user(&export(&server).await, "c-umbrella", NINA).unwrap()["seat"],
        "partner"
    );

    // An employee without a partner domain still needs the manual link (LINK-1).
    assert!(
        user(&export(&server).await, "c-umbrella", GUS).unwrap()["partner"].is_null(),
        "gus has no approved domain"
    );
}

#[tokio::test]
async fn link3_link2_a_verified_employee_in_a_client_another_partner_manages_stays_unlinked() {
    let server = agency_server().await;
    // rivalco is managed by p-rival; a verified employee of p-acme synced into it stays a
    // plain user there.
    let (status, body) = server
        .put(
            &format!("/v1/admin/clients/c-rivalco/users/{NINA}"),
            &json!({"role": "standard", "seat": "core", "permissions": ["crm.objects.view"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let state = export(&server).await;
    assert!(user(&state, "c-rivalco", NINA).unwrap()["partner"].is_null());
    assert_eq!(client(&state, "c-rivalco")["managed_by"], "p-rival");
}

#[tokio::test]
async fn link3_an_employee_or_a_domain_added_later_links_existing_users() {
    let server = server_with(&umbrella_with_a_viewer_set()).await;
    // newbie is a user of umbrella before acme lists it as an employee.
    let newbie = "newbie@acme.example";
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-umbrella/users",
        &json!({"actor": UMA, "email": newbie, "seat": "core", "permission_set": "Viewer"}),
        201,
    )
    .await;
    assert!(user(&export(&server).await, "c-umbrella", newbie).unwrap()["partner"].is_null());
    employee_rights(&server, newbie, "none").await;
    assert_eq!(
        user(&export(&server).await, "c-umbrella", newbie).unwrap()["partner"],
        "p-acme",
        "listing the employee links it"
    );

    // gus (gmail.example) is a plain user of umbrella until acme approves his domain. The
    // partner is sent back as the export wrote it, with its id (upserts take exported records).
    let state = export(&server).await;
    assert!(user(&state, "c-umbrella", GUS).unwrap()["partner"].is_null());
    let mut acme = state["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "p-acme")
        .unwrap()
        .clone();
    acme["email_domains"]
        .as_array_mut()
        .unwrap()
        .push(json!("gmail.example"));
    let (status, body) = server.put("/v1/admin/partners/p-acme", &acme).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        user(&export(&server).await, "c-umbrella", GUS).unwrap()["partner"],
        "p-acme"
    );
}

#[tokio::test]
async fn link2_link3_users_of_another_partner_keep_the_client_theirs_whatever_managed_by_says() {
    // A client whose users are linked to p-rival, imported with no `managed_by`, and a verified
    // employee of p-acme: LINK-3 does not make it a client of two partners.
    let doc = agency_with(|doc| {
        let clients = doc["clients"].as_array_mut().unwrap();
        clients.push(json!({
            "id": "c-split", "official_name": "Split", "pricing_model": "seat_based",
            "users": [
                {"email": "boss@split.example", "role": "super_admin", "seat": "core"},
                {"email": "ron@rival.example", "role": "standard", "seat": "partner",
                 "partner": "p-rival", "permissions": ["crm.objects.view"]},
                {"email": NINA, "role": "standard", "seat": "core",
                 "permissions": ["crm.objects.view"]}
            ]
        }));
    });
    let server = server_with(&doc).await;
    let state = export(&server).await;
    assert!(
        user(&state, "c-split", NINA).unwrap()["partner"].is_null(),
        "{state}"
    );
    // Nor does a client-side partner admin set link another partner's employee there.
    let error = refused(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-split/users/{NINA}/permission-set"),
        &json!({"actor": "boss@split.example", "permission_set": "partner_admin"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
}

#[tokio::test]
async fn link2_a_client_side_partner_admin_set_never_makes_a_second_managing_partner() {
    let server = agency_server().await;
    // rivalco is p-rival's; its super admin creates ann (p-acme) as a plain user (LINK-3 leaves
    // her unlinked there), then tries to make her a partner admin.
    ok(
        &server,
        Method::POST,
        "/v1/clients/c-rivalco/users",
        &json!({"actor": "ros@rivalco.example", "email": ANN, "seat": "partner",
                "permission_set": "super_admin"}),
        201,
    )
    .await;
    let error = refused(
        &server,
        Method::PUT,
        &format!("/v1/clients/c-rivalco/users/{ANN}/permission-set"),
        &json!({"actor": "ros@rivalco.example", "permission_set": "partner_admin"}),
        CONFLICT,
    )
    .await;
    assert_rules(&error, &["LINK-2"]);
}

#[tokio::test]
async fn rem6_rem8_super_admins_linked_to_the_partner_stay_and_do_not_block_remove_all() {
    // initech: sam and sue are super admins linked to p-acme; ann is its partner admin.
    let server = agency_server().await;
    let preview = ok(
        &server,
        Method::POST,
        "/v1/clients/c-initech/partner-users/removal-preview",
        &json!({"actor": ANN}),
        200,
    )
    .await;
    let listed: Vec<&str> = preview["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert!(
        !listed.contains(&SAM),
        "super admins are not the CAM's: {listed:?}"
    );
    let answer = ok(
        &server,
        Method::POST,
        "/v1/clients/c-initech/partner-users/remove-all",
        &json!({"actor": ANN, "version": preview["version"]}),
        200,
    )
    .await;
    assert!(
        answer["removed"].as_array().unwrap().contains(&json!(ANN)),
        "{answer}"
    );
    let state = export(&server).await;
    assert!(user(&state, "c-initech", ANN).is_none());
    assert_eq!(
        user(&state, "c-initech", SAM).unwrap()["role"],
        "super_admin"
    );
}
