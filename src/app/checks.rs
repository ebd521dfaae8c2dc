//! Checks: one decision, read through the cache, failing closed.

use std::time::Instant;

use uuid::Uuid;

use super::{App, AppError};
use crate::cache::CachedView;
use crate::domain::{ClientId, Directory, Email};
use crate::policy::{CheckError, CheckRequest, Decision, EntityKind, PolicyEngine, SliceError};

/// A decision with what a host needs to join it with logs and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub decision: Decision,
    /// Unique per decision (UUID v7, time-ordered), for joining with logs.
    pub decision_id: String,
    /// The store revision the decision was evaluated at.
    pub revision: u64,
}

/// A check's outcome: a decision (possibly a fail-closed Deny), or a request that cannot be
/// decided at all (400).
pub type CheckOutcome = Result<Checked, AppError>;

fn denied(error: String) -> Decision {
    Decision {
        allowed: false,
        reasons: Vec::new(),
        errors: vec![error],
    }
}

impl App {
    /// Decides one request. A store failure is a Deny with an error entry, never an Allow.
    pub fn check(&self, request: &CheckRequest) -> CheckOutcome {
        let started = Instant::now();
        let engine = self.engine();
        let view = self.cache.view(self.store.as_ref());
        let decision = if self.store_usable() {
            self.decide_through_cache(&engine, request, &view)?
        } else {
            // Fail closed: the cache may still hold answers, but while the store is known to
            // fail nothing vouches for them.
            denied("the store is unavailable; denied".into())
        };
        if decision.allowed {
            self.note_partner_activity(request, &view);
        }
        metrics::counter!(
            "partner_access_decisions_total",
            "action" => request.action.clone(),
            "outcome" => if decision.allowed { "allow" } else { "deny" }
        )
        .increment(1);
        metrics::histogram!("partner_access_check_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(Checked {
            revision: view.revision(),
            decision,
            decision_id: Uuid::now_v7().to_string(),
        })
    }

    fn decide_through_cache(
        &self,
        engine: &PolicyEngine,
        request: &CheckRequest,
        view: &CachedView<'_>,
    ) -> Result<Decision, AppError> {
        let generation = || self.cache.generation();
        match engine.decide_with_slices(request, view, &self.slices, &generation) {
            Ok(decision) => Ok(decision),
            Err(CheckError::UnknownAction(name)) => Err(AppError::invalid(format!(
                "unknown action `{name}`: the schema declares no such action (see GET /v1/schema/actions)"
            ))),
            Err(CheckError::InvalidRequest(message)) => Err(AppError::invalid(message)),
            Err(CheckError::Slice(SliceError::Store(e))) => {
                self.store_failed(&crate::store::StoreError::Read(e.to_string()));
                Ok(denied(format!("the store could not be read; denied: {e}")))
            }
            Err(CheckError::Slice(e)) => {
                metrics::counter!("partner_access_evaluation_errors_total").increment(1);
                tracing::error!(error = %e, "entity building failed");
                Ok(denied(format!(
                    "the request could not be evaluated; denied: {e}"
                )))
            }
        }
    }

    /// REL-3: an Allow for a partner user in a client account is partner activity. Recorded
    /// in memory (no disk write on the check path); flushed in batches.
    fn note_partner_activity(&self, request: &CheckRequest, view: &CachedView<'_>) {
        if request.principal.kind != EntityKind::User
            || request.resource.kind != EntityKind::Account
        {
            return;
        }
        let (Ok(email), Ok(client)) = (
            Email::parse(&request.principal.id),
            ClientId::parse(request.resource.id.clone()),
        ) else {
            return;
        };
        // A cache hit: the decision just read this membership.
        if let Ok(Some(member)) = view.membership(&client, &email)
            && let Some(partner) = member.partner
        {
            self.activity.note(client, partner);
        }
    }
}
