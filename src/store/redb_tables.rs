//! The redb file's tables, and the backend interface ([`Tables`], [`TablesMut`]) over them.
//!
//! The layout is the check path's: every lookup a decision makes is one point read
//! (`partners`, `clients`, `employees`, `memberships` by `(client, e-mail)`), and the lists
//! that admin reads and commands need are key ranges over tuple keys (`memberships` by client,
//! `user_clients` by e-mail, `partner_employees` by partner). The two index tables are kept
//! here, beside the rows they index. Records are stored as the JSON of [`super::rows`].
//!
//! Errors of the storage engine keep their kind where the store acts on it (damage, a disk
//! failure: see [`super::guard::Health`]) and are otherwise kept whole as the source of a
//! [`StoreError::Backend`].

use std::ops::Bound;

use redb::{ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};

use super::rows::{EmployeeRow, decode, encode};
use super::tables::{Group, Ids, Key, Range, Record, Tables, TablesMut};
use super::{Aux, Committed, Log, StoreError};

/// `"revision"` → the store's revision; `"format"` → the layout version of this file.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// partner id → [`super::rows::PartnerRow`].
pub(super) const PARTNERS: TableDefinition<&str, &[u8]> = TableDefinition::new("partners");
/// e-mail → [`EmployeeRow`]: the partner that employs it. An e-mail has one employer.
pub(super) const EMPLOYEES: TableDefinition<&str, &[u8]> = TableDefinition::new("employees");
/// (partner id, e-mail) → (): a partner's employees, in order.
pub(super) const PARTNER_EMPLOYEES: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("partner_employees");
/// client id → [`super::rows::ClientRow`].
pub(super) const CLIENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("clients");
/// (client id, e-mail) → the user's settings in one client.
pub(super) const MEMBERSHIPS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("memberships");
/// (e-mail, client id) → (): the clients a user is in (the reverse of `memberships`).
pub(super) const USER_CLIENTS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("user_clients");
/// (client id, asset id) → the asset.
pub(super) const ASSETS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("assets");

/// Side tables: access links, employee links, idempotency keys, relationships.
const ACCESS_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_links");
const EMPLOYEE_LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("employee_links");
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
const RELATIONSHIPS: TableDefinition<&str, &[u8]> = TableDefinition::new("relationships");
/// Stored policy sets, and which one is active.
const POLICY_SETS: TableDefinition<&str, &[u8]> = TableDefinition::new("policy_sets");
const POLICY_ACTIVATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("policy_activations");
/// Logs: sequence number → record.
const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");

/// Every side table and log, for creating and copying the file's tables.
pub(super) const AUX_TABLES: [Aux; 6] = [
    Aux::AccessLinks,
    Aux::EmployeeLinks,
    Aux::Idempotency,
    Aux::Relationships,
    Aux::PolicySets,
    Aux::PolicyActivations,
];
pub(super) const LOGS: [Log; 2] = [Log::Audit, Log::Events];

pub(super) fn aux_table(table: Aux) -> TableDefinition<'static, &'static str, &'static [u8]> {
    match table {
        Aux::AccessLinks => ACCESS_LINKS,
        Aux::EmployeeLinks => EMPLOYEE_LINKS,
        Aux::Idempotency => IDEMPOTENCY,
        Aux::Relationships => RELATIONSHIPS,
        Aux::PolicySets => POLICY_SETS,
        Aux::PolicyActivations => POLICY_ACTIVATIONS,
    }
}

pub(super) fn log_table(log: Log) -> TableDefinition<'static, u64, &'static [u8]> {
    match log {
        Log::Audit => AUDIT,
        Log::Events => EVENTS,
    }
}

/// A storage engine error as the store reports it: damage and disk failures keep their kind
/// (so that [`super::guard::Health`] can act on them), the rest are kept whole as the source of
/// a failed read or write.
fn engine_err(e: impl Into<redb::Error>, write: bool) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(detail) => StoreError::Damaged {
            file: String::new(),
            detail,
        },
        redb::Error::Io(io) => StoreError::Disk {
            detail: io.to_string(),
        },
        redb::Error::PreviousIo => StoreError::Disk {
            detail: "an earlier write failed at the disk; the store reopens its file before the \
                     next write"
                .into(),
        },
        other if write => StoreError::write(other),
        other => StoreError::read(other),
    }
}

pub(super) fn read_err(e: impl Into<redb::Error>) -> StoreError {
    engine_err(e, false)
}

pub(super) fn write_err(e: impl Into<redb::Error>) -> StoreError {
    engine_err(e, true)
}

/// The first `limit` distinct ids (`id_of` a key) of `keys` that start with `prefix`. The keys
/// are in order, so the first id without the prefix ends the scan; an id may repeat (a user in
/// several clients) and counts once.
fn take_prefixed<G>(
    keys: impl Iterator<Item = Result<G, redb::StorageError>>,
    id_of: impl Fn(&G) -> &str,
    prefix: &str,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let mut found: Vec<String> = Vec::new();
    for key in keys {
        let key = key.map_err(read_err)?;
        let id = id_of(&key);
        if !id.starts_with(prefix) || found.len() >= limit {
            break;
        }
        if found.last().is_none_or(|last| last != id) {
            found.push(id.to_owned());
        }
    }
    Ok(found)
}

/// A stored value, copied out of the engine's page.
fn bytes(guard: Option<redb::AccessGuard<'_, &'static [u8]>>) -> Option<Vec<u8>> {
    guard.map(|g| g.value().to_vec())
}

/// The (last key part, `$value` of the value) pairs of the tuple-keyed `$table` whose first
/// part is `$first`, at most `$limit`.
macro_rules! group {
    ($self:ident, $open:ident, $table:expr, $first:expr, $limit:expr, $value:expr) => {{
        let table = $self.$open($table)?;
        let mut out = Vec::new();
        for entry in table.range(($first, "")..).map_err(read_err)? {
            let (key, value) = entry.map_err(read_err)?;
            let (first, last) = key.value();
            if first != $first || out.len() >= $limit {
                break;
            }
            out.push((last.to_owned(), ($value)(value.value())));
        }
        out
    }};
}

/// The reads, over any readable tables (a read transaction's or a write transaction's).
macro_rules! impl_tables {
    ($ty:ty, $open:ident) => {
        impl Tables for $ty {
            fn revision(&self) -> u64 {
                self.revision
            }

            fn get(&self, key: Key<'_>) -> Result<Option<Vec<u8>>, StoreError> {
                Ok(match key {
                    Key::Partner(id) => bytes(self.$open(PARTNERS)?.get(id).map_err(read_err)?),
                    Key::Employee(email) => {
                        bytes(self.$open(EMPLOYEES)?.get(email).map_err(read_err)?)
                    }
                    Key::Client(id) => bytes(self.$open(CLIENTS)?.get(id).map_err(read_err)?),
                    Key::Membership(client, email) => bytes(
                        self.$open(MEMBERSHIPS)?
                            .get((client, email))
                            .map_err(read_err)?,
                    ),
                    Key::Aux(table, key) => {
                        bytes(self.$open(aux_table(table))?.get(key).map_err(read_err)?)
                    }
                })
            }

            fn range(
                &self,
                range: Range<'_>,
                limit: usize,
            ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
                Ok(match range {
                    Range::Of(Group::Employees(partner)) => {
                        let emails: Vec<(String, ())> =
                            group!(self, $open, PARTNER_EMPLOYEES, partner, limit, |()| ());
                        let rows = self.$open(EMPLOYEES)?;
                        let mut out = Vec::with_capacity(emails.len());
                        for (email, _) in emails {
                            if let Some(guard) = rows.get(email.as_str()).map_err(read_err)? {
                                let row = guard.value().to_vec();
                                out.push((email, row));
                            }
                        }
                        out
                    }
                    Range::Of(Group::Users(client)) => {
                        group!(self, $open, MEMBERSHIPS, client, limit, <[u8]>::to_vec)
                    }
                    Range::Of(Group::Assets(client)) => {
                        group!(self, $open, ASSETS, client, limit, <[u8]>::to_vec)
                    }
                    Range::ClientsOf(email) => {
                        group!(self, $open, USER_CLIENTS, email, limit, |()| Vec::new())
                    }
                    Range::AuxAfter(table, after) => {
                        let table = self.$open(aux_table(table))?;
                        let range = table
                            .range::<&str>((Bound::Excluded(after), Bound::Unbounded))
                            .map_err(read_err)?;
                        let mut out = Vec::new();
                        for entry in range.take(limit) {
                            let (key, value) = entry.map_err(read_err)?;
                            out.push((key.value().to_owned(), value.value().to_vec()));
                        }
                        out
                    }
                })
            }

            fn ids(&self, ids: Ids, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
                let by_id = match ids {
                    Ids::Partners => PARTNERS,
                    Ids::Clients => CLIENTS,
                    Ids::Employees => EMPLOYEES,
                    Ids::Users => {
                        let table = self.$open(USER_CLIENTS)?;
                        let keys = table.range((prefix, "")..).map_err(read_err)?;
                        return take_prefixed(
                            keys.map(|e| e.map(|(k, _)| k)),
                            |k| k.value().0,
                            prefix,
                            limit,
                        );
                    }
                };
                let table = self.$open(by_id)?;
                let keys = table.range(prefix..).map_err(read_err)?;
                take_prefixed(
                    keys.map(|e| e.map(|(k, _)| k)),
                    |k| k.value(),
                    prefix,
                    limit,
                )
            }

            fn log_range(
                &self,
                log: Log,
                after: u64,
                limit: usize,
            ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
                let table = self.$open(log_table(log))?;
                let mut out = Vec::new();
                for entry in table.range(after.saturating_add(1)..).map_err(read_err)? {
                    if out.len() >= limit {
                        break;
                    }
                    let (key, value) = entry.map_err(read_err)?;
                    out.push((key.value(), value.value().to_vec()));
                }
                Ok(out)
            }
        }
    };
}

/// A read transaction and the revision it sees.
pub(super) struct RedbRead {
    pub(super) tx: ReadTransaction,
    pub(super) revision: u64,
}

impl RedbRead {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<redb::ReadOnlyTable<K, V>, StoreError> {
        self.tx.open_table(def).map_err(read_err)
    }
}

impl_tables!(RedbRead, table);

/// A write transaction and the revision it started from.
pub(super) struct RedbWrite {
    pub(super) tx: WriteTransaction,
    pub(super) revision: u64,
    /// The first transaction after a reopen (see [`TablesMut::unseen_commits`]).
    pub(super) after_reopen: bool,
}

impl RedbWrite {
    fn table<'t, K: redb::Key + 'static, V: redb::Value + 'static>(
        &'t self,
        def: TableDefinition<K, V>,
    ) -> Result<redb::Table<'t, K, V>, StoreError> {
        self.tx.open_table(def).map_err(write_err)
    }

    /// Empties a table.
    fn clear_table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &self,
        def: TableDefinition<K, V>,
    ) -> Result<(), StoreError> {
        self.table(def)?.retain(|_, _| false).map_err(write_err)
    }
}

impl_tables!(RedbWrite, table);

impl TablesMut for RedbWrite {
    fn put(&mut self, record: Record<'_>) -> Result<(), StoreError> {
        match record {
            Record::Partner(row) => {
                self.table(PARTNERS)?
                    .insert(row.id.as_str(), encode(row)?.as_slice())
                    .map_err(write_err)?;
            }
            Record::Employee(email, row) => {
                self.table(EMPLOYEES)?
                    .insert(email.as_str(), encode(row)?.as_slice())
                    .map_err(write_err)?;
                self.table(PARTNER_EMPLOYEES)?
                    .insert((row.partner.as_str(), email.as_str()), ())
                    .map_err(write_err)?;
            }
            Record::Client(row) => {
                self.table(CLIENTS)?
                    .insert(row.id.as_str(), encode(row)?.as_slice())
                    .map_err(write_err)?;
            }
            Record::Membership(client, user) => {
                self.table(MEMBERSHIPS)?
                    .insert(
                        (client.as_str(), user.email.as_str()),
                        encode(user)?.as_slice(),
                    )
                    .map_err(write_err)?;
                self.table(USER_CLIENTS)?
                    .insert((user.email.as_str(), client.as_str()), ())
                    .map_err(write_err)?;
            }
            Record::Asset(client, asset) => {
                self.table(ASSETS)?
                    .insert(
                        (client.as_str(), asset.id.as_str()),
                        encode(asset)?.as_slice(),
                    )
                    .map_err(write_err)?;
            }
            Record::Aux(table, key, value) => {
                self.table(aux_table(table))?
                    .insert(key, value)
                    .map_err(write_err)?;
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: Key<'_>) -> Result<bool, StoreError> {
        Ok(match key {
            Key::Partner(id) => self
                .table(PARTNERS)?
                .remove(id)
                .map_err(write_err)?
                .is_some(),
            Key::Employee(email) => {
                let removed = self
                    .table(EMPLOYEES)?
                    .remove(email)
                    .map_err(write_err)?
                    .map(|g| g.value().to_vec());
                if let Some(bytes) = &removed {
                    let row: EmployeeRow = decode(email, bytes)?;
                    self.table(PARTNER_EMPLOYEES)?
                        .remove((row.partner.as_str(), email))
                        .map_err(write_err)?;
                }
                removed.is_some()
            }
            Key::Client(id) => self
                .table(CLIENTS)?
                .remove(id)
                .map_err(write_err)?
                .is_some(),
            Key::Membership(client, email) => {
                let removed = self
                    .table(MEMBERSHIPS)?
                    .remove((client, email))
                    .map_err(write_err)?
                    .is_some();
                self.table(USER_CLIENTS)?
                    .remove((email, client))
                    .map_err(write_err)?;
                removed
            }
            Key::Aux(table, key) => self
                .table(aux_table(table))?
                .remove(key)
                .map_err(write_err)?
                .is_some(),
        })
    }

    fn delete_range(&mut self, group: Group<'_>) -> Result<Vec<String>, StoreError> {
        let keys: Vec<String> = match group {
            Group::Employees(partner) => {
                group!(self, table, PARTNER_EMPLOYEES, partner, usize::MAX, |()| ())
                    .into_iter()
                    .map(|(email, ())| email)
                    .collect()
            }
            Group::Users(client) => group!(self, table, MEMBERSHIPS, client, usize::MAX, |_| ())
                .into_iter()
                .map(|(email, ())| email)
                .collect(),
            Group::Assets(client) => group!(self, table, ASSETS, client, usize::MAX, |_| ())
                .into_iter()
                .map(|(id, ())| id)
                .collect(),
        };
        for key in &keys {
            let key = key.as_str();
            match group {
                Group::Employees(partner) => {
                    self.table(PARTNER_EMPLOYEES)?
                        .remove((partner, key))
                        .map_err(write_err)?;
                    self.table(EMPLOYEES)?.remove(key).map_err(write_err)?;
                }
                Group::Users(client) => {
                    self.delete(Key::Membership(client, key))?;
                }
                Group::Assets(client) => {
                    self.table(ASSETS)?
                        .remove((client, key))
                        .map_err(write_err)?;
                }
            }
        }
        Ok(keys)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        self.clear_table(PARTNERS)?;
        self.clear_table(EMPLOYEES)?;
        self.clear_table(PARTNER_EMPLOYEES)?;
        self.clear_table(CLIENTS)?;
        self.clear_table(MEMBERSHIPS)?;
        self.clear_table(USER_CLIENTS)?;
        self.clear_table(ASSETS)?;
        self.clear_table(RELATIONSHIPS)
    }

    fn append(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError> {
        let mut table = self.table(log_table(log))?;
        let next = table
            .last()
            .map_err(read_err)?
            .map_or(1, |(k, _)| k.value() + 1);
        table.insert(next, value).map_err(write_err)?;
        Ok(())
    }

    /// The revision goes into `meta`; the changes are the cache's business alone (this store
    /// has no change feed: only this process writes it).
    fn commit(self, _changes: &Committed) -> Result<u64, StoreError> {
        let revision = self.revision + 1;
        {
            let mut meta = self.table(META)?;
            meta.insert("revision", revision).map_err(write_err)?;
        }
        self.tx.commit().map_err(write_err)?;
        Ok(revision)
    }

    fn unseen_commits(&self) -> bool {
        self.after_reopen
    }
}
