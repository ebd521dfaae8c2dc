//! The managed relationships between a client and partners over time (REL-1..5).
//!
//! A relationship starts when the first partner user of a partner is created in the client
//! (REL-1). While partner users of the partner are in the account (active or deactivated:
//! REM-4) it is `active`. Once they are all gone it is `ending` until 60 days after the last
//! qualifying activity (REL-2, REL-3), then `ended`. A partner user added while `ending` makes
//! the same relationship `active` again; after `ended` a new relationship starts, with a
//! `started_at` of its own, and the ended one stays in the history (REL-4).
//!
//! A client keeps its whole history ([`RelationshipHistory`]): one [`RelationshipPeriod`] per
//! relationship, oldest first, each with the spans during which no partner user of its partner
//! was in the account ([`EndingSpan`]) and the activity recorded while they lasted. The state at
//! any instant, past or future, is a pure function of that history (REL-5): a past instant is
//! answered from what was recorded up to then, never from today's membership, and the
//! `last_activity_at` it reports is never later than the instant asked about.
//!
//! The transitions ([`RelationshipHistory::partner_user_added`],
//! [`RelationshipHistory::partner_users_gone`], [`RelationshipHistory::activity`]) are pure too;
//! the commands call them with the command's instant.

use serde::{Deserialize, Serialize};

use super::ids::PartnerId;
use super::time::Timestamp;

/// How long a relationship outlives the last partner activity once no partner user is left.
pub const RELATIONSHIP_GRACE_DAYS: i64 = 60;

/// How many activity instants an ending span keeps (the newest). Activity while no partner user
/// is in the account is rare: commands there by the partner's employees.
pub const MAX_SPAN_ACTIVITY: usize = 64;

/// Every managed relationship a client has had, oldest first (REL-4, REL-5).
///
/// Stored as JSON in the relationships side table and carried by the state document as
/// `{"periods": [...]}`. The first edition kept one record per client,
/// `{"partner", "started_at", "last_activity_at"}`; such a record still reads, as one period
/// (whose ending span, when its partner users are gone, [`RelationshipHistory::reconcile`]
/// supplies).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "HistoryWire")]
pub struct RelationshipHistory {
    pub periods: Vec<RelationshipPeriod>,
}

/// One relationship of a client with a partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipPeriod {
    pub partner: PartnerId,
    pub started_at: Timestamp,
    /// The last qualifying partner activity recorded (REL-3): a command by one of the partner's
    /// employees in the account, or an Allow for one of its partner users there.
    pub last_activity_at: Timestamp,
    /// The spans during which no partner user of the partner was in the account, oldest first;
    /// only the last may still be open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ending_spans: Vec<EndingSpan>,
    /// When it ended, once a later relationship made that final. (Until then an ended
    /// relationship's end is computed: the last activity plus 60 days.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
}

/// A span during which no partner user of the period's partner was in the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndingSpan {
    /// When the last partner user of the partner left.
    pub since: Timestamp,
    /// The last activity recorded when the span opened.
    pub activity_before: Timestamp,
    /// Activity recorded while the span lasted, oldest first (the newest
    /// [`MAX_SPAN_ACTIVITY`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<Timestamp>,
    /// When a partner user of the partner came back (the relationship resumed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// The state of a relationship at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipState {
    Active,
    Ending,
    Ended,
    None,
}

/// The relationship at an instant, as a host reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationshipView {
    pub partner: Option<PartnerId>,
    pub state: RelationshipState,
    pub started_at: Option<Timestamp>,
    /// When an `ending` relationship ends (or an `ended` one ended).
    pub ends_at: Option<Timestamp>,
    /// The last activity recorded as of the instant (never later than it).
    pub last_activity_at: Option<Timestamp>,
}

impl RelationshipView {
    /// No relationship.
    pub fn none() -> Self {
        RelationshipView {
            partner: None,
            state: RelationshipState::None,
            started_at: None,
            ends_at: None,
            last_activity_at: None,
        }
    }
}

/// One relationship of the history, as the history read lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodView {
    pub partner: PartnerId,
    /// Its state now.
    pub state: RelationshipState,
    /// Null only for a client imported as managed, with partner users, and no history yet
    /// (the first command there records one).
    pub started_at: Option<Timestamp>,
    /// Since when no partner user of the partner is in the account (null while active).
    pub ending_since: Option<Timestamp>,
    /// When it ended (null unless ended).
    pub ended_at: Option<Timestamp>,
    /// The last activity recorded.
    pub last_activity_at: Option<Timestamp>,
}

/// A period's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PeriodState {
    state: RelationshipState,
    /// The end (`ending`: to come; `ended`: past).
    ends_at: Option<Timestamp>,
    last_activity_at: Timestamp,
}

impl EndingSpan {
    /// Whether the span lasted at `at`.
    fn contains(&self, at: Timestamp) -> bool {
        self.since <= at && self.until.is_none_or(|until| at < until)
    }
}

impl RelationshipPeriod {
    /// A relationship starting at `at`.
    pub fn new(partner: PartnerId, at: Timestamp) -> Self {
        RelationshipPeriod {
            partner,
            started_at: at,
            last_activity_at: at,
            ending_spans: Vec::new(),
            ended_at: None,
        }
    }

    /// The span still open, if any.
    pub fn open_span(&self) -> Option<&EndingSpan> {
        self.ending_spans.last().filter(|s| s.until.is_none())
    }

    /// The latest instant of a transition: the start, a span's opening or closing, the end.
    fn last_transition(&self) -> Timestamp {
        let mut latest = self.started_at;
        for span in &self.ending_spans {
            latest = latest.max(span.since);
            if let Some(until) = span.until {
                latest = latest.max(until);
            }
        }
        if let Some(ended) = self.ended_at {
            latest = latest.max(ended);
        }
        latest
    }

    /// The last activity recorded as of `at`: the latest of the instants known to be activity
    /// (the start, the last activity before each span, the activity during spans, each
    /// resumption, the last activity) that is not after `at`. Inside an ending span this is
    /// exact; inside an active stretch it is the latest of those instants, so never later
    /// than `at`.
    pub fn last_activity_as_of(&self, at: Timestamp) -> Timestamp {
        if self.last_activity_at <= at {
            return self.last_activity_at;
        }
        let mut best = self.started_at;
        for span in &self.ending_spans {
            let known = std::iter::once(span.activity_before)
                .chain(span.activity.iter().copied())
                .chain(span.until);
            for t in known.filter(|t| *t <= at) {
                best = best.max(t);
            }
        }
        best
    }

    /// The state at `at` (at or after `started_at`).
    fn state_at(&self, at: Timestamp) -> PeriodState {
        let last = self.last_activity_as_of(at);
        if let Some(ended) = self.ended_at.filter(|e| at >= *e) {
            return PeriodState {
                state: RelationshipState::Ended,
                ends_at: Some(ended),
                last_activity_at: last,
            };
        }
        if let Some(span) = self.ending_spans.iter().find(|s| s.contains(at)) {
            // 60 days after the last activity; at once when that is already past.
            let ends_at = last.plus_days(RELATIONSHIP_GRACE_DAYS).max(span.since);
            let state = if at < ends_at {
                RelationshipState::Ending
            } else {
                RelationshipState::Ended
            };
            return PeriodState {
                state,
                ends_at: Some(ends_at),
                last_activity_at: last,
            };
        }
        PeriodState {
            state: RelationshipState::Active,
            ends_at: None,
            last_activity_at: last,
        }
    }

    /// The relationship at `at` (at or after `started_at`).
    pub fn view_at(&self, at: Timestamp) -> RelationshipView {
        let s = self.state_at(at);
        RelationshipView {
            partner: Some(self.partner.clone()),
            state: s.state,
            started_at: Some(self.started_at),
            ends_at: s.ends_at,
            last_activity_at: Some(s.last_activity_at),
        }
    }

    /// The period as the history read lists it, as of `now`.
    pub fn listed(&self, now: Timestamp) -> PeriodView {
        let s = self.state_at(now.max(self.started_at));
        let ended_at = match s.state {
            RelationshipState::Ended => self.ended_at.or(s.ends_at),
            _ => None,
        };
        let ending_since = match s.state {
            RelationshipState::Active | RelationshipState::None => None,
            RelationshipState::Ending => self.open_span().map(|span| span.since),
            RelationshipState::Ended => self.open_span().map(|span| span.since).or(ended_at),
        };
        PeriodView {
            partner: self.partner.clone(),
            state: s.state,
            started_at: Some(self.started_at),
            ending_since,
            ended_at,
            last_activity_at: Some(self.last_activity_at),
        }
    }

    /// Records activity at `at` (REL-3) in the span it falls in, or as the last activity before
    /// the next span. Returns whether anything changed.
    fn record_activity(&mut self, at: Timestamp) -> bool {
        let mut changed = false;
        if at > self.last_activity_at {
            self.last_activity_at = at;
            changed = true;
        }
        if let Some(span) = self.ending_spans.iter_mut().rev().find(|s| s.contains(at)) {
            if !span.activity.contains(&at) {
                span.activity.push(at);
                span.activity.sort();
                if span.activity.len() > MAX_SPAN_ACTIVITY {
                    let excess = span.activity.len() - MAX_SPAN_ACTIVITY;
                    span.activity.drain(..excess);
                }
                changed = true;
            }
        } else if let Some(span) = self.ending_spans.iter_mut().find(|s| s.since > at)
            && at > span.activity_before
        {
            // Activity noted before a removal but flushed after it.
            span.activity_before = at;
            changed = true;
        }
        changed
    }
}

impl RelationshipHistory {
    /// The relationship that held at `at`: the latest to have started by then.
    pub fn period_at(&self, at: Timestamp) -> Option<&RelationshipPeriod> {
        self.periods.iter().rev().find(|p| p.started_at <= at)
    }

    /// The latest relationship.
    pub fn current(&self) -> Option<&RelationshipPeriod> {
        self.periods.last()
    }

    /// The relationship at any instant, past or future (REL-5): `none` before the first one
    /// started; otherwise the state of the latest one to have started by then, from its
    /// recorded history.
    pub fn view_at(&self, at: Timestamp) -> RelationshipView {
        match self.period_at(at) {
            Some(period) => period.view_at(at),
            None => RelationshipView::none(),
        }
    }

    /// The state of the latest relationship at `at`.
    pub fn current_state(&self, at: Timestamp) -> RelationshipState {
        match self.current() {
            Some(p) => p.state_at(at.max(p.started_at)).state,
            None => RelationshipState::None,
        }
    }

    /// Every relationship, oldest first, as of `now`.
    pub fn listed(&self, now: Timestamp) -> Vec<PeriodView> {
        self.periods.iter().map(|p| p.listed(now)).collect()
    }

    /// A transition's instant, never before the history's last transition (commands of one
    /// batch may take their instants in a different order than they run).
    fn monotonic(&self, at: Timestamp) -> Timestamp {
        self.current().map_or(at, |p| at.max(p.last_transition()))
    }

    /// REL-1, REL-4: a partner user of `partner` is in the account at `at`. An `active`
    /// relationship with the partner goes on (the addition is activity); an `ending` one
    /// resumes (its span closes); otherwise (none yet, `ended`, or another partner's) a new
    /// relationship starts at `at`, and the previous one is closed with its end.
    pub fn partner_user_added(&mut self, partner: &PartnerId, at: Timestamp) {
        let at = self.monotonic(at);
        if let Some(p) = self.periods.last_mut()
            && p.ended_at.is_none()
        {
            let s = p.state_at(at);
            match s.state {
                RelationshipState::Active if &p.partner == partner => {
                    p.record_activity(at);
                    return;
                }
                RelationshipState::Ending if &p.partner == partner => {
                    if let Some(span) = p.ending_spans.last_mut() {
                        span.until = Some(at);
                    }
                    p.last_activity_at = p.last_activity_at.max(at);
                    return;
                }
                RelationshipState::Ended => p.ended_at = s.ends_at,
                // Another partner's relationship still running (LINK-2 refuses this before a
                // command gets here): it ends now.
                _ => p.ended_at = Some(at),
            }
        }
        self.periods
            .push(RelationshipPeriod::new(partner.clone(), at));
    }

    /// REL-2: the last partner user of `partner` left at `at`. An `active` relationship with
    /// the partner becomes `ending` (a span opens). Returns whether it did.
    pub fn partner_users_gone(&mut self, partner: &PartnerId, at: Timestamp) -> bool {
        let at = self.monotonic(at);
        let Some(p) = self.periods.last_mut() else {
            return false;
        };
        if &p.partner != partner
            || p.ended_at.is_some()
            || p.state_at(at).state != RelationshipState::Active
        {
            return false;
        }
        let activity_before = p.last_activity_as_of(at);
        let activity = if p.last_activity_at > at {
            vec![p.last_activity_at]
        } else {
            Vec::new()
        };
        p.ending_spans.push(EndingSpan {
            since: at,
            activity_before,
            activity,
            until: None,
        });
        true
    }

    /// REL-3: qualifying activity of `partner` at `at`. Recorded in the latest relationship
    /// when it is the partner's and had not ended by `at`; ignored otherwise (activity does not
    /// bring an ended relationship back: only a partner user does, REL-4). Returns whether
    /// anything changed.
    pub fn activity(&mut self, partner: &PartnerId, at: Timestamp) -> bool {
        let Some(p) = self.periods.last_mut() else {
            return false;
        };
        if &p.partner != partner
            || at < p.started_at
            || p.state_at(at).state == RelationshipState::Ended
        {
            return false;
        }
        p.record_activity(at)
    }

    /// Brings the history in line with a membership it does not account for: a relationship
    /// that the history has as `active`, while no partner user of its partner is in the
    /// account, is `ending` since its last activity. This is how a first-edition record of a
    /// client whose partner users are gone reads, and how a removal made outside the commands
    /// (an import, an upsert) is taken in. Returns whether anything changed.
    pub fn reconcile(&mut self, partner_users_present: impl Fn(&PartnerId) -> bool) -> bool {
        let Some(p) = self.periods.last_mut() else {
            return false;
        };
        if p.ended_at.is_some() || p.open_span().is_some() || partner_users_present(&p.partner) {
            return false;
        }
        let since = p.last_activity_at.max(p.last_transition());
        p.ending_spans.push(EndingSpan {
            since,
            activity_before: p.last_activity_at,
            activity: Vec::new(),
            until: None,
        });
        true
    }
}

/// What the store and the state document may hold: the history, or a first-edition record.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryWire {
    #[serde(default)]
    periods: Option<Vec<RelationshipPeriod>>,
    #[serde(default)]
    partner: Option<PartnerId>,
    #[serde(default)]
    started_at: Option<Timestamp>,
    #[serde(default)]
    last_activity_at: Option<Timestamp>,
}

impl TryFrom<HistoryWire> for RelationshipHistory {
    type Error = String;

    fn try_from(wire: HistoryWire) -> Result<Self, String> {
        match wire {
            HistoryWire {
                periods: Some(periods),
                partner: None,
                started_at: None,
                last_activity_at: None,
            } => Ok(RelationshipHistory { periods }),
            HistoryWire {
                periods: None,
                partner: Some(partner),
                started_at: Some(started_at),
                last_activity_at: Some(last_activity_at),
            } => Ok(RelationshipHistory {
                periods: vec![RelationshipPeriod {
                    partner,
                    started_at,
                    last_activity_at: last_activity_at.max(started_at),
                    ending_spans: Vec::new(),
                    ended_at: None,
                }],
            }),
            _ => Err(
                "a relationship is `{\"periods\": [...]}`, or a first-edition record \
                      `{\"partner\", \"started_at\", \"last_activity_at\"}`"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
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
}

#[cfg(test)]
mod proptests {
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
}
