//! The impact analysis against the repository's policies over a generated state: a narrowed
//! permit makes one group of exactly the users it drops, shared cases decide as every
//! membership on its own, and an acknowledgement compares groups and counts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::domain::{Permission, Role, StateDocument};
use crate::policy::SourceFile;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's policies, with `edit` applied to `capabilities.cedar`.
fn engine(edit: impl Fn(String) -> String) -> PolicyEngine {
    let read = |dir: &Path, ext| SourceFile::read_dir(dir, ext).unwrap_or_default();
    let schema = read(&root().join("schema"), "cedarschema");
    let mut policies = read(&root().join("policies"), "cedar");
    for file in &mut policies {
        if file.path.ends_with("capabilities.cedar") {
            file.text = edit(std::mem::take(&mut file.text));
        }
    }
    let engine = PolicyEngine::from_sources(&schema, &policies);
    assert!(engine.is_ok(), "{:?}", engine.as_ref().err());
    engine.unwrap_or_else(|_| unreachable!())
}

const LISTED_REPORTS: &str =
    r#"principal.getTag(resource.key).permissions.contains("reports.access")"#;

/// Partner admins lose `reports.access` from their list.
fn no_reports_for_partner_admins(text: String) -> String {
    text.replace(
        LISTED_REPORTS,
        &format!(r#"{LISTED_REPORTS} && principal.getTag(resource.key).role != "partner_admin""#),
    )
}

/// 7 partners (`p4` of tier "other", without partner users); 60 clients, each with a
/// super admin, three standard users, and a partner admin and a partner user of the
/// partner `p{j % 7}` (as `bench/scale.sh`'s generator makes them).
fn state() -> StateDocument {
    let partners: Vec<serde_json::Value> = (0..7)
        .map(|i| {
            serde_json::json!({
                "id": format!("p{i}"),
                "tier": if i == 4 { "other" } else { "solutions_partner" },
                "email_domains": [format!("p{i}.example")],
                "employees": [
                    {"email": format!("admin{i}@p{i}.example"), "super_admin": true,
                     "employee_management": "view_edit"},
                    {"email": format!("rep{i}@p{i}.example")},
                ],
            })
        })
        .collect();
    let clients: Vec<serde_json::Value> = (0..60)
        .map(|j| {
            let p = j % 7;
            let mut users = vec![serde_json::json!(
                {"email": format!("owner@c{j}.example"), "role": "super_admin", "seat": "core"}
            )];
            for k in 0..3 {
                let permissions = match k {
                    0 => vec!["crm.objects.view", "reports.access"],
                    1 => vec!["crm.objects.view", "crm.objects.edit", "users.add_edit"],
                    _ => vec!["hubs.access"],
                };
                users.push(serde_json::json!({"email": format!("user{k}@c{j}.example"),
                    "role": "standard", "seat": "core", "permissions": permissions}));
            }
            if p != 4 {
                users.push(serde_json::json!({"email": format!("admin{p}@p{p}.example"),
                    "role": "partner_admin", "seat": "partner", "partner": format!("p{p}"),
                    "permissions": ["crm.objects.view", "reports.access", "billing.edit"]}));
                users.push(serde_json::json!({"email": format!("rep{p}@p{p}.example"),
                    "role": "standard", "seat": "partner", "partner": format!("p{p}"),
                    "permissions": ["crm.objects.view"]}));
            }
            serde_json::json!({"id": format!("c{j}"), "pricing_model": "seat_based", "users": users})
        })
        .collect();
    let doc = StateDocument::from_json_value(
        serde_json::json!({"partners": partners, "clients": clients}),
    );
    assert!(doc.is_ok(), "{:?}", doc.as_ref().err());
    doc.unwrap_or_default()
}

fn run(from: &PolicyEngine, to: &PolicyEngine, doc: &StateDocument, share: bool) -> ImpactReport {
    let options = ImpactOptions {
        examples: 3,
        share_cases: share,
        deadline: None,
    };
    let report = analyse(from, to, doc, &options, &mut |_, _| {});
    assert!(report.is_ok(), "{:?}", report.as_ref().err());
    report.unwrap_or_else(|_| unreachable!())
}

#[test]
fn a_narrowed_permit_makes_one_group_of_exactly_the_users_it_drops() {
    let doc = state();
    let (from, to) = (engine(|t| t), engine(no_reports_for_partner_admins));
    let report = run(&from, &to, &doc, true);
    let reports = Permission::parse("reports.access").unwrap_or_else(|_| unreachable!());
    let expected: Vec<(String, String)> = doc
        .clients
        .iter()
        .flat_map(|c| c.users.iter().map(move |u| (c, u)))
        .filter(|(_, u)| u.role == Role::PartnerAdmin && u.permissions.contains(&reports))
        .map(|(c, u)| (u.email.as_str().to_owned(), c.id.as_str().to_owned()))
        .collect();
    assert!(
        expected.len() > 3,
        "the fixture has partner admins: {expected:?}"
    );

    assert_eq!(report.groups.len(), 1, "{report:#?}");
    let group = &report.groups[0];
    assert_eq!(group.action, "reports.access");
    assert_eq!(group.direction, Direction::AllowToDeny);
    assert_eq!(group.before.policies, ["listed.reports.access"]);
    assert_eq!(group.before.rules, ["CAP-1", "CAP-6"]);
    assert!(group.after.policies.is_empty());
    assert_eq!(group.count, expected.len() as u64);
    assert_eq!(
        group.by_role,
        BTreeMap::from([("partner_admin".to_owned(), expected.len() as u64)])
    );
    let examples: Vec<(String, String)> = group
        .examples
        .iter()
        .map(|e| (e.user.clone(), e.account.clone()))
        .collect();
    assert_eq!(
        examples,
        expected[..3],
        "the first three, in the state's order"
    );
    assert_eq!(report.changed.allow_to_deny, expected.len() as u64);
    assert_eq!(report.changed.deny_to_allow, 0);
    assert_eq!(report.by_action.len(), 1);
    assert_eq!(
        report.memberships,
        doc.clients
            .iter()
            .map(|c| c.users.len() as u64)
            .sum::<u64>()
    );
    assert!(
        report.cases < report.memberships / 4,
        "memberships alike are one case: {} cases",
        report.cases
    );
}

#[test]
fn shared_cases_decide_as_every_membership_on_its_own() {
    let doc = state();
    // Both ways: partner admins lose reports; standard users gain billing.
    let to = engine(|t| {
        no_reports_for_partner_admins(t).replace(
            r#"principal.getTag(resource.key).permissions.contains("billing.edit")"#,
            r#"(principal.getTag(resource.key).permissions.contains("billing.edit") || principal.getTag(resource.key).role == "standard")"#,
        )
    });
    let from = engine(|t| t);
    let shared = run(&from, &to, &doc, true);
    let alone = run(&from, &to, &doc, false);
    assert!(shared.changed.deny_to_allow > 0 && shared.changed.allow_to_deny > 0);
    assert_eq!(alone.cases, alone.memberships);
    assert!(shared.cases < alone.cases);
    assert_eq!(shared.groups, alone.groups);
    assert_eq!(shared.by_role, alone.by_role);
    assert_eq!(shared.by_action, alone.by_action);
}

#[test]
fn an_id_a_policy_names_is_never_taken_for_another() {
    let doc = state();
    let to = engine(|t| {
        t + r#"
@id("t-user") forbid (principal, action == Hub::Action::"reports.access", resource)
when { principal.email == "user0@c5.example" };
@id("t-domain") forbid (principal, action == Hub::Action::"hubs.access", resource)
when { principal.email_domain == "c9.example" };
@id("t-account") forbid (principal, action == Hub::Action::"crm.objects.view", resource)
when { resource.key == "c11" };
"#
    });
    let from = engine(|t| t);
    let shared = run(&from, &to, &doc, true);
    let alone = run(&from, &to, &doc, false);
    assert_eq!(shared.groups, alone.groups);
    let count = |id: &str| {
        shared
            .groups
            .iter()
            .filter(|g| g.after.policies == [id])
            .map(|g| g.count)
            .sum::<u64>()
    };
    // user0 of c5; c9's super admin and user2 (hubs.access); c11's super admin, user0 and
    // user1 (crm.objects.view; c11's partner is of tier "other": no partner users).
    assert_eq!(
        (count("t-user"), count("t-domain"), count("t-account")),
        (1, 2, 3),
        "{shared:#?}"
    );
    assert!(shared.cases < alone.cases);
}

#[test]
fn the_same_set_changes_nothing_and_evaluates_nothing() {
    let doc = state();
    let engine = engine(|t| t);
    let report = run(&engine, &engine, &doc, true);
    assert_eq!(report.cases, 0);
    assert!(report.groups.is_empty());
    assert_eq!(report.changed.total(), 0);
    assert!(report.decisions > 0);
}

#[test]
fn an_acknowledgement_compares_groups_and_counts_not_examples() {
    let doc = state();
    let report = run(
        &engine(|t| t),
        &engine(no_reports_for_partner_admins),
        &doc,
        true,
    );
    let mut reordered = report.clone();
    reordered.groups[0].examples.reverse();
    reordered.groups[0].examples.pop();
    assert_eq!(report.acknowledges(&reordered), Ok(()));

    let mut fewer = report.clone();
    fewer.groups[0].count -= 1;
    let refused = report.acknowledges(&fewer);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.contains("acknowledged, not computed: reports.access")),
        "{refused:?}"
    );
    let mut none = report.clone();
    none.groups.clear();
    assert!(report.acknowledges(&none).is_err());
}
