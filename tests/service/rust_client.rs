//! A host's round trip through the Rust client (`clients/rust`) against the in-process server:
//! a Client Access Manager grant sent with an idempotency key, its retry answered as a replay,
//! a check carrying the grant's revision that sees it, and the refusal of a grant the actor
//! may not make, decoded with its code and rules.

use partner_access_client::{Check, Consistency, Decision};

use crate::support;
use crate::support::harness;

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";
const GLOBEX: &str = "c-globex";

#[tokio::test]
async fn a_grant_its_retry_and_a_check_that_sees_it() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let pa = server.api();
    let bob_manages_apps = || Check::user(BOB, "apps.manage", GLOBEX);

    let before = pa.check(&bob_manages_apps()).await.unwrap();
    assert_eq!(before.decision, Decision::Deny, "{before:?}");

    let granted = pa
        .grant_partner_permission(GLOBEX, BOB, "apps.manage", ANN, Some("grant-bob-apps"))
        .await
        .unwrap();
    assert!(!granted.replayed);
    assert_eq!(
        granted.answer.permissions,
        ["apps.manage", "crm.objects.edit", "reports.access"]
    );
    assert_eq!(granted.answer.role, "standard");

    // A retry (the host did not see the answer): the first answer again, nothing applied.
    let retried = pa
        .grant_partner_permission(GLOBEX, BOB, "apps.manage", ANN, Some("grant-bob-apps"))
        .await
        .unwrap();
    assert!(retried.replayed);
    assert_eq!(retried.revision, granted.revision);
    assert_eq!(retried.answer, granted.answer);

    let after = pa
        .check(&bob_manages_apps().consistency(Consistency::AtLeastAsFresh(granted.revision)))
        .await
        .unwrap();
    assert_eq!(after.decision, Decision::Allow, "{after:?}");
    assert!(after.revision >= granted.revision);
}

#[tokio::test]
async fn a_refused_grant_is_decoded_with_its_code_and_rules() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let pa = server.api();
    // Bob is a standard partner user: no CAM access (PA-1).
    let refused = pa
        .grant_partner_permission(GLOBEX, ANN, "billing.edit", BOB, None)
        .await
        .unwrap_err();
    let api = refused.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_str()),
        (403, "forbidden"),
        "{api:?}"
    );
    assert!(!api.rules.is_empty(), "{api:?}");
}
