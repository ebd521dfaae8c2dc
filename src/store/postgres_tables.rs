//! The SQL of each table, as the backend interface ([`Tables`], [`TablesMut`]) over a
//! PostgreSQL transaction ([`PgTx`]).
//!
//! Every method is one statement, after the advisory locks of what it touches (a lock already
//! held costs none; see [`super::postgres_locks`]); [`Tables::person`] and
//! [`Tables::client_parts`] are answered in one statement each, where the defaults would take
//! two and four. Point lookups of partners, clients, memberships and people are remembered
//! until the transaction writes ([`PgTx::recall`]).

use super::postgres_conn::{corrupt, db_err, revision_of, to_i64};
use super::postgres_locks::{Owner, aux_name, log_name};
use super::postgres_tx::PgTx;
use super::rows::encode;
use super::tables::{ClientParts, Group, Ids, Key, Person, Range, Record, Tables, TablesMut};
use super::{Aux, Committed, Log, StoreError};

impl PgTx<'_> {
    /// A side table's records after `after`. In a write (a sweep), the sweep first takes its
    /// place in the commit order: every other writer of these records writes them under that
    /// order too, so none writes them until this one commits, and the rows read are current.
    /// (They come locked besides.) The sweep then removes or rewrites exactly what it read,
    /// without the records' own locks, which a command that has not taken its order yet may
    /// hold.
    fn aux_after(
        &self,
        table: Aux,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if self.is_write() {
            self.order()?;
        }
        let sql = if self.is_write() {
            "SELECT key, value FROM aux WHERE tbl = $1 AND key > $2 ORDER BY key LIMIT $3 \
             FOR UPDATE SKIP LOCKED"
        } else {
            "SELECT key, value FROM aux WHERE tbl = $1 AND key > $2 ORDER BY key LIMIT $3"
        };
        let records: Vec<(String, Vec<u8>)> = self
            .query(sql, &[&aux_name(table), &after.as_bytes(), &limit])?
            .iter()
            .map(|row| {
                let key: Vec<u8> = row.try_get(0).map_err(db_err)?;
                let value: Vec<u8> = row.try_get(1).map_err(db_err)?;
                String::from_utf8(key)
                    .map(|key| (key, value))
                    .map_err(|e| corrupt("aux key", e))
            })
            .collect::<Result<_, _>>()?;
        if self.is_write() {
            self.hold_rows(table, records.iter().map(|(key, _)| key.as_str()));
        }
        Ok(records)
    }
}

/// A `LIMIT` parameter.
fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl Tables for PgTx<'_> {
    fn revision(&self) -> u64 {
        PgTx::revision(self)
    }

    fn get(&self, key: Key<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(known) = self.recall(key) {
            return Ok(known);
        }
        let found = match key {
            Key::Partner(id) => {
                self.lock(Owner::Partner(id))?;
                self.one("SELECT row FROM partners WHERE id = $1", &[&id])?
            }
            Key::Employee(email) => {
                self.lock(Owner::Person(email))?;
                self.one("SELECT row FROM employees WHERE email = $1", &[&email])?
            }
            Key::Client(id) => {
                self.lock(Owner::Client(id))?;
                self.one("SELECT row FROM clients WHERE id = $1", &[&id])?
            }
            Key::Membership(client, email) => {
                self.lock(Owner::Client(client))?;
                self.one(
                    "SELECT record FROM memberships WHERE client = $1 AND email = $2",
                    &[&client, &email],
                )?
            }
            Key::Aux(table, key) => {
                self.lock_aux(table, key)?;
                self.one(
                    "SELECT value FROM aux WHERE tbl = $1 AND key = $2",
                    &[&aux_name(table), &key.as_bytes()],
                )?
            }
        };
        self.remember(key, found.clone());
        Ok(found)
    }

    fn range(&self, range: Range<'_>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let n = limit_of(limit);
        match range {
            Range::Of(Group::Employees(partner)) => {
                self.lock(Owner::Partner(partner))?;
                self.pairs(
                    "SELECT email, row FROM employees WHERE partner = $1 ORDER BY email LIMIT $2",
                    &[&partner, &n],
                )
            }
            Range::Of(Group::Users(client)) => {
                self.lock(Owner::Client(client))?;
                self.pairs(
                    "SELECT email, record FROM memberships WHERE client = $1 ORDER BY email \
                     LIMIT $2",
                    &[&client, &n],
                )
            }
            Range::Of(Group::Assets(client)) => {
                self.lock(Owner::Client(client))?;
                self.pairs(
                    "SELECT id, record FROM assets WHERE client = $1 ORDER BY id LIMIT $2",
                    &[&client, &n],
                )
            }
            Range::ClientsOf(email) => {
                self.lock(Owner::Person(email))?;
                Ok(self
                    .texts(
                        "SELECT client FROM memberships WHERE email = $1 ORDER BY client LIMIT $2",
                        &[&email, &n],
                    )?
                    .into_iter()
                    .map(|client| (client, Vec::new()))
                    .collect())
            }
            Range::AuxAfter(table, after) => self.aux_after(table, after, n),
        }
    }

    fn ids(&self, ids: Ids, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        self.lock_everything()?;
        let sql = match ids {
            Ids::Partners => "SELECT id FROM partners WHERE id >= $1 ORDER BY id LIMIT $2",
            Ids::Clients => "SELECT id FROM clients WHERE id >= $1 ORDER BY id LIMIT $2",
            Ids::Employees => {
                "SELECT email FROM employees WHERE email >= $1 ORDER BY email LIMIT $2"
            }
            Ids::Users => {
                "SELECT DISTINCT email FROM memberships WHERE email >= $1 ORDER BY email LIMIT $2"
            }
        };
        Ok(self
            .texts(sql, &[&prefix, &limit_of(limit)])?
            .into_iter()
            .take_while(|id| id.starts_with(prefix))
            .collect())
    }

    fn log_range(
        &self,
        log: Log,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        self.query(
            "SELECT seq, value FROM logs WHERE log = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&log_name(log), &to_i64(after)?, &limit_of(limit)],
        )?
        .iter()
        .map(|r| {
            let seq: i64 = r.try_get(0).map_err(db_err)?;
            Ok((revision_of(seq)?, r.try_get(1).map_err(db_err)?))
        })
        .collect()
    }

    /// One statement: the employment row, and whether any membership exists.
    fn person(&self, email: &str) -> Result<Option<Person>, StoreError> {
        if let Some(known) = self.recall_person(email) {
            return Ok(known.map(|employment| Person { employment }));
        }
        self.lock(Owner::Person(email))?;
        let rows = self.query(
            "SELECT (SELECT row FROM employees WHERE email = $1), \
                    EXISTS (SELECT 1 FROM memberships WHERE email = $1)",
            &[&email],
        )?;
        let found = match rows.first() {
            None => None,
            Some(row) => {
                let employment: Option<Vec<u8>> = row.try_get(0).map_err(db_err)?;
                let member: bool = row.try_get(1).map_err(db_err)?;
                (employment.is_some() || member).then_some(employment)
            }
        };
        self.remember_person(email, found.clone());
        Ok(found.map(|employment| Person { employment }))
    }

    /// One statement: the account's row, its users, its assets and its relationship. The row
    /// is remembered for a later lookup of the account by this transaction.
    fn client_parts(&self, id: &str) -> Result<Option<ClientParts>, StoreError> {
        self.lock(Owner::Client(id))?;
        let rows = self.query(
            "SELECT (SELECT row FROM clients WHERE id = $1), \
                    ARRAY(SELECT record FROM memberships WHERE client = $1 ORDER BY email), \
                    ARRAY(SELECT record FROM assets WHERE client = $1 ORDER BY id), \
                    (SELECT value FROM aux WHERE tbl = $2 AND key = $3)",
            &[&id, &aux_name(Aux::Relationships), &id.as_bytes()],
        )?;
        let Some(found) = rows.first() else {
            return Ok(None);
        };
        let Some(row) = found.try_get::<_, Option<Vec<u8>>>(0).map_err(db_err)? else {
            return Ok(None);
        };
        self.remember(Key::Client(id), Some(row.clone()));
        Ok(Some(ClientParts {
            row,
            users: found.try_get(1).map_err(db_err)?,
            assets: found.try_get(2).map_err(db_err)?,
            relationship: found.try_get(3).map_err(db_err)?,
        }))
    }
}

impl TablesMut for PgTx<'_> {
    fn put(&mut self, record: Record<'_>) -> Result<(), StoreError> {
        match record {
            Record::Partner(row) => {
                let id = row.id.as_str();
                self.lock(Owner::Partner(id))?;
                self.execute(
                    "INSERT INTO partners (id, row) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET row = excluded.row",
                    &[&id, &encode(row)?],
                )?;
            }
            Record::Employee(email, row) => {
                let (email, partner) = (email.as_str(), row.partner.as_str());
                self.lock(Owner::Partner(partner))?;
                self.lock(Owner::Person(email))?;
                self.execute(
                    "INSERT INTO employees (email, partner, row) VALUES ($1, $2, $3) \
                     ON CONFLICT (email) DO UPDATE SET partner = excluded.partner, \
                     row = excluded.row",
                    &[&email, &partner, &encode(row)?],
                )?;
            }
            Record::Client(row) => {
                let id = row.id.as_str();
                self.lock(Owner::Client(id))?;
                self.execute(
                    "INSERT INTO clients (id, row) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET row = excluded.row",
                    &[&id, &encode(row)?],
                )?;
            }
            Record::Membership(client, user) => {
                let (client, email) = (client.as_str(), user.email.as_str());
                self.lock(Owner::Client(client))?;
                self.lock(Owner::Person(email))?;
                self.execute(
                    "INSERT INTO memberships (client, email, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (client, email) DO UPDATE SET record = excluded.record",
                    &[&client, &email, &encode(user)?],
                )?;
            }
            Record::Asset(client, asset) => {
                let client = client.as_str();
                self.lock(Owner::Client(client))?;
                self.execute(
                    "INSERT INTO assets (client, id, record) VALUES ($1, $2, $3) \
                     ON CONFLICT (client, id) DO UPDATE SET record = excluded.record",
                    &[&client, &asset.id.as_str(), &encode(asset)?],
                )?;
            }
            Record::Aux(table, key, value) => {
                self.lock_aux(table, key)?;
                self.execute(
                    "INSERT INTO aux (tbl, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                    &[&aux_name(table), &key.as_bytes(), &value],
                )?;
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: Key<'_>) -> Result<bool, StoreError> {
        let count = match key {
            Key::Partner(id) => {
                self.lock(Owner::Partner(id))?;
                self.execute("DELETE FROM partners WHERE id = $1", &[&id])?
            }
            Key::Employee(email) => {
                self.lock(Owner::Person(email))?;
                self.execute("DELETE FROM employees WHERE email = $1", &[&email])?
            }
            Key::Client(id) => {
                self.lock(Owner::Client(id))?;
                self.execute("DELETE FROM clients WHERE id = $1", &[&id])?
            }
            Key::Membership(client, email) => {
                self.lock(Owner::Client(client))?;
                self.lock(Owner::Person(email))?;
                self.execute(
                    "DELETE FROM memberships WHERE client = $1 AND email = $2",
                    &[&client, &email],
                )?
            }
            Key::Aux(table, key) => {
                self.lock_aux(table, key)?;
                self.execute(
                    "DELETE FROM aux WHERE tbl = $1 AND key = $2",
                    &[&aux_name(table), &key.as_bytes()],
                )?
            }
        };
        Ok(count > 0)
    }

    /// One statement; the people whose records it removed are locked after it, before the
    /// commit: a reader of one waits for the commit, or went before it.
    fn delete_range(&mut self, group: Group<'_>) -> Result<Vec<String>, StoreError> {
        self.forget();
        let (owner, first, sql, people) = match group {
            Group::Employees(partner) => (
                Owner::Partner(partner),
                partner,
                "DELETE FROM employees WHERE partner = $1 RETURNING email",
                true,
            ),
            Group::Users(client) => (
                Owner::Client(client),
                client,
                "DELETE FROM memberships WHERE client = $1 RETURNING email",
                true,
            ),
            Group::Assets(client) => (
                Owner::Client(client),
                client,
                "DELETE FROM assets WHERE client = $1 RETURNING id",
                false,
            ),
        };
        self.lock(owner)?;
        let keys = self.texts(sql, &[&first]).map_err(StoreError::into_write)?;
        if people {
            for email in &keys {
                self.lock(Owner::Person(email))?;
            }
        }
        Ok(keys)
    }

    fn clear(&mut self) -> Result<(), StoreError> {
        self.lock_everything()?;
        self.execute("DELETE FROM memberships", &[])?;
        self.execute("DELETE FROM assets", &[])?;
        self.execute("DELETE FROM clients", &[])?;
        self.execute("DELETE FROM employees", &[])?;
        self.execute("DELETE FROM partners", &[])?;
        self.execute(
            "DELETE FROM aux WHERE tbl = $1",
            &[&aux_name(Aux::Relationships)],
        )?;
        Ok(())
    }

    fn append(&mut self, log: Log, value: &[u8]) -> Result<(), StoreError> {
        // Written by the commit's statement, under the commit order, so the numbers are free
        // and commit in order.
        self.order()?;
        self.defer_log(log_name(log), value);
        Ok(())
    }

    fn commit_revision(&mut self) -> Result<u64, StoreError> {
        self.order()?;
        Ok(PgTx::revision(self) + 1)
    }

    fn exclusive(&mut self) -> Result<(), StoreError> {
        self.lock_everything()
    }

    /// Bumps the revision, records the change in the feed, notifies, commits.
    fn commit(self, changes: &Committed) -> Result<u64, StoreError> {
        PgTx::commit(self, changes)
    }
}
