//! The read side every decision needs: point lookups of accounts, users and memberships.
//!
//! The policy engine builds the Cedar entities of a request from a [`Directory`]; the redb
//! store implements it over its tables, and [`StateIndex`] over an in-memory state document
//! (the CLI and the declarative policy tests). Each lookup is by key, never a scan: the check
//! path does a handful of them per request.

use std::collections::HashMap;
use std::convert::Infallible;

use super::enums::{EmployeeManagement, PricingModel, Tier};
use super::ids::{ClientId, Email, PartnerId};
use super::state::{ClientUserRecord, StateDocument};

/// What a decision needs to know of a partner account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerInfo {
    pub id: PartnerId,
    pub tier: Tier,
    pub email_domains: Vec<String>,
}

/// What a decision needs to know of a client account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub id: ClientId,
    pub pricing_model: PricingModel,
    pub managed_by: Option<PartnerId>,
}

/// A user's rights in the partner account that employs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employment {
    pub partner: PartnerId,
    pub super_admin: bool,
    pub employee_management: EmployeeManagement,
}

/// What a decision needs to know of a person: whether the sidecar knows it at all, and its
/// employment. Its settings in each client account are looked up one account at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub email: Email,
    pub employment: Option<Employment>,
}

/// Point lookups over the state. `Ok(None)` means "no such thing"; `Err` means the state could
/// not be read, which every caller must turn into a Deny or a 503, never an Allow.
pub trait Directory {
    type Error: std::error::Error + Send + Sync + 'static;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, Self::Error>;
    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, Self::Error>;
    /// A user known to the sidecar: an employee of a partner or a user of some client.
    fn user(&self, email: &Email) -> Result<Option<UserInfo>, Self::Error>;
    /// The user's settings in one client account.
    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, Self::Error>;
}

/// An in-memory [`Directory`] over a state document, indexed for point lookups.
#[derive(Debug, Default)]
pub struct StateIndex {
    partners: HashMap<PartnerId, PartnerInfo>,
    clients: HashMap<ClientId, ClientInfo>,
    users: HashMap<Email, UserInfo>,
    memberships: HashMap<(ClientId, Email), ClientUserRecord>,
}

impl StateIndex {
    /// Indexes a (validated) state document.
    pub fn new(doc: &StateDocument) -> Self {
        let mut index = StateIndex::default();
        for partner in &doc.partners {
            index.partners.insert(
                partner.id.clone(),
                PartnerInfo {
                    id: partner.id.clone(),
                    tier: partner.tier,
                    email_domains: partner.email_domains.clone(),
                },
            );
            for employee in &partner.employees {
                index.users.insert(
                    employee.email.clone(),
                    UserInfo {
                        email: employee.email.clone(),
                        employment: Some(Employment {
                            partner: partner.id.clone(),
                            super_admin: employee.super_admin,
                            employee_management: employee.employee_management,
                        }),
                    },
                );
            }
        }
        for client in &doc.clients {
            index.clients.insert(
                client.id.clone(),
                ClientInfo {
                    id: client.id.clone(),
                    pricing_model: client.pricing_model,
                    managed_by: client.managed_by.clone(),
                },
            );
            for user in &client.users {
                index
                    .users
                    .entry(user.email.clone())
                    .or_insert_with(|| UserInfo {
                        email: user.email.clone(),
                        employment: None,
                    });
                index
                    .memberships
                    .insert((client.id.clone(), user.email.clone()), user.clone());
            }
        }
        index
    }
}

impl Directory for StateIndex {
    type Error = Infallible;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, Infallible> {
        Ok(self.partners.get(id).cloned())
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, Infallible> {
        Ok(self.clients.get(id).cloned())
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, Infallible> {
        Ok(self.users.get(email).cloned())
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, Infallible> {
        Ok(self
            .memberships
            .get(&(client.clone(), email.clone()))
            .cloned())
    }
}
