//! The rows both backends store, and how they are encoded.
//!
//! A partner, a client and an employee are stored as one row each (JSON of these types),
//! separately from the lists that hang off them (employees, users, assets), so that the check
//! path's point lookups read one small record. Memberships and assets are stored as JSON of the
//! domain records themselves: what the store holds is exactly what the state document says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::StoreError;
use crate::domain::{
    AssetRecord, ClientId, ClientInfo, ClientRecord, ClientUserRecord, Email, EmployeeManagement,
    EmployeeRecord, Employment, PartnerId, PartnerInfo, PartnerRecord, PermissionSetRecord,
    PricingModel, RelationshipHistory, Tier,
};

/// A partner account without its employees.
#[derive(Serialize, Deserialize)]
pub(super) struct PartnerRow {
    pub(super) id: PartnerId,
    pub(super) name: String,
    pub(super) tier: Tier,
    pub(super) email_domains: Vec<String>,
    pub(super) permission_sets: Vec<PermissionSetRecord>,
    pub(super) crm_names: BTreeMap<ClientId, String>,
}

/// Which partner employs an e-mail, and its rights there.
#[derive(Serialize, Deserialize)]
pub(super) struct EmployeeRow {
    pub(super) partner: PartnerId,
    pub(super) super_admin: bool,
    pub(super) employee_management: EmployeeManagement,
}

/// A client account without its users, assets and relationship.
#[derive(Serialize, Deserialize)]
pub(super) struct ClientRow {
    pub(super) id: ClientId,
    pub(super) official_name: String,
    pub(super) pricing_model: PricingModel,
    pub(super) managed_by: Option<PartnerId>,
    pub(super) permission_sets: Vec<PermissionSetRecord>,
}

impl PartnerRow {
    pub(super) fn of(partner: &PartnerRecord) -> Self {
        PartnerRow {
            id: partner.id.clone(),
            name: partner.name.clone(),
            tier: partner.tier,
            email_domains: partner.email_domains.clone(),
            permission_sets: partner.permission_sets.clone(),
            crm_names: partner.crm_names.clone(),
        }
    }

    /// What a decision needs of the partner.
    pub(super) fn info(self) -> PartnerInfo {
        PartnerInfo {
            id: self.id,
            tier: self.tier,
            email_domains: self.email_domains,
        }
    }

    pub(super) fn record(self, employees: Vec<EmployeeRecord>) -> PartnerRecord {
        PartnerRecord {
            id: self.id,
            name: self.name,
            tier: self.tier,
            email_domains: self.email_domains,
            employees,
            permission_sets: self.permission_sets,
            crm_names: self.crm_names,
        }
    }
}

impl EmployeeRow {
    pub(super) fn of(partner: &PartnerId, employee: &EmployeeRecord) -> Self {
        EmployeeRow {
            partner: partner.clone(),
            super_admin: employee.super_admin,
            employee_management: employee.employee_management,
        }
    }

    pub(super) fn employment(self) -> Employment {
        Employment {
            partner: self.partner,
            super_admin: self.super_admin,
            employee_management: self.employee_management,
        }
    }

    pub(super) fn record(self, email: Email) -> EmployeeRecord {
        EmployeeRecord {
            email,
            super_admin: self.super_admin,
            employee_management: self.employee_management,
        }
    }
}

impl ClientRow {
    pub(super) fn of(client: &ClientRecord) -> Self {
        ClientRow {
            id: client.id.clone(),
            official_name: client.official_name.clone(),
            pricing_model: client.pricing_model,
            managed_by: client.managed_by.clone(),
            permission_sets: client.permission_sets.clone(),
        }
    }

    /// What a decision needs of the client.
    pub(super) fn info(self) -> ClientInfo {
        ClientInfo {
            id: self.id,
            pricing_model: self.pricing_model,
            managed_by: self.managed_by,
        }
    }

    /// The whole client. Its relationship history is brought in line with its users
    /// ([`RelationshipHistory::reconcile`]): a first-edition record, or a removal made by an
    /// import or an upsert, reads as `ending` once no partner user of its partner is left.
    pub(super) fn record(
        self,
        users: Vec<ClientUserRecord>,
        assets: Vec<AssetRecord>,
        relationship: Option<RelationshipHistory>,
    ) -> ClientRecord {
        let relationship = relationship.map(|mut history| {
            history.reconcile(|p| users.iter().any(|u| u.partner.as_ref() == Some(p)));
            history
        });
        ClientRecord {
            relationship,
            id: self.id,
            official_name: self.official_name,
            pricing_model: self.pricing_model,
            managed_by: self.managed_by,
            users,
            assets,
            permission_sets: self.permission_sets,
        }
    }
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(StoreError::write)
}

pub(super) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    })
}
