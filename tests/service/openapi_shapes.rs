//! The OpenAPI document against what the server really sends. A scenario over the agency
//! fixture runs every command route (and the typed reads) through the real server; each
//! request body and each answer is validated against the schema the document gives for its
//! operation and status (JSON Schema 2020-12, `$ref`s into `#/components/schemas`, formats
//! checked), and every member the server sends must be one the schema names. The same checks
//! refuse answers broken on purpose, so they can fail.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support;
use crate::support::harness::{self, TestServer};

const ANN: &str = "ann@acme.example";
const DANA: &str = "dana@acme.example";
const EDDIE: &str = "eddie@acme.example";
const BOB: &str = "bob@acme.example";
const SAM: &str = "sam@acme.example";
const OWNER: &str = "owner@globex.example";
const UMA: &str = "uma@umbrella.example";
const IAN: &str = "ian@initech.example";
const NEW: &str = "new@globex.example";

/// The document, and the checks of a body against it.
struct Shapes {
    doc: Value,
}

impl Shapes {
    async fn of(server: &TestServer) -> Shapes {
        let (status, doc) = server.get("/openapi.json").await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        Shapes { doc }
    }

    fn operation(&self, method: &Method, route: &str) -> &Value {
        let operation = &self.doc["paths"][route][method.as_str().to_lowercase()];
        assert!(operation.is_object(), "no operation {method} {route}");
        operation
    }

    /// The schema of the request body of `method route`.
    fn request(&self, method: &Method, route: &str) -> &Value {
        &self.operation(method, route)["requestBody"]["content"]["application/json"]["schema"]
    }

    /// The schema of the answer of `method route` with `status`.
    fn answer(&self, method: &Method, route: &str, status: StatusCode) -> &Value {
        &self.operation(method, route)["responses"][status.as_str()]["content"]["application/json"]
            ["schema"]
    }

    /// What is wrong with `instance` as `schema` describes it: the validator's errors, and
    /// each member the instance has that the schema does not name.
    fn problems(&self, schema: &Value, instance: &Value) -> Vec<String> {
        assert!(schema.is_object(), "no schema: {schema}");
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("the schema does not build: {e}\n{schema}"));
        let mut found: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        self.undocumented(&[schema], instance, "", &mut found);
        found
    }

    /// The component a `$ref` names, or the schema itself.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference.trim_start_matches("#/components/schemas/");
                let target = &self.doc["components"]["schemas"][name];
                assert!(target.is_object(), "{reference} names no schema");
                self.resolve(target)
            }
            None => schema,
        }
    }

    /// `schema` and every schema it is made of (`$ref`, `allOf`, `oneOf`, `anyOf`).
    fn parts<'a>(&'a self, schema: &'a Value, out: &mut Vec<&'a Value>) {
        let schema = self.resolve(schema);
        out.push(schema);
        for key in ["allOf", "oneOf", "anyOf"] {
            for part in schema
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.parts(part, out);
            }
        }
    }

    /// Adds to `found` each member of `instance` (at `at`) that none of `schemas` names. An
    /// object schema without `properties` (an event's free-form `data`) names no members and
    /// is not looked into.
    fn undocumented(
        &self,
        schemas: &[&Value],
        instance: &Value,
        at: &str,
        found: &mut Vec<String>,
    ) {
        let mut parts = Vec::new();
        for schema in schemas {
            self.parts(schema, &mut parts);
        }
        match instance {
            Value::Object(members) => {
                let named: Vec<&Map<String, Value>> = parts
                    .iter()
                    .filter_map(|part| part.get("properties")?.as_object())
                    .collect();
                if named.is_empty() {
                    return;
                }
                for (key, value) in members {
                    let of_key: Vec<&Value> =
                        named.iter().filter_map(|names| names.get(key)).collect();
                    if of_key.is_empty() {
                        found.push(format!("{at}/{key}: a member the document does not name"));
                    } else {
                        self.undocumented(&of_key, value, &format!("{at}/{key}"), found);
                    }
                }
            }
            Value::Array(items) => {
                let of_items: Vec<&Value> =
                    parts.iter().filter_map(|part| part.get("items")).collect();
                for (i, item) in items.iter().enumerate() {
                    self.undocumented(&of_items, item, &format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
}

/// One request of the scenario and its answer.
struct Exchange {
    method: Method,
    /// The route as the document spells it (`/v1/clients/{client}/users`).
    route: &'static str,
    body: Option<Value>,
    status: StatusCode,
    answer: Value,
}

/// The scenario's requests, sent to the real server and kept.
struct Scenario<'s> {
    server: &'s TestServer,
    exchanges: Vec<Exchange>,
}

/// `route` with its `{parameters}` replaced by `values`, in order.
fn fill(route: &str, values: &[&str]) -> String {
    let mut values = values.iter();
    route
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                *values
                    .next()
                    .unwrap_or_else(|| panic!("{route}: too few values"))
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Scenario<'_> {
    /// Sends `method route` (its parameters filled with `values`, then `query`) with `body`
    /// and an `Idempotency-Key` if given; the answer must be a success.
    async fn send(
        &mut self,
        method: Method,
        route: &'static str,
        values: &[&str],
        query: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Value {
        let path = format!("{}{query}", fill(route, values));
        let mut request = self
            .server
            .client
            .request(method.clone(), self.server.url(&path));
        if let Some(body) = &body {
            request = request.json(body);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        self.exchanges.push(Exchange {
            method,
            route,
            body,
            status,
            answer: answer.clone(),
        });
        answer
    }

    async fn command(
        &mut self,
        method: Method,
        route: &'static str,
        values: &[&str],
        body: Value,
    ) -> Value {
        self.send(method, route, values, "", Some(body), None).await
    }

    async fn read(&mut self, route: &'static str, values: &[&str], query: &str) -> Value {
        self.send(Method::GET, route, values, query, None, None)
            .await
    }
}

/// Runs every command route at least once, and every typed read, over the agency fixture.
async fn scenario(server: &TestServer) -> Vec<Exchange> {
    use Method as M;
    let mut s = Scenario {
        server,
        exchanges: Vec::new(),
    };
    // Access links: issued (and replayed: the token withheld), approved in a client with no
    // partner, which creates the employee there.
    let issue = "/v1/partners/{partner}/access-links";
    let body = json!({"actor": ANN, "employee": EDDIE, "rotate": true});
    let link = s
        .send(
            M::POST,
            issue,
            &["p-acme"],
            "",
            Some(body.clone()),
            Some("k-link"),
        )
        .await;
    let replay = s
        .send(M::POST, issue, &["p-acme"], "", Some(body), Some("k-link"))
        .await;
    assert_eq!(replay["token_withheld"], true, "{replay}");
    let token = link["token"].as_str().unwrap().to_owned();
    s.command(
        M::POST,
        "/v1/access-links/{token}/approve",
        &[&token],
        json!({"actor": UMA, "client": "c-umbrella"}),
    )
    .await;
    s.command(
        M::POST,
        "/v1/partners/{partner}/employees/{employee}/link",
        &["p-acme", BOB],
        json!({"actor": ANN, "client": "c-globex"}),
    )
    .await;

    // The Client Access Manager on partner users.
    s.command(
        M::POST,
        "/v1/clients/{client}/partner-users",
        &["c-globex"],
        json!({"actor": ANN, "employees": [EDDIE, BOB], "permission_set": "Sales rep"}),
    )
    .await;
    s.command(
        M::PUT,
        "/v1/clients/{client}/partner-users/{employee}/permission-set",
        &["c-globex", BOB],
        json!({"actor": ANN, "permission_set": "Sales rep"}),
    )
    .await;
    for action in ["deactivate", "reactivate"] {
        let route = match action {
            "deactivate" => "/v1/clients/{client}/partner-users/{employee}/deactivate",
            _ => "/v1/clients/{client}/partner-users/{employee}/reactivate",
        };
        s.command(M::POST, route, &["c-globex", BOB], json!({"actor": ANN}))
            .await;
    }
    s.command(
        M::POST,
        "/v1/clients/{client}/partner-users/reactivate-all",
        &["c-hooli"],
        json!({"actor": DANA}),
    )
    .await;
    let permission = "/v1/clients/{client}/partner-users/{employee}/permissions/{permission}";
    for method in [M::PUT, M::DELETE] {
        s.command(
            method,
            permission,
            &["c-globex", BOB, "apps.manage"],
            json!({"actor": ANN}),
        )
        .await;
    }
    let preview = s
        .command(
            M::POST,
            "/v1/partners/{partner}/employees/{employee}/removal-preview",
            &["p-acme", BOB],
            json!({"actor": ANN}),
        )
        .await;
    s.command(
        M::POST,
        "/v1/partners/{partner}/employees/{employee}/remove",
        &["p-acme", BOB],
        json!({"actor": ANN, "clients": ["c-hooli"], "version": preview["version"]}),
    )
    .await;

    // Inside the client accounts.
    s.command(
        M::POST,
        "/v1/clients/{client}/users",
        &["c-globex"],
        json!({"actor": OWNER, "email": NEW, "seat": "core", "permission_set": "Support"}),
    )
    .await;
    s.command(
        M::PUT,
        "/v1/clients/{client}/users/{email}/seat",
        &["c-globex", NEW],
        json!({"actor": OWNER, "seat": "view_only"}),
    )
    .await;
    s.command(
        M::PUT,
        "/v1/clients/{client}/users/{email}/permission-set",
        &["c-globex", NEW],
        json!({"actor": OWNER, "permission_set": "Support"}),
    )
    .await;
    let permission = "/v1/clients/{client}/users/{email}/permissions/{permission}";
    for method in [M::PUT, M::DELETE] {
        s.command(
            method,
            permission,
            &["c-globex", NEW, "reports.access"],
            json!({"actor": OWNER}),
        )
        .await;
    }
    s.command(
        M::PUT,
        "/v1/clients/{client}/users/{email}/paid-hubs",
        &["c-initech", "lena@initech.example"],
        json!({"actor": IAN, "paid_hubs": ["sales"]}),
    )
    .await;
    s.command(
        M::POST,
        "/v1/clients/{client}/seats",
        &["c-initech"],
        json!({"actor": IAN, "users": ["sue@acme.example"], "seat": "partner"}),
    )
    .await;
    s.command(
        M::POST,
        "/v1/clients/{client}/partner-admins",
        &["c-initech"],
        json!({"actor": SAM, "user": SAM, "keep_billing": true}),
    )
    .await;
    s.command(
        M::DELETE,
        "/v1/clients/{client}/users/{email}",
        &["c-globex", NEW],
        json!({"actor": OWNER}),
    )
    .await;

    // Every partner user of a client removed: its relationship ends.
    let preview = s
        .command(
            M::POST,
            "/v1/clients/{client}/partner-users/removal-preview",
            &["c-hooli"],
            json!({"actor": DANA}),
        )
        .await;
    s.command(
        M::POST,
        "/v1/clients/{client}/partner-users/remove-all",
        &["c-hooli"],
        json!({"actor": DANA, "version": preview["version"]}),
    )
    .await;

    // The reads.
    let actor = format!("?actor={ANN}");
    s.read("/v1/partners/{partner}/clients", &["p-acme"], &actor)
        .await;
    s.read(
        "/v1/partners/{partner}/clients",
        &["p-acme"],
        &format!("{actor}&access=partner_admin"),
    )
    .await;
    s.read("/v1/partners/{partner}/employees", &["p-acme"], &actor)
        .await;
    s.read(
        "/v1/clients/{client}/users",
        &["c-globex"],
        &format!("?actor={OWNER}"),
    )
    .await;
    for (client, query) in [
        ("c-globex", ""),
        ("c-hooli", ""),
        ("c-globex", "?at=2000-01-01T00:00:00Z"),
    ] {
        s.read("/v1/clients/{client}/relationship", &[client], query)
            .await;
    }
    for client in ["c-globex", "c-hooli"] {
        s.read("/v1/clients/{client}/relationship/history", &[client], "")
            .await;
    }
    s.read("/v1/audit", &[], "?limit=1000").await;
    s.read("/v1/events", &[], "?limit=1000").await;
    s.read("/v1/admin/export", &[], "").await;
    s.read("/v1/policies", &[], "").await;
    s.read("/v1/schema/actions", &[], "").await;
    s.read("/v1/search", &[], "?kind=user&q=a").await;
    s.read(
        "/v1/users/{email}/accounts",
        &[ANN],
        "?action=reports.access",
    )
    .await;
    s.exchanges
}

/// Every command's request and answer, and every typed read's answer, is what the document
/// says; every command operation of the document was run.
#[tokio::test]
async fn the_document_describes_what_the_server_sends() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::agency()).await;
    let shapes = Shapes::of(&server).await;
    let exchanges = scenario(&server).await;

    let mut wrong = Vec::new();
    for e in &exchanges {
        let what = format!("{} {} ({})", e.method, e.route, e.status);
        if let Some(body) = &e.body {
            for problem in shapes.problems(shapes.request(&e.method, e.route), body) {
                wrong.push(format!("{what} request {problem}\n  {body}"));
            }
        }
        let schema = shapes.answer(&e.method, e.route, e.status);
        for problem in shapes.problems(schema, &e.answer) {
            wrong.push(format!("{what} answer {problem}\n  {}", e.answer));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // The document's own examples are what its schemas say.
    for (route, item) in shapes.doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let request = &operation["requestBody"]["content"]["application/json"];
            let answers = operation["responses"].as_object().into_iter().flatten();
            let contents = answers
                .map(|(status, answer)| (status.as_str(), &answer["content"]["application/json"]))
                .chain([("request", request)]);
            for (status, content) in contents {
                if let Some(example) = content.get("example") {
                    for problem in shapes.problems(&content["schema"], example) {
                        wrong.push(format!("{method} {route} {status} example {problem}"));
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Every command operation was run, with both of its answers' statuses met by some.
    let paths = shapes.doc["paths"].as_object().unwrap();
    let mut commands = 0;
    for (route, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if operation["tags"] != json!(["commands"]) {
                continue;
            }
            commands += 1;
            assert!(
                exchanges
                    .iter()
                    .any(|e| e.route == route && e.method.as_str().eq_ignore_ascii_case(method)),
                "{method} {route} is not run by the scenario"
            );
        }
    }
    assert_eq!(commands, 23, "the command operations of the document");
    for status in [StatusCode::OK, StatusCode::CREATED] {
        assert!(
            exchanges
                .iter()
                .any(|e| e.status == status && e.body.is_some()),
            "no command answered {status}"
        );
    }
}

/// The checks above fail on an answer or a request that the document does not describe: a
/// required member left out, a value outside its enum, a member of the wrong type, a
/// timestamp that is not one, and a member the document does not name.
#[tokio::test]
async fn the_checks_refuse_what_the_document_does_not_say() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::agency()).await;
    let shapes = Shapes::of(&server).await;
    let route = "/v1/clients/{client}/users";
    let body = json!({"actor": OWNER, "email": NEW, "seat": "core", "permission_set": "Support"});
    let (status, answer) = server.post("/v1/clients/c-globex/users", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let schema = shapes.answer(&Method::POST, route, status);
    assert_eq!(shapes.problems(schema, &answer), Vec::<String>::new());

    let broken = |change: &dyn Fn(&mut Value)| {
        let mut answer = answer.clone();
        change(&mut answer);
        answer
    };
    for (what, wrong) in [
        (
            "no revision",
            broken(&|a| drop(a.as_object_mut().unwrap().remove("revision"))),
        ),
        (
            "no e-mail",
            broken(&|a| drop(a.as_object_mut().unwrap().remove("email"))),
        ),
        ("an unknown seat", broken(&|a| a["seat"] = json!("gold"))),
        (
            "an unknown hub",
            broken(&|a| a["paid_hubs"] = json!(["gold"])),
        ),
        (
            "a revision as text",
            broken(&|a| a["revision"] = json!("7")),
        ),
        (
            "an undocumented member",
            broken(&|a| a["surprise"] = json!(1)),
        ),
    ] {
        assert!(
            !shapes.problems(schema, &wrong).is_empty(),
            "{what} passed: {wrong}"
        );
    }

    let request = shapes.request(&Method::POST, route);
    assert_eq!(shapes.problems(request, &body), Vec::<String>::new());
    let mut unknown = body.clone();
    unknown["kep"] = json!(true);
    let mut gold = body.clone();
    gold["seat"] = json!("gold");
    for (what, wrong) in [("an unknown member", unknown), ("an unknown seat", gold)] {
        assert!(
            !shapes.problems(request, &wrong).is_empty(),
            "request with {what} passed: {wrong}"
        );
    }

    // A nested timestamp that is not one.
    let (status, relationship) = server.get("/v1/clients/c-globex/relationship").await;
    assert_eq!(status, StatusCode::OK, "{relationship}");
    let schema = shapes.answer(&Method::GET, "/v1/clients/{client}/relationship", status);
    assert_eq!(shapes.problems(schema, &relationship), Vec::<String>::new());
    let mut wrong = relationship.clone();
    wrong["at"] = json!("yesterday");
    assert!(!shapes.problems(schema, &wrong).is_empty(), "{wrong}");
}

/// Every parameter is where the document says: a path parameter is a `{name}` of its route
/// and every `{name}` has one; the rest are query parameters (a client generated from the
/// document puts each where it is said to be).
#[tokio::test]
async fn every_parameter_is_in_the_place_the_document_says() {
    let server = harness::start(harness::Options::default()).await;
    let shapes = Shapes::of(&server).await;
    let mut wrong = Vec::new();
    let mut queries = 0;
    for (route, item) in shapes.doc["paths"].as_object().unwrap() {
        let templated: Vec<&str> = route
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for name in &templated {
                if !parameters
                    .iter()
                    .any(|p| p["in"] == "path" && p["name"] == *name)
                {
                    wrong.push(format!("{method} {route}: no path parameter {name}"));
                }
            }
            for parameter in &parameters {
                let name = parameter["name"].as_str().unwrap();
                match parameter["in"].as_str().unwrap() {
                    "path" if !templated.contains(&name) => wrong.push(format!(
                        "{method} {route}: {name} is said to be in the path, which has no {{{name}}}"
                    )),
                    "path" | "header" => {}
                    "query" => queries += 1,
                    other => wrong.push(format!("{method} {route}: {name} in {other}")),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The reads with query strings (audit, events, search, accounts, ...) are among them.
    assert!(queries >= 20, "query parameters in the document: {queries}");
}
