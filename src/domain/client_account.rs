//! The rules a client account keeps whichever command changes it: MIG-4 (an active super
//! admin remains), LINK-2 (one managing partner at a time), and the managed relationship's
//! arithmetic as partner users come, act and go (REL-1 to REL-4).
//!
//! They are pure: a rule reads the [`ClientRecord`] as a command is about to save it and the
//! instant the command runs at, and answers or changes the record. The commands (in `app`) call
//! them inside their transaction, so a rule holds for the state that commits; the policies
//! decide who may ask, these decide what the account can become.

use super::{ClientRecord, ClientUserRecord, Email, PartnerId, RelationshipState, Role, Status};
use super::{Timestamp, relationship::RelationshipHistory};

/// A change the account's rules refuse. Nothing of the command is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// MIG-4: the change would leave the client without an active super admin.
    #[error(
        "client `{client}` must keep at least one active super admin; this change would leave none"
    )]
    NoSuperAdminLeft { client: super::ClientId },
    /// LINK-2: another partner's relationship with the client is active or ending.
    #[error(
        "client `{client}` is managed by partner `{other}`; a client is managed by one partner at a time"
    )]
    ManagedByAnother {
        client: super::ClientId,
        other: PartnerId,
    },
}

impl Violation {
    /// The rule book's id of the rule that refuses.
    pub fn rule(&self) -> &'static str {
        match self {
            Violation::NoSuperAdminLeft { .. } => "MIG-4",
            Violation::ManagedByAnother { .. } => "LINK-2",
        }
    }
}

/// A relationship that began ending with a command (REL-2): the `relationship.ending` event's
/// data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub partner: PartnerId,
    /// When it ends unless a partner user returns: 60 days after the last activity.
    pub ends_at: Option<Timestamp>,
}

impl ClientRecord {
    /// Puts `user` in the account, in place of its earlier record if it had one.
    pub fn set_user(&mut self, user: ClientUserRecord) {
        self.users.retain(|u| u.email != user.email);
        self.users.push(user);
    }

    /// Whether a partner user of `partner` (active or deactivated, REM-4) is in the account.
    pub fn has_partner_users_of(&self, partner: &PartnerId) -> bool {
        self.users
            .iter()
            .any(|u| u.partner.as_ref() == Some(partner))
    }

    /// MIG-4: after replacing `email`'s record with `after` (`None`: the user is removed), the
    /// client still has an active super admin.
    pub fn keeps_a_super_admin(
        &self,
        email: &Email,
        after: Option<&ClientUserRecord>,
    ) -> Result<(), Violation> {
        let remaining = self
            .users
            .iter()
            .filter(|u| &u.email != email)
            .chain(after)
            .any(|u| u.role == Role::SuperAdmin && u.status == Status::Active);
        if remaining {
            Ok(())
        } else {
            Err(Violation::NoSuperAdminLeft {
                client: self.id.clone(),
            })
        }
    }

    /// LINK-2: a client is managed by at most one partner. Refuses `partner` when another
    /// partner's relationship is active or ending at `now` (an ended one does not stand in the
    /// way), when the record says another partner manages it and that partner's users are
    /// there, or when users linked to another partner are there (an import may leave
    /// `managed_by` empty: their partner manages the client).
    pub fn managed_by_no_other(
        &self,
        partner: &PartnerId,
        now: Timestamp,
    ) -> Result<(), Violation> {
        let latest = self
            .relationship
            .as_ref()
            .and_then(RelationshipHistory::current);
        let other = match (latest, &self.managed_by) {
            (Some(r), _) if &r.partner != partner => {
                let running = self
                    .relationship
                    .as_ref()
                    .is_some_and(|h| h.current_state(now) != RelationshipState::Ended);
                running.then(|| r.partner.clone())
            }
            (None, Some(m)) if m != partner && self.has_partner_users_of(m) => Some(m.clone()),
            _ => self
                .users
                .iter()
                .find_map(|u| u.partner.as_ref().filter(|p| *p != partner))
                .cloned(),
        };
        match other {
            Some(other) => Err(Violation::ManagedByAnother {
                client: self.id.clone(),
                other,
            }),
            None => Ok(()),
        }
    }

    /// REL-1, REL-4 for a record as it is read: a client whose managing partner has partner
    /// users there while its history has no running relationship with that partner (imported
    /// that way, or changed by an upsert) gets one, resumed or started at `now`.
    pub fn resume_relationship(&mut self, now: Timestamp) {
        let Some(partner) = self
            .managed_by
            .clone()
            .filter(|p| self.has_partner_users_of(p))
        else {
            return;
        };
        let history = self.relationship.get_or_insert_with(Default::default);
        let running = history.current().is_some_and(|r| r.partner == partner)
            && history.current_state(now) == RelationshipState::Active;
        if !running {
            history.partner_user_added(&partner, now);
        }
    }

    /// REL-1, REL-4: a partner user of `partner` is in the client: an `active` relationship
    /// with the partner goes on (the addition is activity), an `ending` one resumes, and
    /// otherwise (none, `ended`) a new relationship starts at `now`, the ended one staying in
    /// the history. The client is marked managed by the partner. Does nothing when no partner
    /// user of the partner is in the account after all.
    pub fn partner_user_added(&mut self, partner: &PartnerId, now: Timestamp) {
        if !self.has_partner_users_of(partner) {
            return;
        }
        self.relationship
            .get_or_insert_with(Default::default)
            .partner_user_added(partner, now);
        self.managed_by = Some(partner.clone());
    }

    /// REL-3: a command by an employee of `partner` in the account is partner activity,
    /// recorded in the latest relationship when it is that partner's and has not ended.
    pub fn partner_activity(&mut self, partner: &PartnerId, now: Timestamp) {
        if let Some(history) = self.relationship.as_mut() {
            history.activity(partner, now);
        }
    }

    /// REL-2, REM-4: after partner users left: if none of the latest relationship's partner
    /// remain (deactivated ones count as present), the relationship is `ending` from `now` (a
    /// span of its history opens). Returns the ending when this call began it, so it is
    /// announced once.
    pub fn partner_users_removed(&mut self, now: Timestamp) -> Option<Ending> {
        let partner = self.relationship.as_ref()?.current()?.partner.clone();
        if self.has_partner_users_of(&partner) {
            return None;
        }
        let history = self.relationship.as_mut()?;
        if !history.partner_users_gone(&partner, now) {
            return None;
        }
        Some(Ending {
            partner,
            ends_at: history.view_at(now).ends_at,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

    use super::*;
    use crate::domain::{ClientId, PricingModel, Seat};

    fn user(email: &str, role: Role, status: Status, partner: Option<&str>) -> ClientUserRecord {
        ClientUserRecord {
            email: Email::parse(email).unwrap(),
            role,
            seat: Seat::None,
            permissions: Vec::new(),
            status,
            partner: partner.map(|p| PartnerId::parse(p).unwrap()),
            keep_billing: false,
            paid_hubs: Vec::new(),
        }
    }

    fn client(users: Vec<ClientUserRecord>) -> ClientRecord {
        ClientRecord {
            id: ClientId::parse("c-1").unwrap(),
            official_name: String::new(),
            pricing_model: PricingModel::SeatBased,
            managed_by: None,
            users,
            assets: Vec::new(),
            permission_sets: Vec::new(),
            relationship: None,
        }
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    #[test]
    fn mig4_refuses_removing_or_demoting_the_last_active_super_admin() {
        let owner = user("o@c.example", Role::SuperAdmin, Status::Active, None);
        let c = client(vec![owner.clone()]);
        let err = c.keeps_a_super_admin(&owner.email, None).unwrap_err();
        assert_eq!(err.rule(), "MIG-4");
        let deactivated = ClientUserRecord {
            status: Status::Deactivated,
            ..owner.clone()
        };
        assert!(
            c.keeps_a_super_admin(&owner.email, Some(&deactivated))
                .is_err()
        );
        assert!(c.keeps_a_super_admin(&owner.email, Some(&owner)).is_ok());
        let two = client(vec![
            owner.clone(),
            user("p@c.example", Role::SuperAdmin, Status::Active, None),
        ]);
        assert!(two.keeps_a_super_admin(&owner.email, None).is_ok());
    }

    #[test]
    fn link2_an_ended_relationship_does_not_stand_in_the_way_a_running_one_does() {
        let acme = PartnerId::parse("p-acme").unwrap();
        let other = PartnerId::parse("p-other").unwrap();
        let mut c = client(vec![user(
            "a@acme.example",
            Role::Standard,
            Status::Active,
            Some("p-acme"),
        )]);
        let start = at("2026-01-01T00:00:00Z");
        c.partner_user_added(&acme, start);
        assert_eq!(c.managed_by.as_ref(), Some(&acme));
        assert!(c.managed_by_no_other(&acme, start).is_ok());
        let err = c.managed_by_no_other(&other, start).unwrap_err();
        assert_eq!(err.rule(), "LINK-2");

        c.users.clear();
        let ending = c.partner_users_removed(start).unwrap();
        assert_eq!(ending.partner, acme);
        assert!(c.partner_users_removed(start).is_none(), "announced once");
        assert!(c.managed_by_no_other(&other, start).is_err(), "ending");
        let later = at("2026-06-01T00:00:00Z");
        assert!(c.managed_by_no_other(&other, later).is_ok(), "ended");
    }
}
