//! The reads of the API: the CAM's lists (authorized like commands, PA-1), the relationship at
//! an instant (REL-5), and the audit log and outbox with cursors.

use serde::Serialize;
use serde_json::Map;
use utoipa::ToSchema;

use super::commands::{AuditRecord, Event};
use super::{App, AppError};
use crate::domain::{
    ClientId, ClientRecord, ClientUserRecord, Email, EmployeeManagement, PartnerId, PeriodView,
    RelationshipHistory, RelationshipState, RelationshipView, Role, Status, Timestamp,
};
use crate::policy::{CheckRequest, EntityKind, EntityRef};
use crate::store::{Log, Snapshot};

/// The most records a page of the audit log or the outbox holds.
pub const MAX_PAGE: usize = 1000;

/// Which clients the CAM's client list shows (`access=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessFilter {
    /// Clients with an active partner admin of the partner.
    PartnerAdmin,
    /// Clients with an active partner user of the partner.
    PartnerUser,
    /// Clients whose partner users of the partner are all deactivated.
    Deactivated,
}

/// `GET /v1/partners/{partner}/clients`: the clients the partner's employees can access.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerClients {
    pub partner: PartnerId,
    pub clients: Vec<PartnerClient>,
}

/// One client of the partner's list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerClient {
    pub id: ClientId,
    /// The partner's own name for the client, if it has one (ADD-4).
    #[schema(required = true)]
    pub crm_name: Option<String>,
    pub official_name: String,
    /// The state of the client's managed relationship now.
    pub relationship: RelationshipState,
    pub users: UserCounts,
}

/// How many users a client has, by role, and how many of them are the partner's.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UserCounts {
    pub super_admin: usize,
    pub partner_admin: usize,
    pub standard: usize,
    /// The users linked to the partner, whatever their role and status.
    pub partner_users: usize,
    /// The users linked to the partner that are deactivated.
    pub deactivated_partner_users: usize,
}

/// `GET /v1/partners/{partner}/employees`: the partner's employees.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerEmployees {
    pub partner: PartnerId,
    pub employees: Vec<PartnerEmployee>,
}

/// One employee of the partner, with the clients it is a user of.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerEmployee {
    pub email: Email,
    /// Its address is in one of the partner's approved e-mail domains (ADD-5).
    pub verified: bool,
    pub super_admin: bool,
    pub employee_management: EmployeeManagement,
    pub clients: Vec<ClientId>,
}

/// `GET /v1/clients/{client}/users`: the users of a client account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClientUsers {
    pub client: ClientId,
    pub official_name: String,
    /// The managing partner's CRM name for the client, if any (ADD-4).
    #[schema(required = true)]
    pub crm_name: Option<String>,
    pub users: Vec<ClientUserRecord>,
}

/// A page of a log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub records: Vec<T>,
    /// The cursor for the next page (`after=`), or none at the end.
    #[schema(required = true)]
    pub next: Option<u64>,
}

impl App {
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, AppError> {
        self.store.snapshot().map_err(|e| self.unavailable(e))
    }

    /// Refuses a read the policies deny (403 with the deciding ids).
    fn authorize_read(
        &self,
        snapshot: &dyn Snapshot,
        actor: &Email,
        action: &str,
        resource: EntityRef,
    ) -> Result<(), AppError> {
        let engine = self.engine();
        let request = CheckRequest {
            principal: EntityRef::new(EntityKind::User, actor.as_str()),
            action: action.to_owned(),
            resource: resource.clone(),
            context: Map::new(),
        };
        let decision = engine
            .decide(&request, snapshot)
            .map_err(|e| AppError::Unavailable(crate::store::StoreError::Read(e.to_string())))?;
        if decision.allowed {
            return Ok(());
        }
        let mut rules: Vec<String> = engine
            .action(action)
            .map(|a| a.rules.clone())
            .unwrap_or_default();
        rules.extend(decision.reasons.iter().cloned());
        Err(AppError::Forbidden {
            message: format!("`{actor}` may not `{action}` on `{resource}`"),
            rules,
        })
    }

    /// The partner, if the actor may see its Client Access Manager lists (PA-1 `view`).
    fn partner_for_view(
        &self,
        snapshot: &dyn Snapshot,
        actor: &Email,
        partner_id: &PartnerId,
    ) -> Result<crate::domain::PartnerRecord, AppError> {
        let partner = snapshot
            .partner_record(partner_id)
            .map_err(|e| self.unavailable(e))?
            .ok_or_else(|| AppError::NotFound(format!("unknown partner `{partner_id}`")))?;
        self.authorize_read(
            snapshot,
            actor,
            "partner.view",
            EntityRef::new(EntityKind::Partner, partner_id.as_str()),
        )?;
        Ok(partner)
    }

    /// `GET /v1/partners/{partner}/clients`: clients the partner's employees can access, with
    /// CRM and official names, relationship state and user counts by role.
    pub fn partner_clients(
        &self,
        actor: &Email,
        partner_id: &PartnerId,
        access: Option<AccessFilter>,
    ) -> Result<PartnerClients, AppError> {
        let snapshot = self.snapshot()?;
        let partner = self.partner_for_view(snapshot.as_ref(), actor, partner_id)?;
        let now = Timestamp::now();
        let mut clients = Vec::new();
        for id in snapshot.client_ids().map_err(|e| self.unavailable(e))? {
            let Some(client) = snapshot
                .client_record(&id)
                .map_err(|e| self.unavailable(e))?
            else {
                continue;
            };
            let ours: Vec<_> = client
                .users
                .iter()
                .filter(|u| u.partner.as_ref() == Some(partner_id))
                .collect();
            let related = client
                .relationship
                .as_ref()
                .and_then(RelationshipHistory::current)
                .is_some_and(|r| &r.partner == partner_id)
                || client.managed_by.as_ref() == Some(partner_id);
            if ours.is_empty() && !related {
                continue;
            }
            let active = |role: Option<Role>| {
                ours.iter()
                    .any(|u| u.status == Status::Active && role.is_none_or(|r| u.role == r))
            };
            let keep = match access {
                None => true,
                Some(AccessFilter::PartnerAdmin) => active(Some(Role::PartnerAdmin)),
                Some(AccessFilter::PartnerUser) => active(None),
                Some(AccessFilter::Deactivated) => {
                    !ours.is_empty() && ours.iter().all(|u| u.status == Status::Deactivated)
                }
            };
            if !keep {
                continue;
            }
            let count = |role: Role| client.users.iter().filter(|u| u.role == role).count();
            let relationship = relationship_view(&client, now);
            clients.push(PartnerClient {
                id: client.id.clone(),
                crm_name: partner.crm_names.get(&client.id).cloned(),
                official_name: client.official_name.clone(),
                relationship: relationship.state,
                users: UserCounts {
                    super_admin: count(Role::SuperAdmin),
                    partner_admin: count(Role::PartnerAdmin),
                    standard: count(Role::Standard),
                    partner_users: ours.len(),
                    deactivated_partner_users: ours
                        .iter()
                        .filter(|u| u.status == Status::Deactivated)
                        .count(),
                },
            });
        }
        Ok(PartnerClients {
            partner: partner_id.clone(),
            clients,
        })
    }

    /// `GET /v1/partners/{partner}/employees`: every employee, verified ones marked (ADD-5),
    /// with partner rights and the clients each is a user of.
    pub fn partner_employees(
        &self,
        actor: &Email,
        partner_id: &PartnerId,
    ) -> Result<PartnerEmployees, AppError> {
        let snapshot = self.snapshot()?;
        let partner = self.partner_for_view(snapshot.as_ref(), actor, partner_id)?;
        let mut employees = Vec::new();
        for e in &partner.employees {
            let clients = snapshot
                .clients_of_user(&e.email)
                .map_err(|err| self.unavailable(err))?;
            employees.push(PartnerEmployee {
                email: e.email.clone(),
                verified: partner.email_domains.iter().any(|d| d == e.email.domain()),
                super_admin: e.super_admin,
                employee_management: e.employee_management,
                clients,
            });
        }
        Ok(PartnerEmployees {
            partner: partner_id.clone(),
            employees,
        })
    }

    /// `GET /v1/clients/{client}/users`: users with role, seat, permissions, status, partner
    /// and keep_billing, plus the official name and the managing partner's CRM name (ADD-4).
    pub fn client_users(
        &self,
        actor: &Email,
        client_id: &ClientId,
    ) -> Result<ClientUsers, AppError> {
        let snapshot = self.snapshot()?;
        let client = snapshot
            .client_record(client_id)
            .map_err(|e| self.unavailable(e))?
            .ok_or_else(|| AppError::NotFound(format!("unknown client `{client_id}`")))?;
        self.authorize_read(
            snapshot.as_ref(),
            actor,
            "client.users.view",
            EntityRef::new(EntityKind::Account, client_id.as_str()),
        )?;
        let crm_name = match &client.managed_by {
            Some(p) => snapshot
                .partner_record(p)
                .map_err(|e| self.unavailable(e))?
                .and_then(|p| p.crm_names.get(client_id).cloned()),
            None => None,
        };
        Ok(ClientUsers {
            client: client.id,
            official_name: client.official_name,
            crm_name,
            users: client.users,
        })
    }

    /// `GET /v1/clients/{client}/relationship?at=`: the relationship at an instant, past or
    /// future, from the client's recorded history (REL-5). Returns the instant and the view.
    pub fn relationship(
        &self,
        client_id: &ClientId,
        at: Option<Timestamp>,
    ) -> Result<(Timestamp, RelationshipView), AppError> {
        let client = self.client_for_relationship(client_id)?;
        let at = at.unwrap_or_else(Timestamp::now);
        Ok((at, relationship_view(&client, at)))
    }

    /// `GET /v1/clients/{client}/relationship/history`: every relationship of the client,
    /// oldest first, as of now (REL-4, REL-5).
    pub fn relationship_history(&self, client_id: &ClientId) -> Result<Vec<PeriodView>, AppError> {
        let client = self.client_for_relationship(client_id)?;
        let now = Timestamp::now();
        Ok(match (&client.relationship, unrecorded(&client)) {
            (Some(history), _) if !history.periods.is_empty() => history.listed(now),
            // Imported managed, with partner users, and no history yet: one relationship of
            // unknown start.
            (_, Some(partner)) => vec![PeriodView {
                partner,
                state: RelationshipState::Active,
                started_at: None,
                ending_since: None,
                ended_at: None,
                last_activity_at: None,
            }],
            _ => Vec::new(),
        })
    }

    fn client_for_relationship(&self, client_id: &ClientId) -> Result<ClientRecord, AppError> {
        let snapshot = self.snapshot()?;
        snapshot
            .client_record(client_id)
            .map_err(|e| self.unavailable(e))?
            .ok_or_else(|| AppError::NotFound(format!("unknown client `{client_id}`")))
    }

    /// `GET /v1/audit`: audit records after a cursor, oldest first, optionally of one client.
    pub fn audit(
        &self,
        client: Option<&ClientId>,
        after: u64,
        limit: usize,
    ) -> Result<Page<AuditRecord>, AppError> {
        self.page(Log::Audit, after, limit, |record: &AuditRecord| {
            client.is_none_or(|c| record.client.as_ref() == Some(c))
        })
    }

    /// `GET /v1/events`: outbox events after a cursor, oldest first.
    pub fn events(&self, after: u64, limit: usize) -> Result<Page<Event>, AppError> {
        self.page(Log::Events, after, limit, |_: &Event| true)
    }

    fn page<T: serde::de::DeserializeOwned + Sequenced>(
        &self,
        log: Log,
        after: u64,
        limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page<T>, AppError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let snapshot = self.snapshot()?;
        let mut records = Vec::new();
        let mut cursor = after;
        // Scan in bounded chunks so a sparse filter cannot make one request unbounded.
        for _ in 0..16 {
            let chunk = snapshot
                .log_range(log, cursor, MAX_PAGE)
                .map_err(|e| self.unavailable(e))?;
            let exhausted = chunk.len() < MAX_PAGE;
            for (seq, bytes) in chunk {
                cursor = seq;
                let mut record: T = serde_json::from_slice(&bytes).map_err(|e| {
                    self.unavailable(crate::store::StoreError::Corrupt {
                        key: format!("log/{seq}"),
                        message: e.to_string(),
                    })
                })?;
                record.set_seq(seq);
                if keep(&record) {
                    records.push(record);
                    if records.len() == limit {
                        let more = !snapshot
                            .log_range(log, cursor, 1)
                            .map_err(|e| self.unavailable(e))?
                            .is_empty();
                        return Ok(Page {
                            records,
                            next: more.then_some(cursor),
                        });
                    }
                }
            }
            if exhausted {
                return Ok(Page {
                    records,
                    next: None,
                });
            }
        }
        Ok(Page {
            records,
            next: Some(cursor),
        })
    }
}

/// A log record that carries its sequence number.
pub trait Sequenced {
    fn set_seq(&mut self, seq: u64);
}

impl Sequenced for AuditRecord {
    fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }
}

impl Sequenced for Event {
    fn set_seq(&mut self, seq: u64) {
        self.seq = seq;
    }
}

/// The relationship of a client at an instant, from its history (REL-5).
fn relationship_view(client: &ClientRecord, at: Timestamp) -> RelationshipView {
    match (&client.relationship, unrecorded(client)) {
        (Some(history), _) if !history.periods.is_empty() => history.view_at(at),
        (_, Some(partner)) => RelationshipView {
            partner: Some(partner),
            state: RelationshipState::Active,
            started_at: None,
            ends_at: None,
            last_activity_at: None,
        },
        _ => RelationshipView::none(),
    }
}

/// The managing partner of a client imported with its partner users but no relationship history
/// yet (the first command there starts one).
fn unrecorded(client: &ClientRecord) -> Option<PartnerId> {
    if client
        .relationship
        .as_ref()
        .is_some_and(|h| !h.periods.is_empty())
    {
        return None;
    }
    client
        .managed_by
        .clone()
        .filter(|p| client.users.iter().any(|u| u.partner.as_ref() == Some(p)))
}
