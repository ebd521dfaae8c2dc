use super::*;

fn t(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn day(n: i64) -> Timestamp {
    t("2026-01-01T00:00:00Z").plus_days(n)
}

fn p(id: &str) -> PartnerId {
    PartnerId::parse(id).unwrap()
}

#[test]
fn sixty_days_after_the_last_activity_it_ends() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("p"), t("2026-01-01T00:00:00Z"));
    h.activity(&p("p"), t("2026-03-01T00:00:00Z"));
    assert!(h.partner_users_gone(&p("p"), t("2026-03-01T00:00:00Z")));
    let at = |s: &str| h.view_at(t(s));
    assert_eq!(at("2026-04-29T00:00:00Z").state, RelationshipState::Ending); // 59 days
    assert_eq!(at("2026-05-01T00:00:00Z").state, RelationshipState::Ended); // 61 days
    assert_eq!(at("2026-04-30T00:00:00Z").state, RelationshipState::Ended); // 60 days
    assert_eq!(
        at("2026-04-29T00:00:00Z").ends_at.unwrap().to_string(),
        "2026-04-30T00:00:00Z"
    );
    assert_eq!(at("2026-02-01T00:00:00Z").state, RelationshipState::Active);
    assert_eq!(at("2025-12-31T00:00:00Z").state, RelationshipState::None);
    assert_eq!(
        RelationshipHistory::default().view_at(Timestamp::now()),
        RelationshipView::none()
    );
}

#[test]
fn rem4_rel2_only_the_last_partner_user_leaving_opens_a_span() {
    let mut h = RelationshipHistory::default();
    assert!(!h.partner_users_gone(&p("a"), day(1)), "nothing to end");
    h.partner_user_added(&p("a"), day(0));
    assert!(!h.partner_users_gone(&p("b"), day(1)), "another partner's");
    assert!(h.partner_users_gone(&p("a"), day(2)));
    assert!(!h.partner_users_gone(&p("a"), day(3)), "already ending");
    assert_eq!(h.periods[0].ending_spans.len(), 1);
}

#[test]
fn rel4_a_partner_user_while_ending_resumes_the_same_relationship() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(0));
    h.partner_users_gone(&p("a"), day(10));
    h.partner_user_added(&p("a"), day(30));
    assert_eq!(h.periods.len(), 1, "{h:?}");
    assert_eq!(h.periods[0].started_at, day(0));
    assert_eq!(h.periods[0].ending_spans[0].until, Some(day(30)));
    assert_eq!(h.view_at(day(20)).state, RelationshipState::Ending);
    assert_eq!(
        h.view_at(day(20)).ends_at,
        Some(day(60)),
        "60 days after the start"
    );
    assert_eq!(h.view_at(day(30)).state, RelationshipState::Active);
    assert_eq!(h.view_at(day(100)).state, RelationshipState::Active);
    assert_eq!(h.view_at(day(5)).state, RelationshipState::Active);
}

#[test]
fn rel4_after_ended_a_new_relationship_starts_and_the_old_one_stays() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(0));
    h.activity(&p("a"), day(5));
    h.partner_users_gone(&p("a"), day(10));
    // Ended at day 65 (last activity day 5 + 60); a partner user comes back at day 100.
    h.partner_user_added(&p("a"), day(100));
    assert_eq!(h.periods.len(), 2, "{h:?}");
    assert_eq!(h.periods[0].ended_at, Some(day(65)));
    assert_eq!(h.periods[1].started_at, day(100));
    assert_eq!(h.view_at(day(100)).started_at, Some(day(100)));
    assert_eq!(h.view_at(day(99)).state, RelationshipState::Ended);
    assert_eq!(h.view_at(day(99)).started_at, Some(day(0)));
    assert_eq!(h.view_at(day(99)).ends_at, Some(day(65)));
    let listed = h.listed(day(101));
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].state, RelationshipState::Ended);
    assert_eq!(listed[0].ending_since, Some(day(10)));
    assert_eq!(listed[0].ended_at, Some(day(65)));
    assert_eq!(listed[1].state, RelationshipState::Active);
    assert_eq!(listed[1].ending_since, None);
    assert_eq!(listed[1].ended_at, None);
    // Activity after the end is not recorded in the ended relationship.
    let mut ended = h.clone();
    ended.periods.pop();
    assert!(!ended.activity(&p("a"), day(80)));
    assert_eq!(ended.periods[0].last_activity_at, day(5));
}

#[test]
fn rel5_a_past_instant_is_answered_as_it_was_then() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(0));
    h.activity(&p("a"), day(20));
    h.partner_users_gone(&p("a"), day(25));
    // Five days before the removal: active, with activity no later than then.
    assert_eq!(h.view_at(day(20)).state, RelationshipState::Active);
    let v = h.view_at(day(15));
    assert_eq!(v.state, RelationshipState::Active);
    assert!(v.last_activity_at.unwrap() <= day(15), "{v:?}");
    assert_eq!(v.ends_at, None);
    // Activity while ending counts from the instant it happened.
    h.activity(&p("a"), day(40));
    assert_eq!(h.view_at(day(30)).ends_at, Some(day(80)));
    assert_eq!(h.view_at(day(30)).last_activity_at, Some(day(20)));
    assert_eq!(h.view_at(day(41)).ends_at, Some(day(100)));
    assert_eq!(h.view_at(day(41)).last_activity_at, Some(day(40)));
    assert_eq!(h.view_at(day(90)).state, RelationshipState::Ending);
    assert_eq!(h.view_at(day(100)).state, RelationshipState::Ended);
}

#[test]
fn ending_span_activity_is_bounded() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(0));
    h.partner_users_gone(&p("a"), day(1));
    for minute in 1..=(MAX_SPAN_ACTIVITY as i64 + 10) {
        assert!(h.activity(&p("a"), day(1).plus_seconds(60 * minute)));
    }
    let span = &h.periods[0].ending_spans[0];
    assert_eq!(span.activity.len(), MAX_SPAN_ACTIVITY);
    assert!(span.activity.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        h.periods[0].last_activity_at,
        *span.activity.last().unwrap()
    );
}

#[test]
fn link2_another_partner_starts_after_ended() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(0));
    h.partner_users_gone(&p("a"), day(1));
    assert_eq!(h.current_state(day(30)), RelationshipState::Ending);
    assert_eq!(h.current_state(day(70)), RelationshipState::Ended);
    h.partner_user_added(&p("b"), day(70));
    assert_eq!(h.periods.len(), 2);
    assert_eq!(h.periods[0].ended_at, Some(day(60)));
    assert_eq!(h.view_at(day(70)).partner, Some(p("b")));
    assert_eq!(h.view_at(day(65)).partner, Some(p("a")));
    // Activity of the old partner does not reach the new relationship.
    assert!(!h.activity(&p("a"), day(71)));
}

#[test]
fn first_edition_records_read_as_one_period() {
    let old = r#"{"partner": "p-acme", "started_at": "2025-01-01T00:00:00Z",
                      "last_activity_at": "2025-03-01T00:00:00Z"}"#;
    let mut h: RelationshipHistory = serde_json::from_str(old).unwrap();
    assert_eq!(h.periods.len(), 1);
    assert_eq!(h.periods[0].partner, p("p-acme"));
    assert_eq!(h.periods[0].started_at, t("2025-01-01T00:00:00Z"));
    // Its partner users still there: active. Gone: ending since the last activity.
    assert!(!h.clone().reconcile(|_| true));
    assert!(h.reconcile(|_| false));
    assert!(!h.reconcile(|_| false), "once");
    assert_eq!(
        h.view_at(t("2025-02-01T00:00:00Z")).state,
        RelationshipState::Active
    );
    assert_eq!(
        h.view_at(t("2025-03-02T00:00:00Z")).state,
        RelationshipState::Ending
    );
    assert_eq!(
        h.view_at(t("2025-06-01T00:00:00Z")).state,
        RelationshipState::Ended
    );
    // The new shape round-trips.
    let text = serde_json::to_string(&h).unwrap();
    assert!(text.starts_with(r#"{"periods":"#), "{text}");
    assert_eq!(
        serde_json::from_str::<RelationshipHistory>(&text).unwrap(),
        h
    );
    // Neither shape, or both: refused.
    for bad in [
        r#"{}"#,
        r#"{"partner": "p"}"#,
        r#"{"periods": [], "partner": "p"}"#,
        r#"{"periods": [], "extra": 1}"#,
    ] {
        assert!(
            serde_json::from_str::<RelationshipHistory>(bad).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn transitions_never_go_back_in_time() {
    let mut h = RelationshipHistory::default();
    h.partner_user_added(&p("a"), day(10));
    h.partner_users_gone(&p("a"), day(20));
    // A command that took its instant earlier but ran later.
    h.partner_user_added(&p("a"), day(19));
    let span = &h.periods[0].ending_spans[0];
    assert_eq!(span.until, Some(day(20)));
    assert_eq!(h.view_at(day(21)).state, RelationshipState::Active);
}
