//! Building the Cedar entities one request needs, from the [`Directory`].
//!
//! A request names a principal, a resource and possibly entities in its context. The slice
//! holds exactly what the policies can read from those: the named users with their membership
//! tags for the client accounts in play, the accounts, and the partners they point to
//! (employer, link, managing partner). It is built from point lookups and is not checked
//! against the schema: the store only holds values the domain types accept, and the schema
//! check happened once, when the state was imported.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use crate::domain::{
    ClientId, ClientInfo, ClientUserRecord, Directory, Email, PartnerId, PartnerInfo, UserInfo,
};

use super::refs::{EntityKind, EntityRef};

/// The fully qualified type names, parsed once.
pub(crate) struct TypeNames {
    user: EntityTypeName,
    account: EntityTypeName,
    partner: EntityTypeName,
}

impl TypeNames {
    pub(crate) fn new() -> Result<Self, String> {
        let parse = |kind: EntityKind| {
            EntityTypeName::from_str(kind.type_name())
                .map_err(|e| format!("`{}` is not a Cedar type name: {e}", kind.type_name()))
        };
        Ok(Self {
            user: parse(EntityKind::User)?,
            account: parse(EntityKind::Account)?,
            partner: parse(EntityKind::Partner)?,
        })
    }

    fn uid(&self, kind: EntityKind, id: &str) -> EntityUid {
        let ty = match kind {
            EntityKind::User => &self.user,
            EntityKind::Account => &self.account,
            EntityKind::Partner | EntityKind::Action => &self.partner,
        };
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }
}

/// What went wrong while building a slice. Unknown entities are not errors of the builder: they
/// are reported in [`Slice::unknown`] so the caller can answer Deny with a reason.
#[derive(Debug, thiserror::Error)]
pub enum SliceError {
    #[error("the store could not be read: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
    #[error("cannot build entity `{entity}`: {message}")]
    Build { entity: String, message: String },
}

/// The entities of one request.
pub struct Slice {
    pub entities: Vec<Entity>,
    /// References the store does not know, for the caller to report.
    pub unknown: Vec<EntityRef>,
}

/// Builds the slice for `refs`. `required` are the references whose absence makes the request
/// unanswerable (principal and resource); other unknown users become bare users (a person the
/// sidecar has not seen yet, such as the user a command creates).
pub(crate) fn build_slice<D: Directory + ?Sized>(
    names: &TypeNames,
    directory: &D,
    refs: &[EntityRef],
    required: &[&EntityRef],
) -> Result<Slice, SliceError> {
    let store = |e: D::Error| SliceError::Store(Box::new(e));
    let mut unknown = Vec::new();
    let mut partners: BTreeSet<PartnerId> = BTreeSet::new();
    let mut entities = Vec::new();
    let mut seen: BTreeSet<&EntityRef> = BTreeSet::new();

    let accounts: Vec<ClientId> = refs
        .iter()
        .filter(|r| r.kind == EntityKind::Account)
        .filter_map(|r| ClientId::parse(&*r.id).ok())
        .collect();

    for r in refs {
        if !seen.insert(r) {
            continue;
        }
        match r.kind {
            EntityKind::Account => {
                let info = match ClientId::parse(&*r.id) {
                    Ok(id) => directory.client(&id).map_err(store)?,
                    Err(_) => None,
                };
                match info {
                    Some(info) => {
                        if let Some(p) = &info.managed_by {
                            partners.insert(p.clone());
                        }
                        entities.push(account_entity(names, &info)?);
                    }
                    None => unknown.push(r.clone()),
                }
            }
            EntityKind::Partner => match PartnerId::parse(&*r.id) {
                Ok(id) => {
                    if directory.partner(&id).map_err(store)?.is_none() {
                        unknown.push(r.clone());
                    } else {
                        partners.insert(id);
                    }
                }
                Err(_) => unknown.push(r.clone()),
            },
            EntityKind::User => {
                let Ok(email) = Email::parse(&*r.id) else {
                    unknown.push(r.clone());
                    continue;
                };
                let info = directory.user(&email).map_err(store)?;
                let info = match info {
                    Some(info) => info,
                    None if required.contains(&r) => {
                        unknown.push(r.clone());
                        continue;
                    }
                    None => UserInfo {
                        email: email.clone(),
                        employment: None,
                    },
                };
                let mut memberships = BTreeMap::new();
                for account in &accounts {
                    if let Some(m) = directory.membership(account, &email).map_err(store)? {
                        if let Some(p) = &m.partner {
                            partners.insert(p.clone());
                        }
                        memberships.insert(account.clone(), m);
                    }
                }
                if let Some(employment) = &info.employment {
                    partners.insert(employment.partner.clone());
                }
                entities.push(user_entity(names, &r.id, &info, &memberships)?);
            }
            EntityKind::Action => {}
        }
    }
    for id in &partners {
        if let Some(info) = directory.partner(id).map_err(store)? {
            entities.push(partner_entity(names, &info)?);
        }
    }
    Ok(Slice { entities, unknown })
}

fn string(value: &str) -> RestrictedExpression {
    RestrictedExpression::new_string(value.to_owned())
}

fn record(
    entity: &str,
    fields: Vec<(String, RestrictedExpression)>,
) -> Result<RestrictedExpression, SliceError> {
    RestrictedExpression::new_record(fields).map_err(|e| SliceError::Build {
        entity: entity.to_owned(),
        message: e.to_string(),
    })
}

fn finish(
    entity: &str,
    result: Result<Entity, impl std::fmt::Display>,
) -> Result<Entity, SliceError> {
    result.map_err(|e| SliceError::Build {
        entity: entity.to_owned(),
        message: e.to_string(),
    })
}

/// `Hub::Account`: a client account.
pub(crate) fn account_entity(names: &TypeNames, info: &ClientInfo) -> Result<Entity, SliceError> {
    let mut attrs = vec![
        ("key".to_owned(), string(info.id.as_str())),
        (
            "pricing_model".to_owned(),
            string(info.pricing_model.as_str()),
        ),
    ];
    if let Some(p) = &info.managed_by {
        attrs.push((
            "managed_by".to_owned(),
            RestrictedExpression::new_entity_uid(names.uid(EntityKind::Partner, p.as_str())),
        ));
    }
    let uid = names.uid(EntityKind::Account, info.id.as_str());
    finish(info.id.as_str(), Entity::new_with_tags(uid, attrs, [], []))
}

/// `Hub::Partner`: a partner account.
pub(crate) fn partner_entity(names: &TypeNames, info: &PartnerInfo) -> Result<Entity, SliceError> {
    let attrs = vec![
        ("key".to_owned(), string(info.id.as_str())),
        ("tier".to_owned(), string(info.tier.as_str())),
        (
            "email_domains".to_owned(),
            RestrictedExpression::new_set(info.email_domains.iter().map(|d| string(d))),
        ),
    ];
    let uid = names.uid(EntityKind::Partner, info.id.as_str());
    finish(info.id.as_str(), Entity::new_with_tags(uid, attrs, [], []))
}

/// `Hub::User` with one `Membership` tag per client account in `memberships`.
pub(crate) fn user_entity(
    names: &TypeNames,
    id: &str,
    info: &UserInfo,
    memberships: &BTreeMap<ClientId, ClientUserRecord>,
) -> Result<Entity, SliceError> {
    let mut attrs = vec![
        ("email".to_owned(), string(info.email.as_str())),
        ("email_domain".to_owned(), string(info.email.domain())),
    ];
    if let Some(employment) = &info.employment {
        let employee = record(
            id,
            vec![
                (
                    "partner".to_owned(),
                    RestrictedExpression::new_entity_uid(
                        names.uid(EntityKind::Partner, employment.partner.as_str()),
                    ),
                ),
                (
                    "super_admin".to_owned(),
                    RestrictedExpression::new_bool(employment.super_admin),
                ),
                (
                    "employee_management".to_owned(),
                    string(employment.employee_management.as_str()),
                ),
            ],
        )?;
        attrs.push(("employee".to_owned(), employee));
    }
    let mut tags = Vec::with_capacity(memberships.len());
    for (account, m) in memberships {
        tags.push((
            account.as_str().to_owned(),
            membership_record(names, id, m)?,
        ));
    }
    let uid = names.uid(EntityKind::User, id);
    finish(id, Entity::new_with_tags(uid, attrs, [], tags))
}

fn membership_record(
    names: &TypeNames,
    id: &str,
    m: &ClientUserRecord,
) -> Result<RestrictedExpression, SliceError> {
    let mut fields = vec![
        ("role".to_owned(), string(m.role.as_str())),
        ("seat".to_owned(), string(m.seat.as_str())),
        ("status".to_owned(), string(m.status.as_str())),
        (
            "permissions".to_owned(),
            RestrictedExpression::new_set(m.permissions.iter().map(|p| string(p.as_str()))),
        ),
        (
            "keep_billing".to_owned(),
            RestrictedExpression::new_bool(m.keep_billing),
        ),
        (
            "paid_hubs".to_owned(),
            RestrictedExpression::new_set(m.paid_hubs.iter().map(|h| string(h.as_str()))),
        ),
    ];
    if let Some(p) = &m.partner {
        fields.push((
            "partner".to_owned(),
            RestrictedExpression::new_entity_uid(names.uid(EntityKind::Partner, p.as_str())),
        ));
    }
    record(id, fields)
}
