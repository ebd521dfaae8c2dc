//! The permission catalogue and the built-in permission sets.
//!
//! The catalogue is data, not code: it is read from the schema (every action annotated
//! `@permission(...)`), so a policy author adds a permission by declaring an action, without
//! touching Rust. The annotation's value lists the built-in templates (`super_admin`,
//! `partner_admin`) that include the permission.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::enums::Role;
use super::ids::{IdError, MAX_ID_LEN, PermissionSetName};

/// The name of a permission (`reports.access`). Whether it is in the catalogue is checked
/// against a [`Catalogue`], which only the loaded schema knows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(pattern = "^[a-z0-9._]+$", example = "crm.objects.edit")]
pub struct Permission(String);

impl Permission {
    /// Checks the shape of a permission name: lower-case letters, digits, `.` and `_`.
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty { kind: "permission" });
        }
        if value.len() > MAX_ID_LEN {
            return Err(IdError::TooLong {
                kind: "permission",
                value: value.chars().take(64).collect(),
                max: MAX_ID_LEN,
            });
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_')
        {
            return Err(IdError::InvalidCharacters {
                kind: "permission",
                value: value.escape_debug().to_string(),
                allowed: "lower-case letters, digits, `.` and `_`",
            });
        }
        Ok(Self(value))
    }

    /// The permission's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Permission {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, IdError> {
        Self::parse(value)
    }
}

impl From<Permission> for String {
    fn from(p: Permission) -> String {
        p.0
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of the built-in super admin template.
pub const SUPER_ADMIN_SET: &str = "super_admin";
/// The name of the built-in partner admin template.
pub const PARTNER_ADMIN_SET: &str = "partner_admin";
/// The billing permissions a super admin may keep when it becomes partner admin (MIG-3).
pub const BILLING_PERMISSIONS: [&str; 2] = ["billing.edit", "billing.transactions"];

/// Every permission there is, and the built-in permission sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalogue {
    permissions: BTreeSet<Permission>,
    templates: BTreeMap<String, BTreeSet<Permission>>,
}

impl Catalogue {
    /// Builds the catalogue from `(permission, templates that include it)` pairs.
    pub fn new<'a>(entries: impl IntoIterator<Item = (Permission, Vec<&'a str>)>) -> Self {
        let mut catalogue = Catalogue::default();
        for name in [SUPER_ADMIN_SET, PARTNER_ADMIN_SET] {
            catalogue.templates.insert(name.to_owned(), BTreeSet::new());
        }
        for (permission, templates) in entries {
            for template in templates {
                catalogue
                    .templates
                    .entry(template.to_owned())
                    .or_default()
                    .insert(permission.clone());
            }
            catalogue.permissions.insert(permission);
        }
        catalogue
    }

    /// Whether the permission is in the catalogue.
    pub fn contains(&self, permission: &Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// Every permission, sorted.
    pub fn permissions(&self) -> impl Iterator<Item = &Permission> {
        self.permissions.iter()
    }

    /// The built-in set of this name (`super_admin`, `partner_admin`), if it is one.
    pub fn template(&self, name: &str) -> Option<&BTreeSet<Permission>> {
        self.templates.get(name)
    }

    /// The names of the built-in sets.
    pub fn template_names(&self) -> impl Iterator<Item = &str> {
        self.templates.keys().map(String::as_str)
    }
}

/// The role a permission set gives: the built-in templates make super admins and partner
/// admins (CAP-6: "partner admin is a permission set"); every other set makes standard users.
pub fn role_for_set(name: &PermissionSetName) -> Role {
    match name.as_str() {
        SUPER_ADMIN_SET => Role::SuperAdmin,
        PARTNER_ADMIN_SET => Role::PartnerAdmin,
        _ => Role::Standard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    #[test]
    fn templates_collect_their_permissions() {
        let catalogue = Catalogue::new([
            (p("reports.access"), vec!["super_admin", "partner_admin"]),
            (p("scim.provision"), vec!["super_admin"]),
            (p("multi_account.manage"), vec!["partner_admin"]),
        ]);
        assert!(catalogue.contains(&p("scim.provision")));
        assert!(!catalogue.contains(&p("nope")));
        let admin = catalogue.template("partner_admin").unwrap();
        assert!(
            admin.contains(&p("multi_account.manage")) && !admin.contains(&p("scim.provision"))
        );
        assert!(catalogue.template("Sales rep").is_none());
    }

    #[test]
    fn permission_names_are_checked() {
        assert!(Permission::parse("crm.objects.view").is_ok());
        assert!(Permission::parse("CRM").is_err());
        assert!(Permission::parse("a\"b").is_err());
        assert!(Permission::parse("").is_err());
    }
}
