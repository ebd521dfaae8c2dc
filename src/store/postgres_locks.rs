//! What a PostgreSQL write transaction locks: the owners of records, as advisory lock keys.
//!
//! Owns: [`Owner`] (a client account, a partner, a person by e-mail, a side table's key), its
//! 64-bit lock key, [`WHOLE_STATE_LOCK`], and the names the side tables and logs have in the
//! database. Which statement takes which lock is [`super::postgres_tx`]'s.

use super::{Aux, Log};

/// The advisory lock every write transaction holds shared, and an import exclusive.
pub(super) const WHOLE_STATE_LOCK: i64 = 0;

/// What a write transaction locks: the advisory lock key of a record's owner.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner<'a> {
    Client(&'a str),
    Partner(&'a str),
    Person(&'a str),
    Aux(&'static str, &'a str),
}

impl Owner<'_> {
    /// A 64-bit key (FNV-1a of the kind and the id). Two owners that collide only share a lock:
    /// they wait for each other, which is never wrong.
    pub(super) fn key(self) -> i64 {
        let (kind, id) = match self {
            Owner::Client(id) => ("client", id),
            Owner::Partner(id) => ("partner", id),
            Owner::Person(email) => ("person", email),
            Owner::Aux(table, key) => (table, key),
        };
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in kind.bytes().chain([0]).chain(id.bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        // Any 64-bit key but the whole-state lock's.
        match i64::from_ne_bytes(hash.to_ne_bytes()) {
            WHOLE_STATE_LOCK => 1,
            key => key,
        }
    }

    /// The owner of a side table's record: a relationship belongs to its client account, an
    /// employee's link (`partner/e-mail`) to its partner; the others are their own.
    pub(super) fn of_aux(table: Aux, key: &str) -> Owner<'_> {
        match table {
            Aux::Relationships => Owner::Client(key),
            Aux::EmployeeLinks => Owner::Partner(key.split_once('/').map_or(key, |(p, _)| p)),
            Aux::AccessLinks | Aux::Idempotency | Aux::PolicySets | Aux::PolicyActivations => {
                Owner::Aux(aux_name(table), key)
            }
        }
    }
}

pub(super) fn aux_name(table: Aux) -> &'static str {
    match table {
        Aux::AccessLinks => "access_links",
        Aux::EmployeeLinks => "employee_links",
        Aux::Idempotency => "idempotency",
        Aux::Relationships => "relationships",
        Aux::PolicySets => "policy_sets",
        Aux::PolicyActivations => "policy_activations",
    }
}

pub(super) fn log_name(log: Log) -> &'static str {
    match log {
        Log::Audit => "audit",
        Log::Events => "events",
    }
}
