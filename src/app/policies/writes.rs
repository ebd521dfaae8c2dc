//! The two writes of a policy set, on a [`Store`] alone (the command line runs them without a
//! sidecar): [`push`] stores a tested version, [`activate`] makes one the store's active
//! version after checking the stored state under it. Each commits its audit record with it.

use std::sync::Arc;

use super::files::{check_actor, engine_of, run_tests};
use super::stored::{ACTIVE, HISTORY, active_of, decode, encode, resolve};
use super::{Activated, Activation, PolicyError, PolicyPush, Pushed, StoredPolicySet};
use crate::app::commands::{AuditOutcome, AuditRecord, CommandName};
use crate::domain::{PolicyVersion, Timestamp, Verdict, check_orphans};
use crate::policy::PolicyEngine;
use crate::store::{Aux, Committed, Log, Store, WriteError, write};

/// The audit record of a policy command.
fn audit(
    actor: &str,
    command: CommandName,
    version: &PolicyVersion,
    message: String,
    revision: u64,
    now: Timestamp,
) -> AuditRecord {
    AuditRecord {
        seq: 0,
        time: now,
        actor: actor.to_owned(),
        command,
        target: format!("policies/{version}"),
        client: None,
        decision: Verdict::Allow,
        policies: Vec::new(),
        rules: Vec::new(),
        outcome: AuditOutcome::Applied,
        message: Some(message),
        revision: Some(revision),
        policy_version: Some(version.clone()),
    }
}

/// Validates, tests and stores a policy set (see the module doc). Answers the stored version,
/// and what was committed (nothing when the version was stored already).
pub fn push(
    store: &dyn Store,
    push: &PolicyPush,
    now: Timestamp,
) -> Result<(Pushed, Option<Committed>), PolicyError> {
    check_actor(&push.actor)?;
    let engine = engine_of(&push.files)?;
    let tests = run_tests(&engine, &push.tests)?;
    let version = engine.version().clone();
    let mut files = push.files.clone();
    files.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let record = StoredPolicySet {
        version: version.clone(),
        files,
        policies: engine.policies().len(),
        pushed_by: push.actor.clone(),
        pushed_at: now,
        tests,
    };
    let pushed = |record: &StoredPolicySet, created, revision| Pushed {
        version: record.version.clone(),
        created,
        pushed_by: record.pushed_by.clone(),
        pushed_at: record.pushed_at,
        policies: record.policies,
        tests: record.tests.clone(),
        revision,
    };
    let result = write(store, |tx| {
        if let Some(bytes) = tx.aux(Aux::PolicySets, version.as_str())? {
            // Immutable: the version as it was first pushed.
            let existing: StoredPolicySet = decode(version.as_str(), &bytes)?;
            return Err(WriteError::Aborted(Ok(existing)));
        }
        tx.put_aux(Aux::PolicySets, version.as_str(), &encode(&record)?)?;
        let revision = tx.commit_revision()?;
        let message = format!(
            "pushed {} files ({} policies); {} test case(s) passed in {} file(s)",
            record.files.len(),
            record.policies,
            record.tests.passed,
            record.tests.files.len()
        );
        let entry = audit(
            &push.actor,
            CommandName::PoliciesPush,
            &version,
            message,
            revision,
            now,
        );
        tx.append_log(Log::Audit, &encode(&entry)?)?;
        Ok(revision)
    });
    match result {
        Ok((revision, committed)) => Ok((pushed(&record, true, Some(revision)), Some(committed))),
        Err(WriteError::Aborted(Ok(existing))) => Ok((pushed(&existing, false, None), None)),
        Err(WriteError::Aborted(Err(e))) => Err(e),
        Err(WriteError::Store(e)) => Err(PolicyError::Store(e)),
    }
}

/// Makes a stored version the active one (see the module doc). `swap` is called inside the
/// transaction, once the state has been checked, with the version's engine; it returns the
/// engine to put back should the commit fail (the CLI, serving nothing, swaps nothing).
pub fn activate(
    store: &dyn Store,
    version: &str,
    actor: &str,
    now: Timestamp,
    swap: &mut dyn FnMut(Arc<PolicyEngine>) -> Option<Arc<PolicyEngine>>,
    put_back: &mut dyn FnMut(Arc<PolicyEngine>),
) -> Result<(Activated, Option<Committed>), PolicyError> {
    check_actor(actor)?;
    let record = resolve(store.snapshot()?.as_ref(), version)?;
    let engine = Arc::new(engine_of(&record.files)?);
    let mut replaced: Option<Arc<PolicyEngine>> = None;
    let result = write(store, |tx| {
        // The whole state, alone: no write of another sidecar lands between the check and
        // the pointer's move.
        tx.exclusive()?;
        let current = active_of(&*tx)?;
        if let Some(current) = current.filter(|c| c.version == record.version) {
            return Err(WriteError::Aborted(Ok(current)));
        }
        let doc = tx.export()?;
        check_orphans(&doc, engine.catalogue())
            .map_err(|e| WriteError::Aborted(Err(PolicyError::Orphans(e))))?;
        let previous = active_of(&*tx)?.map(|a| a.version);
        let revision = tx.commit_revision()?;
        let activation = Activation {
            version: record.version.clone(),
            activated_by: actor.to_owned(),
            activated_at: now,
            previous: previous.clone(),
            revision,
        };
        let bytes = encode(&activation)?;
        tx.put_aux(Aux::PolicyActivations, ACTIVE, &bytes)?;
        tx.put_aux(
            Aux::PolicyActivations,
            &format!("{HISTORY}{revision:020}"),
            &bytes,
        )?;
        let message = match &previous {
            Some(previous) => format!("activated {}, replacing {previous}", record.version),
            None => format!("activated {}", record.version),
        };
        let entry = audit(
            actor,
            CommandName::PoliciesActivate,
            &record.version,
            message,
            revision,
            now,
        );
        tx.append_log(Log::Audit, &encode(&entry)?)?;
        if replaced.is_none() {
            replaced = swap(engine.clone());
        }
        Ok(activation)
    });
    match result {
        Ok((activation, committed)) => Ok((
            Activated {
                activation,
                changed: true,
            },
            Some(committed),
        )),
        Err(e) => {
            if let Some(old) = replaced {
                put_back(old);
            }
            match e {
                WriteError::Aborted(Ok(current)) => Ok((
                    Activated {
                        activation: current,
                        changed: false,
                    },
                    None,
                )),
                WriteError::Aborted(Err(e)) => Err(e),
                WriteError::Store(e) => Err(PolicyError::Store(e)),
            }
        }
    }
}
