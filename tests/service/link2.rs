//! LINK-2 as a property: a client account is managed by at most one partner, whatever the
//! sequence of commands that create or change partner users, from actors of three partners.
//!
//! In-process (the app's command layer over a temporary redb store, no HTTP): each case
//! imports the agency fixture with a third partner added, runs a generated sequence of
//! commands (access links issued and approved, partner users added, permission sets and single
//! permissions, manual links, client-side creation, migration, removal, deactivation and
//! reactivation, remove-all, admin upserts of users and employees) and, after every step,
//! checks every client: its partner users (partner admins and linked employees) belong to one
//! partner at most, that partner is `managed_by` when it is set, and the state validates.
//!
//! `LINK2_CASES` sets the number of sequences (default 24, about 3 s; 600 took 95 s without a
//! violation); `LINK2_DEBUG=1` prints each command's outcome. The seed is proptest's
//! deterministic one. Turning `Ctx::managed_by_no_other` off makes the test fail at once (a
//! client-side user creation linking an employee of a second partner).

use std::collections::BTreeSet;
use std::sync::Arc;

use partner_access::app::AppError;
use partner_access::app::commands::cam::{
    AddPartnerUsers, ClientRemovalPreview, DeactivatePartnerUser, GrantPartnerPermission,
    ReactivatePartnerUser, RemoveAllPartnerUsers, RevokePartnerPermission, SetPartnerPermissionSet,
};
use partner_access::app::commands::client_side::{
    CreateUser, MigrateToPartnerAdmin, RemoveUser, SetClientPermissionSet,
};
use partner_access::app::commands::links::{ApproveAccessLink, IssueAccessLink, LinkEmployee};
use partner_access::app::commands::{Command, CommandAnswer, CommandMeta};
use partner_access::app::{App, ImportMode};
use partner_access::domain::{ClientId, Email, PartnerId, Permission, StateDocument, validate};
use partner_access::store::RedbStore;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::support;

/// Partner-side actors: employees of the three partners, with and without CAM access.
const CAM_ACTORS: [&str; 9] = [
    "ann@acme.example",
    "eddie@acme.example",
    "pat@acme.example",
    "sam@acme.example",
    "bob@acme.example",
    "rita@rival.example",
    "ron@rival.example",
    "tess@third.example",
    "tom@third.example",
];
/// Client-side actors: each client's super admin and a `users.add_edit` user.
const CLIENT_ACTORS: [&str; 6] = [
    "owner@globex.example",
    "clara@globex.example",
    "ian@initech.example",
    "hank@hooli.example",
    "uma@umbrella.example",
    "ros@rivalco.example",
];
/// Whom the commands are about: employees of the three partners (verified or not), client
/// super admins who are employees, and people of no partner.
const TARGETS: [&str; 14] = [
    "ann@acme.example",
    "nina@acme.example",
    "bob@acme.example",
    "gus@gmail.example",
    "sam@acme.example",
    "ron@rival.example",
    "rita@rival.example",
    "rudy@gmail.example",
    "tess@third.example",
    "tom@third.example",
    "theo@third.example",
    "owner@globex.example",
    "clara@globex.example",
    "newbie@nowhere.example",
];
const CLIENTS: [&str; 5] = [
    "c-globex",
    "c-initech",
    "c-hooli",
    "c-umbrella",
    "c-rivalco",
];
const PARTNERS: [&str; 3] = ["p-acme", "p-rival", "p-third"];
const SETS: [&str; 5] = [
    "partner_admin",
    "partner_admin",
    "Sales rep",
    "Support",
    "super_admin",
];
const PERMISSIONS: [&str; 3] = ["reports.access", "users.add_edit", "multi_account.manage"];

/// One command with indices into the pools above.
#[derive(Debug, Clone)]
enum Step {
    IssueAndApprove {
        cam: usize,
        target: usize,
        approver: usize,
        client: usize,
    },
    AddPartnerUsers {
        cam: usize,
        client: usize,
        targets: Vec<usize>,
        set: usize,
    },
    SetPartnerPermissionSet {
        cam: usize,
        client: usize,
        target: usize,
        set: usize,
    },
    SetPartnerPermission {
        cam: usize,
        client: usize,
        target: usize,
        permission: usize,
        grant: bool,
    },
    LinkEmployee {
        cam: usize,
        target: usize,
        client: usize,
    },
    CreateUser {
        actor: usize,
        client: usize,
        target: usize,
        set: usize,
        partner_seat: bool,
    },
    SetClientPermissionSet {
        actor: usize,
        client: usize,
        target: usize,
        set: usize,
    },
    Migrate {
        client: usize,
        target: usize,
    },
    RemoveUser {
        actor: usize,
        client: usize,
        target: usize,
    },
    Deactivate {
        cam: usize,
        client: usize,
        target: usize,
        reactivate: bool,
    },
    RemoveAll {
        cam: usize,
        client: usize,
    },
    UpsertUser {
        client: usize,
        target: usize,
        partner: Option<usize>,
        admin: bool,
    },
    UpsertEmployee {
        partner: usize,
        target: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let cam = 0..CAM_ACTORS.len();
    let actor = 0..CLIENT_ACTORS.len();
    let target = 0..TARGETS.len();
    let client = 0..CLIENTS.len();
    let set = 0..SETS.len();
    prop_oneof![
        3 => (cam.clone(), target.clone(), actor.clone(), client.clone()).prop_map(
            |(cam, target, approver, client)| Step::IssueAndApprove { cam, target, approver, client }
        ),
        2 => (cam.clone(), client.clone(), proptest::collection::vec(target.clone(), 1..3), set.clone())
            .prop_map(|(cam, client, targets, set)| Step::AddPartnerUsers { cam, client, targets, set }),
        1 => (cam.clone(), client.clone(), target.clone(), set.clone()).prop_map(
            |(cam, client, target, set)| Step::SetPartnerPermissionSet { cam, client, target, set }
        ),
        1 => (cam.clone(), client.clone(), target.clone(), 0..PERMISSIONS.len(), any::<bool>())
            .prop_map(|(cam, client, target, permission, grant)| Step::SetPartnerPermission {
                cam, client, target, permission, grant
            }),
        2 => (cam.clone(), target.clone(), client.clone())
            .prop_map(|(cam, target, client)| Step::LinkEmployee { cam, target, client }),
        2 => (actor.clone(), client.clone(), target.clone(), set.clone(), any::<bool>()).prop_map(
            |(actor, client, target, set, partner_seat)| Step::CreateUser {
                actor, client, target, set, partner_seat
            }
        ),
        1 => (actor.clone(), client.clone(), target.clone(), set.clone()).prop_map(
            |(actor, client, target, set)| Step::SetClientPermissionSet { actor, client, target, set }
        ),
        1 => (client.clone(), target.clone())
            .prop_map(|(client, target)| Step::Migrate { client, target }),
        2 => (actor.clone(), client.clone(), target.clone())
            .prop_map(|(actor, client, target)| Step::RemoveUser { actor, client, target }),
        1 => (cam.clone(), client.clone(), target.clone(), any::<bool>()).prop_map(
            |(cam, client, target, reactivate)| Step::Deactivate { cam, client, target, reactivate }
        ),
        1 => (cam.clone(), client.clone()).prop_map(|(cam, client)| Step::RemoveAll { cam, client }),
        1 => (client.clone(), target.clone(), proptest::option::of(0..PARTNERS.len()), any::<bool>())
            .prop_map(|(client, target, partner, admin)| Step::UpsertUser {
                client, target, partner, admin
            }),
        1 => (0..PARTNERS.len(), target.clone())
            .prop_map(|(partner, target)| Step::UpsertEmployee { partner, target }),
    ]
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn client_id(i: usize) -> ClientId {
    ClientId::parse(CLIENTS[i]).unwrap()
}

fn partner_id(i: usize) -> PartnerId {
    PartnerId::parse(PARTNERS[i]).unwrap()
}

fn meta(actor: &str) -> CommandMeta {
    CommandMeta {
        actor: email(actor),
        idempotency_key: None,
        request_digest: String::new(),
    }
}

fn body<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// Runs the command `C` for `actor`, made from its path and JSON body as the HTTP layer makes
/// it.
fn run_command<C: Command>(
    app: &App,
    actor: &str,
    path: C::Path,
    body_json: Value,
) -> Result<CommandAnswer, AppError> {
    app.run(&meta(actor), &C::new(path, body(body_json)))
}

/// The partner an actor is an employee of, in `state`.
fn employer(state: &StateDocument, who: &str) -> Option<PartnerId> {
    state
        .partners
        .iter()
        .find(|p| p.employees.iter().any(|e| e.email.as_str() == who))
        .map(|p| p.id.clone())
}

/// The `n`th user of a client (modulo its user count), so that commands about an existing
/// user mostly name one; `TARGETS[n]` when the client has none.
fn user_of(state: &StateDocument, client: usize, n: usize) -> String {
    let users: Vec<&str> = state
        .clients
        .iter()
        .find(|c| c.id.as_str() == CLIENTS[client])
        .map(|c| c.users.iter().map(|u| u.email.as_str()).collect())
        .unwrap_or_default();
    if users.is_empty() {
        TARGETS[n % TARGETS.len()].to_owned()
    } else {
        users[n % users.len()].to_owned()
    }
}

/// A client-side actor of the client: one of its active super admins or `users.add_edit`
/// holders (the `n`th, modulo), or `CLIENT_ACTORS[n]` when it has none.
fn admin_of(state: &StateDocument, client: usize, n: usize) -> String {
    let admins: Vec<&str> = state
        .clients
        .iter()
        .find(|c| c.id.as_str() == CLIENTS[client])
        .map(|c| {
            c.users
                .iter()
                .filter(|u| {
                    u.role == partner_access::domain::Role::SuperAdmin
                        || u.permissions.iter().any(|p| p.as_str() == "users.add_edit")
                })
                .map(|u| u.email.as_str())
                .collect()
        })
        .unwrap_or_default();
    if admins.is_empty() {
        CLIENT_ACTORS[n % CLIENT_ACTORS.len()].to_owned()
    } else {
        admins[n % admins.len()].to_owned()
    }
}

/// The agency fixture with a third partner (a provider) whose employees are verified in
/// `third.example`, one of them a CAM user.
fn initial_state() -> StateDocument {
    let mut state = support::agency();
    state["partners"].as_array_mut().unwrap().push(json!({
        "id": "p-third", "name": "Third", "tier": "provider", "email_domains": ["third.example"],
        "employees": [
            {"email": "tess@third.example", "super_admin": true, "employee_management": "view_edit"},
            {"email": "tom@third.example", "employee_management": "view_edit"},
            {"email": "theo@third.example"}],
        "permission_sets": [{"name": "Sales rep", "permissions": ["crm.objects.view"]}]}));
    let rival = state["partners"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["id"] == "p-rival")
        .unwrap();
    rival["employees"]
        .as_array_mut()
        .unwrap()
        .push(json!({"email": "rudy@gmail.example"}));
    StateDocument::from_json_value(state).unwrap()
}

/// Runs one step; refusals are expected (the invariant is checked either way). Returns whether
/// the command was applied. Commands about an existing user name one of the client's users,
/// and client-side commands come from one of its admins, most of the time.
fn run(app: &App, state: &StateDocument, step: &Step) -> bool {
    let outcome = match step {
        Step::IssueAndApprove {
            cam,
            target,
            approver,
            client,
        } => {
            let actor = CAM_ACTORS[*cam];
            let Some(partner) = employer(state, actor) else {
                return false;
            };
            let issued = run_command::<IssueAccessLink>(
                app,
                actor,
                (partner,),
                json!({"actor": actor, "employee": TARGETS[*target]}),
            );
            let Ok(issued) = issued else { return false };
            let token = issued.body["token"].as_str().unwrap().to_owned();
            let approver = admin_of(state, *client, *approver);
            run_command::<ApproveAccessLink>(
                app,
                &approver,
                (token,),
                json!({"actor": approver, "client": CLIENTS[*client]}),
            )
        }
        Step::AddPartnerUsers {
            cam,
            client,
            targets,
            set,
        } => run_command::<AddPartnerUsers>(
            app,
            CAM_ACTORS[*cam],
            (client_id(*client),),
            json!({"actor": CAM_ACTORS[*cam],
                   "employees": targets.iter().map(|t| TARGETS[*t]).collect::<Vec<_>>(),
                   "permission_set": SETS[*set]}),
        ),
        Step::SetPartnerPermissionSet {
            cam,
            client,
            target,
            set,
        } => run_command::<SetPartnerPermissionSet>(
            app,
            CAM_ACTORS[*cam],
            (client_id(*client), email(&user_of(state, *client, *target))),
            json!({"actor": CAM_ACTORS[*cam], "permission_set": SETS[*set]}),
        ),
        Step::SetPartnerPermission {
            cam,
            client,
            target,
            permission,
            grant,
        } => {
            let path = (
                client_id(*client),
                email(&user_of(state, *client, *target)),
                Permission::parse(PERMISSIONS[*permission]).unwrap(),
            );
            let body = json!({"actor": CAM_ACTORS[*cam]});
            if *grant {
                run_command::<GrantPartnerPermission>(app, CAM_ACTORS[*cam], path, body)
            } else {
                run_command::<RevokePartnerPermission>(app, CAM_ACTORS[*cam], path, body)
            }
        }
        Step::LinkEmployee {
            cam,
            target,
            client,
        } => {
            let target = user_of(state, *client, *target);
            // The CAM user of the target's own partner, most of the time.
            let actor = match employer(state, &target) {
                Some(p) if cam % 3 != 0 => CAM_ACTORS
                    .iter()
                    .copied()
                    .find(|a| employer(state, a).as_ref() == Some(&p))
                    .unwrap_or(CAM_ACTORS[*cam]),
                _ => CAM_ACTORS[*cam],
            };
            let Some(partner) = employer(state, actor) else {
                return false;
            };
            run_command::<LinkEmployee>(
                app,
                actor,
                (partner, email(&target)),
                json!({"actor": actor, "client": CLIENTS[*client]}),
            )
        }
        Step::CreateUser {
            actor,
            client,
            target,
            set,
            partner_seat,
        } => {
            let actor = admin_of(state, *client, *actor);
            run_command::<CreateUser>(
                app,
                &actor,
                (client_id(*client),),
                json!({"actor": actor, "email": TARGETS[*target],
                       "seat": if *partner_seat { "partner" } else { "core" },
                       "permission_set": SETS[*set]}),
            )
        }
        Step::SetClientPermissionSet {
            actor,
            client,
            target,
            set,
        } => {
            let actor = admin_of(state, *client, *actor);
            run_command::<SetClientPermissionSet>(
                app,
                &actor,
                (client_id(*client), email(&user_of(state, *client, *target))),
                json!({"actor": actor, "permission_set": SETS[*set]}),
            )
        }
        Step::Migrate { client, target } => {
            // A super admin changes itself to partner admin (MIG-1).
            let user = admin_of(state, *client, *target);
            run_command::<MigrateToPartnerAdmin>(
                app,
                &user,
                (client_id(*client),),
                json!({"actor": user, "user": user}),
            )
        }
        Step::RemoveUser {
            actor,
            client,
            target,
        } => {
            let actor = admin_of(state, *client, *actor);
            run_command::<RemoveUser>(
                app,
                &actor,
                (client_id(*client), email(&user_of(state, *client, *target))),
                json!({"actor": actor}),
            )
        }
        Step::Deactivate {
            cam,
            client,
            target,
            reactivate,
        } => {
            let actor = CAM_ACTORS[*cam];
            let path = (client_id(*client), email(&user_of(state, *client, *target)));
            if *reactivate {
                run_command::<ReactivatePartnerUser>(app, actor, path, json!({"actor": actor}))
            } else {
                run_command::<DeactivatePartnerUser>(app, actor, path, json!({"actor": actor}))
            }
        }
        Step::RemoveAll { cam, client } => {
            let actor = CAM_ACTORS[*cam];
            let Ok(preview) = run_command::<ClientRemovalPreview>(
                app,
                actor,
                (client_id(*client),),
                json!({"actor": actor}),
            ) else {
                return false;
            };
            let version = preview.body["version"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            run_command::<RemoveAllPartnerUsers>(
                app,
                actor,
                (client_id(*client),),
                json!({"actor": actor, "version": version}),
            )
        }
        Step::UpsertUser {
            client,
            target,
            partner,
            admin,
        } => app
            .upsert_user(
                &client_id(*client),
                &email(TARGETS[*target]),
                body(json!({
                    "role": if *admin { "partner_admin" } else { "standard" },
                    "seat": if *admin { "partner" } else { "core" },
                    "partner": partner.map(|p| PARTNERS[p]),
                })),
                "tests",
            )
            .map(|_| empty_answer()),
        Step::UpsertEmployee { partner, target } => app
            .upsert_employee(
                &partner_id(*partner),
                &email(TARGETS[*target]),
                body(json!({})),
                "tests",
            )
            .map(|_| empty_answer()),
    };
    if std::env::var("LINK2_DEBUG").is_ok() {
        let kind = format!("{step:?}");
        let kind = kind.split_whitespace().next().unwrap_or_default();
        match &outcome {
            Ok(_) => eprintln!("OK {kind}"),
            Err(e) => eprintln!(
                "NO {kind}: {}",
                e.to_string().chars().take(110).collect::<String>()
            ),
        }
    }
    outcome.is_ok()
}

fn empty_answer() -> CommandAnswer {
    CommandAnswer {
        created: false,
        body: Value::Null,
        revision: 0,
        replayed: false,
    }
}

/// LINK-2 over the whole state: the problems found, empty when it holds.
fn link2_violations(state: &StateDocument) -> Vec<String> {
    let mut problems = Vec::new();
    for client in &state.clients {
        let partners: BTreeSet<&PartnerId> = client
            .users
            .iter()
            .filter_map(|u| u.partner.as_ref())
            .collect();
        if partners.len() > 1 {
            problems.push(format!("{} has partner users of {partners:?}", client.id));
        }
        if let Some(managing) = &client.managed_by
            && partners.iter().any(|p| *p != managing)
        {
            problems.push(format!(
                "{} is managed by {managing} but has partner users of {partners:?}",
                client.id
            ));
        }
    }
    problems
}

/// Checks LINK-2 after every step of generated command sequences.
#[test]
fn link2_a_client_is_managed_by_at_most_one_partner_whatever_the_commands() {
    let cases = std::env::var("LINK2_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let dir = tempfile::tempdir().unwrap();
    let app = App::new(
        crate::support::settings(),
        Arc::new(RedbStore::open(dir.path()).unwrap()),
    )
    .unwrap();
    let initial = initial_state();
    let catalogue = app.engine().catalogue().clone();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let applied = std::cell::Cell::new(0usize);
    let result = runner.run(&proptest::collection::vec(step(), 1..30), |steps| {
        app.import(&initial, ImportMode::Replace, "tests").unwrap();
        for (i, step) in steps.iter().enumerate() {
            let (before, _) = app.export().unwrap();
            if run(&app, &before, step) {
                applied.set(applied.get() + 1);
            }
            let (after, _) = app.export().unwrap();
            let violations = link2_violations(&after);
            prop_assert!(
                violations.is_empty(),
                "after step {i} {step:?}: {violations:?}"
            );
            prop_assert!(
                validate(&after, &catalogue).is_ok(),
                "after step {i} {step:?}: {:?}",
                validate(&after, &catalogue)
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "link2: {cases} sequences, {} commands applied",
        applied.get()
    );
    // Refusals test nothing: most sequences must change partner users.
    assert!(applied.get() >= cases as usize, "{} applied", applied.get());
}
