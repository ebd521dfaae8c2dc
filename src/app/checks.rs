//! Checks: one decision, read through the cache, failing closed.

use std::time::Instant;

use uuid::Uuid;

use super::{App, AppError};
use crate::policy::{CheckError, CheckRequest, Decision, SliceError};

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

impl App {
    /// Decides one request. A store failure is a Deny with an error entry, never an Allow.
    pub fn check(&self, request: &CheckRequest) -> CheckOutcome {
        let started = Instant::now();
        let engine = self.engine();
        let view = self.cache.view(self.store.as_ref());
        let decision = match engine.decide(request, &view) {
            Ok(decision) => decision,
            Err(CheckError::UnknownAction(name)) => {
                return Err(AppError::invalid(format!(
                    "unknown action `{name}`: the schema declares no such action (see GET /v1/schema/actions)"
                )));
            }
            Err(CheckError::InvalidRequest(message)) => return Err(AppError::invalid(message)),
            Err(CheckError::Slice(SliceError::Store(e))) => {
                self.store_failed(&crate::store::StoreError::Read(e.to_string()));
                Decision {
                    allowed: false,
                    reasons: Vec::new(),
                    errors: vec![format!("the store could not be read; denied: {e}")],
                }
            }
            Err(CheckError::Slice(e)) => {
                metrics::counter!("partner_access_evaluation_errors_total").increment(1);
                tracing::error!(error = %e, "entity building failed");
                Decision {
                    allowed: false,
                    reasons: Vec::new(),
                    errors: vec![format!("the request could not be evaluated; denied: {e}")],
                }
            }
        };
        let outcome = if decision.allowed { "allow" } else { "deny" };
        metrics::counter!(
            "partner_access_decisions_total",
            "action" => request.action.clone(),
            "outcome" => outcome
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
}
