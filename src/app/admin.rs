//! Administration: importing and exporting the whole state, and the upserts hosts use to sync
//! their own records into the sidecar.
//!
//! Every change is validated as a state document ([`crate::domain::validate`]) inside the same
//! write transaction that applies it, so an invalid change writes nothing and a valid one is
//! checked against exactly the state it lands on. Every change that is applied commits with
//! its audit record ([`Audited`]): who (the channel: `admin-token`, `cli`), what, and the
//! revision; a refused one writes nothing at all.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::commands::{AuditOutcome, AuditRecord, CommandName, link_verified_users};
use super::{App, AppError};
use crate::domain::{
    AssetId, AssetRecord, ClientId, ClientRecord, ClientUserRecord, Email, EmployeeManagement,
    EmployeeRecord, PaidHub, PartnerId, PartnerRecord, Permission, PermissionSetRecord,
    PricingModel, Problem, Role, Seat, StateDocument, Status, Tier, validate,
};
use crate::domain::{Timestamp, Verdict};
use crate::store::{Log, SearchKind, StoreError, WriteError, WriteTx, write};

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

// Every upsert body is the record as the state document and the export write it, so a host
// can send back what it read: the record's own id (`id`, or `email` for people) may be in the
// body, and must then equal the path's.

/// `PUT /v1/admin/partners/{id}`: a partner's fields; `employees`, when given, replaces them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerUpsert {
    #[serde(default)]
    pub id: Option<PartnerId>,
    #[serde(default)]
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub permission_sets: Vec<PermissionSetRecord>,
    #[serde(default)]
    pub crm_names: BTreeMap<ClientId, String>,
    #[serde(default)]
    pub employees: Option<Vec<EmployeeRecord>>,
}

/// `PUT /v1/admin/partners/{id}/employees/{email}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeUpsert {
    #[serde(default)]
    pub email: Option<Email>,
    #[serde(default)]
    pub super_admin: bool,
    #[serde(default)]
    pub employee_management: EmployeeManagement,
}

/// `PUT /v1/admin/clients/{id}`: a client's fields; `users` and `assets`, when given, replace
/// them.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientUpsert {
    #[serde(default)]
    pub id: Option<ClientId>,
    #[serde(default)]
    pub official_name: String,
    pub pricing_model: PricingModel,
    #[serde(default)]
    pub managed_by: Option<PartnerId>,
    #[serde(default)]
    pub permission_sets: Vec<PermissionSetRecord>,
    #[serde(default)]
    pub users: Option<Vec<ClientUserRecord>>,
    #[serde(default)]
    pub assets: Option<Vec<AssetRecord>>,
    /// The relationship as the export writes it: accepted so that an exported client can be
    /// sent back as it is, and ignored: the relationship is the sidecar's to keep (REL).
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub relationship: Option<serde::de::IgnoredAny>,
}

/// `PUT /v1/admin/clients/{id}/users/{email}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpsert {
    #[serde(default)]
    pub email: Option<Email>,
    pub role: Role,
    pub seat: Seat,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub partner: Option<PartnerId>,
    #[serde(default)]
    pub keep_billing: bool,
    #[serde(default)]
    pub paid_hubs: Vec<PaidHub>,
}

/// `PUT /v1/admin/clients/{id}/assets/{asset}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetUpsert {
    #[serde(default)]
    pub id: Option<AssetId>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub owner: Email,
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

    pub fn upsert_partner(
        &self,
        id: &PartnerId,
        body: PartnerUpsert,
        actor: &str,
    ) -> Result<u64, AppError> {
        same_as_path("id", body.id.as_ref(), id)?;
        let audited = Audited::new(
            CommandName::AdminUpsertPartner,
            format!("partner/{id}"),
            None,
        );
        self.write(actor, &audited, |tx| {
            // Loaded inside the unit of work, as a reload swaps the set inside one.
            let engine = self.engine();
            let catalogue = engine.catalogue();
            let employees = match &body.employees {
                Some(employees) => employees.clone(),
                None => tx
                    .partner_record(id)?
                    .map(|p| p.employees)
                    .unwrap_or_default(),
            };
            tx.put_partner(&PartnerRecord {
                id: id.clone(),
                name: body.name.clone(),
                tier: body.tier,
                email_domains: body.email_domains.clone(),
                employees,
                permission_sets: body.permission_sets.clone(),
                crm_names: body.crm_names.clone(),
            })?;
            // A domain or an employee added later links its verified employees (LINK-3).
            let mut clients = BTreeSet::new();
            for employee in tx
                .partner_record(id)?
                .map(|p| p.employees)
                .unwrap_or_default()
            {
                clients.extend(tx.clients_of_user(&employee.email)?);
            }
            link_verified_users(tx, &engine, &clients.into_iter().collect::<Vec<_>>())?;
            check_whole(tx, catalogue)
        })
    }

    pub fn upsert_employee(
        &self,
        partner: &PartnerId,
        email: &Email,
        body: EmployeeUpsert,
        actor: &str,
    ) -> Result<u64, AppError> {
        same_as_path("email", body.email.as_ref(), email)?;
        let audited = Audited::new(
            CommandName::AdminUpsertEmployee,
            format!("partner/{partner}/employee/{email}"),
            None,
        );
        self.write(actor, &audited, |tx| {
            // Loaded inside the unit of work, as a reload swaps the set inside one.
            let engine = self.engine();
            let catalogue = engine.catalogue();
            if tx.partner(partner)?.is_none() {
                return Err(WriteError::Aborted(AppError::NotFound(format!(
                    "unknown partner `{partner}`"
                ))));
            }
            tx.put_employee(
                partner,
                &EmployeeRecord {
                    email: email.clone(),
                    super_admin: body.super_admin,
                    employee_management: body.employee_management,
                },
            )?;
            let clients = tx.clients_of_user(email)?;
            link_verified_users(tx, &engine, &clients)?;
            check_neighbourhood(tx, &clients, catalogue)
        })
    }

    pub fn upsert_client(
        &self,
        id: &ClientId,
        body: ClientUpsert,
        actor: &str,
    ) -> Result<u64, AppError> {
        same_as_path("id", body.id.as_ref(), id)?;
        let audited = Audited::new(
            CommandName::AdminUpsertClient,
            format!("client/{id}"),
            Some(id),
        );
        self.write(actor, &audited, |tx| {
            // Loaded inside the unit of work, as a reload swaps the set inside one.
            let engine = self.engine();
            let catalogue = engine.catalogue();
            let current = tx.client_record(id)?;
            let (users, assets, relationship) = match current {
                Some(c) => (c.users, c.assets, c.relationship),
                None => (Vec::new(), Vec::new(), None),
            };
            tx.put_client(&ClientRecord {
                id: id.clone(),
                official_name: body.official_name.clone(),
                pricing_model: body.pricing_model,
                managed_by: body.managed_by.clone(),
                users: body.users.clone().unwrap_or(users),
                assets: body.assets.clone().unwrap_or(assets),
                permission_sets: body.permission_sets.clone(),
                relationship: relationship.clone(),
            })?;
            link_verified_users(tx, &engine, std::slice::from_ref(id))?;
            check_neighbourhood(tx, std::slice::from_ref(id), catalogue)
        })
    }

    pub fn upsert_user(
        &self,
        client: &ClientId,
        email: &Email,
        body: UserUpsert,
        actor: &str,
    ) -> Result<u64, AppError> {
        same_as_path("email", body.email.as_ref(), email)?;
        let audited = Audited::new(
            CommandName::AdminUpsertUser,
            format!("client/{client}/user/{email}"),
            Some(client),
        );
        self.write(actor, &audited, |tx| {
            // Loaded inside the unit of work, as a reload swaps the set inside one.
            let engine = self.engine();
            let catalogue = engine.catalogue();
            require_client(tx, client)?;
            tx.put_user(
                client,
                &ClientUserRecord {
                    email: email.clone(),
                    role: body.role,
                    seat: body.seat,
                    permissions: body.permissions.clone(),
                    status: body.status,
                    partner: body.partner.clone(),
                    keep_billing: body.keep_billing,
                    paid_hubs: PaidHub::normalized(&body.paid_hubs),
                },
            )?;
            link_verified_users(tx, &engine, std::slice::from_ref(client))?;
            check_neighbourhood(tx, std::slice::from_ref(client), catalogue)
        })
    }

    pub fn upsert_asset(
        &self,
        client: &ClientId,
        asset: &AssetId,
        body: AssetUpsert,
        actor: &str,
    ) -> Result<u64, AppError> {
        same_as_path("id", body.id.as_ref(), asset)?;
        let audited = Audited::new(
            CommandName::AdminUpsertAsset,
            format!("client/{client}/asset/{asset}"),
            Some(client),
        );
        self.write(actor, &audited, |tx| {
            let engine = self.engine();
            let catalogue = engine.catalogue();
            require_client(tx, client)?;
            tx.put_asset(
                client,
                &AssetRecord {
                    id: asset.clone(),
                    kind: body.kind.clone(),
                    name: body.name.clone(),
                    owner: body.owner.clone(),
                },
            )?;
            check_neighbourhood(tx, std::slice::from_ref(client), catalogue)
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
