//! Memberships as cases. A decision of a check action sees one membership: the user, its
//! employment, the client account and the partners ([`Probe`] serves exactly that as a
//! [`Directory`]). Memberships whose entities are the same up to renaming the user's e-mail,
//! its domain and the account's id are one case ([`CaseKey`]), decided once under each set,
//! when the policies cannot tell such ids apart (see the parent module's doc).

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;

use crate::domain::{
    ClientId, ClientInfo, ClientRecord, ClientUserRecord, Directory, Email, Employment, PartnerId,
    PartnerInfo, UserInfo,
};

/// Placeholders for the renamed ids: control characters are in no id the domain accepts.
pub(super) const USER_PLACEHOLDER: &str = "\u{0}user";
pub(super) const DOMAIN_PLACEHOLDER: &str = "\u{0}domain";
pub(super) const ACCOUNT_PLACEHOLDER: &str = "\u{0}account";

/// A membership's entities, up to renaming: two memberships with equal keys are decided alike
/// by policies that tell ids apart only by equality (see the module doc). The renamed ids are
/// `None`; an id equal to a string the policies or the entities could compare it with is kept.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct CaseKey<'a> {
    user: Option<&'a str>,
    domain: Option<&'a str>,
    account: Option<&'a str>,
    employment: Option<(&'a str, bool, &'static str)>,
    role: &'static str,
    seat: &'static str,
    status: &'static str,
    permissions: Vec<&'a str>,
    partner: Option<&'a str>,
    keep_billing: bool,
    paid_hubs: Vec<&'static str>,
    pricing_model: &'static str,
    managed_by: Option<&'a str>,
}

/// The one membership a decision needs, as a [`Directory`].
pub(super) struct Probe<'a> {
    pub(super) partners: &'a HashMap<PartnerId, PartnerInfo>,
    pub(super) employment: Option<&'a Employment>,
    pub(super) client: &'a ClientRecord,
    pub(super) user: &'a ClientUserRecord,
}

impl Directory for Probe<'_> {
    type Error = Infallible;

    fn partner(&self, id: &PartnerId) -> Result<Option<PartnerInfo>, Infallible> {
        Ok(self.partners.get(id).cloned())
    }

    fn client(&self, id: &ClientId) -> Result<Option<ClientInfo>, Infallible> {
        Ok((id == &self.client.id).then(|| ClientInfo {
            id: self.client.id.clone(),
            pricing_model: self.client.pricing_model,
            managed_by: self.client.managed_by.clone(),
        }))
    }

    fn user(&self, email: &Email) -> Result<Option<UserInfo>, Infallible> {
        Ok((email == &self.user.email).then(|| UserInfo {
            email: email.clone(),
            employment: self.employment.cloned(),
        }))
    }

    fn membership(
        &self,
        client: &ClientId,
        email: &Email,
    ) -> Result<Option<ClientUserRecord>, Infallible> {
        Ok((client == &self.client.id && email == &self.user.email).then(|| self.user.clone()))
    }
}

/// The case of a membership (see [`CaseKey`]).
pub(super) fn case_key<'a>(
    client: &'a ClientRecord,
    user: &'a ClientUserRecord,
    employments: &HashMap<&'a Email, &'a Employment>,
    keep: &HashSet<&str>,
    literals: &HashSet<&str>,
) -> CaseKey<'a> {
    let employment = employments.get(&user.email).copied();
    let (email, domain, account) = (user.email.as_str(), user.email.domain(), client.id.as_str());
    // An id is renamed only when nothing else in its entities, and no literal of the
    // policies, could equal it: the other two ids, the partners' strings, the vocabulary
    // values and permissions of the membership.
    let clashes = |id: &str, others: [&str; 2]| {
        others.contains(&id)
            || keep.contains(id)
            || literals.contains(id)
            || user.permissions.iter().any(|p| p.as_str() == id)
            || [
                user.role.as_str(),
                user.seat.as_str(),
                user.status.as_str(),
                client.pricing_model.as_str(),
            ]
            .contains(&id)
            || user.paid_hubs.iter().any(|h| h.as_str() == id)
            || employment.is_some_and(|e| e.employee_management.as_str() == id)
    };
    let kept = |id: &'a str, others: [&str; 2]| clashes(id, others).then_some(id);
    CaseKey {
        user: kept(email, [domain, account]),
        domain: kept(domain, [email, account]),
        account: kept(account, [email, domain]),
        employment: employment.map(|e| {
            (
                e.partner.as_str(),
                e.super_admin,
                e.employee_management.as_str(),
            )
        }),
        role: user.role.as_str(),
        seat: user.seat.as_str(),
        status: user.status.as_str(),
        permissions: user.permissions.iter().map(|p| p.as_str()).collect(),
        partner: user.partner.as_ref().map(PartnerId::as_str),
        keep_billing: user.keep_billing,
        paid_hubs: user.paid_hubs.iter().map(|h| h.as_str()).collect(),
        pricing_model: client.pricing_model.as_str(),
        managed_by: client.managed_by.as_ref().map(PartnerId::as_str),
    }
}
