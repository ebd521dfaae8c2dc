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
mod tests;

#[cfg(test)]
mod proptests;
