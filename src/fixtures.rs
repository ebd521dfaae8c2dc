//! Generated states for benchmarks and load tests: deterministic, of any size, and valid.
//! Names only `domain`.
//!
//! Each client has a super admin, a few standard users with permissions, and partner users of
//! one of the partners (a partner admin and a standard partner user), so checks exercise every
//! kind of principal.

use std::collections::BTreeMap;

use crate::domain::{
    ClientId, ClientRecord, ClientUserRecord, Email, EmployeeManagement, EmployeeRecord, PartnerId,
    PartnerRecord, Permission, PricingModel, Role, Seat, StateDocument, Status, Tier,
};

/// How big a generated state is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub partners: usize,
    pub clients: usize,
    /// Standard (non-partner) users per client, besides its super admin.
    pub users_per_client: usize,
}

fn email(text: String) -> Option<Email> {
    Email::parse(text).ok()
}

fn permissions(names: &[&str]) -> Vec<Permission> {
    names
        .iter()
        .filter_map(|n| Permission::parse(*n).ok())
        .collect()
}

const PARTNER_ADMIN: &[&str] = &[
    "crm.objects.view",
    "crm.objects.edit",
    "hubs.access",
    "apps.manage",
    "reports.access",
    "users.add_edit",
    "multi_account.manage",
];

/// A state of `size`. Partner `p{i}` has employees `admin{i}@p{i}.example` and
/// `rep{i}@p{i}.example`; client `c{j}` has `owner@c{j}.example`, `user{k}@c{j}.example` and the
/// two employees of partner `p{j % partners}` as partner admin and partner user.
pub fn generate(size: Size) -> StateDocument {
    let partners = size.partners.max(1);
    let mut doc = StateDocument::default();
    for i in 0..partners {
        let (Ok(id), Some(admin), Some(rep)) = (
            PartnerId::parse(format!("p{i}")),
            email(format!("admin{i}@p{i}.example")),
            email(format!("rep{i}@p{i}.example")),
        ) else {
            continue;
        };
        doc.partners.push(PartnerRecord {
            id,
            name: format!("Partner {i}"),
            tier: if i % 5 == 4 {
                Tier::Other
            } else {
                Tier::SolutionsPartner
            },
            email_domains: vec![format!("p{i}.example")],
            employees: vec![
                EmployeeRecord {
                    email: admin,
                    super_admin: true,
                    employee_management: EmployeeManagement::ViewEdit,
                },
                EmployeeRecord {
                    email: rep,
                    super_admin: false,
                    employee_management: EmployeeManagement::None,
                },
            ],
            permission_sets: Vec::new(),
            crm_names: BTreeMap::new(),
        });
    }
    for j in 0..size.clients {
        let Ok(id) = ClientId::parse(format!("c{j}")) else {
            continue;
        };
        let p = j % partners;
        let partner = doc.partners.get(p).map(|p| p.id.clone());
        let mut users = Vec::new();
        let mut push =
            |email: Option<Email>, role, seat, perms: &[&str], partner: Option<PartnerId>| {
                if let Some(email) = email {
                    users.push(ClientUserRecord {
                        email,
                        role,
                        seat,
                        permissions: permissions(perms),
                        status: Status::Active,
                        partner,
                        keep_billing: false,
                        paid_hubs: Vec::new(),
                    });
                }
            };
        push(
            email(format!("owner@c{j}.example")),
            Role::SuperAdmin,
            Seat::Core,
            &[],
            None,
        );
        for k in 0..size.users_per_client {
            let perms: &[&str] = match k % 3 {
                0 => &["crm.objects.view", "reports.access"],
                1 => &["crm.objects.view", "crm.objects.edit", "users.add_edit"],
                _ => &["hubs.access"],
            };
            push(
                email(format!("user{k}@c{j}.example")),
                Role::Standard,
                Seat::Core,
                perms,
                None,
            );
        }
        let managing =
            partner.filter(|_| doc.partners.get(p).is_some_and(|x| x.tier != Tier::Other));
        if let Some(partner) = &managing {
            push(
                email(format!("admin{p}@p{p}.example")),
                Role::PartnerAdmin,
                Seat::Partner,
                PARTNER_ADMIN,
                Some(partner.clone()),
            );
            push(
                email(format!("rep{p}@p{p}.example")),
                Role::Standard,
                Seat::Partner,
                &["crm.objects.view", "crm.objects.edit"],
                Some(partner.clone()),
            );
        }
        doc.clients.push(ClientRecord {
            id,
            official_name: format!("Client {j}"),
            pricing_model: if j % 2 == 0 {
                PricingModel::SeatBased
            } else {
                PricingModel::Legacy
            },
            managed_by: managing,
            users,
            assets: Vec::new(),
            permission_sets: Vec::new(),
            relationship: None,
        });
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Catalogue, validate};

    #[test]
    fn generated_states_are_valid() {
        let doc = generate(Size {
            partners: 7,
            clients: 50,
            users_per_client: 4,
        });
        let catalogue = Catalogue::new(
            PARTNER_ADMIN
                .iter()
                .chain(&["billing.edit"])
                .filter_map(|p| Permission::parse(*p).ok())
                .map(|p| (p, vec!["super_admin"])),
        );
        assert_eq!(validate(&doc, &catalogue), Ok(()));
        assert_eq!(doc.clients.len(), 50);
        assert_eq!(doc.clients[0].users.len(), 1 + 4 + 2);
    }
}
