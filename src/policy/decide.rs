//! Deciding a request: checking it against its action's declared types, building its entity
//! slice from a [`Directory`] (or reusing a cached one), and evaluating only the policies whose
//! scope can match its action, failing closed.
//!
//! Cedar skips a policy whose evaluation errors, which for a `forbid` would silently turn a Deny
//! into an Allow; here any erroring `forbid` makes the decision Deny (see
//! [`PolicyEngine::evaluate`]). [`PolicyEngine::decide_plain`] decides as plain Cedar would, for
//! the equivalence tests that guard the partitioning and the cache.

use std::sync::Arc;

use cedar_policy::{Context, Decision as CedarDecision, Entities, EntityUid, Request};
use serde_json::Value;

use super::entities::build_slice;
use super::request::{normalize, normalize_context};
use super::slices::CachedSlice;
use super::{
    ActionEntry, CheckError, CheckRequest, Decision, EntityRef, PolicyEngine, ResolvedAction,
    SliceCache, SliceError,
};
use crate::domain::Directory;

/// How [`PolicyEngine::decide_inner`] ends.
#[derive(Clone, Copy)]
pub(super) enum Finish {
    /// Decide with the partitioned policies, failing closed.
    Decide,
    /// Decide as a plain `Authorizer` over the whole set would.
    Plain,
    /// Hand back the Cedar request and entities (for explanations).
    Prepare,
}

/// What [`PolicyEngine::decide_inner`] gives.
pub(super) enum Outcome {
    Decided(Decision),
    Prepared(Box<(Request, Entities)>),
}

impl Outcome {
    pub(super) fn decision(self) -> Decision {
        match self {
            Outcome::Decided(decision) => decision,
            // Only `Finish::Prepare` prepares; its caller never asks for a decision.
            Outcome::Prepared(..) => Decision::deny_with(vec!["not decided".into()]),
        }
    }
}

impl PolicyEngine {
    /// Decides one request, reading what it needs from `directory`.
    ///
    /// Unknown principals and resources are a Deny with an error naming them. A state that
    /// cannot be read is an `Err`: the caller denies (checks) or answers 503 (commands).
    pub fn decide<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
    ) -> Result<Decision, CheckError> {
        self.decide_fresh(request, directory, Finish::Decide)
    }

    /// The same request decided as plain Cedar would: the whole policy set as written (no
    /// partition, no narrowed scopes) and Cedar's own answer (no fail-closed override). For the
    /// equivalence tests that guard the optimizations.
    pub fn decide_plain<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
    ) -> Result<Decision, CheckError> {
        self.decide_fresh(request, directory, Finish::Plain)
    }

    /// Decides `request` without a slice cache: every entity is read from `directory`.
    fn decide_fresh<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        directory: &D,
        finish: Finish,
    ) -> Result<Decision, CheckError> {
        let action = self.resolve(&request.action)?;
        self.decide_inner(request, action, directory, None, finish)
            .map(Outcome::decision)
    }

    /// As [`PolicyEngine::decide`], for a request whose action is already resolved (by
    /// [`PolicyEngine::resolve`] of `request.action`), reusing the entity slice of an earlier
    /// request with the same principal and resource (and no context) while `generation` says
    /// the state it was built from is still current. `generation` returns the store generation
    /// when no write is in flight, `None` while one is: nothing is reused or stored then.
    pub fn decide_resolved<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        action: ResolvedAction<'_>,
        directory: &D,
        slices: &SliceCache,
        generation: &dyn Fn() -> Option<u64>,
    ) -> Result<Decision, CheckError> {
        let action = self.own(action)?;
        self.decide_inner(
            request,
            action,
            directory,
            Some((slices, generation)),
            Finish::Decide,
        )
        .map(Outcome::decision)
    }

    /// Decides `request`, whose action this engine resolved to `action`.
    pub(super) fn decide_inner<D: Directory + ?Sized>(
        &self,
        request: &CheckRequest,
        action: ResolvedAction<'_>,
        directory: &D,
        slices: Option<(&SliceCache, &dyn Fn() -> Option<u64>)>,
        finish: Finish,
    ) -> Result<Outcome, CheckError> {
        let entry = action.entry;
        let (action_uid, info) = (&entry.uid, &entry.info);
        for (role, r, allowed) in [
            ("principal", &request.principal, &info.principal_types),
            ("resource", &request.resource, &info.resource_types),
        ] {
            if !allowed.iter().any(|t| t == r.kind.type_name()) {
                return Err(CheckError::InvalidRequest(format!(
                    "{role} `{r}` is not valid for action `{}`: expected {}",
                    info.name,
                    allowed
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                )));
            }
        }

        // The slice of a context-free request depends only on principal and resource.
        let reusable = request.context.is_empty() && !entry.context_required;
        let slices = slices.filter(|_| reusable);
        let key = (normalize(&request.principal), normalize(&request.resource));
        let (principal, resource) = (&key.0, &key.1);
        let generation = slices.and_then(|(_, g)| g());
        if let (Some((cache, _)), Some(generation)) = (slices, generation)
            && let Some(hit) = cache.get(&key, generation, self.id)
        {
            // A context-free decision depends only on the policies (this engine), the slice
            // (this generation) and the action: decided once per slice and action. The warm
            // path ends here, before anything else is built.
            return hit
                .decision(action.slot, || {
                    self.decide_over(principal, entry, resource, hit.entities())
                })
                .map(Outcome::Decided);
        }

        let mut refs = vec![principal.clone(), resource.clone()];
        let context_value = normalize_context(&request.context, &mut refs);
        let context = if request.context.is_empty() {
            Context::empty()
        } else {
            Context::from_json_value(
                Value::Object(context_value),
                Some((&self.schema, action_uid)),
            )
            .map_err(|e| CheckError::InvalidRequest(format!("invalid context: {e}")))?
        };

        let slice = build_slice(&self.names, directory, &refs, &[principal, resource])?;
        if !slice.unknown.is_empty() {
            return Ok(Outcome::Decided(Decision::deny_with(
                slice
                    .unknown
                    .iter()
                    .map(|r| {
                        let role = if r == principal {
                            "principal"
                        } else if r == resource {
                            "resource"
                        } else {
                            "entity"
                        };
                        format!("unknown {role} `{r}`")
                    })
                    .collect(),
            )));
        }

        // A request with a context is checked against the action's declared context (types of
        // every attribute); the check actions take none, so the hot path skips this.
        let cedar_request =
            self.cedar_request(principal, action_uid, resource, context, !reusable)?;
        let entities = Entities::from_entities(
            slice
                .entities
                .into_iter()
                .chain(self.action_entities.iter().cloned()),
            None,
        )
        .map_err(|e| {
            CheckError::Slice(SliceError::Build {
                entity: "slice".into(),
                message: e.to_string(),
            })
        })?;
        if let (Some((cache, current)), Some(generation)) = (slices, generation) {
            let decision = self.evaluate_in(entry, &cedar_request, &entities);
            let slice = Arc::new(CachedSlice::new(
                generation,
                self.id,
                entities,
                self.action_table.len(),
            ));
            slice.memoize(action.slot, decision.clone());
            // Stored only if no write started since the lookups were made.
            if current() == Some(generation) {
                cache.put(key, slice);
            }
            return Ok(Outcome::Decided(decision));
        }
        if let Finish::Prepare = finish {
            return Ok(Outcome::Prepared(Box::new((cedar_request, entities))));
        }
        if let Finish::Plain = finish {
            let response = self
                .authorizer
                .is_authorized(&cedar_request, &self.policies, &entities);
            return Ok(Outcome::Decided(cedar_answer(&response)));
        }
        Ok(Outcome::Decided(self.evaluate_in(
            entry,
            &cedar_request,
            &entities,
        )))
    }

    /// Evaluates a context-free request over a cached slice.
    fn decide_over(
        &self,
        principal: &EntityRef,
        action: &ActionEntry,
        resource: &EntityRef,
        entities: &Entities,
    ) -> Result<Decision, CheckError> {
        let request =
            self.cedar_request(principal, &action.uid, resource, Context::empty(), false)?;
        Ok(self.evaluate_in(action, &request, entities))
    }

    fn cedar_request(
        &self,
        principal: &EntityRef,
        action: &EntityUid,
        resource: &EntityRef,
        context: Context,
        validate: bool,
    ) -> Result<Request, CheckError> {
        let to_uid = |r: &EntityRef| {
            r.to_uid()
                .map_err(|e| CheckError::InvalidRequest(e.to_string()))
        };
        Request::new(
            to_uid(principal)?,
            action.clone(),
            to_uid(resource)?,
            context,
            validate.then_some(&self.schema),
        )
        .map_err(|e| CheckError::InvalidRequest(format!("invalid request: {e}")))
    }

    /// Evaluates a Cedar request over given entities with the policies that can apply to its
    /// action, failing closed on erroring forbids.
    pub fn evaluate(&self, request: &Request, entities: &Entities) -> Decision {
        let action = request.action().map(|a| a.id().unescaped()).unwrap_or("");
        match self.resolve(action) {
            Ok(action) => self.evaluate_in(action.entry, request, entities),
            Err(_) => Decision::deny_with(Vec::new()),
        }
    }

    /// As [`PolicyEngine::evaluate`], for a request whose action is `action`.
    pub(super) fn evaluate_in(
        &self,
        action: &ActionEntry,
        request: &Request,
        entities: &Entities,
    ) -> Decision {
        let Some(policies) = &action.policies else {
            return Decision::deny_with(Vec::new());
        };
        self.answer(&self.authorizer.is_authorized(request, policies, entities))
    }

    /// Cedar's answer, failing closed: a forbid whose evaluation errored makes it a Deny.
    fn answer(&self, response: &cedar_policy::Response) -> Decision {
        let decision = cedar_answer(response);
        let failed_forbids: Vec<String> = response
            .diagnostics()
            .errors()
            .filter_map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(e) => {
                    let id = e.policy_id();
                    self.forbids.contains(id).then(|| id.to_string())
                }
            })
            .collect();
        if !failed_forbids.is_empty() {
            // Fail closed: a forbid that could not be evaluated might have applied.
            return Decision {
                allowed: false,
                reasons: failed_forbids,
                errors: decision.errors,
            };
        }
        decision
    }
}

/// Cedar's own answer, as it gives it: its decision, the determining policies (sorted) and the
/// errors of the policies it skipped.
fn cedar_answer(response: &cedar_policy::Response) -> Decision {
    let mut reasons: Vec<String> = response
        .diagnostics()
        .reason()
        .map(ToString::to_string)
        .collect();
    reasons.sort();
    Decision {
        allowed: response.decision() == CedarDecision::Allow,
        reasons,
        errors: response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect(),
    }
}
