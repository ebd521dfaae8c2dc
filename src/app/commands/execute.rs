//! One command, one write transaction: [`App::execute`] replays a repeated idempotency key,
//! runs the command's work in a [`Ctx`], and commits its changes together with its audit
//! record, its events and its idempotency answer. A refused command rolls its changes back and
//! commits its audit record (and answer) in a transaction of its own.
//!
//! Because redb has one writer at a time, and commands sharing a transaction (group commit,
//! see `store::group_commit`) run one after the other, each on the changes of those before it,
//! the invariants checked inside the transaction hold under concurrency; on PostgreSQL the
//! store's locks give the same. A command may run more than once (when its batch is dropped),
//! so it decides everything from what it reads.

use std::collections::BTreeSet;

use serde_json::Value;

use super::journal::{
    self, AuditRecord, CommandAnswer, CommandMeta, Kept, SWEEP_PER_COMMAND, StoredError, append,
    store_answer,
};
use super::vocab::{AuditOutcome, CommandName};
use super::{CmdError, CmdResult, Ctx};
use crate::app::{App, AppError};
use crate::domain::{ClientId, PolicyVersion, Timestamp, Verdict};
use crate::store::{Aux, Log, WriteError, write};

/// Why a command's transaction did not commit.
enum Outcome {
    Replay(Result<CommandAnswer, StoredError>),
    Refused(Refusal),
    Conflict(AppError),
}

/// A refused command, as its audit record tells it.
struct Refusal {
    error: AppError,
    /// The policies that decided, in the order asked.
    policies: Vec<String>,
    client: Option<ClientId>,
    /// The policy set the command was decided under.
    policy_version: PolicyVersion,
}

impl App {
    /// Runs one command in one write transaction: replays a repeated idempotency key, runs
    /// `work`, and commits its changes with the audit record and events. A refused command
    /// commits only its audit record (and its idempotency answer).
    pub(super) fn execute(
        &self,
        meta: &CommandMeta,
        command: CommandName,
        target: &str,
        mut work: impl FnMut(&mut Ctx<'_>) -> CmdResult<(bool, Value)>,
    ) -> Result<CommandAnswer, AppError> {
        let now = Timestamp::now();
        let started = std::time::Instant::now();
        // The policies that decided the committed attempt (a refusal carries its own).
        let mut decided: Vec<String> = Vec::new();
        let idempotency = meta
            .idempotency_key
            .as_deref()
            .map(|k| format!("{}\u{0}{k}", meta.actor));

        let result = write(self.store.as_ref(), |tx| {
            if let Some(key) = &idempotency {
                match journal::kept(&*tx, key, &meta.request_digest, now, self.idempotency_ttl)? {
                    Kept::None => {}
                    Kept::Answer(stored) => {
                        return Err(WriteError::Aborted(Outcome::Replay(stored)));
                    }
                    Kept::Refused(e) => return Err(WriteError::Aborted(Outcome::Conflict(e))),
                }
            }
            // Loaded inside the unit of work: a reload swaps the set inside one too, after
            // checking the stored state, so this command decides with the set in force now.
            let engine = self.engine();
            let mut ctx = Ctx {
                tx,
                engine: &engine,
                actor: meta.actor.clone(),
                now,
                policies: Vec::new(),
                rules: BTreeSet::new(),
                events: Vec::new(),
                client: None,
                loaded: Vec::new(),
                issued_link: None,
            };
            match work(&mut ctx) {
                Ok((created, body)) => {
                    // Taken after the work: on a shared store, writers of other accounts run in
                    // parallel until here.
                    let revision = ctx.tx.commit_revision()?;
                    let audit = AuditRecord {
                        seq: 0,
                        time: now,
                        actor: meta.actor.to_string(),
                        command,
                        target: target.to_owned(),
                        client: ctx.client.clone(),
                        decision: Verdict::Allow,
                        policies: ctx.policies.clone(),
                        rules: ctx.rules.iter().cloned().collect(),
                        outcome: AuditOutcome::Applied,
                        message: None,
                        revision: Some(revision),
                        policy_version: Some(engine.version().clone()),
                    };
                    decided.clone_from(&audit.policies);
                    let events = std::mem::take(&mut ctx.events);
                    let issued_link = ctx.issued_link.take();
                    let tx = ctx.tx;
                    append(tx, Log::Audit, &audit)?;
                    for event in &events {
                        append(tx, Log::Events, event)?;
                    }
                    let answer = CommandAnswer {
                        created,
                        body,
                        revision,
                        replayed: false,
                    };
                    if let Some(key) = &idempotency {
                        let mut kept = answer.clone();
                        if issued_link.is_some()
                            && let Value::Object(body) = &mut kept.body
                        {
                            body.remove("token");
                        }
                        store_answer(tx, key, &meta.request_digest, Ok(kept), issued_link, now)?;
                        self.sweep_idempotency(tx, now, SWEEP_PER_COMMAND)?;
                    }
                    Ok(answer)
                }
                Err(CmdError::Store(e)) => Err(WriteError::Store(e)),
                Err(CmdError::Refused(error)) => {
                    Err(WriteError::Aborted(Outcome::Refused(Refusal {
                        error,
                        policies: ctx.policies,
                        client: ctx.client,
                        policy_version: engine.version().clone(),
                    })))
                }
            }
        });

        let store_time = started.elapsed();
        let span = tracing::Span::current();
        let record = |decision: &str, policies: &[String]| {
            if span.is_disabled() {
                return;
            }
            span.record("command", command.as_str());
            span.record("decision", decision);
            span.record("policy_ids", policies.join(",").as_str());
            span.record(
                "store_us",
                u64::try_from(store_time.as_micros()).unwrap_or(u64::MAX),
            );
        };
        match result {
            Ok((answer, committed)) => {
                self.committed(&committed);
                record(Verdict::Allow.as_str(), &decided);
                Ok(answer)
            }
            Err(WriteError::Aborted(Outcome::Replay(stored))) => {
                record("replayed", &[]);
                match stored {
                    Ok(mut answer) => {
                        answer.replayed = true;
                        Ok(answer)
                    }
                    Err(e) => Err(e.into_app()),
                }
            }
            Err(WriteError::Aborted(Outcome::Refused(refusal))) => {
                let decision = match refusal.error {
                    AppError::Forbidden { .. } => Verdict::Deny.as_str(),
                    _ => "refused",
                };
                record(decision, &refusal.policies);
                Err(self.record_refusal(
                    meta,
                    command,
                    target,
                    refusal,
                    idempotency.as_deref(),
                    now,
                ))
            }
            Err(WriteError::Aborted(Outcome::Conflict(e))) => {
                record("conflict", &[]);
                Err(e)
            }
            Err(WriteError::Store(e)) => {
                record("unavailable", &[]);
                Err(self.unavailable(e))
            }
        }
    }

    /// Writes the audit record (and idempotency answer) of a refused command in a transaction
    /// of its own: the command's own writes were rolled back. Returns the refusal's error.
    fn record_refusal(
        &self,
        meta: &CommandMeta,
        command: CommandName,
        target: &str,
        refusal: Refusal,
        idempotency: Option<&str>,
        now: Timestamp,
    ) -> AppError {
        let Refusal {
            error,
            policies,
            client,
            policy_version,
        } = refusal;
        let outcome = match &error {
            AppError::Forbidden { .. } => AuditOutcome::Denied,
            AppError::Conflict { .. } => AuditOutcome::Conflict,
            AppError::NotFound(_) => AuditOutcome::NotFound,
            AppError::InvalidRequest { .. } => AuditOutcome::Invalid,
            AppError::Unavailable(_) => return error,
        };
        let audit = AuditRecord {
            seq: 0,
            time: now,
            actor: meta.actor.to_string(),
            command,
            target: target.to_owned(),
            client,
            decision: if outcome == AuditOutcome::Denied {
                Verdict::Deny
            } else {
                Verdict::Allow
            },
            policies,
            rules: error.rules(),
            outcome,
            message: Some(error.to_string()),
            revision: None,
            policy_version: Some(policy_version),
        };
        let stored = StoredError::from_app(&error);
        let result = write::<_, (), Outcome>(self.store.as_ref(), |tx| {
            // The key's answer is looked at (and, on a shared store, locked) before the audit
            // record takes this write's place in the commit order. A request with the same key
            // may have been answered since this one was refused: its answer stays.
            let answered = match idempotency {
                Some(key) => tx.aux(Aux::Idempotency, key)?.is_some(),
                None => true,
            };
            append(tx, Log::Audit, &audit)?;
            if let (Some(key), Some(stored), false) = (idempotency, stored.clone(), answered) {
                store_answer(tx, key, &meta.request_digest, Err(stored), None, now)?;
                self.sweep_idempotency(tx, now, SWEEP_PER_COMMAND)?;
            }
            Ok(())
        });
        match result {
            Ok(((), committed)) => self.committed(&committed),
            Err(WriteError::Store(e)) => {
                self.store_failed(&e);
            }
            Err(WriteError::Aborted(_)) => {}
        }
        error
    }
}
