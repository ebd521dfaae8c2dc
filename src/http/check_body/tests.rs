#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

use bytes::Bytes;
use proptest::prelude::*;

use super::{FastBatch, FastCheck};
use crate::app::CheckRequest;
use crate::http::checks::{BatchBody, CheckBody, ConsistencyBody};
use crate::http::error::parse_body;

type Parts = (CheckRequest, Option<ConsistencyBody>, Option<String>);

/// What the general path reads from a check body: the request, the consistency and the
/// policy version, or the error message.
fn general(body: &str) -> Result<Parts, String> {
    let body: CheckBody =
        parse_body(&Bytes::copy_from_slice(body.as_bytes())).map_err(|e| e.message().to_owned())?;
    let request = body.to_request().map_err(|e| e.message().to_owned())?;
    Ok((request, body.consistency, body.policy_version))
}

/// Asserts that the fast reading of `body`, when it reads it, reads what the general path
/// does; returns whether it read it.
fn agrees(body: &str) -> bool {
    match FastCheck::read(body.as_bytes()) {
        None => false,
        Some(fast) => {
            let general = general(body);
            assert_eq!(
                Ok(fast.into_parts()),
                general,
                "the fast reading differs from the general one for {body}"
            );
            true
        }
    }
}

#[test]
fn the_common_shapes_are_read_fast_and_as_the_general_path_reads_them() {
    for body in [
        r#"{"principal":{"type":"Hub::User","id":"ann@acme.example"},"action":{"type":"Hub::Action","id":"reports.access"},"resource":{"type":"Hub::Account","id":"c1"}}"#,
        r#"{"principal":"Hub::User::\"ann@acme.example\"","action":"reports.access","resource":"Hub::Account::\"c1\""}"#,
        r#"{"resource":{"id":"c1","type":"Hub::Account"},"action":"Hub::Action::\"reports.access\"","principal":{"id":"ann","type":"Hub::User"},"context":{}}"#,
        r#"{"principal":{"type":"Hub::User","id":"a\"nn"},"action":"x","resource":{"type":"Hub::Account","id":"c1"},"context":null,"consistency":{"at_least_as_fresh":7},"policy_version":"abc"}"#,
    ] {
        assert!(agrees(body), "not read fast: {body}");
    }
}

#[test]
fn what_is_not_the_common_shape_is_left_to_the_general_path() {
    for body in [
        // A repeated key, at the top or in a reference.
        r#"{"principal":"Hub::User::\"a\"","principal":"Hub::User::\"b\"","action":"x","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":{"type":"Hub::User","id":"a","id":"b"},"action":"x","resource":"Hub::Account::\"c1\""}"#,
        // A context with facts, an unknown member, an escaped key, the `__entity` form.
        r#"{"principal":"Hub::User::\"a\"","action":"x","resource":"Hub::Account::\"c1\"","context":{"k":1}}"#,
        r#"{"principal":"Hub::User::\"a\"","action":"x","resource":"Hub::Account::\"c1\"","extra":1}"#,
        r#"{"principal":{"type":"Hub::User","\u0069d":"a"},"action":"x","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":{"__entity":{"type":"Hub::User","id":"a"}},"action":"x","resource":"Hub::Account::\"c1\""}"#,
        // References that do not read.
        r#"{"principal":{"type":"Hub::Nope","id":"a"},"action":"x","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":{"type":"Hub::User","id":""},"action":"x","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":"ann","action":"x","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":"Hub::User::\"a\"","action":"","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":"Hub::User::\"a\"","action":"Hub::User::\"x\"","resource":"Hub::Account::\"c1\""}"#,
        r#"{"principal":"Hub::User::\"a\"","action":"x"}"#,
    ] {
        assert!(
            FastCheck::read(body.as_bytes()).is_none(),
            "read fast: {body}"
        );
    }
}

#[test]
fn a_batch_is_read_fast_only_when_every_item_is_in_the_common_shape() {
    let item = r#"{"principal":"Hub::User::\"a\"","action":"x","resource":"Hub::Account::\"c1\""}"#;
    let odd = r#"{"principal":"Hub::User::\"a\"","action":"x","resource":"Hub::Account::\"c1\"","consistency":{"fully_consistent":true}}"#;
    let fast = FastBatch::read(format!(r#"{{"requests":[{item},{item}]}}"#).as_bytes()).unwrap();
    assert_eq!(fast.requests.len(), 2);
    let mixed = format!(r#"{{"requests":[{item},{odd}]}}"#);
    assert!(FastBatch::read(mixed.as_bytes()).is_none());
    // An item given as an array of its fields is that item's error on the general path.
    let positional =
        format!(r#"{{"requests":[{item},["Hub::User::\"a\"","x","Hub::Account::\"c1\""]]}}"#);
    assert!(FastBatch::read(positional.as_bytes()).is_none());
    // The general path still reads the mixed batch, item by item.
    let general: BatchBody = parse_body(&Bytes::from(mixed)).unwrap();
    assert_eq!(general.requests.len(), 2);
}

/// One JSON member of a generated body, present with probability `present`: its key, and
/// a value's text, three times in four a good one.
fn member(
    key: &'static str,
    present: f64,
    good: Vec<&'static str>,
    bad: Vec<&'static str>,
) -> impl Strategy<Value = Option<String>> {
    let value = prop_oneof![3 => prop::sample::select(good), 1 => prop::sample::select(bad)];
    prop::option::weighted(present, value)
        .prop_map(move |value| value.map(|v| format!("\"{key}\":{v}")))
}

fn references() -> (Vec<&'static str>, Vec<&'static str>) {
    let good = vec![
        r#"{"type":"Hub::User","id":"ann@acme.example"}"#,
        r#"{"id":"c1","type":"Hub::Account"}"#,
        r#"{"type":"Hub::Partner","id":"p1"}"#,
        r#"{"type":"Hub::Action","id":"reports.access"}"#,
        r#"{"type":"Hub::User","id":"\u0061nn"}"#,
        r#""Hub::User::\"ann\"""#,
        r#""Hub::Account::\"c1\"""#,
    ];
    let bad = vec![
        r#"{"type":"Hub::User","id":""}"#,
        r#"{"type":"Hub::Nope","id":"a"}"#,
        r#"{"type":"Hub::User"}"#,
        r#"{"type":"Hub::User","id":"a","id":"b"}"#,
        r#"{"type":"Hub::User","id":"a","x":1}"#,
        r#"{"type":"Hub::User","id":7}"#,
        r#"{"__entity":{"type":"Hub::User","id":"ann"}}"#,
        r#""Hub::User::ann""#,
        r#""reports.access""#,
        r#""""#,
        "null",
        "7",
        "[]",
    ];
    (good, bad)
}

fn body() -> impl Strategy<Value = String> {
    let (good, bad) = references();
    (
        member("principal", 0.95, good.clone(), bad.clone()),
        member(
            "action",
            0.95,
            vec![
                r#""reports.access""#,
                r#""billing.edit""#,
                r#""Hub::Action::\"reports.access\"""#,
                r#"{"type":"Hub::Action","id":"reports.access"}"#,
            ],
            vec![
                r#""""#,
                r#""Hub::User::\"x\"""#,
                r#"{"type":"Hub::Account","id":"c1"}"#,
                "1",
            ],
        ),
        member("resource", 0.95, good, bad),
        member(
            "context",
            0.4,
            vec!["{}", "null"],
            vec![r#"{"a":1}"#, "[]", r#""x""#],
        ),
        member(
            "consistency",
            0.4,
            vec![
                r#"{"minimize_latency":true}"#,
                r#"{"at_least_as_fresh":3}"#,
                "null",
            ],
            vec![
                r#"{"fully_consistent":true,"fully_consistent":true}"#,
                r#"{"nope":1}"#,
            ],
        ),
        member("policy_version", 0.3, vec![r#""abc""#, "null"], vec!["3"]),
        member("principal", 0.1, vec![r#""Hub::User::\"bob\"""#], vec!["1"]),
        member("extra", 0.1, vec!["1"], vec!["{}"]),
        any::<u64>(),
    )
        .prop_map(|(p, a, r, c, k, v, again, extra, seed)| {
            let mut members: Vec<String> = [p, a, r, c, k, v].into_iter().flatten().collect();
            // A repeated or unknown member now and then, at a place of the seed's choosing.
            for rare in [again, extra].into_iter().flatten() {
                let at = (seed as usize) % (members.len() + 1);
                members.insert(at, rare);
            }
            let turn = (seed as usize / 7) % members.len().max(1);
            members.rotate_left(turn);
            format!("{{{}}}", members.join(","))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the body, the fast reading either declines it or reads exactly what the
    /// general path reads (which refuses nothing the fast reading accepts).
    #[test]
    fn the_fast_reading_never_differs_from_the_general_one(body in body()) {
        agrees(&body);
    }
}

/// The generated bodies exercise both readings: some are read fast (and compared), some are
/// left to the general path.
#[test]
fn the_generated_bodies_take_both_paths() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = body();
    let fast = (0..1000)
        .filter(|_| agrees(&strategy.new_tree(&mut runner).unwrap().current()))
        .count();
    assert!((50..950).contains(&fast), "{fast} of 1000 read fast");
}
