//! The state document of the API: the whole state of the sidecar as one JSON document.
//!
//! It is what `import` reads, `export` writes and the declarative policy tests use as fixtures.
//! Parsing is strict: an unknown field or an unknown enum value is an error that names the path
//! of the field (`clients[0].users[1].seat`) and the value. Parsing checks shapes only; the rules
//! that span records (SEAT-5, MIG-4, ...) are checked by [`super::validate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalogue::Permission;
use super::enums::{EmployeeManagement, PaidHub, PricingModel, Role, Seat, Status, Tier};
use super::ids::{AssetId, ClientId, Email, PartnerId, PermissionSetName};
use super::relationship::RelationshipHistory;

/// The whole state: partner accounts and client accounts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateDocument {
    #[serde(default)]
    pub partners: Vec<PartnerRecord>,
    #[serde(default)]
    pub clients: Vec<ClientRecord>,
}

/// A partner account with its employees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerRecord {
    pub id: PartnerId,
    #[serde(default)]
    pub name: String,
    pub tier: Tier,
    /// Approved partner e-mail domains; an employee with an address in one is "verified".
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub employees: Vec<EmployeeRecord>,
    /// The partner's own permission sets, usable from the Client Access Manager.
    #[serde(default)]
    pub permission_sets: Vec<PermissionSetRecord>,
    /// The names the partner's CRM gives its clients (ADD-4).
    #[serde(default)]
    pub crm_names: BTreeMap<ClientId, String>,
}

/// An employee of a partner account and its partner-side rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeRecord {
    pub email: Email,
    /// Super admin of the partner account.
    #[serde(default)]
    pub super_admin: bool,
    #[serde(default)]
    pub employee_management: EmployeeManagement,
}

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionSetRecord {
    pub name: PermissionSetName,
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

/// A client account with its users and assets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRecord {
    pub id: ClientId,
    #[serde(default)]
    pub official_name: String,
    pub pricing_model: PricingModel,
    /// The partner with the managed relationship, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_by: Option<PartnerId>,
    #[serde(default)]
    pub users: Vec<ClientUserRecord>,
    #[serde(default)]
    pub assets: Vec<AssetRecord>,
    /// The client's own permission sets, usable from inside the client account.
    #[serde(default)]
    pub permission_sets: Vec<PermissionSetRecord>,
    /// The client's managed relationships over time (REL-4, REL-5), kept by the sidecar;
    /// absent until one starts. `{"periods": [...]}`; a first-edition document's single record
    /// `{"partner", "started_at", "last_activity_at"}` still reads, as one period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<RelationshipHistory>,
}

/// A user of one client account.
///
/// Its OpenAPI schema is the record as the sidecar writes it in answers: every member present
/// but `partner`, which only a partner user has (a state document may leave out the members
/// with defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientUserRecord {
    pub email: Email,
    pub role: Role,
    pub seat: Seat,
    /// Stored permissions; a super admin's effective ones are the super admin template.
    #[serde(default)]
    #[schema(required = true)]
    pub permissions: Vec<Permission>,
    #[serde(default)]
    #[schema(required = true)]
    pub status: Status,
    /// The partner this user is linked to (a partner user), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<PartnerId>,
    /// Keep the billing permissions after becoming partner admin (MIG-3).
    #[serde(default)]
    #[schema(required = true)]
    pub keep_billing: bool,
    /// Paid hub licences held besides the seat (SEAT-9), sorted, no duplicates; `[]` when the
    /// document leaves it out.
    #[serde(default)]
    #[schema(required = true)]
    pub paid_hubs: Vec<PaidHub>,
}

/// Something a user owns in a client account, listed before the user is removed (REM-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetRecord {
    pub id: AssetId,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub owner: Email,
}

/// A state document that could not be parsed, with the path of the offending field.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StateParseError {
    /// Where in the document: `clients[0].users[1].seat`, or `.` for the top level.
    pub path: String,
    /// What is wrong, with serde's position (line and column) when it has one.
    pub message: String,
}

/// A path as the error shows it: `.` for the top level (serde's path of an unknown top-level
/// key named `""` prints as nothing at all).
fn shown_path(path: &serde_path_to_error::Path) -> String {
    let shown = path.to_string();
    if shown.is_empty() { ".".into() } else { shown }
}

impl StateDocument {
    /// Parses a state document, naming the path of the first field that does not fit.
    pub fn from_json_str(text: &str) -> Result<Self, StateParseError> {
        // Serde would read a struct from an array of its fields in order: a state document is
        // an object, and nothing may follow it.
        if !text.trim_start().starts_with('{') {
            return Err(StateParseError {
                path: ".".into(),
                message: "a state document is a JSON object".into(),
            });
        }
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let doc =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| StateParseError {
                path: shown_path(err.path()),
                message: err.into_inner().to_string(),
            })?;
        deserializer.end().map_err(|e| StateParseError {
            path: ".".into(),
            message: format!("unexpected characters after the document: {e}"),
        })?;
        Ok(doc)
    }

    /// Parses a state document held as a JSON value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, StateParseError> {
        if !value.is_object() {
            return Err(StateParseError {
                path: ".".into(),
                message: "a state document is a JSON object".into(),
            });
        }
        serde_path_to_error::deserialize(value).map_err(|err| StateParseError {
            path: shown_path(err.path()),
            message: err.into_inner().to_string(),
        })
    }

    /// The partner with this id.
    pub fn partner(&self, id: &PartnerId) -> Option<&PartnerRecord> {
        self.partners.iter().find(|p| &p.id == id)
    }

    /// The client with this id.
    pub fn client(&self, id: &ClientId) -> Option<&ClientRecord> {
        self.clients.iter().find(|c| &c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_seat_names_path_and_value() {
        let text = r#"{"clients": [{"id": "c-1", "pricing_model": "legacy",
            "users": [{"email": "a@b.c", "role": "standard", "seat": "gold"}]}]}"#;
        let err = StateDocument::from_json_str(text).unwrap_err();
        assert_eq!(err.path, "clients[0].users[0].seat");
        assert!(err.message.contains("`gold`"), "{err}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = StateDocument::from_json_str(r#"{"partners": [], "extra": 1}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `extra`"), "{err}");
    }

    /// An unknown top-level key named `""` has the path `.`, not an empty one (an error
    /// reading ": unknown field ``"); an input of the `state_import` fuzz target.
    #[test]
    fn an_unknown_empty_top_level_key_has_a_path() {
        let err = StateDocument::from_json_str(r#"{"": 1}"#).unwrap_err();
        assert_eq!(err.path, ".");
        let err = StateDocument::from_json_value(serde_json::json!({"": 1})).unwrap_err();
        assert_eq!(err.path, ".");
    }

    #[test]
    fn emails_are_lower_cased_on_parse() {
        let text = r#"{"partners": [{"id": "p", "tier": "other",
            "employees": [{"email": "Ann@ACME.example"}]}]}"#;
        let doc = StateDocument::from_json_str(text).unwrap();
        assert_eq!(
            doc.partners[0].employees[0].email.as_str(),
            "ann@acme.example"
        );
    }
}
