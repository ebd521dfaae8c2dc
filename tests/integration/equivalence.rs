//! Decision equivalence: on random valid states and random requests, the
//! sidecar answers exactly what plain Cedar answers.
//!
//! The sidecar does a lot between a request and Cedar: a cache of store lookups, entity slices
//! reused across requests, policies partitioned by action with their scopes narrowed, e-mail
//! normalization, a fail-closed override, an HTTP layer. Each of these is an optimization or a
//! translation that must not change a single decision. This test builds the reference itself,
//! as naively as possible and without calling the crate's entity code: every entity of the state
//! document written out as Cedar entity JSON following `schema/hub.cedarschema`, the policy set
//! parsed from `policies/*.cedar` by `cedar_policy`, and `cedar_policy::Authorizer` asked
//! directly. It then asks the sidecar the same question over four paths and compares the
//! decisions and the sets of determining policy ids:
//!
//! 1. `App::check` twice in a row (the cached path; the second one is served from the lookup
//!    cache and the entity-slice cache that the first one filled, and the first one uses what
//!    earlier requests of the same state left there);
//! 2. `App::clear_cache` and `App::check` again (the uncached path);
//! 3. `PolicyEngine::decide_plain` over a store snapshot (whole policy set, no fail-closed
//!    override), compared with the reference's raw Cedar answer, for every second request;
//! 4. `POST /v1/is_authorized` on a real in-process server over the same `App`.
//!
//! States are generated valid by construction (partners with employees, tiers, e-mail domains,
//! super admins and employee-management flags; clients with pricing models, `managed_by`,
//! relationships and permission sets; client users with roles, seats, statuses, permissions,
//! partner links and `keep_billing`), then checked with the crate's own validator. Requests take
//! a principal among the state's people plus unknown ones (sometimes upper-cased), every action
//! of the schema that needs no context (all check actions, `seat.partner.hold`, `partner.view`,
//! `client.users.view`), and a resource among the state's accounts plus unknown ones
//! (sometimes of the wrong entity type, which both sides must refuse). Each state replaces the
//! previous one in the same sidecar (`App::import`, replace mode), so cached data of one state
//! must not leak into the next.
//!
//! Default (CI, debug build): 100 states x 100 requests = 10,000 requests over paths 1 and 2,
//! 5,000 of them over path 3 and every fourth (2,500) over HTTP as well; about 45 s of CPU.
//! Long mode, in release:
//!
//! ```sh
//! EQUIV_REQUESTS=1000000 EQUIV_HTTP_EVERY=1 cargo test --release --test integration equivalence:: -- --nocapture
//! ```
//!
//! `EQUIV_REQUESTS` is the number of requests (rounded up to whole states of 100 requests);
//! `EQUIV_HTTP_EVERY=n` sends every n-th request over HTTP (default 4). The test prints how
//! many requests it compared and how long it took.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cedar_policy::{
    Authorizer, Context, Decision, Effect, Entities, EntityId, EntityNamespace, EntityTypeName,
    EntityUid, PolicyId, PolicySet, Request, Response, Schema, SchemaFragment,
};
use partner_access::app::{App, ImportMode};
use partner_access::domain::{StateDocument, validate};
use partner_access::policy::{CheckError, CheckRequest};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};

/// Requests per generated state.
const PER_STATE: usize = 100;
/// Requests compared in the default mode.
const DEFAULT_REQUESTS: usize = 10_000;

use crate::support::harness::{self, TestServer};
use crate::support::root;

// ---- the reference: plain Cedar over naively built entities -----------------------------

/// A context-free action of the schema and the entity type of its resource.
#[derive(Debug, Clone)]
struct ActionSpec {
    name: String,
    uid: EntityUid,
    resource_type: String,
}

/// The schema, the policy set and the actions, read by `cedar_policy` alone.
struct Reference {
    schema: Schema,
    policies: PolicySet,
    forbids: BTreeSet<String>,
    actions: Vec<ActionSpec>,
    /// The permission catalogue: the actions annotated `@permission`.
    permissions: Vec<String>,
    authorizer: Authorizer,
}

impl Reference {
    fn load() -> Self {
        let schema_text = std::fs::read_to_string(root().join("schema/hub.cedarschema")).unwrap();
        let (schema, _) = Schema::from_cedarschema_str(&schema_text).unwrap();
        let (fragment, _) = SchemaFragment::from_cedarschema_str(&schema_text).unwrap();
        let namespace = EntityNamespace::from_str("Hub").unwrap();

        // Every `.cedar` file, each policy renamed to its `@id` (the ids the sidecar reports).
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("policies"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cedar"))
            .collect();
        files.sort();
        let mut policies = PolicySet::new();
        let mut forbids = BTreeSet::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            let set =
                PolicySet::from_str(&text).unwrap_or_else(|e| panic!("{}: {e:?}", file.display()));
            for policy in set.policies() {
                let id = policy
                    .annotation("id")
                    .unwrap_or_else(|| panic!("{}: a policy without @id", file.display()));
                if policy.effect() == Effect::Forbid {
                    forbids.insert(id.to_owned());
                }
                policies.add(policy.new_id(PolicyId::new(id))).unwrap();
            }
        }

        // The actions a request with an empty context is valid for.
        let mut actions = Vec::new();
        let mut permissions = Vec::new();
        for uid in schema.actions() {
            let principal = schema
                .principals_for_action(uid)
                .and_then(|mut p| p.next().cloned())
                .unwrap();
            let resource = schema
                .resources_for_action(uid)
                .and_then(|mut r| r.next().cloned())
                .unwrap();
            let probe = |ty: &EntityTypeName| {
                EntityUid::from_type_name_and_id(ty.clone(), EntityId::new("probe"))
            };
            let fits = Request::new(
                probe(&principal),
                uid.clone(),
                probe(&resource),
                Context::empty(),
                Some(&schema),
            )
            .is_ok();
            let name = uid.id().unescaped().to_owned();
            if fragment
                .action_annotation(Some(namespace.clone()), uid.id(), "permission")
                .is_some()
            {
                permissions.push(name.clone());
            }
            if fits {
                actions.push(ActionSpec {
                    name,
                    uid: uid.clone(),
                    resource_type: resource.to_string(),
                });
            }
        }
        actions.sort_by(|a, b| a.name.cmp(&b.name));
        permissions.sort();
        // Guards against a filter that silently lets nothing through: every permission is a
        // context-free check action, and the command actions that take a target are not.
        let names: BTreeSet<&str> = actions.iter().map(|a| a.name.as_str()).collect();
        assert!(permissions.len() >= 10, "{permissions:?}");
        assert!(
            permissions.iter().all(|p| names.contains(p.as_str())),
            "{names:?}"
        );
        for expected in [
            "sales_hub.paid_features",
            "partner.view",
            "seat.partner.hold",
        ] {
            assert!(names.contains(expected), "{names:?}");
        }
        assert!(!names.contains("permission.grant"), "{names:?}");

        Reference {
            schema,
            policies,
            forbids,
            actions,
            permissions,
            authorizer: Authorizer::new(),
        }
    }
}

/// An answer, as compared: a decision with the set of determining policy ids, or a request the
/// sidecar refuses to decide (wrong entity type for the action: 400).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Decided {
        allow: bool,
        reasons: BTreeSet<String>,
    },
    Invalid,
}

fn decided(allow: bool, reasons: impl IntoIterator<Item = String>) -> Outcome {
    Outcome::Decided {
        allow,
        reasons: reasons.into_iter().collect(),
    }
}

/// The Cedar entities of a whole state document, written out by hand from the schema.
struct StateEntities {
    entities: Entities,
    /// Every entity's JSON, by uid text, to show in a failure.
    json: BTreeMap<String, Value>,
}

fn uid_json(ty: &str, id: &str) -> Value {
    json!({"__entity": {"type": ty, "id": id}})
}

/// Builds every entity of `doc` (the state document as JSON): each partner, each client
/// account, and each person (employee or client user) with its `employee` record and one
/// `Membership` tag per client account it is a user of.
fn state_entities(doc: &Value, schema: &Schema) -> StateEntities {
    let mut json = BTreeMap::new();
    let mut people: BTreeMap<String, (Option<Value>, Map<String, Value>)> = BTreeMap::new();
    let empty = Vec::new();
    for partner in doc["partners"].as_array().unwrap_or(&empty) {
        let id = partner["id"].as_str().unwrap();
        json.insert(
            format!("Hub::Partner::{id}"),
            json!({
                "uid": {"type": "Hub::Partner", "id": id},
                "attrs": {
                    "key": id,
                    "tier": partner["tier"],
                    "email_domains": partner.get("email_domains").cloned().unwrap_or(json!([])),
                },
                "parents": [],
            }),
        );
        for employee in partner["employees"].as_array().unwrap_or(&empty) {
            let email = employee["email"].as_str().unwrap().to_owned();
            let record = json!({
                "partner": uid_json("Hub::Partner", id),
                "super_admin": employee.get("super_admin").cloned().unwrap_or(json!(false)),
                "employee_management":
                    employee.get("employee_management").cloned().unwrap_or(json!("none")),
            });
            people.entry(email).or_default().0 = Some(record);
        }
    }
    for client in doc["clients"].as_array().unwrap_or(&empty) {
        let id = client["id"].as_str().unwrap();
        let mut attrs = json!({"key": id, "pricing_model": client["pricing_model"]});
        if let Some(p) = client.get("managed_by").and_then(Value::as_str) {
            attrs["managed_by"] = uid_json("Hub::Partner", p);
        }
        json.insert(
            format!("Hub::Account::{id}"),
            json!({"uid": {"type": "Hub::Account", "id": id}, "attrs": attrs, "parents": []}),
        );
        for user in client["users"].as_array().unwrap_or(&empty) {
            let email = user["email"].as_str().unwrap().to_owned();
            let mut tag = json!({
                "role": user["role"],
                "seat": user["seat"],
                "status": user.get("status").cloned().unwrap_or(json!("active")),
                "permissions": user.get("permissions").cloned().unwrap_or(json!([])),
                "keep_billing": user.get("keep_billing").cloned().unwrap_or(json!(false)),
                "paid_hubs": user.get("paid_hubs").cloned().unwrap_or(json!([])),
            });
            if let Some(p) = user.get("partner").and_then(Value::as_str) {
                tag["partner"] = uid_json("Hub::Partner", p);
            }
            people
                .entry(email)
                .or_default()
                .1
                .insert(id.to_owned(), tag);
        }
    }
    for (email, (employee, tags)) in people {
        let domain = email.rsplit_once('@').unwrap().1.to_owned();
        let mut attrs = json!({"email": email, "email_domain": domain});
        if let Some(employee) = employee {
            attrs["employee"] = employee;
        }
        json.insert(
            format!("Hub::User::{email}"),
            json!({
                "uid": {"type": "Hub::User", "id": email},
                "attrs": attrs,
                "parents": [],
                "tags": tags,
            }),
        );
    }
    // Parsed against the schema: an entity of the wrong shape is a bug of this test.
    let entities =
        Entities::from_json_value(Value::Array(json.values().cloned().collect()), Some(schema))
            .unwrap();
    StateEntities { entities, json }
}

/// One generated request, resolved against a state.
#[derive(Debug, Clone)]
struct Req {
    principal: String,
    action: ActionSpec,
    resource_type: String,
    resource: String,
    /// Send the references in Cedar's string form (`Hub::User::"..."`) rather than as objects.
    string_form: bool,
}

impl Req {
    fn reference(kind: &str, id: &str, string_form: bool) -> Value {
        if string_form {
            Value::String(format!("{kind}::{}", Value::String(id.to_owned())))
        } else {
            json!({"type": kind, "id": id})
        }
    }

    fn principal_json(&self) -> Value {
        Self::reference("Hub::User", &self.principal, self.string_form)
    }

    fn resource_json(&self) -> Value {
        Self::reference(&self.resource_type, &self.resource, self.string_form)
    }
}

/// The reference answer: Cedar's own (`raw`) and with the sidecar's documented rules applied
/// (`expected`).
fn reference_answer(reference: &Reference, state: &StateEntities, req: &Req) -> (Outcome, Outcome) {
    // The API: e-mails are compared case-insensitively; user ids are lower-case e-mails.
    let principal_id = req.principal.to_lowercase();
    let principal = EntityUid::from_type_name_and_id(
        EntityTypeName::from_str("Hub::User").unwrap(),
        EntityId::new(&principal_id),
    );
    let resource = EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(&req.resource_type).unwrap(),
        EntityId::new(&req.resource),
    );
    let Ok(request) = Request::new(
        principal.clone(),
        req.action.uid.clone(),
        resource.clone(),
        Context::empty(),
        Some(&reference.schema),
    ) else {
        // The schema does not allow this resource type for the action: a 400, not a decision.
        return (Outcome::Invalid, Outcome::Invalid);
    };
    // The API: an unknown principal or resource is a Deny with an error entry and no
    // deciding policy; the sidecar does not evaluate the policies at all then.
    let known = |uid: &EntityUid| state.entities.get(uid).is_some();
    if !known(&principal) || !known(&resource) {
        let deny = decided(false, []);
        return (deny.clone(), deny);
    }
    let response: Response =
        reference
            .authorizer
            .is_authorized(&request, &reference.policies, &state.entities);
    let raw = decided(
        response.decision() == Decision::Allow,
        response.diagnostics().reason().map(ToString::to_string),
    );
    // Fail closed (README "Decisions fail closed"): Cedar skips a policy whose evaluation
    // errors, which for a forbid could turn a Deny into an Allow. The sidecar answers Deny
    // whenever a forbid errored, naming the erroring forbids as the reasons. Apply the same
    // rule here before comparing; permits that error just do not apply, as in Cedar.
    let failed_forbids: Vec<String> = response
        .diagnostics()
        .errors()
        .map(|e| match e {
            cedar_policy::AuthorizationError::PolicyEvaluationError(e) => e.policy_id().to_string(),
        })
        .filter(|id| reference.forbids.contains(id))
        .collect();
    let expected = if failed_forbids.is_empty() {
        raw.clone()
    } else {
        decided(false, failed_forbids)
    };
    (raw, expected)
}

// ---- the sidecar under test -------------------------------------------------------------

/// One sidecar for the whole run: the kit's server (an `App` over a redb store in a temporary
/// directory, served over HTTP in-process on an ephemeral port) on a runtime of its own.
struct Sidecar {
    server: TestServer,
    app: Arc<App>,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl Sidecar {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(harness::start_redb(harness::Options {
            cache_ttl: Duration::from_secs(300),
            ..harness::Options::default()
        }));
        Sidecar {
            app: server.app.clone(),
            url: server.url("/v1/is_authorized"),
            server,
            runtime,
        }
    }

    fn check(&self, request: &CheckRequest) -> Outcome {
        match self.app.check(request) {
            Ok(checked) => decided(checked.decision.allowed, checked.decision.reasons),
            Err(partner_access::app::AppError::InvalidRequest { .. }) => Outcome::Invalid,
            Err(e) => panic!("check failed: {e}"),
        }
    }

    fn plain(&self, request: &CheckRequest) -> Outcome {
        let engine = self.app.engine();
        let snapshot = self.app.store().snapshot().unwrap();
        match engine.decide_plain(request, &*snapshot) {
            Ok(d) => decided(d.allowed, d.reasons),
            Err(CheckError::InvalidRequest(_)) => Outcome::Invalid,
            Err(e) => panic!("decide_plain failed: {e}"),
        }
    }

    fn http(&self, req: &Req) -> Outcome {
        let body = json!({
            "principal": req.principal_json(),
            "action": req.action.name,
            "resource": req.resource_json(),
        });
        let (status, answer) = self.runtime.block_on(async {
            let response = self
                .server
                .client
                .post(&self.url)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        });
        match status.as_u16() {
            200 => decided(
                answer["decision"] == "Allow",
                answer["diagnostics"]["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_owned()),
            ),
            400 => Outcome::Invalid,
            other => panic!("HTTP {other}: {answer}"),
        }
    }
}

// ---- generation ---------------------------------------------------------------------------

/// E-mail domains people and partners draw from: partner employees are inside or outside
/// their partner's approved domains (SEAT-2 reads `email_domains.contains(email_domain)`).
const DOMAINS: [&str; 4] = ["p0.example", "p1.example", "p2.example", "gmail.example"];
/// People who are never partner employees; `u3` has a partner's domain without being one.
const CLIENT_PEOPLE: [&str; 4] = [
    "u0@globex.example",
    "u1@globex.example",
    "u2@initech.example",
    "u3@p0.example",
];
/// Principals the sidecar does not know (one of them not even an e-mail).
const UNKNOWN_PEOPLE: [&str; 3] = ["nobody@nowhere.example", "e99@p0.example", "not-an-email"];
const TIERS: [&str; 3] = ["solutions_partner", "provider", "other"];
const MANAGEMENT: [&str; 3] = ["none", "view", "view_edit"];
const ROLES: [&str; 3] = ["super_admin", "partner_admin", "standard"];
const SEATS: [&str; 6] = [
    "partner",
    "core",
    "view_only",
    "sales_paid",
    "service_paid",
    "none",
];

#[derive(Debug, Clone)]
struct EmployeePlan {
    super_admin: bool,
    management: usize,
    domain: usize,
}

#[derive(Debug, Clone)]
struct PartnerPlan {
    tier: usize,
    domains: u8,
    employees: Vec<EmployeePlan>,
    permission_set: Option<u32>,
}

#[derive(Debug, Clone)]
struct UserPlan {
    person: Index,
    role: usize,
    seat: usize,
    active: bool,
    permissions: u32,
    link: bool,
    keep_billing: bool,
}

#[derive(Debug, Clone)]
struct ClientPlan {
    seat_based: bool,
    managed_by: Option<Index>,
    relationship: Option<Index>,
    users: Vec<UserPlan>,
    permission_set: Option<u32>,
}

#[derive(Debug, Clone)]
struct StatePlan {
    partners: Vec<PartnerPlan>,
    clients: Vec<ClientPlan>,
}

#[derive(Debug, Clone)]
struct RequestPlan {
    /// Take the principal among the users of the resource account (most requests), rather
    /// than among everyone: a random person is rarely a user of a random account.
    member: bool,
    principal: Index,
    upper: bool,
    action: Index,
    resource: Index,
    wrong_type: bool,
    string_form: bool,
}

fn employee_plan() -> impl Strategy<Value = EmployeePlan> {
    (any::<bool>(), 0..MANAGEMENT.len(), 0..DOMAINS.len()).prop_map(
        |(super_admin, management, domain)| EmployeePlan {
            super_admin,
            management,
            domain,
        },
    )
}

fn partner_plan() -> impl Strategy<Value = PartnerPlan> {
    (
        0..TIERS.len(),
        any::<u8>(),
        prop::collection::vec(employee_plan(), 0..=4),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(tier, domains, employees, permission_set)| PartnerPlan {
            tier,
            domains,
            employees,
            permission_set,
        })
}

fn user_plan() -> impl Strategy<Value = UserPlan> {
    (
        any::<Index>(),
        0..ROLES.len(),
        0..SEATS.len(),
        prop::bool::weighted(0.8),
        any::<u32>(),
        prop::bool::weighted(0.7),
        any::<bool>(),
    )
        .prop_map(
            |(person, role, seat, active, permissions, link, keep_billing)| UserPlan {
                person,
                role,
                seat,
                active,
                permissions,
                link,
                keep_billing,
            },
        )
}

fn client_plan() -> impl Strategy<Value = ClientPlan> {
    (
        any::<bool>(),
        prop::option::weighted(0.7, any::<Index>()),
        prop::option::of(any::<Index>()),
        prop::collection::vec(user_plan(), 1..=5),
        prop::option::of(any::<u32>()),
    )
        .prop_map(
            |(seat_based, managed_by, relationship, users, permission_set)| ClientPlan {
                seat_based,
                managed_by,
                relationship,
                users,
                permission_set,
            },
        )
}

fn state_plan() -> impl Strategy<Value = StatePlan> {
    (
        prop::collection::vec(partner_plan(), 1..=3),
        prop::collection::vec(client_plan(), 1..=3),
    )
        .prop_map(|(partners, clients)| StatePlan { partners, clients })
}

fn request_plan() -> impl Strategy<Value = RequestPlan> {
    (
        prop::bool::weighted(0.6),
        any::<Index>(),
        prop::bool::weighted(0.15),
        any::<Index>(),
        any::<Index>(),
        prop::bool::weighted(0.05),
        any::<bool>(),
    )
        .prop_map(
            |(member, principal, upper, action, resource, wrong_type, string_form)| RequestPlan {
                member,
                principal,
                upper,
                action,
                resource,
                wrong_type,
                string_form,
            },
        )
}

fn pick(mask: u32, items: &[String]) -> Vec<String> {
    items
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, p)| p.clone())
        .collect()
}

/// Turns a plan into a state document that the validator accepts: the plan's choices, with
/// the few cross-record rules enforced by adjusting them (LINK-1 a user is linked only to its
/// employer, LINK-2 one managing partner, PA-2 a partner admin is linked, SEAT-5 a partner
/// admin holds the partner seat, MIG-4 an active super admin).
fn build_state(plan: &StatePlan, permissions: &[String]) -> Value {
    let partner_id = |i: usize| format!("p-{i}");
    let mut employer: BTreeMap<String, usize> = BTreeMap::new();
    let mut partners = Vec::new();
    for (p, partner) in plan.partners.iter().enumerate() {
        let domains: Vec<&str> = DOMAINS
            .iter()
            .enumerate()
            .filter(|(i, _)| partner.domains & (1 << i) != 0)
            .map(|(_, d)| *d)
            .collect();
        let employees: Vec<Value> = partner
            .employees
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let email = format!("e{p}{k}@{}", DOMAINS[e.domain]);
                employer.insert(email.clone(), p);
                json!({"email": email, "super_admin": e.super_admin,
                       "employee_management": MANAGEMENT[e.management]})
            })
            .collect();
        let sets: Vec<Value> = partner
            .permission_set
            .map(|mask| json!({"name": "Partner set", "permissions": pick(mask, permissions)}))
            .into_iter()
            .collect();
        partners.push(json!({
            "id": partner_id(p),
            "name": format!("Partner {p}"),
            "tier": TIERS[partner.tier],
            "email_domains": domains,
            "employees": employees,
            "permission_sets": sets,
        }));
    }
    let people: Vec<String> = employer
        .keys()
        .cloned()
        .chain(CLIENT_PEOPLE.iter().map(|s| (*s).to_owned()))
        .collect();

    let mut clients = Vec::new();
    for (c, client) in plan.clients.iter().enumerate() {
        let managed_by = client.managed_by.map(|i| i.index(plan.partners.len()));
        let mut seen = BTreeSet::new();
        let mut users: Vec<Value> = Vec::new();
        // LINK-2: the managing partner if any, else the first partner a user links to.
        let mut link_partner = managed_by;
        for u in &client.users {
            let email = u.person.get(&people).clone();
            if !seen.insert(email.clone()) {
                continue;
            }
            let mut role = ROLES[u.role];
            let mut seat = SEATS[u.seat];
            let mut partner = None;
            if let (true, Some(&p)) = (u.link, employer.get(&email)) {
                if link_partner.is_none() {
                    link_partner = Some(p);
                }
                if link_partner == Some(p) {
                    partner = Some(partner_id(p));
                }
            }
            if role == "partner_admin" {
                if partner.is_none() {
                    role = "standard";
                } else {
                    seat = "partner";
                }
            }
            // Two bits the permission pick leaves alone choose the paid licences (SEAT-9).
            let paid_hubs: Vec<&str> = [("sales", 1u32 << 28), ("service", 1u32 << 29)]
                .iter()
                .filter(|(_, bit)| u.permissions & bit != 0)
                .map(|(hub, _)| *hub)
                .collect();
            let mut user = json!({
                "email": email,
                "role": role,
                "seat": seat,
                "status": if u.active { "active" } else { "deactivated" },
                "permissions": pick(u.permissions, permissions),
                "keep_billing": u.keep_billing,
                "paid_hubs": paid_hubs,
            });
            if let Some(p) = partner {
                user["partner"] = json!(p);
            }
            users.push(user);
        }
        let has_active_super_admin = users
            .iter()
            .any(|u| u["role"] == "super_admin" && u["status"] == "active");
        if !has_active_super_admin {
            users[0]["role"] = json!("super_admin");
            users[0]["status"] = json!("active");
        }
        let mut record = json!({
            "id": format!("c-{c}"),
            "official_name": format!("Client {c}"),
            "pricing_model": if client.seat_based { "seat_based" } else { "legacy" },
            "users": users,
            "permission_sets": client
                .permission_set
                .map(|mask| json!({"name": "Client set", "permissions": pick(mask, permissions)}))
                .into_iter()
                .collect::<Vec<_>>(),
        });
        if let Some(p) = managed_by {
            record["managed_by"] = json!(partner_id(p));
        }
        if let Some(i) = client.relationship {
            record["relationship"] = json!({
                "partner": partner_id(i.index(plan.partners.len())),
                "started_at": "2025-01-01T00:00:00Z",
                "last_activity_at": "2025-03-01T00:00:00Z",
            });
        }
        clients.push(record);
    }
    json!({"partners": partners, "clients": clients})
}

/// Who and what requests of one state choose from.
struct Pools {
    /// Every person of the state, then the unknown ones.
    people: Vec<String>,
    /// The users of each client account.
    members: BTreeMap<String, Vec<String>>,
    accounts: Vec<String>,
    partners: Vec<String>,
}

impl Pools {
    fn new(doc: &Value) -> Self {
        let mut known = BTreeSet::new();
        let mut members = BTreeMap::new();
        for partner in doc["partners"].as_array().unwrap() {
            for e in partner["employees"].as_array().unwrap() {
                known.insert(e["email"].as_str().unwrap().to_owned());
            }
        }
        for client in doc["clients"].as_array().unwrap() {
            let users: Vec<String> = client["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned())
                .collect();
            known.extend(users.iter().cloned());
            members.insert(client["id"].as_str().unwrap().to_owned(), users);
        }
        let ids = |list: &str, unknown: &str| -> Vec<String> {
            doc[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .chain([unknown.to_owned()])
                .collect()
        };
        Pools {
            people: known
                .into_iter()
                .chain(UNKNOWN_PEOPLE.iter().map(|s| (*s).to_owned()))
                .collect(),
            members,
            accounts: ids("clients", "c-unknown"),
            partners: ids("partners", "p-unknown"),
        }
    }

    fn resolve(&self, plan: &RequestPlan, reference: &Reference) -> Req {
        let action = plan.action.get(&reference.actions).clone();
        let account = action.resource_type == "Hub::Account";
        let resource_type = if account != plan.wrong_type {
            "Hub::Account"
        } else {
            "Hub::Partner"
        };
        let resource = if resource_type == "Hub::Account" {
            plan.resource.get(&self.accounts)
        } else {
            plan.resource.get(&self.partners)
        }
        .clone();
        let principal = match self.members.get(&resource) {
            Some(users) if plan.member => plan.principal.get(users),
            _ => plan.principal.get(&self.people),
        };
        let principal = if plan.upper {
            principal.to_uppercase()
        } else {
            principal.clone()
        };
        Req {
            principal,
            resource,
            resource_type: resource_type.to_owned(),
            action,
            string_form: plan.string_form,
        }
    }
}

// ---- the property -------------------------------------------------------------------------

/// What one run compared, for the summary line.
#[derive(Default)]
struct Tally {
    requests: usize,
    allows: usize,
    invalid: usize,
    states: usize,
    plain: usize,
    http: usize,
}

fn requests_wanted() -> usize {
    std::env::var("EQUIV_REQUESTS")
        .ok()
        .map(|v| v.parse().expect("EQUIV_REQUESTS is a number of requests"))
        .unwrap_or(DEFAULT_REQUESTS)
}

fn http_every() -> usize {
    std::env::var("EQUIV_HTTP_EVERY")
        .ok()
        .map(|v| v.parse().expect("EQUIV_HTTP_EVERY is a number"))
        .unwrap_or(4)
        .max(1)
}

fn check_state(
    reference: &Reference,
    sidecar: &Sidecar,
    plan: &StatePlan,
    requests: &[RequestPlan],
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let doc = build_state(plan, &reference.permissions);
    let state = StateDocument::from_json_value(doc.clone())
        .map_err(|e| TestCaseError::fail(format!("generated state does not parse: {e}")))?;
    let catalogue = sidecar.app.engine().catalogue().clone();
    if let Err(problems) = validate(&state, &catalogue) {
        return Err(TestCaseError::fail(format!(
            "the generator made an invalid state: {problems:?}\n{doc:#}"
        )));
    }
    sidecar
        .app
        .import(&state, ImportMode::Replace, "tests")
        .unwrap();
    // The reference decides over the state as the sidecar holds it: an import may derive
    // state (LINK-3 links verified employees to their partners), which is the commands'
    // business, tested there; here only the decisions over one state are compared.
    let (held, _) = sidecar.app.export().unwrap();
    let doc = serde_json::to_value(&held).unwrap();
    let entities = state_entities(&doc, &reference.schema);
    let pools = Pools::new(&doc);
    let reqs: Vec<Req> = requests
        .iter()
        .map(|r| pools.resolve(r, reference))
        .collect();
    let check_requests: Vec<CheckRequest> = reqs
        .iter()
        .map(|r| {
            CheckRequest::from_parts(
                &r.principal_json(),
                &json!(r.action.name),
                &r.resource_json(),
                Map::new(),
            )
            .unwrap()
        })
        .collect();
    let answers: Vec<(Outcome, Outcome)> = reqs
        .iter()
        .map(|r| reference_answer(reference, &entities, r))
        .collect();

    let explain = |i: usize, path: &str, got: &Outcome| {
        let r = &reqs[i];
        let show = |key: String| {
            entities
                .json
                .get(&key)
                .map_or("(unknown)".to_owned(), ToString::to_string)
        };
        format!(
            "{path} disagrees with plain Cedar\n  request: {} {} {}::{}\n  sidecar:   {got:?}\n  \
             reference: {:?} (raw Cedar: {:?})\n  principal: {}\n  resource: {}",
            r.principal,
            r.action.name,
            r.resource_type,
            r.resource,
            answers[i].1,
            answers[i].0,
            show(format!("Hub::User::{}", r.principal.to_lowercase())),
            show(format!("{}::{}", r.resource_type, r.resource)),
        )
    };

    // 1. The cached path: the cache keeps what earlier requests of this state filled, and the
    //    second check of each pair is answered from what the first one filled.
    for (i, request) in check_requests.iter().enumerate() {
        let first = sidecar.check(request);
        prop_assert!(
            first == answers[i].1,
            "{}",
            explain(i, "App::check (cache fill)", &first)
        );
        let second = sidecar.check(request);
        prop_assert!(
            second == answers[i].1,
            "{}",
            explain(i, "App::check (cache hit)", &second)
        );
    }
    // 2. The uncached path for every request, and the engine's plain-Cedar mode over a store
    //    snapshot for every second one (it evaluates the whole policy set, which a debug build
    //    pays for; the slice building it shares with the paths above is compared on all).
    for (i, request) in check_requests.iter().enumerate() {
        sidecar.app.clear_cache();
        let uncached = sidecar.check(request);
        prop_assert!(
            uncached == answers[i].1,
            "{}",
            explain(i, "App::check after clear_cache", &uncached)
        );
        if i % 2 == 1 {
            continue;
        }
        tally.plain += 1;
        let plain = sidecar.plain(request);
        prop_assert!(
            plain == answers[i].0,
            "{}",
            explain(i, "PolicyEngine::decide_plain", &plain)
        );
    }
    // 3. Over HTTP: in a debug build a round trip costs more than the three paths above
    //    together, so by default every fourth request (`EQUIV_HTTP_EVERY=1` for all).
    for (i, r) in reqs.iter().enumerate().step_by(http_every()) {
        tally.http += 1;
        let http = sidecar.http(r);
        prop_assert!(
            http == answers[i].1,
            "{}",
            explain(i, "POST /v1/is_authorized", &http)
        );
    }

    tally.states += 1;
    tally.requests += reqs.len();
    for (_, expected) in &answers {
        match expected {
            Outcome::Decided { allow: true, .. } => tally.allows += 1,
            Outcome::Invalid => tally.invalid += 1,
            Outcome::Decided { .. } => {}
        }
    }
    Ok(())
}

#[test]
fn sidecar_decisions_equal_plain_cedar_on_random_states() {
    let started = Instant::now();
    let reference = Reference::load();
    let sidecar = Sidecar::start();
    let states = requests_wanted().div_ceil(PER_STATE);
    let mut runner = TestRunner::new(Config {
        cases: u32::try_from(states).unwrap(),
        // Shrinking reruns whole states; bound it so a failure is reported in reasonable time.
        max_shrink_time: 30_000,
        // Do not write regression files into the shared checkout.
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let strategy = (
        state_plan(),
        prop::collection::vec(request_plan(), PER_STATE),
    );
    let result = runner.run(&strategy, |(plan, requests)| {
        check_state(
            &reference,
            &sidecar,
            &plan,
            &requests,
            &mut tally.borrow_mut(),
        )
    });
    let tally = tally.into_inner();
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, (plan, requests))) => panic!(
            "{reason}\nminimal state plan: {plan:#?}\nstate: {:#}\nrequests: {}",
            build_state(&plan, &reference.permissions),
            requests.len()
        ),
        Err(e) => panic!("{e}"),
    }
    println!(
        "equivalence: {} requests over {} states compared on the cached (x2) and uncached \
         paths, {} of them with decide_plain too, {} over HTTP too: {} Allow, {} invalid, in \
         {:.1?}",
        tally.requests,
        tally.states,
        tally.plain,
        tally.http,
        tally.allows,
        tally.invalid,
        started.elapsed()
    );
    // Guards against a generator that makes every answer the same (a comparison of Denies
    // proves little): a fair share of Allows, and the invalid-type path exercised.
    assert!(tally.requests >= states * PER_STATE, "{}", tally.requests);
    assert!(
        tally.allows * 20 >= tally.requests,
        "{} Allows",
        tally.allows
    );
    assert!(tally.invalid > 0);
}

/// The reference itself must be able to tell Allow from Deny on a known state: the demo
/// state's documented answers (README), decided by the naive entities and plain Cedar.
#[test]
fn the_reference_reproduces_the_documented_demo_answers() {
    let reference = Reference::load();
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/demo-state.json")).unwrap(),
    )
    .unwrap();
    let entities = state_entities(&doc, &reference.schema);
    let action = |name: &str| {
        reference
            .actions
            .iter()
            .find(|a| a.name == name)
            .unwrap()
            .clone()
    };
    let ask = |principal: &str, name: &str| {
        let req = Req {
            principal: principal.to_owned(),
            action: action(name),
            resource_type: "Hub::Account".into(),
            resource: "c-globex".into(),
            string_form: false,
        };
        reference_answer(&reference, &entities, &req).1
    };
    assert_eq!(
        ask("ann@acme.example", "crm.objects.edit"),
        decided(true, ["listed.crm.objects.edit".to_owned()])
    );
    assert_eq!(
        ask("ANN@acme.example", "scim.provision"),
        decided(false, ["partner-admin-never-scim-or-migration".to_owned()])
    );
    assert_eq!(
        ask("pat@acme.example", "reports.access"),
        decided(false, [])
    );
    assert_eq!(
        ask("owner@globex.example", "billing.edit"),
        decided(true, ["super-admin-template".to_owned()])
    );
    assert_eq!(
        ask("nobody@acme.example", "hubs.access"),
        decided(false, [])
    );
}
