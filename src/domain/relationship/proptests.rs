//! The pure model against a naive replay of the events: the state at any instant equals
//! what replaying the events up to that instant says, whatever came after.

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone, Copy)]
enum Kind {
    Added,
    Gone,
    Activity,
}

#[derive(Debug, Clone, Copy)]
struct Event {
    at: Timestamp,
    partner: usize,
    kind: Kind,
}

fn partner(i: usize) -> PartnerId {
    PartnerId::parse(["p-a", "p-b"][i]).unwrap()
}

fn at(hours: i64) -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z")
        .unwrap()
        .plus_seconds(hours * 3600)
}

/// What a naive replay knows of the current relationship.
#[derive(Debug, Clone)]
struct Naive {
    partner: usize,
    started_at: Timestamp,
    last: Timestamp,
    present: bool,
    /// When the last partner user left (while not present).
    since: Timestamp,
    ended: bool,
}

/// Replays the events up to `until` (inclusive), one by one.
fn replay(events: &[Event], until: Timestamp) -> Option<Naive> {
    let mut cur: Option<Naive> = None;
    for e in events.iter().filter(|e| e.at <= until) {
        if let Some(c) = cur.as_mut()
            && !c.present
            && e.at >= c.last.plus_days(RELATIONSHIP_GRACE_DAYS)
        {
            c.ended = true;
        }
        match e.kind {
            Kind::Added => match cur.as_mut() {
                Some(c) if c.partner == e.partner && !c.ended => {
                    c.present = true;
                    c.last = c.last.max(e.at);
                }
                _ => {
                    cur = Some(Naive {
                        partner: e.partner,
                        started_at: e.at,
                        last: e.at,
                        present: true,
                        since: e.at,
                        ended: false,
                    })
                }
            },
            Kind::Gone => {
                if let Some(c) = cur.as_mut()
                    && c.partner == e.partner
                    && c.present
                {
                    c.present = false;
                    c.since = e.at;
                }
            }
            Kind::Activity => {
                if let Some(c) = cur.as_mut()
                    && c.partner == e.partner
                    && !c.ended
                {
                    c.last = c.last.max(e.at);
                }
            }
        }
    }
    cur
}

fn naive_view(events: &[Event], t: Timestamp) -> (RelationshipView, bool) {
    let Some(c) = replay(events, t) else {
        return (RelationshipView::none(), false);
    };
    let ends = c.last.plus_days(RELATIONSHIP_GRACE_DAYS).max(c.since);
    let (state, ends_at) = if c.present && !c.ended {
        (RelationshipState::Active, None)
    } else if c.ended || t >= ends {
        (RelationshipState::Ended, Some(ends))
    } else {
        (RelationshipState::Ending, Some(ends))
    };
    (
        RelationshipView {
            partner: Some(partner(c.partner)),
            state,
            started_at: Some(c.started_at),
            ends_at,
            last_activity_at: Some(c.last),
        },
        c.present,
    )
}

/// Random event sequences in time order, as the commands produce them: a partner user of
/// another partner is added only when no relationship is running (LINK-2), "gone" is
/// reported when the partner's last user leaves.
fn events() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((0i64..24 * 50, 0usize..2, 0u8..3), 0..40).prop_map(|steps| {
        let mut hours = 0;
        let mut out: Vec<Event> = Vec::new();
        for (gap, which, kind) in steps {
            // Mostly short gaps, sometimes none at all, sometimes past the 60 days.
            hours += match gap % 7 {
                0 => 0,
                1 => gap * 2,
                _ => gap / 4,
            };
            let t = at(hours);
            let kind = match kind {
                0 => Kind::Added,
                1 => Kind::Gone,
                _ => Kind::Activity,
            };
            let running = replay(&out, t).filter(|c| {
                !c.ended && (c.present || t < c.last.plus_days(RELATIONSHIP_GRACE_DAYS))
            });
            let partner = match (&running, kind) {
                (Some(c), Kind::Added) => c.partner,
                _ => which,
            };
            out.push(Event {
                at: t,
                partner,
                kind,
            });
        }
        out
    })
}

fn apply(events: &[Event]) -> RelationshipHistory {
    let mut h = RelationshipHistory::default();
    for e in events {
        match e.kind {
            Kind::Added => h.partner_user_added(&partner(e.partner), e.at),
            Kind::Gone => {
                h.partner_users_gone(&partner(e.partner), e.at);
            }
            Kind::Activity => {
                h.activity(&partner(e.partner), e.at);
            }
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn rel5_the_state_at_any_instant_is_the_replay_up_to_it(
        events in events(),
        probes in proptest::collection::vec(0i64..24 * 400, 1..12),
    ) {
        let h = apply(&events);
        let mut instants: Vec<Timestamp> = events.iter().map(|e| e.at).collect();
        instants.extend(probes.into_iter().map(at));
        for t in instants {
            let model = h.view_at(t);
            let (naive, _) = naive_view(&events, t);
            prop_assert_eq!(model.partner.clone(), naive.partner.clone(), "at {}: {:?}", t, h);
            prop_assert_eq!(model.state, naive.state, "at {}: {:?}", t, h);
            prop_assert_eq!(model.started_at, naive.started_at, "at {}: {:?}", t, h);
            prop_assert_eq!(model.ends_at, naive.ends_at, "at {}: {:?}", t, h);
            if let Some(last) = model.last_activity_at {
                prop_assert!(last <= t, "last activity {} after {}", last, t);
                let exact = naive.last_activity_at.unwrap_or(last);
                if model.state == RelationshipState::Active {
                    // Inside an active stretch only the recorded instants are known.
                    prop_assert!(last <= exact, "at {}: {} > {}", t, last, exact);
                } else {
                    prop_assert_eq!(last, exact, "at {}: {:?}", t, h);
                }
            }
        }
    }

    #[test]
    fn later_events_never_change_an_earlier_answer(
        events in events(),
        cut in 0usize..40,
        probes in proptest::collection::vec(0i64..24 * 400, 1..8),
    ) {
        // What the history said of any instant before the next event, it still says after
        // every later event.
        let cut = cut.min(events.len());
        let horizon = events.get(cut).map(|e| e.at);
        let earlier = apply(&events[..cut]);
        let later = apply(&events);
        for t in probes.into_iter().map(at).filter(|t| horizon.is_none_or(|h| *t < h)) {
            // Inside an active stretch the last activity is the latest recorded instant,
            // which later activity may make an earlier one (never a later one).
            let (before, after) = (earlier.view_at(t), later.view_at(t));
            if before.state == RelationshipState::Active {
                prop_assert!(after.last_activity_at <= before.last_activity_at);
                prop_assert_eq!(
                    RelationshipView { last_activity_at: None, ..before },
                    RelationshipView { last_activity_at: None, ..after },
                    "at {}", t
                );
            } else {
                prop_assert_eq!(before, after, "at {}", t);
            }
        }
    }

    #[test]
    fn the_history_round_trips_through_json(events in events()) {
        let h = apply(&events);
        let text = serde_json::to_string(&h).unwrap_or_default();
        let back: RelationshipHistory = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, h);
    }
}
