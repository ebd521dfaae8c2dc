//! What a command's changes to a client account do on their way into the transaction: partner
//! activity (REL-3), the relationship's ending when partner users leave (REL-2, REM-4),
//! verified employees linked to their partner (LINK-3), and the write-back of only what
//! changed ([`Ctx::save_client`]). The same linking serves the writes that are not commands
//! ([`link_verified_users`]).
//!
//! It owns those steps of [`Ctx`]; the account's own rules stay in `domain::client_account`,
//! and it may not ask the policies anything but `employee.link_verified`.

use std::collections::BTreeSet;

use serde_json::{Map, json};

use super::ctx::{CmdError, CmdResult, Ctx};
use super::vocab::EventKind;
use crate::domain::{ClientId, ClientRecord, ClientUserRecord, Email, Role, Timestamp};
use crate::policy::{EntityKind, EntityRef, PolicyEngine};
use crate::store::{Aux, Log, StoreError, WriteTx};

impl Ctx<'_> {
    // ---- the managed relationship --------------------------------------------------------

    /// REL-3: a command by one of the partner's employees in the account is partner activity
    /// (recorded in the latest relationship when it is that partner's and has not ended).
    pub fn record_activity(&mut self, client: &mut ClientRecord) -> CmdResult<()> {
        if let Some(employment) = self.tx.user(&self.actor)?.and_then(|u| u.employment) {
            client.partner_activity(&employment.partner, self.now);
        }
        Ok(())
    }

    /// REL-2, REM-4: after partner users left, the relationship may be `ending` from now (see
    /// [`ClientRecord::partner_users_removed`]); emits `relationship.ending` when it begins.
    pub fn partner_users_removed(&mut self, client: &mut ClientRecord) {
        if let Some(ending) = client.partner_users_removed(self.now) {
            self.emit(
                EventKind::RelationshipEnding,
                Some(&client.id),
                json!({"client": client.id, "partner": ending.partner, "ends_at": ending.ends_at}),
            );
        }
    }

    /// LINK-3: the users of `client` (those in `only`, or all) who are verified employees of a
    /// partner become partner users of that partner, without a manual link, unless another
    /// partner manages the client (LINK-2). Whether a user is a verified employee is the
    /// policies' answer (`employee.link_verified`, the user as principal). A link starts or
    /// resumes the relationship (REL-1) and is announced (`user.linked`). Returns who was
    /// linked.
    pub fn link_verified(
        &mut self,
        client: &mut ClientRecord,
        only: Option<&BTreeSet<Email>>,
    ) -> CmdResult<Vec<Email>> {
        // A client's super admin stays the client's own until it changes itself to partner admin
        // (MIG-1): the CAM never manages super admins (CAP-2), so linking one would only block
        // the partner's removals and recoveries (REM-6, REM-7, REM-8).
        let candidates: Vec<Email> = client
            .users
            .iter()
            .filter(|u| {
                u.partner.is_none()
                    && u.role != Role::SuperAdmin
                    && only.is_none_or(|o| o.contains(&u.email))
            })
            .map(|u| u.email.clone())
            .collect();
        let account = EntityRef::new(EntityKind::Account, client.id.as_str());
        let mut linked = Vec::new();
        for email in candidates {
            let Some(employment) = self.tx.user(&email)?.and_then(|u| u.employment) else {
                continue;
            };
            let verified = self
                .decide(
                    "employee.link_verified",
                    &email,
                    account.clone(),
                    Map::new(),
                )?
                .allowed;
            if !verified
                || client
                    .managed_by_no_other(&employment.partner, self.now)
                    .is_err()
            {
                continue;
            }
            if let Some(user) = client.users.iter_mut().find(|u| u.email == email) {
                user.partner = Some(employment.partner.clone());
            }
            client.partner_user_added(&employment.partner, self.now);
            self.emit(
                EventKind::UserLinked,
                Some(&client.id),
                json!({"client": client.id, "email": email, "partner": employment.partner,
                       "rule": "LINK-3"}),
            );
            linked.push(email);
        }
        Ok(linked)
    }

    /// Writes the client back: only its parts that differ from what [`Ctx::client_record`]
    /// read (the row, each changed or removed user, the relationship), so a command touching
    /// one user rewrites one user and invalidates one cached membership. A client not read
    /// through this context is written whole.
    ///
    /// Every command saves through here, so every user a command creates or changes is
    /// linked to its partner first when it is a verified employee (LINK-3).
    /// Returns the client as saved.
    pub fn save_client(&mut self, client: &ClientRecord) -> CmdResult<ClientRecord> {
        let mut client = client.clone();
        let touched: Option<BTreeSet<Email>> =
            self.loaded
                .iter()
                .find(|c| c.id == client.id)
                .map(|before| {
                    let old: std::collections::BTreeMap<&Email, &ClientUserRecord> =
                        before.users.iter().map(|u| (&u.email, u)).collect();
                    client
                        .users
                        .iter()
                        .filter(|u| old.get(&u.email) != Some(u))
                        .map(|u| u.email.clone())
                        .collect()
                });
        self.link_verified(&mut client, touched.as_ref())?;
        let saved = client;
        let client = &saved;
        let Some(index) = self.loaded.iter().position(|c| c.id == client.id) else {
            self.tx.put_client(client)?;
            return Ok(saved);
        };
        let before = &self.loaded[index];
        if before.assets != client.assets {
            self.tx.put_client(client)?;
        } else {
            if (
                &before.official_name,
                before.pricing_model,
                &before.managed_by,
                &before.permission_sets,
            ) != (
                &client.official_name,
                client.pricing_model,
                &client.managed_by,
                &client.permission_sets,
            ) {
                self.tx.put_client_row(client)?;
            }
            let old: std::collections::BTreeMap<&Email, &ClientUserRecord> =
                before.users.iter().map(|u| (&u.email, u)).collect();
            for user in &client.users {
                if old.get(&user.email) != Some(&user) {
                    self.tx.put_user(&client.id, user)?;
                }
            }
            let kept: BTreeSet<&Email> = client.users.iter().map(|u| &u.email).collect();
            for email in old.keys().filter(|e| !kept.contains(*e)) {
                self.tx.remove_user(&client.id, email)?;
            }
            if before.relationship != client.relationship {
                match &client.relationship {
                    Some(r) => {
                        let bytes =
                            serde_json::to_vec(r).map_err(|e| StoreError::Write(e.to_string()))?;
                        self.tx
                            .put_aux(Aux::Relationships, client.id.as_str(), &bytes)?;
                    }
                    None => self.tx.remove_aux(Aux::Relationships, client.id.as_str())?,
                }
            }
        }
        self.loaded[index] = client.clone();
        Ok(saved)
    }
}

/// LINK-3 for the writes that are not commands (import, the admin upserts): in the same
/// transaction, links the verified employees among the users of `clients` to their partners,
/// as [`Ctx::link_verified`] does for commands, and writes the `user.linked` events. The host
/// that syncs records is not a person: no actor is recorded and no activity (REL-3).
pub(crate) fn link_verified_users(
    tx: &mut dyn WriteTx,
    engine: &PolicyEngine,
    clients: &[ClientId],
) -> Result<(), StoreError> {
    let refused = |e: CmdError| match e {
        CmdError::Store(e) => e,
        CmdError::Refused(e) => StoreError::Write(format!("linking verified employees: {e}")),
    };
    let mut ctx = Ctx {
        tx,
        engine,
        actor: Email::parse("sidecar@partner-access.invalid")
            .map_err(|e| StoreError::Write(e.to_string()))?,
        now: Timestamp::now(),
        policies: Vec::new(),
        rules: BTreeSet::new(),
        events: Vec::new(),
        client: None,
        loaded: Vec::new(),
        issued_link: None,
    };
    for id in clients {
        let Some(mut client) = ctx.tx.client_record(id)? else {
            continue;
        };
        ctx.loaded.push(client.clone());
        if !ctx
            .link_verified(&mut client, None)
            .map_err(refused)?
            .is_empty()
        {
            ctx.save_client(&client).map_err(refused)?;
        }
    }
    let events = std::mem::take(&mut ctx.events);
    for event in &events {
        let bytes = serde_json::to_vec(event).map_err(|e| StoreError::Write(e.to_string()))?;
        ctx.tx.append_log(Log::Events, &bytes)?;
    }
    Ok(())
}
