//! The state transaction: what the store's records mean, written once over either backend.
//!
//! Owns: [`StateTx`], which turns a backend's tables ([`Tables`], [`TablesMut`]) into the
//! [`Snapshot`] and [`WriteTx`] the rest of the service uses. Here, and only here:
//!
//! - the records are composed from their rows (a partner with its employees, a client with its
//!   users, assets and relationship) and decoded;
//! - the cascades of a write: replacing a partner replaces its employees, replacing a client
//!   replaces its users and assets and relationship, an import replaces everything;
//! - the rule that an e-mail has one employer;
//! - which cached records each write makes stale ([`StateKey`]s), reported at the commit, and
//!   a change of the active policy set ([`StateKey::ActivePolicy`]), which the change feed
//!   carries to the other sidecars;
//! - how many writes a work made: every write reaches the backend through
//!   [`StateTx::tables_mut`], which counts it, so a group commit can tell a work that refused
//!   before writing from one that left changes behind ([`BatchTx::writes`]).

use std::collections::BTreeSet;

use serde::de::DeserializeOwned;

use super::group_commit::BatchTx;
use super::rows::{ClientRow, EmployeeRow, PartnerRow, decode, encode};
use super::tables::{Group, Ids, Key, Range, Record, Tables, TablesMut};
use super::{Aux, Committed, Log, SearchKind, Snapshot, StateKey, StoreError, WriteTx};
use crate::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email,
    EmployeeRecord, PartnerId, PartnerInfo, PartnerRecord, StateDocument, UserInfo,
};

/// A read view or a write transaction of the state, over a backend's tables.
pub(super) struct StateTx<T> {
    tables: T,
    /// What the writes since the last [`BatchTx::take_changes`] changed.
    changes: Committed,
    /// Writes sent to the backend so far.
    writes: u64,
}

impl<T> StateTx<T> {
    pub(super) fn new(tables: T) -> Self {
        StateTx {
            tables,
            changes: Committed::default(),
            writes: 0,
        }
    }

    /// The backend's transaction, for what only the backend knows about it.
    pub(super) fn tables(&self) -> &T {
        &self.tables
    }

    /// The backend's transaction, to write: the one way to it, so every write is counted.
    fn tables_mut(&mut self) -> &mut T {
        self.writes += 1;
        &mut self.tables
    }

    fn touch(&mut self, key: StateKey) {
        self.changes.keys.push(key);
    }

    /// A side table whose writes other sidecars must hear of: the active policy set's.
    fn touch_aux(&mut self, table: Aux) {
        if table == Aux::PolicyActivations {
            self.touch(StateKey::ActivePolicy);
        }
    }
}

/// Stored ids (or e-mails) parsed; one that does not parse is a corrupt record.
fn parsed<I, E: std::fmt::Display>(
    ids: Vec<String>,
    parse: impl Fn(&str) -> Result<I, E>,
) -> Result<Vec<I>, StoreError> {
    ids.into_iter()
        .map(|id| {
            parse(&id).map_err(|e| StoreError::Corrupt {
                message: e.to_string(),
                key: id,
            })
        })
        .collect()
}

impl<T: Tables> StateTx<T> {
    fn decoded<V: DeserializeOwned>(&self, key: Key<'_>) -> Result<Option<V>, StoreError> {
        match self.tables.get(key)? {
            Some(bytes) => decode(&key.to_string(), &bytes).map(Some),
            None => Ok(None),
        }
    }
}

impl<T: TablesMut> StateTx<T> {
    /// Ends the write: commits what it changed as the next revision.
    pub(super) fn commit(mut self) -> Result<Committed, StoreError> {
        let mut changes = self.taken_changes();
        changes.keys.sort();
        changes.keys.dedup();
        changes.revision = self.tables.commit(&changes)?;
        Ok(changes)
    }

    /// What was changed since the last call, leaving nothing.
    fn taken_changes(&mut self) -> Committed {
        let mut changes = std::mem::take(&mut self.changes);
        changes.everything |= self.tables.unseen_commits();
        changes
    }

    /// Removes a client with its users, assets and relationship.
    fn remove_client(&mut self, id: &ClientId) -> Result<(), StoreError> {
        let emails = self.tables_mut().delete_range(Group::Users(id.as_str()))?;
        for email in emails {
            if let Ok(email) = Email::parse(&email) {
                self.touch(StateKey::Membership(id.clone(), email.clone()));
                self.touch(StateKey::User(email));
            }
        }
        self.tables_mut().delete_range(Group::Assets(id.as_str()))?;
        self.tables_mut().delete(Key::Client(id.as_str()))?;
        self.remove_aux(Aux::Relationships, id.as_str())?;
        self.touch(StateKey::Client(id.clone()));
        Ok(())
    }
}

impl<T: Tables> Directory for StateTx<T> {
    type Error = StoreError;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, StoreError> {
        let row: Option<PartnerRow> = self.decoded(Key::Partner(id.as_str()))?;
        Ok(row.map(PartnerRow::info))
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, StoreError> {
        let row: Option<ClientRow> = self.decoded(Key::Client(id.as_str()))?;
        Ok(row.map(ClientRow::info))
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, StoreError> {
        let Some(person) = self.tables.person(email.as_str())? else {
            return Ok(None);
        };
        let employment = match person.employment {
            Some(bytes) => Some(decode::<EmployeeRow>(email.as_str(), &bytes)?.employment()),
            None => None,
        };
        Ok(Some(UserInfo {
            email: email.clone(),
            employment,
        }))
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, StoreError> {
        self.decoded(Key::Membership(client.as_str(), email.as_str()))
    }
}

impl<T: Tables> Snapshot for StateTx<T> {
    fn revision(&self) -> u64 {
        self.tables.revision()
    }

    fn partner_record(&self, id: &PartnerId) -> Result<Option<PartnerRecord>, StoreError> {
        let Some(row) = self.decoded::<PartnerRow>(Key::Partner(id.as_str()))? else {
            return Ok(None);
        };
        let mut employees = Vec::new();
        for (email, bytes) in self
            .tables
            .range(Range::Of(Group::Employees(id.as_str())), usize::MAX)?
        {
            let employee: EmployeeRow = decode(&email, &bytes)?;
            let parsed = Email::parse(&email).map_err(|e| StoreError::Corrupt {
                key: email.clone(),
                message: e.to_string(),
            })?;
            employees.push(employee.record(parsed));
        }
        Ok(Some(row.record(employees)))
    }

    fn client_record(&self, id: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
        let Some(parts) = self.tables.client_parts(id.as_str())? else {
            return Ok(None);
        };
        let key = id.as_str();
        let row: ClientRow = decode(key, &parts.row)?;
        let users = parts
            .users
            .iter()
            .map(|bytes| decode(key, bytes))
            .collect::<Result<Vec<ClientUserRecord>, _>>()?;
        let assets = parts
            .assets
            .iter()
            .map(|bytes| decode(key, bytes))
            .collect::<Result<Vec<AssetRecord>, _>>()?;
        let relationship = parts
            .relationship
            .map(|bytes| decode(key, &bytes))
            .transpose()?;
        Ok(Some(row.record(users, assets, relationship)))
    }

    fn clients_of_user(&self, email: &Email) -> Result<Vec<ClientId>, StoreError> {
        let ids = self
            .tables
            .range(Range::ClientsOf(email.as_str()), usize::MAX)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        parsed(ids, |id| ClientId::parse(id))
    }

    fn partner_ids(&self) -> Result<Vec<PartnerId>, StoreError> {
        parsed(self.tables.ids(Ids::Partners, "", usize::MAX)?, |id| {
            PartnerId::parse(id)
        })
    }

    fn client_ids(&self) -> Result<Vec<ClientId>, StoreError> {
        parsed(self.tables.ids(Ids::Clients, "", usize::MAX)?, |id| {
            ClientId::parse(id)
        })
    }

    fn aux(&self, table: Aux, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.tables.get(Key::Aux(table, key))
    }

    fn aux_after(
        &self,
        table: Aux,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.tables.range(Range::AuxAfter(table, after), limit)
    }

    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.tables.log_range(log, after, limit)
    }

    /// From the backends' key order: people are employees and client users merged (each
    /// source gives its first `limit`, and the union's first `limit` are the answer).
    fn search(
        &self,
        kind: SearchKind,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let sources: &[Ids] = match kind {
            SearchKind::Account => &[Ids::Clients],
            SearchKind::Partner => &[Ids::Partners],
            SearchKind::User => &[Ids::Employees, Ids::Users],
        };
        let mut found = BTreeSet::new();
        for ids in sources {
            found.extend(self.tables.ids(*ids, prefix, limit)?);
        }
        Ok(found.into_iter().take(limit).collect())
    }
}

impl<T: TablesMut> WriteTx for StateTx<T> {
    fn replace_all(&mut self, doc: &StateDocument) -> Result<(), StoreError> {
        self.tables_mut().clear()?;
        for partner in &doc.partners {
            self.put_partner(partner)?;
        }
        for client in &doc.clients {
            self.put_client(client)?;
        }
        self.changes.everything = true;
        Ok(())
    }

    fn put_partner(&mut self, partner: &PartnerRecord) -> Result<(), StoreError> {
        self.tables_mut()
            .put(Record::Partner(&PartnerRow::of(partner)))?;
        let former = self
            .tables_mut()
            .delete_range(Group::Employees(partner.id.as_str()))?;
        for email in former {
            if let Ok(email) = Email::parse(&email) {
                self.touch(StateKey::User(email));
            }
        }
        for employee in &partner.employees {
            self.put_employee(&partner.id, employee)?;
        }
        self.touch(StateKey::Partner(partner.id.clone()));
        Ok(())
    }

    fn put_employee(
        &mut self,
        partner: &PartnerId,
        employee: &EmployeeRecord,
    ) -> Result<(), StoreError> {
        let current: Option<EmployeeRow> = self.decoded(Key::Employee(employee.email.as_str()))?;
        if let Some(current) = current.filter(|c| &c.partner != partner) {
            return Err(StoreError::Rejected(format!(
                "`{}` is already an employee of partner `{}`; an e-mail belongs to one partner",
                employee.email, current.partner
            )));
        }
        let row = EmployeeRow::of(partner, employee);
        self.tables_mut()
            .put(Record::Employee(&employee.email, &row))?;
        self.touch(StateKey::User(employee.email.clone()));
        Ok(())
    }

    fn put_client(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        if self.client(&client.id)?.is_some() {
            self.remove_client(&client.id)?;
        }
        self.put_client_row(client)?;
        for user in &client.users {
            self.put_user(&client.id, user)?;
        }
        for asset in &client.assets {
            self.put_asset(&client.id, asset)?;
        }
        match &client.relationship {
            Some(r) => self.put_aux(Aux::Relationships, client.id.as_str(), &encode(r)?)?,
            None => self.remove_aux(Aux::Relationships, client.id.as_str())?,
        }
        self.touch(StateKey::Client(client.id.clone()));
        Ok(())
    }

    fn put_client_row(&mut self, client: &ClientRecord) -> Result<(), StoreError> {
        self.tables_mut()
            .put(Record::Client(&ClientRow::of(client)))?;
        self.touch(StateKey::Client(client.id.clone()));
        Ok(())
    }

    fn put_user(&mut self, client: &ClientId, user: &ClientUserRecord) -> Result<(), StoreError> {
        self.tables_mut().put(Record::Membership(client, user))?;
        self.touch(StateKey::Membership(client.clone(), user.email.clone()));
        self.touch(StateKey::User(user.email.clone()));
        Ok(())
    }

    fn remove_user(&mut self, client: &ClientId, email: &Email) -> Result<bool, StoreError> {
        let removed = self
            .tables_mut()
            .delete(Key::Membership(client.as_str(), email.as_str()))?;
        self.touch(StateKey::Membership(client.clone(), email.clone()));
        self.touch(StateKey::User(email.clone()));
        Ok(removed)
    }

    fn put_asset(&mut self, client: &ClientId, asset: &AssetRecord) -> Result<(), StoreError> {
        self.tables_mut().put(Record::Asset(client, asset))
    }

    fn put_aux(&mut self, table: Aux, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.tables_mut().put(Record::Aux(table, key, value))?;
        self.touch_aux(table);
        Ok(())
    }

    fn remove_aux(&mut self, table: Aux, key: &str) -> Result<(), StoreError> {
        self.tables_mut().delete(Key::Aux(table, key))?;
        self.touch_aux(table);
        Ok(())
    }

    fn append_log(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError> {
        self.tables_mut().append(log, value)
    }

    fn commit_revision(&mut self) -> Result<u64, StoreError> {
        self.tables.commit_revision()
    }

    fn exclusive(&mut self) -> Result<(), StoreError> {
        self.tables.exclusive()
    }
}

impl<T: TablesMut + Send> BatchTx for StateTx<T> {
    fn writes(&self) -> u64 {
        self.writes
    }

    fn take_changes(&mut self) -> Committed {
        self.taken_changes()
    }

    /// One revision per transaction: every work of a batch answers the same revision.
    fn commit(self) -> Result<u64, StoreError> {
        StateTx::commit(self).map(|committed| committed.revision)
    }
}
