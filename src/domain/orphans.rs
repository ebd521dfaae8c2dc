//! Stored permissions that a permission catalogue no longer has.
//!
//! The catalogue is read from the schema (see [`super::catalogue`]), while users and permission
//! sets store permission names. A schema that drops a permission somebody still holds would
//! leave records that no longer validate: the sidecar's own export would stop re-importing, and
//! every upsert of such a client would fail. So a new schema is compared with the stored state
//! before it is used (`App::new`, `App::reload_policies`), and refused with what it would orphan,
//! the way SpiceDB refuses a schema write that invalidates stored relationships.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::catalogue::{Catalogue, Permission};
use super::ids::{ClientId, Email, PartnerId, PermissionSetName};
use super::state::StateDocument;

/// How many holders of one orphaned permission are named; the rest are counted.
pub const MAX_HOLDERS_SHOWN: usize = 10;

/// A stored record that holds a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Holder {
    /// A user of a client account.
    User { client: ClientId, email: Email },
    /// A permission set of a client account.
    ClientPermissionSet {
        client: ClientId,
        name: PermissionSetName,
    },
    /// A permission set of a partner account.
    PartnerPermissionSet {
        partner: PartnerId,
        name: PermissionSetName,
    },
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::User { client, email } => write!(f, "user `{email}` in client `{client}`"),
            Holder::ClientPermissionSet { client, name } => {
                write!(f, "permission set `{name}` of client `{client}`")
            }
            Holder::PartnerPermissionSet { partner, name } => {
                write!(f, "permission set `{name}` of partner `{partner}`")
            }
        }
    }
}

/// One permission the catalogue lacks and who holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Orphaned {
    pub permission: Permission,
    /// How many client users hold it.
    pub users: usize,
    /// How many permission sets (of clients and partners) list it.
    pub permission_sets: usize,
    /// The first [`MAX_HOLDERS_SHOWN`] holders, in the order of the state document.
    pub holders: Vec<Holder>,
}

impl Orphaned {
    /// Every holder, named or not.
    pub fn total(&self) -> usize {
        self.users + self.permission_sets
    }
}

impl fmt::Display for Orphaned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        write!(
            f,
            "`{}` is held by {} and {}: ",
            self.permission,
            plural(self.users, "user", "users"),
            plural(self.permission_sets, "permission set", "permission sets"),
        )?;
        for (i, holder) in self.holders.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{holder}")?;
        }
        let unnamed = self.total().saturating_sub(self.holders.len());
        if unnamed > 0 {
            write!(f, " and {unnamed} more")?;
        }
        Ok(())
    }
}

/// Stored permissions a catalogue lacks: a new schema that would leave them in the records is
/// refused. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct OrphanedPermissions(pub Vec<Orphaned>);

impl fmt::Display for OrphanedPermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the schema drops {} that stored records still hold",
            match self.0.len() {
                1 => "a permission".to_owned(),
                n => format!("{n} permissions"),
            }
        )?;
        for orphaned in &self.0 {
            write!(f, "\n  {orphaned}")?;
        }
        f.write_str(
            "\nremove them from those users and permission sets first (the PUT /v1/admin/... upserts, or an import of the edited export), then reload",
        )
    }
}

/// The permissions stored in `doc` (by client users, client permission sets and partner
/// permission sets) that `catalogue` does not have, sorted by name; `Ok` when there are none.
pub fn check_orphans(
    doc: &StateDocument,
    catalogue: &Catalogue,
) -> Result<(), OrphanedPermissions> {
    let mut found: BTreeMap<Permission, Orphaned> = BTreeMap::new();
    let mut note = |permission: &Permission, holder: Holder, user: bool| {
        if catalogue.contains(permission) {
            return;
        }
        let entry = found.entry(permission.clone()).or_insert_with(|| Orphaned {
            permission: permission.clone(),
            users: 0,
            permission_sets: 0,
            holders: Vec::new(),
        });
        if user {
            entry.users += 1;
        } else {
            entry.permission_sets += 1;
        }
        if entry.holders.len() < MAX_HOLDERS_SHOWN {
            entry.holders.push(holder);
        }
    };
    /// A record that lists a permission twice holds it once.
    fn distinct(permissions: &[Permission]) -> Vec<&Permission> {
        let mut list: Vec<&Permission> = permissions.iter().collect();
        list.sort();
        list.dedup();
        list
    }
    for partner in &doc.partners {
        for set in &partner.permission_sets {
            for permission in distinct(&set.permissions) {
                let holder = Holder::PartnerPermissionSet {
                    partner: partner.id.clone(),
                    name: set.name.clone(),
                };
                note(permission, holder, false);
            }
        }
    }
    for client in &doc.clients {
        for user in &client.users {
            for permission in distinct(&user.permissions) {
                let holder = Holder::User {
                    client: client.id.clone(),
                    email: user.email.clone(),
                };
                note(permission, holder, true);
            }
        }
        for set in &client.permission_sets {
            for permission in distinct(&set.permissions) {
                let holder = Holder::ClientPermissionSet {
                    client: client.id.clone(),
                    name: set.name.clone(),
                };
                note(permission, holder, false);
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(OrphanedPermissions(found.into_values().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(names: &[&str]) -> Catalogue {
        Catalogue::new(
            names
                .iter()
                .map(|p| (Permission::parse(*p).unwrap(), vec!["super_admin"])),
        )
    }

    fn doc(users: usize) -> StateDocument {
        let users: Vec<String> = (0..users)
            .map(|i| {
                format!(
                    r#"{{"email": "u{i}@c.example", "role": "standard", "seat": "core",
                        "permissions": ["reports.access", "reports.access", "crm.objects.view"]}}"#
                )
            })
            .collect();
        StateDocument::from_json_str(&format!(
            r#"{{"partners": [{{"id": "p-acme", "tier": "provider", "permission_sets": [
                    {{"name": "Analyst", "permissions": ["reports.access"]}}]}}],
                "clients": [{{"id": "c-1", "pricing_model": "legacy", "users": [{}],
                    "permission_sets": [{{"name": "Viewer", "permissions": ["crm.objects.view"]}}]}}]}}"#,
            users.join(",")
        ))
        .unwrap()
    }

    #[test]
    fn nothing_is_orphaned_while_the_catalogue_has_every_stored_permission() {
        let full = catalogue(&["reports.access", "crm.objects.view"]);
        assert_eq!(check_orphans(&doc(3), &full), Ok(()));
        // Permissions nobody holds may go.
        let more = catalogue(&["reports.access", "crm.objects.view", "scim.provision"]);
        assert_eq!(check_orphans(&doc(3), &more), Ok(()));
    }

    #[test]
    fn a_dropped_permission_names_its_first_holders_and_counts_them_all() {
        let err = check_orphans(&doc(12), &catalogue(&["crm.objects.view"])).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let orphaned = &err.0[0];
        assert_eq!(orphaned.permission.as_str(), "reports.access");
        // Listed twice by each user, counted once.
        assert_eq!((orphaned.users, orphaned.permission_sets), (12, 1));
        assert_eq!(orphaned.holders.len(), MAX_HOLDERS_SHOWN);
        let text = err.to_string();
        assert!(
            text.contains("permission set `Analyst` of partner `p-acme`"),
            "{text}"
        );
        assert!(
            text.contains("user `u0@c.example` in client `c-1`"),
            "{text}"
        );
        assert!(text.contains("and 3 more"), "{text}");
    }

    mod generated {
        use proptest::prelude::*;

        use super::super::*;
        use crate::domain::validate;

        const POOL: [&str; 6] = [
            "crm.objects.view",
            "crm.objects.edit",
            "reports.access",
            "apps.manage",
            "billing.edit",
            "scim.provision",
        ];

        fn names(mask: u8) -> Vec<&'static str> {
            POOL.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, p)| *p)
                .collect()
        }

        fn list(mask: u8) -> String {
            names(mask)
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect::<Vec<_>>()
                .join(",")
        }

        /// A valid document (one super admin a client) whose users and sets hold the
        /// permissions of the masks.
        fn document(partner_sets: &[u8], clients: &[(Vec<u8>, Vec<u8>)]) -> StateDocument {
            let sets = |masks: &[u8]| {
                masks
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        format!(r#"{{"name": "Set {i}", "permissions": [{}]}}"#, list(*m))
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let clients: Vec<String> = clients
                .iter()
                .enumerate()
                .map(|(c, (users, client_sets))| {
                    let mut records = vec![format!(
                        r#"{{"email": "owner@c{c}.example", "role": "super_admin", "seat": "core"}}"#
                    )];
                    records.extend(users.iter().enumerate().map(|(u, m)| {
                        format!(
                            r#"{{"email": "u{u}@c{c}.example", "role": "standard", "seat": "core", "permissions": [{}]}}"#,
                            list(*m)
                        )
                    }));
                    format!(
                        r#"{{"id": "c-{c}", "pricing_model": "legacy", "users": [{}], "permission_sets": [{}]}}"#,
                        records.join(","),
                        sets(client_sets)
                    )
                })
                .collect();
            StateDocument::from_json_str(&format!(
                r#"{{"partners": [{{"id": "p-acme", "tier": "provider", "permission_sets": [{}]}}],
                    "clients": [{}]}}"#,
                sets(partner_sets),
                clients.join(",")
            ))
            .unwrap()
        }

        proptest! {
            /// Whatever the state and whatever the catalogue keeps: the check refuses exactly
            /// when the state would no longer validate for an unknown permission (its export
            /// would not re-import), names only permissions the catalogue lacks, counts every
            /// holder and names the first ones.
            #[test]
            fn orphans_are_exactly_the_stored_permissions_the_catalogue_lacks(
                kept in any::<u8>(),
                partner_sets in proptest::collection::vec(any::<u8>(), 0..4),
                clients in proptest::collection::vec(
                    (proptest::collection::vec(any::<u8>(), 0..14),
                     proptest::collection::vec(any::<u8>(), 0..3)),
                    0..4,
                ),
            ) {
                let catalogue = Catalogue::new(
                    names(kept).into_iter().map(|p| (Permission::parse(p).unwrap(), vec!["super_admin"])),
                );
                let doc = document(&partner_sets, &clients);
                let unknown = validate(&doc, &catalogue)
                    .err()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|p| p.message.starts_with("unknown permission"))
                    .count();
                match check_orphans(&doc, &catalogue) {
                    Ok(()) => prop_assert_eq!(unknown, 0),
                    Err(orphans) => {
                        prop_assert!(!orphans.0.is_empty());
                        let mut total = 0;
                        for o in &orphans.0 {
                            prop_assert!(!catalogue.contains(&o.permission));
                            let bit = POOL.iter().position(|p| *p == o.permission.as_str()).unwrap();
                            let held = |m: &u8| m & (1 << bit) != 0;
                            let users = clients.iter().map(|(u, _)| u.iter().filter(|m| held(m)).count()).sum::<usize>();
                            let sets = partner_sets.iter().filter(|m| held(m)).count()
                                + clients.iter().map(|(_, s)| s.iter().filter(|m| held(m)).count()).sum::<usize>();
                            prop_assert_eq!((o.users, o.permission_sets), (users, sets));
                            prop_assert_eq!(o.holders.len(), (users + sets).min(MAX_HOLDERS_SHOWN));
                            total += users + sets;
                        }
                        // Each holder's unknown permission is one validation problem.
                        prop_assert_eq!(unknown, total);
                    }
                }
            }
        }
    }
}
