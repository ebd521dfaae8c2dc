//! The Client Access Manager's commands: every state change a host sends on behalf of a person.
//!
//! Each command is a type of its own, in a file of its own (like mini-redis's `cmd/`; granting
//! and revoking one permission share one generic type over the side, `one_permission.rs`): its
//! body as the host sends it, its answer, its name in the audit log, and its [`Command::run`],
//! which reads what it needs from the transaction, asks the Cedar policies (403 naming the
//! deciding ids when they deny), keeps the account's rules (MIG-4, SEAT-5, SEAT-3, LINK-2: 409)
//! and applies its changes. [`App::run`] runs any of them in one write transaction
//! (`execute.rs`): either all of it commits with its audit record and outbox events
//! ([`journal`]), or nothing but the audit record of the refusal does.
//!
//! The HTTP layer builds a command from its route's path parameters and JSON body
//! ([`Command::new`]) and hands it to [`App::run`]; it knows no command by its insides.
//!
//! The commands, by theme: [`links`] (access links, approval, manual links), [`cam`] (the
//! Client Access Manager on partner users: adding, permission sets, deactivation, removal) and
//! [`client_side`] (migration to partner admin, users, seats and permissions inside the client
//! account).

pub mod cam;
pub mod client_side;
mod ctx;
mod execute;
pub mod journal;
pub mod links;
mod one_permission;
mod save;
pub mod vocab;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{App, AppError};
use crate::domain::Email;

pub use ctx::{
    Clamped, CmdError, CmdResult, Ctx, PermissionsApplied, account_ref, context, partner_ref,
    user_ref,
};
pub(crate) use ctx::{account, conflict, invalid, not_found};
pub use journal::{
    AuditRecord, CommandAnswer, CommandMeta, DEFAULT_IDEMPOTENCY_TTL, Event, SWEEP_PER_ROUND,
    StoredError, Swept,
};
pub(crate) use journal::{hex, json_bytes, sha256_hex};
pub(crate) use save::link_verified_users;
pub use vocab::{AuditOutcome, CommandName, EventKind};

/// The most items a list in a command may hold (employees, users, clients).
pub const MAX_LIST: usize = 1000;

/// A command's JSON body: the person acting (as the host authenticated them, the Cedar
/// principal) and the command's own fields.
pub trait CommandBody: DeserializeOwned + Send + 'static {
    /// The `actor` member.
    fn actor(&self) -> &Email;
}

/// [`CommandBody`] for a body whose `actor` member is its field `actor`, as every body's is:
/// the one place the actor is read from a body (the HTTP layer makes [`CommandMeta::actor`]
/// from it, and a command reads it as `ctx.actor`).
macro_rules! body_with_actor {
    ($body:ty) => {
        impl $crate::app::commands::CommandBody for $body {
            fn actor(&self) -> &$crate::domain::Email {
                &self.actor
            }
        }
    };
}
pub(crate) use body_with_actor;

/// One command of the Client Access Manager.
pub trait Command: Send + Sync + 'static {
    /// Its route's path parameters, in order (a tuple).
    type Path: DeserializeOwned + Send + 'static;
    /// Its JSON body.
    type Body: CommandBody;
    /// What it answers when applied (the HTTP layer adds the `revision`).
    type Answer: Serialize;

    /// The command its route's path parameters and body make.
    fn new(path: Self::Path, body: Self::Body) -> Self;

    /// Its name in the audit log.
    fn name(&self) -> CommandName;

    /// What it is about, as the audit record's `target` says it (`client/c-1/user/a@b`).
    fn target(&self) -> String;

    /// What is refused before any transaction begins (a list too long or empty): 400, and no
    /// audit record, as for a body that does not parse.
    fn check(&self) -> Result<(), AppError> {
        Ok(())
    }

    /// Runs inside the command's transaction.
    fn run(&self, ctx: &mut Ctx<'_>) -> CmdResult<Applied<Self::Answer>>;
}

/// A command's answer, and whether it created something (201) or not (200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<A> {
    pub created: bool,
    pub answer: A,
}

impl<A> Applied<A> {
    /// An answer that created nothing (200).
    pub fn changed(answer: A) -> Self {
        Applied {
            created: false,
            answer,
        }
    }

    /// An answer that created something when `created` (201), else 200.
    pub fn created_if(created: bool, answer: A) -> Self {
        Applied { created, answer }
    }
}

/// Checks `len` items of the list `field` against 1 to [`MAX_LIST`] (400 otherwise).
pub(crate) fn list_size(field: &str, what: &str, len: usize) -> Result<(), AppError> {
    if len == 0 || len > MAX_LIST {
        return Err(AppError::invalid(format!(
            "{field}: expected 1 to {MAX_LIST} {what}, got {len}"
        )));
    }
    Ok(())
}

impl App {
    /// Runs `command` for `meta.actor` in one write transaction (see `execute.rs`).
    pub fn run<C: Command>(
        &self,
        meta: &CommandMeta,
        command: &C,
    ) -> Result<CommandAnswer, AppError> {
        command.check()?;
        self.execute(meta, command.name(), &command.target(), |ctx| {
            let applied = command.run(ctx)?;
            let body = serde_json::to_value(&applied.answer).map_err(|e| {
                CmdError::Store(crate::store::StoreError::Write(format!(
                    "the answer does not serialize: {e}"
                )))
            })?;
            Ok((applied.created, body))
        })
    }
}
