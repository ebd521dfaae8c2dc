//! The managed relationship between a client and a partner (REL-1..5).
//!
//! It starts when the first partner user of a partner is created in the client (REL-1). While
//! partner users of the partner are in the account (active or deactivated: REM-4) it is
//! `active`. Once they are all removed it is `ending` until 60 days after the last qualifying
//! activity (REL-2, REL-3), then `ended`. Adding a partner user while `ending` makes it `active`
//! again; after `ended` a new relationship starts (REL-4). The state can be asked for any
//! instant (REL-5).

use serde::{Deserialize, Serialize};

use super::ids::PartnerId;
use super::time::Timestamp;

/// How long a relationship outlives the last partner activity once no partner user is left.
pub const RELATIONSHIP_GRACE_DAYS: i64 = 60;

/// What the store keeps of a relationship.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipRecord {
    pub partner: PartnerId,
    pub started_at: Timestamp,
    /// The last qualifying partner activity: a command by one of the partner's employees in the
    /// account, or an Allow for one of its partner users there.
    pub last_activity_at: Timestamp,
}

/// The state of a relationship at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipState {
    Active,
    Ending,
    Ended,
    None,
}

/// The relationship as a host reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelationshipView {
    pub partner: Option<PartnerId>,
    pub state: RelationshipState,
    /// When an `ending` relationship ends (or an `ended` one ended).
    pub ends_at: Option<Timestamp>,
    pub last_activity_at: Option<Timestamp>,
}

/// The relationship at `at`, given the record and whether partner users of its partner are
/// still in the account.
pub fn relationship_at(
    record: Option<&RelationshipRecord>,
    partner_users_present: bool,
    at: Timestamp,
) -> RelationshipView {
    let Some(record) = record.filter(|r| at >= r.started_at) else {
        return RelationshipView {
            partner: None,
            state: RelationshipState::None,
            ends_at: None,
            last_activity_at: None,
        };
    };
    if partner_users_present {
        return RelationshipView {
            partner: Some(record.partner.clone()),
            state: RelationshipState::Active,
            ends_at: None,
            last_activity_at: Some(record.last_activity_at),
        };
    }
    let ends_at = record.last_activity_at.plus_days(RELATIONSHIP_GRACE_DAYS);
    RelationshipView {
        partner: Some(record.partner.clone()),
        state: if at < ends_at {
            RelationshipState::Ending
        } else {
            RelationshipState::Ended
        },
        ends_at: Some(ends_at),
        last_activity_at: Some(record.last_activity_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(last: &str) -> RelationshipRecord {
        RelationshipRecord {
            partner: PartnerId::parse("p").unwrap(),
            started_at: Timestamp::parse("2026-01-01T00:00:00Z").unwrap(),
            last_activity_at: Timestamp::parse(last).unwrap(),
        }
    }

    #[test]
    fn sixty_days_after_the_last_activity_it_ends() {
        let r = record("2026-03-01T00:00:00Z");
        let at = |t: &str| relationship_at(Some(&r), false, Timestamp::parse(t).unwrap());
        assert_eq!(at("2026-04-29T00:00:00Z").state, RelationshipState::Ending); // 59 days
        assert_eq!(at("2026-05-01T00:00:00Z").state, RelationshipState::Ended); // 61 days
        assert_eq!(
            at("2026-04-29T00:00:00Z").ends_at.unwrap().to_string(),
            "2026-04-30T00:00:00Z"
        );
        let present = relationship_at(
            Some(&r),
            true,
            Timestamp::parse("2027-01-01T00:00:00Z").unwrap(),
        );
        assert_eq!(present.state, RelationshipState::Active);
        assert_eq!(
            relationship_at(None, false, Timestamp::now()).state,
            RelationshipState::None
        );
    }
}
