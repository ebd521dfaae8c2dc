//! The closed vocabularies of audit records and outbox events: the command that ran
//! ([`CommandName`]), how it ended ([`AuditOutcome`]) and the kind of event it emitted
//! ([`EventKind`]); the policies' verdict is [`Verdict`](crate::domain::Verdict), kept in audit
//! records by its lower-case label ([`verdict_label`]).
//!
//! Each serializes as the name audit records and events have always been stored with (and
//! `GET /v1/audit` and `GET /v1/events` serve), so stored records read back unchanged; a name
//! outside the vocabulary is an error naming it.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Serde by the strum name of a vocabulary: the same string as stored; its OpenAPI schema is
/// a string enum of those names.
macro_rules! by_name {
    ($name:ident) => {
        impl $name {
            /// The stored name.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let name = String::deserialize(deserializer)?;
                name.parse().map_err(|_| {
                    D::Error::unknown_variant(&name, <$name as strum::VariantNames>::VARIANTS)
                })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                names(<$name as strum::VariantNames>::VARIANTS)
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// The schema of a string that is one of `names`.
fn names(names: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names.iter().copied()))
        .into()
}

/// A command, as its audit record names it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
pub enum CommandName {
    #[strum(serialize = "access_link.issue")]
    AccessLinkIssue,
    #[strum(serialize = "access_link.approve")]
    AccessLinkApprove,
    #[strum(serialize = "employee.link")]
    EmployeeLink,
    #[strum(serialize = "employee.removal_preview")]
    EmployeeRemovalPreview,
    #[strum(serialize = "employee.remove")]
    EmployeeRemove,
    #[strum(serialize = "partner_admin.migrate")]
    PartnerAdminMigrate,
    #[strum(serialize = "partner_users.add")]
    PartnerUsersAdd,
    #[strum(serialize = "partner_user.set_permission_set")]
    PartnerUserSetPermissionSet,
    #[strum(serialize = "partner_user.grant_permission")]
    PartnerUserGrantPermission,
    #[strum(serialize = "partner_user.revoke_permission")]
    PartnerUserRevokePermission,
    #[strum(serialize = "partner_user.deactivate")]
    PartnerUserDeactivate,
    #[strum(serialize = "partner_user.reactivate")]
    PartnerUserReactivate,
    #[strum(serialize = "partner_users.reactivate_all")]
    PartnerUsersReactivateAll,
    #[strum(serialize = "partner_users.removal_preview")]
    PartnerUsersRemovalPreview,
    #[strum(serialize = "partner_users.remove_all")]
    PartnerUsersRemoveAll,
    #[strum(serialize = "user.create")]
    UserCreate,
    #[strum(serialize = "user.set_seat")]
    UserSetSeat,
    #[strum(serialize = "user.set_permission_set")]
    UserSetPermissionSet,
    #[strum(serialize = "user.grant_permission")]
    UserGrantPermission,
    #[strum(serialize = "user.revoke_permission")]
    UserRevokePermission,
    #[strum(serialize = "user.set_paid_hubs")]
    UserSetPaidHubs,
    #[strum(serialize = "user.assign_seats")]
    UserAssignSeats,
    #[strum(serialize = "user.remove")]
    UserRemove,
    /// A policy set stored as a version (`partner-access policies push`,
    /// `PUT /v1/admin/policies`).
    #[strum(serialize = "policies.push")]
    PoliciesPush,
    /// A stored policy set made the active one.
    #[strum(serialize = "policies.activate")]
    PoliciesActivate,
    /// A state document imported (`POST /v1/admin/import`, `partner-access import`).
    #[strum(serialize = "admin.import")]
    AdminImport,
    /// A partner written by the host (`PUT /v1/admin/partners/{id}`).
    #[strum(serialize = "admin.upsert_partner")]
    AdminUpsertPartner,
    /// An employee written by the host.
    #[strum(serialize = "admin.upsert_employee")]
    AdminUpsertEmployee,
    /// A client account written by the host.
    #[strum(serialize = "admin.upsert_client")]
    AdminUpsertClient,
    /// A client user written by the host.
    #[strum(serialize = "admin.upsert_user")]
    AdminUpsertUser,
    /// An asset written by the host.
    #[strum(serialize = "admin.upsert_asset")]
    AdminUpsertAsset,
}
by_name!(CommandName);

/// How a command ended, as its audit record says.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum AuditOutcome {
    /// Its changes committed.
    Applied,
    /// The policies denied it (403).
    Denied,
    /// An invariant refused it (409).
    Conflict,
    /// What it names does not exist (404).
    NotFound,
    /// The request was malformed (400).
    Invalid,
}
by_name!(AuditOutcome);

/// The kind of an outbox event (its `type`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::Display,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantNames,
    strum::VariantArray,
)]
pub enum EventKind {
    #[strum(serialize = "access_link.approved")]
    AccessLinkApproved,
    #[strum(serialize = "paid_hubs.changed")]
    PaidHubsChanged,
    #[strum(serialize = "permissions.changed")]
    PermissionsChanged,
    #[strum(serialize = "relationship.ending")]
    RelationshipEnding,
    #[strum(serialize = "seat.changed")]
    SeatChanged,
    #[strum(serialize = "user.created")]
    UserCreated,
    #[strum(serialize = "user.deactivated")]
    UserDeactivated,
    #[strum(serialize = "user.linked")]
    UserLinked,
    #[strum(serialize = "user.reactivated")]
    UserReactivated,
    #[strum(serialize = "user.removed")]
    UserRemoved,
}
by_name!(EventKind);

/// Serde for an audit record's `decision`: the verdict's lower-case label, `allow` or `deny`;
/// and its OpenAPI schema.
pub mod verdict_label {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    use crate::domain::Verdict;

    /// A string, `allow` or `deny`.
    pub fn schema() -> RefOr<Schema> {
        super::names(&["allow", "deny"])
    }

    pub fn serialize<S: Serializer>(verdict: &Verdict, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(verdict.label())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Verdict, D::Error> {
        let label = String::deserialize(deserializer)?;
        match label.as_str() {
            "allow" => Ok(Verdict::Allow),
            "deny" => Ok(Verdict::Deny),
            other => Err(D::Error::unknown_variant(other, &["allow", "deny"])),
        }
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    /// Every name serializes as its string and reads back; an unknown name is an error.
    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + Serialize + for<'de> Deserialize<'de>,
        &'static str: From<T>,
    {
        for &value in all {
            let name: &'static str = value.into();
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
        }
        assert!(serde_json::from_str::<T>("\"no.such\"").is_err());
    }

    #[test]
    fn vocabularies_round_trip_as_their_names() {
        round_trips(CommandName::VARIANTS);
        round_trips(AuditOutcome::VARIANTS);
        round_trips(EventKind::VARIANTS);
        assert_eq!(AuditOutcome::NotFound.as_str(), "not_found");
        assert_eq!(CommandName::UserCreate.as_str(), "user.create");
        assert_eq!(EventKind::UserCreated.to_string(), "user.created");
    }
}
