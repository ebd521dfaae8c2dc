//! The backend interface: the state's tables, which redb and PostgreSQL each store their way.
//!
//! Owns: [`Tables`] (reads) and [`TablesMut`] (writes and the commit), the narrow interface a
//! backend implements, and the keys and ranges it is asked for. Everything the state *means*
//! (what a partner or a client record is made of, what replacing one removes, which cached
//! records a write makes stale, how many writes a work made) is written once above it, in
//! [`super::state`]; a backend only stores and finds records.
//!
//! The tables (values are JSON, see [`super::rows`]; keys sort by bytes in both backends):
//!
//! | table | key | value | also read by |
//! |---|---|---|---|
//! | partners | partner id | [`PartnerRow`] | |
//! | employees | e-mail | [`EmployeeRow`] | partner (the row's `partner`) |
//! | clients | client id | [`ClientRow`] | |
//! | memberships | (client id, e-mail) | [`ClientUserRecord`] | e-mail |
//! | assets | (client id, asset id) | [`AssetRecord`] | |
//! | aux, per [`Aux`] table | text | bytes the use cases define | |
//! | logs, per [`Log`] | sequence number | bytes the use cases define | |
//!
//! The "also read by" orders are a second table in redb (`partner_employees`, `user_clients`)
//! and an index in PostgreSQL; a backend keeps them itself.
//!
//! A few composed reads have defaults made of `get` and `range` ([`Tables::person`],
//! [`Tables::client_parts`]); a backend that answers one in a single statement overrides it.

use super::rows::{ClientRow, EmployeeRow, PartnerRow};
use super::{Aux, Committed, Log, StoreError};
use crate::domain::{AssetRecord, ClientId, ClientUserRecord, Email};

/// One record, by table and key.
#[derive(Debug, Clone, Copy)]
pub(super) enum Key<'a> {
    /// partner id → [`PartnerRow`]
    Partner(&'a str),
    /// e-mail → [`EmployeeRow`]
    Employee(&'a str),
    /// client id → [`ClientRow`]
    Client(&'a str),
    /// (client id, e-mail) → [`ClientUserRecord`]
    Membership(&'a str, &'a str),
    /// A side table's record.
    Aux(Aux, &'a str),
}

impl std::fmt::Display for Key<'_> {
    /// The key as a [`StoreError::Corrupt`] names the record.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Partner(id) | Key::Employee(id) | Key::Client(id) | Key::Aux(_, id) => {
                f.write_str(id)
            }
            Key::Membership(client, email) => write!(f, "{client}/{email}"),
        }
    }
}

/// A record to write; its key is in it.
#[derive(Clone, Copy)]
pub(super) enum Record<'a> {
    Partner(&'a PartnerRow),
    Employee(&'a Email, &'a EmployeeRow),
    Client(&'a ClientRow),
    Membership(&'a ClientId, &'a ClientUserRecord),
    Asset(&'a ClientId, &'a AssetRecord),
    Aux(Aux, &'a str, &'a [u8]),
}

/// The records that hang off one account, in key order: each as (the last part of its key,
/// its value).
#[derive(Debug, Clone, Copy)]
pub(super) enum Group<'a> {
    /// A partner's employees: (e-mail, [`EmployeeRow`]).
    Employees(&'a str),
    /// A client's users: (e-mail, [`ClientUserRecord`]).
    Users(&'a str),
    /// A client's assets: (asset id, [`AssetRecord`]).
    Assets(&'a str),
}

/// Records read in key order: each as (the last part of its key, its value).
#[derive(Debug, Clone, Copy)]
pub(super) enum Range<'a> {
    /// An account's records.
    Of(Group<'a>),
    /// The clients an e-mail is a user of: (client id, no value).
    ClientsOf(&'a str),
    /// A side table's records with keys after the given one.
    AuxAfter(Aux, &'a str),
}

/// Ids in key order, each once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ids {
    Partners,
    Clients,
    /// The e-mails of the employees table.
    Employees,
    /// The e-mails of the memberships table.
    Users,
}

/// A client account's record as stored: its row, users, assets and relationship.
pub(super) struct ClientParts {
    pub(super) row: Vec<u8>,
    pub(super) users: Vec<Vec<u8>>,
    pub(super) assets: Vec<Vec<u8>>,
    pub(super) relationship: Option<Vec<u8>>,
}

/// A person as stored: the employment row, if any. `None` from [`Tables::person`]: neither an
/// employee nor a user of any client.
pub(super) struct Person {
    pub(super) employment: Option<Vec<u8>>,
}

/// Reads of one transaction (a read view or a write), all at one revision.
pub(super) trait Tables {
    /// The revision the transaction reads: the latest committed when it began (or, once a write
    /// holds its place in the commit order, the latest committed before it).
    fn revision(&self) -> u64;

    /// One record.
    fn get(&self, key: Key<'_>) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` records of `range`, in key order.
    fn range(&self, range: Range<'_>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError>;

    /// The first `limit` distinct ids of `ids` that start with `prefix`, in order. A backend
    /// reads from its key order, so this costs what it returns.
    fn ids(&self, ids: Ids, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Up to `limit` records of a log with sequence numbers above `after`, oldest first.
    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError>;

    /// A person: the employment row, and (when there is none) whether any client has the
    /// e-mail as a user.
    fn person(&self, email: &str) -> Result<Option<Person>, StoreError> {
        let employment = self.get(Key::Employee(email))?;
        if employment.is_none() && self.range(Range::ClientsOf(email), 1)?.is_empty() {
            return Ok(None);
        }
        Ok(Some(Person { employment }))
    }

    /// A client account's stored parts; `None` when it has no row.
    fn client_parts(&self, id: &str) -> Result<Option<ClientParts>, StoreError> {
        let Some(row) = self.get(Key::Client(id))? else {
            return Ok(None);
        };
        let values = |range| -> Result<Vec<Vec<u8>>, StoreError> {
            Ok(self
                .range(range, usize::MAX)?
                .into_iter()
                .map(|(_, value)| value)
                .collect())
        };
        Ok(Some(ClientParts {
            row,
            users: values(Range::Of(Group::Users(id)))?,
            assets: values(Range::Of(Group::Assets(id)))?,
            relationship: self.get(Key::Aux(Aux::Relationships, id))?,
        }))
    }
}

/// Writes of one write transaction. Nothing is visible to others before the commit; a
/// transaction dropped without one writes nothing.
pub(super) trait TablesMut: Tables {
    /// Creates or replaces a record.
    fn put(&mut self, record: Record<'_>) -> Result<(), StoreError>;

    /// Removes a record; `false` when there was none.
    fn delete(&mut self, key: Key<'_>) -> Result<bool, StoreError>;

    /// Removes every record of `group`; returns the last parts of their keys.
    fn delete_range(&mut self, group: Group<'_>) -> Result<Vec<String>, StoreError>;

    /// Removes every partner, employee, client, membership, asset and relationship (an import
    /// that replaces the state). The other side tables and the logs stay.
    fn clear(&mut self) -> Result<(), StoreError>;

    /// Appends a record to a log (see [`super::WriteTx::append_log`]).
    fn append(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError>;

    /// See [`super::WriteTx::commit_revision`].
    fn commit_revision(&mut self) -> Result<u64, StoreError> {
        Ok(self.revision() + 1)
    }

    /// See [`super::WriteTx::exclusive`].
    fn exclusive(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Commits durably, as the next revision, and returns it. `changes` is what the transaction
    /// changed and has not reported yet (keys sorted, each once), for a backend that publishes
    /// a change feed.
    fn commit(self, changes: &Committed) -> Result<u64, StoreError>
    where
        Self: Sized;

    /// A commit whose outcome was unknown may have landed before this transaction began,
    /// unseen by this process's cache: every change of it reports that everything may have
    /// changed.
    fn unseen_commits(&self) -> bool {
        false
    }
}
