//! Explanations and reverse queries over HTTP: `POST /v1/explain` answers the same decision as
//! `POST /v1/is_authorized` with the deciding policies, the failed conditions and a sentence;
//! `POST /v1/actions_allowed` and `GET /v1/users/{email}/accounts` agree with one check per
//! action or account, page completely, and refuse bad input with 400.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::harness;

fn check_body(principal: &str, action: &str, resource: &str) -> Value {
    json!({
        "principal": {"type": "Hub::User", "id": principal},
        "action": {"type": "Hub::Action", "id": action},
        "resource": {"type": "Hub::Account", "id": resource},
    })
}

async fn explain(server: &harness::TestServer, p: &str, a: &str, r: &str) -> Value {
    let (status, body) = server.post("/v1/explain", &check_body(p, a, r)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_deny_by_a_forbid_names_the_forbid_its_rule_and_the_facts() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let answer = explain(&server, "ann@acme.example", "scim.provision", "c-globex").await;
    assert_eq!(answer["decision"], "Deny");
    let determining: Vec<&str> = answer["determining"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(determining, ["partner-admin-never-scim-or-migration"]);
    assert_eq!(answer["determining"][0]["effect"], "forbid");
    assert!(
        answer["determining"][0]["text"]
            .as_str()
            .unwrap()
            .contains("forbid")
    );
    let summary = answer["summary"].as_str().unwrap();
    assert!(summary.starts_with("Denied"), "{summary}");
    assert!(
        summary.contains("forbidden by `partner-admin-never-scim-or-migration`"),
        "{summary}"
    );
    assert!(summary.contains("CAP-5"), "{summary}");
    let facts = answer["facts"].to_string();
    assert!(
        facts.contains("ann@acme.example is a partner admin in c-globex"),
        "{facts}"
    );
    assert!(facts.contains("employee of partner p-acme"), "{facts}");
}

#[tokio::test]
async fn a_deny_by_default_shows_the_permit_that_could_allow_and_its_false_condition() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    // pat is a partner admin without `reports.access` in c-globex.
    let answer = explain(&server, "pat@acme.example", "reports.access", "c-globex").await;
    assert_eq!(answer["decision"], "Deny");
    assert_eq!(answer["determining"], json!([]));
    let listed = answer["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "listed.reports.access")
        .expect("the listing permit is a candidate");
    assert_eq!(listed["scope_matches"], true);
    let conditions = listed["conditions"].as_array().unwrap();
    let failed: Vec<&str> = conditions
        .iter()
        .filter(|c| c["outcome"] == "false")
        .map(|c| c["condition"].as_str().unwrap())
        .collect();
    assert_eq!(failed.len(), 1, "{conditions:?}");
    assert!(
        failed[0].contains(r#"contains("reports.access")"#),
        "{failed:?}"
    );
    // The membership conjunct held.
    assert!(
        conditions
            .iter()
            .any(|c| c["outcome"] == "true" && c["condition"].as_str().unwrap().contains("hasTag"))
    );
    let summary = answer["summary"].as_str().unwrap();
    assert!(summary.contains("no policy permits"), "{summary}");
    assert!(
        summary.contains("`listed.reports.access` requires"),
        "{summary}"
    );
    assert!(summary.contains("reports.access"), "{summary}");
}

#[tokio::test]
async fn explain_decides_exactly_as_the_check_endpoint_for_every_action() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let (_, actions) = server.get("/v1/schema/actions").await;
    let actions: Vec<String> = actions["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["resource_types"].to_string().contains("Hub::Account"))
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.len() >= 10, "{actions:?}");
    let mut allows = 0;
    for principal in [
        "ann@acme.example",
        "pat@acme.example",
        "owner@globex.example",
        "nobody@x.example",
    ] {
        for action in &actions {
            let body = check_body(principal, action, "c-globex");
            let (status, checked) = server.post("/v1/is_authorized", &body).await;
            let (explain_status, explained) = server.post("/v1/explain", &body).await;
            assert_eq!(explain_status, status, "{principal} {action}: {explained}");
            if status != StatusCode::OK {
                // An action that needs a context: both refuse alike.
                continue;
            }
            assert_eq!(
                explained["decision"], checked["decision"],
                "{principal} {action}"
            );
            assert_eq!(
                explained["diagnostics"]["reasons"], checked["diagnostics"]["reasons"],
                "{principal} {action}"
            );
            if checked["decision"] == "Allow" {
                allows += 1;
                assert!(
                    explained["summary"]
                        .as_str()
                        .unwrap()
                        .starts_with("Allowed")
                );
                assert_eq!(explained["candidates"], json!([]));
            }
        }
    }
    assert!(allows > 5, "the sample should hold allows too");
    // Unknown principal: a Deny naming it.
    let unknown = explain(&server, "nobody@x.example", "reports.access", "c-globex").await;
    assert!(
        unknown["summary"]
            .as_str()
            .unwrap()
            .contains("unknown principal")
    );
}

#[tokio::test]
async fn actions_allowed_agrees_with_one_check_per_action() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    for principal in [
        "ann@acme.example",
        "pat@acme.example",
        "owner@globex.example",
    ] {
        let (status, answer) = server
            .post(
                "/v1/actions_allowed",
                &json!({"principal": format!("Hub::User::\"{principal}\""),
                        "resource": {"type": "Hub::Account", "id": "c-globex"}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let allowed: Vec<&str> = answer["allowed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let denied: Vec<&str> = answer["denied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(!allowed.is_empty() && !denied.is_empty(), "{answer}");
        for action in &allowed {
            assert_eq!(
                server.check(principal, action, "c-globex").await["decision"],
                "Allow"
            );
        }
        for action in &denied {
            assert_eq!(
                server.check(principal, action, "c-globex").await["decision"],
                "Deny"
            );
        }
    }
    let (status, body) = server
        .post(
            "/v1/actions_allowed",
            &json!({"principal": "nope", "resource": "Hub::Account::\"c\""}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("principal"),
        "{body}"
    );
}

#[tokio::test]
async fn accounts_page_through_every_allowed_account_and_agree_with_checks() {
    let server = harness::start(harness::Options::default()).await;
    let doc = partner_access::fixtures::generate(partner_access::fixtures::Size {
        partners: 3,
        clients: 40,
        users_per_client: 1,
    });
    server.import(&serde_json::to_value(&doc).unwrap()).await;
    let user = "admin1@p1.example";
    for action in ["reports.access", "scim.provision", "crm.objects.view"] {
        // Brute force: every account, one check each.
        let mut expected = BTreeSet::new();
        for client in &doc.clients {
            let id = client.id.to_string();
            if server.check(user, action, &id).await["decision"] == "Allow" {
                expected.insert(id);
            }
        }
        // Paged, 3 at a time.
        let mut seen = BTreeSet::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &after {
                Some(a) => format!("/v1/users/{user}/accounts?action={action}&limit=3&after={a}"),
                None => format!("/v1/users/{user}/accounts?action={action}&limit=3"),
            };
            let (status, page) = server.get(&path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            pages += 1;
            assert!(page["accounts"].as_array().unwrap().len() <= 3);
            for account in page["accounts"].as_array().unwrap() {
                assert!(!account["reasons"].as_array().unwrap().is_empty());
                assert!(
                    seen.insert(account["id"].as_str().unwrap().to_owned()),
                    "repeated"
                );
            }
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
            assert!(pages < 100, "paging does not end");
        }
        assert_eq!(seen, expected, "{action}");
        if expected.len() > 3 {
            assert!(pages > 1);
        }
    }
}

#[tokio::test]
async fn accounts_refuse_unknown_actions_bad_limits_and_bad_e_mails() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    for (path, needle) in [
        (
            "/v1/users/ann@acme.example/accounts?action=nope",
            "unknown action",
        ),
        (
            "/v1/users/ann@acme.example/accounts?action=reports.access&limit=0",
            "limit",
        ),
        (
            "/v1/users/ann@acme.example/accounts?action=reports.access&limit=5000",
            "limit",
        ),
        ("/v1/users/ann@acme.example/accounts", "action"),
        (
            "/v1/users/not-an-email/accounts?action=reports.access",
            "e-mail",
        ),
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap().to_lowercase();
        assert!(message.contains(needle), "{path}: {message}");
    }
    let (status, body) = server
        .post("/v1/explain", &json!({"principal": "Hub::User::\"a@b.c\"", "action": "nope", "resource": "Hub::Account::\"c\""}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

// ---- the playground: search and static files ----------------------------------------------

fn ids(answer: &Value) -> Vec<&str> {
    answer["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn search_finds_users_accounts_and_partners_by_prefix_with_labels() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let (status, users) = server.get("/v1/search?kind=user&q=").await;
    assert_eq!(status, StatusCode::OK, "{users}");
    // Employees and client users, each once, in order (ann is both).
    assert_eq!(
        ids(&users),
        [
            "ann@acme.example",
            "bob@acme.example",
            "cy@acme.example",
            "dee@acme.example",
            "owner@globex.example",
            "pat@acme.example"
        ]
    );
    assert_eq!(users["more"], false);
    assert_eq!(
        users["matches"][0]["label"],
        "super admin of partner p-acme, user in 1 client account"
    );
    assert_eq!(users["matches"][3]["label"], "employee of partner p-acme");
    assert_eq!(users["matches"][4]["label"], "user in 1 client account");
    // E-mails are matched in lower case, as stored; the query is trimmed.
    let (_, found) = server.get("/v1/search?kind=user&q=%20ANN").await;
    assert_eq!(ids(&found), ["ann@acme.example"]);
    // A limit below the number of matches says there are more.
    let (_, page) = server.get("/v1/search?kind=user&q=&limit=2").await;
    assert_eq!(ids(&page), ["ann@acme.example", "bob@acme.example"]);
    assert_eq!(page["more"], true);
    let (_, accounts) = server.get("/v1/search?kind=account&q=c-g").await;
    assert_eq!(ids(&accounts), ["c-globex"]);
    assert_eq!(
        accounts["matches"][0]["label"],
        "client account managed by p-acme"
    );
    let (_, partners) = server.get("/v1/search?kind=partner&q=p").await;
    assert_eq!(ids(&partners), ["p-acme"]);
    let (_, none) = server.get("/v1/search?kind=account&q=zz").await;
    assert_eq!(ids(&none), Vec::<&str>::new());
    assert_eq!(none["revision"], users["revision"]);
}

#[tokio::test]
async fn search_refuses_bad_queries_with_400_naming_the_parameter() {
    let server = harness::start(harness::Options::default()).await;
    let long = "a".repeat(321);
    for (query, needle) in [
        ("kind=team&q=a", "kind"),
        ("q=a", "kind"),
        ("kind=user&limit=0", "limit"),
        ("kind=user&limit=51", "limit"),
        ("kind=user&limit=x", "limit"),
        ("kind=user&cursor=1", "cursor"),
        (&format!("kind=user&q={long}") as &str, "q"),
    ] {
        let (status, body) = server.get(&format!("/v1/search?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"]["code"], "invalid_request", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
}

#[tokio::test]
async fn the_playground_is_served_with_a_strict_content_security_policy() {
    let server = harness::start(harness::Options {
        caller_tokens: vec!["caller".into()],
        ..harness::Options::default()
    })
    .await;
    for (path, content_type, needle) in [
        (
            "/ui",
            "text/html",
            "<title>partner-access playground</title>",
        ),
        (
            "/ui/",
            "text/html",
            "<title>partner-access playground</title>",
        ),
        ("/ui/app.js", "text/javascript", "/v1/explain"),
        ("/ui/app.css", "text/css", ".badge"),
    ] {
        // Public: the files carry no data; everything the page shows needs the token.
        let response = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{path}"
        );
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        let text = response.text().await.unwrap();
        assert!(text.contains(needle), "{path}");
    }
    // The page's data does need the token.
    let response = reqwest::get(server.url("/v1/search?kind=user"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // No inline script anywhere in the page (the CSP would block it).
    let page = reqwest::get(server.url("/ui"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("<script>"), "inline script in the page");
    assert!(!page.contains("onclick"), "inline handler in the page");
}

#[tokio::test]
async fn the_playground_can_be_turned_off() {
    let server = harness::start(harness::Options {
        playground: false,
        ..harness::Options::default()
    })
    .await;
    for path in ["/ui", "/ui/", "/ui/app.js", "/ui/app.css"] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    // The search API stays: it is part of the API, not of the page.
    let (status, _) = server.get("/v1/search?kind=user").await;
    assert_eq!(status, StatusCode::OK);
}
