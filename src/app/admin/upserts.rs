//! The upserts hosts use to sync their own records into the sidecar, one record at a time
//! (`PUT /v1/admin/partners/{id}`, employees, clients, users, assets): their bodies and the
//! writes that apply them. Each runs through the administration write of `admin.rs` (validated
//! where it lands, audited, all or nothing); this file owns only what each record's upsert
//! changes, and may not open a transaction of its own.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::{Audited, check_neighbourhood, check_whole, require_client, same_as_path};
use crate::app::commands::{CommandName, link_verified_users};
use crate::app::{App, AppError};
use crate::domain::{
    AssetId, AssetRecord, ClientId, ClientRecord, ClientUserRecord, Email, EmployeeManagement,
    EmployeeRecord, PaidHub, PartnerId, PartnerRecord, Permission, PermissionSetRecord,
    PricingModel, Role, Seat, Status, Tier,
};
use crate::store::WriteError;

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

impl App {
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
}
