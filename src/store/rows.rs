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
    ClientId, EmployeeManagement, PartnerId, PermissionSetRecord, PricingModel, Tier,
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

pub(super) fn read_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Read(e.to_string())
}

pub(super) fn write_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Write(e.to_string())
}

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(write_err)
}

pub(super) fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    })
}
