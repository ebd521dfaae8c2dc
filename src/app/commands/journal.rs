//! The journal of the commands: what each one leaves behind besides its changes. The audit
//! record (every command, allowed or refused), the outbox events for hosts, and the
//! idempotency table (a first answer, replayed to a repeat of the same request with the same
//! `Idempotency-Key` for the TTL, then pruned by a sweep).
//!
//! All of it is written in the command's own transaction (`execute.rs`), so an applied
//! command and its records commit together, and a refusal commits its records alone.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::vocab::{self, AuditOutcome, CommandName, EventKind};
use super::{CmdError, CmdResult};
use crate::app::{App, AppError};
use crate::domain::{ClientId, Email, PolicyVersion, Timestamp, Verdict};
use crate::store::{Aux, Log, StoreError, WriteError, WriteTx, write};

/// Who asks, and how to recognise a repeat.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    /// The person acting, as the host authenticated them: the Cedar principal.
    pub actor: Email,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// A digest of method, path and body: a repeated key must come with the same request.
    pub request_digest: String,
}

impl CommandMeta {
    /// Digests what identifies a request.
    pub fn digest(method: &str, path: &str, body: &[u8]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(method.as_bytes());
        hasher.update([0]);
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(body);
        hex(&hasher.finalize())
    }
}

/// What a command answers: HTTP-agnostic status class and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandAnswer {
    /// `true` when the command created something (201), else 200.
    pub created: bool,
    pub body: Value,
    /// The revision the command produced (or, for a replay, the revision of the first answer).
    pub revision: u64,
    /// Whether this answer is the replay of an earlier one with the same idempotency key.
    #[serde(default)]
    pub replayed: bool,
}

/// What the idempotency table keeps of a first answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAnswer {
    digest: String,
    answer: Result<CommandAnswer, StoredError>,
    /// The digest of the access-link token the first answer carried. The token itself is a
    /// secret shown once: the kept answer has no `token` member, so neither the store nor a
    /// replay ever shows it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    /// When the first answer was given: it is replayed for the idempotency TTL, then the key
    /// is new again and the answer is pruned. `None` in answers kept before answers carried
    /// their time; the pruning sweep stamps those when it reaches them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<Timestamp>,
}

impl StoredAnswer {
    /// Moves a token still in the kept answer (one kept before tokens were withheld) out of it,
    /// keeping its digest.
    fn withhold_token(&mut self) {
        if let Ok(answer) = &mut self.answer
            && let Value::Object(body) = &mut answer.body
            && let Some(Value::String(token)) = body.remove("token")
        {
            self.link.get_or_insert_with(|| sha256_hex(&token));
        }
    }
}

/// How long an `Idempotency-Key`'s first answer is replayed unless configured otherwise.
pub const DEFAULT_IDEMPOTENCY_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Idempotency answers the pruning sweep looks at in each command that keeps one: more than a
/// command adds, so the table stays near what one TTL of commands keeps, at a bounded cost
/// per transaction.
pub(super) const SWEEP_PER_COMMAND: usize = 16;

/// Idempotency answers the background sweep looks at per round.
pub const SWEEP_PER_ROUND: usize = 1_000;

/// A refusal as the idempotency table keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredError {
    pub kind: String,
    pub message: String,
    pub rules: Vec<String>,
}

impl StoredError {
    pub(super) fn from_app(e: &AppError) -> Option<Self> {
        let kind = match e {
            AppError::Forbidden { .. } => "forbidden",
            AppError::Conflict { .. } => "conflict",
            AppError::NotFound(_) => "not_found",
            AppError::InvalidRequest { .. } => "invalid_request",
            AppError::Unavailable(_) => return None,
        };
        Some(StoredError {
            kind: kind.into(),
            message: e.to_string(),
            rules: e.rules(),
        })
    }

    pub(super) fn into_app(self) -> AppError {
        match self.kind.as_str() {
            "forbidden" => AppError::Forbidden {
                message: self.message,
                rules: self.rules,
            },
            "conflict" => AppError::Conflict {
                message: self.message,
                rules: self.rules,
            },
            "not_found" => AppError::NotFound(self.message),
            _ => AppError::invalid(self.message),
        }
    }
}

/// One audit record: who did what, when, the decision, the deciding ids, the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditRecord {
    /// Its place in the log: the cursor `after=` takes.
    #[serde(default)]
    #[schema(required = true)]
    pub seq: u64,
    pub time: Timestamp,
    /// Who acted: the person's e-mail for a command of the Client Access Manager; for a
    /// policy command, the operator as the CLI's `--actor` or the request's `actor` names them;
    /// for an administration write, the channel it came through (`admin-token` over HTTP,
    /// `cli` from the command line).
    pub actor: String,
    pub command: CommandName,
    /// What the command was about: `client/c-globex`, `partner/p-acme/employee/...`.
    pub target: String,
    /// The client account concerned, if any (the `client=` filter of `GET /v1/audit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
    /// `allow` or `deny`: the policies' verdict on the command.
    #[serde(with = "vocab::verdict_label")]
    #[schema(schema_with = vocab::verdict_label::schema)]
    pub decision: Verdict,
    /// The policy ids that decided (every decision the command asked for).
    pub policies: Vec<String>,
    /// The rule ids named by the deciding policies or by the refusal.
    pub rules: Vec<String>,
    /// `applied`, `denied`, `conflict`, `not_found` or `invalid`.
    pub outcome: AuditOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The policy set the command was decided under (absent in records written before
    /// records carried it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<PolicyVersion>,
}

/// One outbox event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Its place in the outbox: the cursor `after=` takes.
    #[serde(default)]
    #[schema(required = true)]
    pub seq: u64,
    /// `access_link.approved`, `user.created`, `user.removed`, ...
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<ClientId>,
    /// What happened, by kind: the client, the user's e-mail, and what changed.
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub data: Value,
}

/// What one step of the idempotency sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired answers removed.
    pub removed: usize,
    /// Answers kept before answers carried their time, stamped with it (and their token
    /// withheld).
    pub stamped: usize,
}

impl App {
    /// Looks at the next `budget` idempotency answers after the sweep's cursor in `tx`:
    /// removes those older than the TTL, and stamps those kept before answers carried their
    /// time with `now` (so they expire one TTL later), withholding a token they hold. The
    /// cursor wraps to the start of the table after its end. An answer that does not decode
    /// is left for its key's replay to report.
    pub(super) fn sweep_idempotency(
        &self,
        tx: &mut dyn WriteTx,
        now: Timestamp,
        budget: usize,
    ) -> Result<Swept, StoreError> {
        let after = self
            .idempotency_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let entries = tx.aux_after(Aux::Idempotency, &after, budget)?;
        let mut swept = Swept::default();
        for (key, bytes) in &entries {
            let Ok(mut stored) = serde_json::from_slice::<StoredAnswer>(bytes) else {
                continue;
            };
            match stored.created_at {
                Some(created) if now.since(created) >= self.idempotency_ttl => {
                    tx.remove_aux(Aux::Idempotency, key)?;
                    swept.removed += 1;
                }
                Some(_) => {}
                None => {
                    stored.created_at = Some(now);
                    stored.withhold_token();
                    let bytes = serde_json::to_vec(&stored)
                        .map_err(|e| StoreError::Write(e.to_string()))?;
                    tx.put_aux(Aux::Idempotency, key, &bytes)?;
                    swept.stamped += 1;
                }
            }
        }
        let next = match entries.last() {
            Some((key, _)) if entries.len() >= budget => key.clone(),
            _ => String::new(),
        };
        *self
            .idempotency_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(swept)
    }

    /// One round of the background sweep (up to [`SWEEP_PER_ROUND`] answers) in a write
    /// transaction of its own, committed only when it changed something.
    pub fn sweep_idempotency_round(&self) -> Result<Swept, AppError> {
        let now = Timestamp::now();
        let result = write::<_, Swept, Swept>(self.store.as_ref(), |tx| {
            let swept = self.sweep_idempotency(tx, now, SWEEP_PER_ROUND)?;
            if swept == Swept::default() {
                Err(WriteError::Aborted(swept))
            } else {
                Ok(swept)
            }
        });
        match result {
            Ok((swept, committed)) => {
                self.committed(&committed);
                Ok(swept)
            }
            Err(WriteError::Aborted(swept)) => Ok(swept),
            Err(WriteError::Store(e)) => Err(self.unavailable(e)),
        }
    }

    /// How many idempotency answers the store keeps (expired ones not yet pruned included).
    pub fn kept_idempotency_answers(&self) -> Result<usize, AppError> {
        let snapshot = self.store.snapshot().map_err(|e| self.unavailable(e))?;
        let mut count = 0;
        let mut after = String::new();
        loop {
            let page = snapshot
                .aux_after(Aux::Idempotency, &after, SWEEP_PER_ROUND)
                .map_err(|e| self.unavailable(e))?;
            count += page.len();
            match page.last() {
                Some((key, _)) if page.len() == SWEEP_PER_ROUND => after = key.clone(),
                _ => return Ok(count),
            }
        }
    }
}

/// What the idempotency table holds for a key.
pub(super) enum Kept {
    /// Nothing, or an expired answer: the key is new, the command runs and its answer replaces
    /// the expired one.
    None,
    /// The first answer, to replay.
    Answer(Result<CommandAnswer, StoredError>),
    /// The key cannot be answered: used with another request, or its link is gone (409).
    Refused(AppError),
}

/// The kept answer of `key` (see [`Kept`]).
pub(super) fn kept(
    tx: &dyn WriteTx,
    key: &str,
    digest: &str,
    now: Timestamp,
    ttl: std::time::Duration,
) -> Result<Kept, StoreError> {
    let Some(bytes) = tx.aux(Aux::Idempotency, key)? else {
        return Ok(Kept::None);
    };
    let mut stored: StoredAnswer =
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            key: "idempotency".into(),
            message: e.to_string(),
        })?;
    if stored
        .created_at
        .is_some_and(|created| now.since(created) >= ttl)
    {
        return Ok(Kept::None);
    }
    if stored.digest != digest {
        return Ok(Kept::Refused(AppError::Conflict {
            message: "this Idempotency-Key was already used with a different request".into(),
            rules: Vec::new(),
        }));
    }
    // An answer kept before tokens were withheld may still hold one: it is never shown again
    // either, and is judged by its digest like the others.
    stored.withhold_token();
    let StoredAnswer { answer, link, .. } = stored;
    let Ok(mut answer) = answer else {
        return Ok(Kept::Answer(answer));
    };
    if link.is_some()
        && let Value::Object(body) = &mut answer.body
    {
        body.insert("token_withheld".into(), Value::Bool(true));
    }
    if let Some(link) = link
        && tx.aux(Aux::AccessLinks, &link)?.is_none()
    {
        return Ok(Kept::Refused(AppError::Conflict {
            message: "this Idempotency-Key issued an access link that has since been revoked \
                      or rotated away; its token is never shown again (issue a new link with \
                      a new Idempotency-Key)"
                .into(),
            rules: Vec::new(),
        }));
    }
    Ok(Kept::Answer(Ok(answer)))
}

pub(super) fn store_answer<E>(
    tx: &mut dyn WriteTx,
    key: &str,
    digest: &str,
    answer: Result<CommandAnswer, StoredError>,
    link: Option<String>,
    now: Timestamp,
) -> Result<(), WriteError<E>> {
    let stored = StoredAnswer {
        digest: digest.to_owned(),
        answer,
        link,
        created_at: Some(now),
    };
    let bytes = serde_json::to_vec(&stored).map_err(|e| StoreError::Write(e.to_string()))?;
    tx.put_aux(Aux::Idempotency, key, &bytes)?;
    Ok(())
}

pub(crate) fn append<T: Serialize, E>(
    tx: &mut dyn WriteTx,
    log: Log,
    record: &T,
) -> Result<(), WriteError<E>> {
    let bytes = serde_json::to_vec(record).map_err(|e| StoreError::Write(e.to_string()))?;
    Ok(tx.append_log(log, &bytes)?)
}

/// JSON bytes of a side-table record.
pub(crate) fn json_bytes<T: Serialize>(value: &T) -> CmdResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| CmdError::Store(StoreError::Write(e.to_string())))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 digest of text, lower-case hex.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}
