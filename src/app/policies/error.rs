//! Why a policy command was refused ([`PolicyError`]), and one failing policy test of a push
//! ([`TestFailure`]).

use serde::Serialize;

use crate::domain::OrphanedPermissions;
use crate::policy::LoadErrors;
use crate::store::{StoreError, WriteError};

/// One failing policy test: a file that could not be run, or a case that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestFailure {
    pub file: String,
    /// The case, when a case failed (absent: the file itself is broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    pub message: String,
}

impl std::fmt::Display for TestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.case {
            Some(case) => write!(f, "{}: {case}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Why a policy command was refused. Nothing was stored or changed, except after a store
/// error whose outcome is unknown ([`PolicyError::is_outcome_unknown`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The request itself is wrong (a file name, a version prefix, an actor).
    #[error("{0}")]
    BadInput(String),
    /// The set does not validate strictly (every error, with file and line).
    #[error("the policy set does not validate ({count} errors):\n{0}", count = .0.0.len())]
    Invalid(LoadErrors),
    /// A test failed: the push is refused.
    #[error("{} policy test(s) failed; nothing was stored:\n{}", .0.len(), lines(.0))]
    TestsFailed(Vec<TestFailure>),
    /// No stored version has this hash (or prefix).
    #[error("no stored policy version starts with `{0}` (see `policies list`)")]
    UnknownVersion(String),
    /// More than one stored version starts with the prefix.
    #[error("`{prefix}` names more than one stored policy version ({}); give more of the hash", versions.join(", "))]
    AmbiguousVersion {
        prefix: String,
        versions: Vec<String>,
    },
    /// This sidecar serves its policy directory: the store's active version is not what it
    /// serves, so activating one here is refused.
    #[error(
        "this sidecar serves the policies of its directory, not the store's: activation is \
         refused here. Activate on a sidecar started with --policies-from-store, or with \
         `partner-access policies activate` on the store"
    )]
    DirectoryMode,
    /// The store holds no active version (a sidecar serving the store's policies cannot start
    /// or reload).
    #[error(
        "the store has no active policy version: push and activate one with `partner-access \
         policies push DIR --schema DIR --activate` (with --data or --store), or `PUT \
         /v1/admin/policies` with `\"activate\": true`"
    )]
    NoActiveVersion,
    /// The schema of the version drops permissions that stored records hold.
    #[error(transparent)]
    Orphans(OrphanedPermissions),
    /// The store failed; nothing was changed.
    #[error("the store is unavailable: {0}")]
    Store(StoreError),
    /// An impact analysis ran past the request's deadline.
    #[error("{0}")]
    TooLong(String),
    /// A push's impact is not the one acknowledged (`--expect-impact`): nothing was stored.
    #[error("{0}\nnothing was stored")]
    ImpactNotAcknowledged(String),
}

fn lines(failures: &[TestFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl PolicyError {
    /// A store write whose commit was sent and not confirmed: unlike every other refusal, it
    /// may have been applied (answered 504 `outcome_unknown`).
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, PolicyError::Store(StoreError::OutcomeUnknown { .. }))
    }
}

impl From<StoreError> for PolicyError {
    fn from(e: StoreError) -> Self {
        PolicyError::Store(e)
    }
}

impl From<WriteError<PolicyError>> for PolicyError {
    fn from(e: WriteError<PolicyError>) -> Self {
        match e {
            WriteError::Aborted(e) => e,
            WriteError::Store(e) => PolicyError::Store(e),
        }
    }
}
