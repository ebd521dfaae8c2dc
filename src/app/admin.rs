//! Administration: importing and exporting the whole state, and the upserts hosts use to sync
//! their own records into the sidecar.
//!
//! Every change is validated as a state document ([`crate::domain::validate`]) inside the same
//! write transaction that applies it, so an invalid change writes nothing and a valid one is
//! checked against exactly the state it lands on. Every change that is applied commits with
//! its audit record ([`Audited`]): who (the channel: `admin-token`, `cli`), what, and the
//! revision; a refused one writes nothing at all.

mod upserts;

use std::collections::BTreeSet;

use serde::Deserialize;

use super::commands::{AuditOutcome, AuditRecord, CommandName, link_verified_users};
use super::{App, AppError};
use crate::domain::{ClientId, Problem, StateDocument, Timestamp, Verdict, validate};
use crate::store::{Log, SearchKind, StoreError, WriteError, WriteTx, write};

pub use upserts::{AssetUpsert, ClientUpsert, EmployeeUpsert, PartnerUpsert, UserUpsert};

/// How an import combines with the current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// The document becomes the whole state.
    Replace,
    /// Partners and clients in the document replace those with the same id; others stay.
    Merge,
    /// The document becomes the whole state of a store that holds none: refused (409) when the
    /// store holds any partner or client, decided inside the import's own transaction.
    Empty,
}

/// What an administration write's audit record says: the command, what it was about, and the
/// client account concerned.
struct Audited {
    command: CommandName,
    target: String,
    client: Option<ClientId>,
    message: Option<String>,
}

impl Audited {
    fn new(command: CommandName, target: String, client: Option<&ClientId>) -> Self {
        Audited {
            command,
            target,
            client: client.cloned(),
            message: None,
        }
    }
}

impl App {
    /// Validates `doc` and loads it, all or nothing, as `actor`. Returns the new revision.
    pub fn import(
        &self,
        doc: &StateDocument,
        mode: ImportMode,
        actor: &str,
    ) -> Result<u64, AppError> {
        let mut audited = Audited::new(CommandName::AdminImport, "state".into(), None);
        audited.message = Some(format!(
            "mode {}: {} partners, {} clients",
            match mode {
                ImportMode::Replace => "replace",
                ImportMode::Merge => "merge",
                ImportMode::Empty => "empty",
            },
            doc.partners.len(),
            doc.clients.len()
        ));
        self.write(actor, &audited, |tx| {
            let engine = self.engine();
            let catalogue = engine.catalogue();
            let next = match mode {
                ImportMode::Replace => doc.clone(),
                ImportMode::Merge => merge(tx.export()?, doc),
                ImportMode::Empty => {
                    let held = !tx.search(SearchKind::Partner, "", 1)?.is_empty()
                        || !tx.search(SearchKind::Account, "", 1)?.is_empty();
                    if held {
                        return Err(WriteError::Aborted(AppError::Conflict {
                            message: "the store already holds a state, and this import would \
                                      replace the whole of it: import with mode `replace` to \
                                      replace it, or `merge` to merge the document into it"
                                .into(),
                            rules: Vec::new(),
                        }));
                    }
                    doc.clone()
                }
            };
            validate(&next, catalogue)
                .map_err(|p| WriteError::Aborted(AppError::invalid_state(p)))?;
            tx.replace_all(&next)?;
            let clients: Vec<ClientId> = next.clients.iter().map(|c| c.id.clone()).collect();
            link_verified_users(tx, &engine, &clients)?;
            Ok(())
        })
    }

    /// The whole state and the revision it was read at.
    pub fn export(&self) -> Result<(StateDocument, u64), AppError> {
        let snapshot = self.store.snapshot().map_err(|e| self.unavailable(e))?;
        let doc = snapshot.export().map_err(|e| self.unavailable(e))?;
        Ok((doc, snapshot.revision()))
    }

    /// A consistent copy of the store file (see [`crate::store::Store::backup`]).
    pub fn backup(&self) -> Result<(std::fs::File, u64), AppError> {
        self.store.backup().map_err(|e| match e {
            rejected @ crate::store::StoreError::Rejected(_) => AppError::from(rejected),
            other => self.unavailable(other),
        })
    }

    /// Runs an administration write in one transaction, with its audit record, tells the
    /// cache, and maps failures. It reads and checks the whole state, so it takes the whole
    /// state alone (see [`WriteTx::exclusive`]).
    fn write(
        &self,
        actor: &str,
        audited: &Audited,
        mut work: impl FnMut(&mut dyn WriteTx) -> Result<(), WriteError<AppError>>,
    ) -> Result<u64, AppError> {
        let whole = write(self.store.as_ref(), |tx| {
            tx.exclusive()?;
            work(tx)?;
            let record = AuditRecord {
                seq: 0,
                time: Timestamp::now(),
                actor: actor.to_owned(),
                command: audited.command,
                target: audited.target.clone(),
                client: audited.client.clone(),
                decision: Verdict::Allow,
                policies: Vec::new(),
                rules: Vec::new(),
                outcome: AuditOutcome::Applied,
                message: audited.message.clone(),
                revision: Some(tx.commit_revision()?),
                policy_version: Some(self.engine().version().clone()),
            };
            let bytes =
                serde_json::to_vec(&record).map_err(|e| StoreError::Write(e.to_string()))?;
            tx.append_log(Log::Audit, &bytes)?;
            Ok(())
        });
        match whole {
            Ok(((), committed)) => {
                self.committed(&committed);
                Ok(committed.revision)
            }
            Err(WriteError::Aborted(e)) => Err(e),
            Err(WriteError::Store(StoreError::Rejected(message))) => Err(AppError::Conflict {
                message,
                rules: Vec::new(),
            }),
            Err(WriteError::Store(e)) => Err(self.unavailable(e)),
        }
    }

    pub(super) fn unavailable(&self, e: StoreError) -> AppError {
        self.store_failed(&e);
        AppError::Unavailable(e)
    }
}

/// An upsert body may carry the record's own id; it must then be the path's (400 naming both).
fn same_as_path<T: PartialEq + std::fmt::Display>(
    field: &str,
    in_body: Option<&T>,
    in_path: &T,
) -> Result<(), AppError> {
    match in_body {
        Some(body) if body != in_path => Err(AppError::invalid(format!(
            "{field}: `{field}` in the body is `{body}` but the path names `{in_path}`; they must be equal"
        ))),
        _ => Ok(()),
    }
}

/// 404 unless the client exists.
fn require_client(tx: &dyn WriteTx, client: &ClientId) -> Result<(), WriteError<AppError>> {
    match tx.client(client)? {
        Some(_) => Ok(()),
        None => Err(WriteError::Aborted(AppError::NotFound(format!(
            "unknown client `{client}`"
        )))),
    }
}

/// Partners and clients of `incoming` replace those with the same id in `current`.
fn merge(mut current: StateDocument, incoming: &StateDocument) -> StateDocument {
    for partner in &incoming.partners {
        current.partners.retain(|p| p.id != partner.id);
        current.partners.push(partner.clone());
    }
    for client in &incoming.clients {
        current.clients.retain(|c| c.id != client.id);
        current.clients.push(client.clone());
    }
    current
}

fn invalid(problems: Vec<Problem>) -> WriteError<AppError> {
    WriteError::Aborted(AppError::invalid_state(problems))
}

/// Validates the whole state as the transaction sees it.
fn check_whole(
    tx: &mut dyn WriteTx,
    catalogue: &crate::domain::Catalogue,
) -> Result<(), WriteError<AppError>> {
    let doc = tx.export()?;
    validate(&doc, catalogue).map_err(invalid)
}

/// Validates the clients a change touched, with the partners they reference (the rules a
/// client-level change can break are all within that neighbourhood).
fn check_neighbourhood(
    tx: &mut dyn WriteTx,
    clients: &[ClientId],
    catalogue: &crate::domain::Catalogue,
) -> Result<(), WriteError<AppError>> {
    let mut doc = StateDocument::default();
    let mut partners = BTreeSet::new();
    for id in clients {
        if let Some(client) = tx.client_record(id)? {
            partners.extend(client.managed_by.clone());
            partners.extend(client.users.iter().filter_map(|u| u.partner.clone()));
            doc.clients.push(client);
        }
    }
    for id in partners {
        if let Some(mut partner) = tx.partner_record(&id)? {
            // CRM names may name clients outside the neighbourhood; they were checked when set.
            partner.crm_names.clear();
            doc.partners.push(partner);
        }
    }
    validate(&doc, catalogue).map_err(invalid)
}
