//! Checks: one decision, read through the cache, failing closed.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use uuid::Uuid;

use super::decision_log::DecisionRecord;
use super::{App, AppError, Consistency};
use crate::cache::CachedView;
use crate::domain::{ClientId, Email, PolicyVersion, Verdict};
use crate::policy::{
    CheckError, CheckRequest, Decision, EntityKind, EntityRef, PolicyEngine, ResolvedAction,
    SliceError,
};
use crate::store::StoreError;

/// The check path's metric handles, registered once per policy set: looking a labelled series
/// up by name on every check (and allocating its labels) costs more than the rest of a cached
/// decision.
pub(super) struct CheckMetrics {
    /// The decision series of the policy set checks last used.
    decisions: ArcSwap<DecisionSeries>,
    duration: metrics::Histogram,
}

/// `partner_access_decisions_total{action, outcome}` of one engine: [deny, allow] per declared
/// action, by the action's slot.
struct DecisionSeries {
    engine: u64,
    by_slot: Vec<[metrics::Counter; 2]>,
}

impl DecisionSeries {
    fn new(engine: &PolicyEngine) -> Self {
        let by_slot = engine
            .actions()
            .map(|a| {
                let series = |outcome: &'static str| {
                    metrics::counter!(
                        "partner_access_decisions_total",
                        "action" => a.name.clone(),
                        "outcome" => outcome
                    )
                };
                [
                    series(Verdict::Deny.label()),
                    series(Verdict::Allow.label()),
                ]
            })
            .collect();
        DecisionSeries {
            engine: engine.id(),
            by_slot,
        }
    }
}

impl CheckMetrics {
    fn new(engine: &PolicyEngine) -> Self {
        CheckMetrics {
            decisions: ArcSwap::from_pointee(DecisionSeries::new(engine)),
            duration: metrics::histogram!("partner_access_check_duration_seconds"),
        }
    }

    /// The decision series of `engine`'s actions, registered on its first check (after a
    /// reload, the same series by name as before for the actions it keeps).
    fn series(&self, engine: &PolicyEngine) -> Arc<DecisionSeries> {
        let current = self.decisions.load_full();
        if current.engine == engine.id() {
            return current;
        }
        let fresh = Arc::new(DecisionSeries::new(engine));
        self.decisions.store(fresh.clone());
        fresh
    }

    /// Counts a decision of `action` (resolved to `slot` in the engine of `series`, or not
    /// declared there) and its duration.
    fn record(
        &self,
        series: &DecisionSeries,
        slot: Option<usize>,
        action: &str,
        verdict: Verdict,
        started: Instant,
    ) {
        match slot.and_then(|slot| series.by_slot.get(slot)) {
            Some(pair) => pair[usize::from(verdict.is_allow())].increment(1),
            // An action the policies do not declare, answered Deny while the store is
            // unavailable.
            None => metrics::counter!(
                "partner_access_decisions_total",
                "action" => action.to_owned(),
                "outcome" => verdict.label()
            )
            .increment(1),
        }
        self.duration.record(started.elapsed().as_secs_f64());
    }
}

/// A decision with what a host needs to join it with logs and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub decision: Decision,
    /// Unique per decision (UUID v7, time-ordered), for joining with logs.
    pub decision_id: String,
    /// The store revision the decision was evaluated at.
    pub revision: u64,
    /// The policy set that decided.
    pub policy_version: PolicyVersion,
    /// Time this decision spent reading the store (zero when the cache answered it all).
    pub store_time: Duration,
}

/// The 400 for an action the schema does not declare (with the declared action it most
/// likely meant, when there is one), pointing at the list of actions.
pub(super) fn unknown_action(e: &CheckError) -> AppError {
    AppError::invalid(format!("{e}; see GET /v1/schema/actions"))
}

/// Refuses (409) a request that expects another policy set than `active`, the one deciding
/// it: a fleet in the middle of a rollout, or a sidecar that has not reloaded yet. Such a
/// request gets no decision at all, never one under rules it did not ask for.
pub fn expect_policy_version(active: &PolicyVersion, expected: &str) -> Result<(), AppError> {
    if active.is(expected) {
        return Ok(());
    }
    Err(AppError::Conflict {
        message: format!(
            "policy_version: the request expects policy set `{expected}`, and this sidecar \
             decides under `{active}` (a rollout or reload in progress); nothing was decided: \
             retry once the sidecars agree, or ask without `policy_version`"
        ),
        rules: Vec::new(),
    })
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
        self.checker().check(request)
    }

    /// A checker for several requests (a batch): one policy set and one consistent view of
    /// the state for all of them, so every answer has the same revision, and requests with
    /// the same principal and account share the entity slice (and its memoized decisions).
    pub fn checker(&self) -> Checker<'_> {
        let view = if self.feed.cache_trusted() {
            self.cache.view(self.store.as_ref())
        } else {
            // A shared store whose changes this sidecar has not caught up with in time: the
            // cache may be stale, so it is not read (see `follow`).
            self.cache.view_uncached(self.store.as_ref())
        };
        self.checker_over(view)
    }

    /// A checker whose answers are at least as fresh as `consistency` asks: from the cache
    /// when this sidecar has applied the revision, else from a fresh snapshot of the store
    /// (after waiting for the store to reach the revision; 503 when it does not in time).
    pub fn checker_with(&self, consistency: Consistency) -> Result<Checker<'_>, AppError> {
        if consistency == Consistency::MinimizeLatency {
            return Ok(self.checker());
        }
        if self.may_use_cache(consistency) {
            return Ok(self.checker_over(self.cache.view(self.store.as_ref())));
        }
        if let Consistency::AtLeastAsFresh(revision) = consistency {
            self.wait_for_revision(revision)?;
        }
        // A fresh snapshot is decided under the policy set the store has active: on a shared
        // store the feed is read first, so an activation another sidecar committed before this
        // check began is followed. One this sidecar cannot follow (the feed or the version does
        // not load) is a 503, never a decision under the set it replaced.
        if self.follows_a_shared_store() && !self.follow_changes() {
            return Err(AppError::Unavailable(StoreError::Read(
                "this sidecar cannot catch up with the store's change feed (or load the policy \
                 version it activates), so it cannot decide on the latest state"
                    .into(),
            )));
        }
        Ok(self.checker_over(self.cache.view_uncached(self.store.as_ref())))
    }

    fn checker_over<'a>(&'a self, view: CachedView<'a>) -> Checker<'a> {
        let engine = self.engine();
        let metrics = self
            .check_metrics
            .get_or_init(|| CheckMetrics::new(&engine));
        Checker {
            app: self,
            series: metrics.series(&engine),
            engine,
            view,
            metrics,
            noted: RefCell::new(None),
        }
    }
}

/// Decides requests over one policy set and one view of the state; see [`App::checker`].
pub struct Checker<'a> {
    app: &'a App,
    engine: Arc<PolicyEngine>,
    view: CachedView<'a>,
    metrics: &'a CheckMetrics,
    /// The decision series of `engine`'s actions.
    series: Arc<DecisionSeries>,
    /// The principal and resource whose Allow was last noted as activity: a batch asks about
    /// one user in one account many times over, and one note is enough.
    noted: RefCell<Option<(EntityRef, EntityRef)>>,
}

impl Checker<'_> {
    /// Decides one request. A store failure is a Deny with an error entry, never an Allow.
    pub fn check(&self, request: &CheckRequest) -> CheckOutcome {
        let started = Instant::now();
        let store_before = self.view.store_time();
        let app = self.app;
        // Resolved once: every later question about the action on this request goes through it.
        let action = self.engine.resolve(&request.action);
        let slot = action.as_ref().ok().map(|a| a.slot());
        let decision = if app.store_usable() {
            app.decide_through_cache(&self.engine, request, action, &self.view)?
        } else {
            // Fail closed: the cache may still hold answers, but while the store is known to
            // fail nothing vouches for them.
            denied("the store is unavailable; denied".into())
        };
        if decision.allowed {
            self.note_activity_once(request);
        }
        self.metrics.record(
            &self.series,
            slot,
            &request.action,
            decision.verdict(),
            started,
        );
        let checked = Checked {
            revision: self.view.revision(),
            decision,
            decision_id: Uuid::now_v7().to_string(),
            policy_version: self.engine.version().clone(),
            store_time: self.view.store_time().saturating_sub(store_before),
        };
        if let Some(log) = app.decision_log.get()
            && log.sampled()
        {
            log.record(DecisionRecord {
                time: crate::domain::Timestamp::now(),
                decision_id: checked.decision_id.clone(),
                principal: request.principal.to_string(),
                action: request.action.clone(),
                resource: request.resource.to_string(),
                decision: checked.decision.verdict().as_str(),
                reasons: checked.decision.reasons.clone(),
                errors: checked.decision.errors.clone(),
                revision: checked.revision,
                policy_version: checked.policy_version.clone(),
                latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            });
        }
        Ok(checked)
    }

    /// Notes the activity of an Allow (see `App::note_partner_activity`) unless this
    /// checker noted the same principal in the same resource last.
    fn note_activity_once(&self, request: &CheckRequest) {
        let mut noted = self.noted.borrow_mut();
        if let Some((principal, resource)) = noted.as_ref()
            && *principal == request.principal
            && *resource == request.resource
        {
            return;
        }
        self.app.note_partner_activity(request, &self.view);
        *noted = Some((request.principal.clone(), request.resource.clone()));
    }

    /// The revision this checker's answers are at (for answers to items that could not be
    /// decided at all).
    pub fn revision(&self) -> u64 {
        self.view.revision()
    }

    /// The time this checker's decisions have spent reading the store so far.
    pub fn store_time(&self) -> Duration {
        self.view.store_time()
    }

    /// The policy set this checker decides under.
    pub fn policy_version(&self) -> &PolicyVersion {
        self.engine.version()
    }

    /// Refuses (409) a request that expects another policy set than this checker decides
    /// under (see [`expect_policy_version`]).
    pub fn expect_policy_version(&self, expected: &str) -> Result<(), AppError> {
        expect_policy_version(self.engine.version(), expected)
    }
}

impl App {
    /// Decides `request`, whose action `engine` resolved to `action` (or found undeclared).
    fn decide_through_cache(
        &self,
        engine: &PolicyEngine,
        request: &CheckRequest,
        action: Result<ResolvedAction<'_>, CheckError>,
        view: &CachedView<'_>,
    ) -> Result<Decision, AppError> {
        // Slices derived from the cache are reused only while it is read.
        let generation = || {
            if view.bypasses_cache() {
                None
            } else {
                self.cache.generation()
            }
        };
        let decided = action.and_then(|action| {
            engine.decide_resolved(request, action, view, &self.slices, &generation)
        });
        match decided {
            Ok(decision) => Ok(decision),
            Err(e @ CheckError::UnknownAction { .. }) => Err(unknown_action(&e)),
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
            ClientId::parse(&*request.resource.id),
        ) else {
            return;
        };
        // Usually a cache hit (the decision's slice was built from it): a shared record, of
        // which only the partner is copied.
        if let Ok(Some(partner)) = view.membership_partner(&client, &email) {
            self.activity.note(client, partner);
        }
    }
}
