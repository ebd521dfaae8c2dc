//! What a policy command takes, stores and answers: the files of a set, a stored version
//! with the tests it passed, an activation, the history, and what a push or an activation did.
//! The stored ones are kept as JSON in the store's side tables (see the parent module).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{PolicyVersion, Timestamp};

/// What a file of a policy set is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyFileKind {
    /// A `.cedarschema` file.
    Schema,
    /// A `.cedar` file.
    Policy,
}

impl PolicyFileKind {
    /// The kind a file name's extension says, if any.
    pub fn of_name(name: &str) -> Option<Self> {
        match Path::new(name).extension().and_then(|e| e.to_str()) {
            Some("cedarschema") => Some(PolicyFileKind::Schema),
            Some("cedar") => Some(PolicyFileKind::Policy),
            _ => None,
        }
    }
}

/// One file of a policy set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyFile {
    /// Its file name (no directory): `hub.cedarschema`, `partner.cedar`.
    pub name: String,
    pub kind: PolicyFileKind,
    pub text: String,
}

/// The declarative policy tests a version passed when it was pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TestsRun {
    /// The test files, by name.
    pub files: Vec<String>,
    /// How many cases passed (all of them: a failing case refuses the push).
    pub passed: usize,
}

/// A stored policy set: immutable once pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoredPolicySet {
    pub version: PolicyVersion,
    /// Schema files first, then policy files, each sorted by name.
    pub files: Vec<PolicyFile>,
    /// How many policies it holds.
    pub policies: usize,
    pub pushed_by: String,
    pub pushed_at: Timestamp,
    pub tests: TestsRun,
}

/// One activation: which version became active, who made it so, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activation {
    pub version: PolicyVersion,
    pub activated_by: String,
    pub activated_at: Timestamp,
    /// The version active before, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PolicyVersion>,
    /// The store revision the activation committed as.
    pub revision: u64,
}

/// A stored version as the history lists it (without its files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionSummary {
    pub version: PolicyVersion,
    pub pushed_by: String,
    pub pushed_at: Timestamp,
    pub policies: usize,
    pub tests: TestsRun,
    /// Whether it is the store's active version.
    pub active: bool,
}

/// The store's policy versions (oldest push first), the active one, and every activation
/// (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PolicyHistory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<Activation>,
    pub versions: Vec<PolicyVersionSummary>,
    pub activations: Vec<Activation>,
}

/// A test file to run at push: on disk (the CLI: the paths it names are relative to it), or
/// as text (HTTP: its state must be inline).
#[derive(Debug, Clone)]
pub enum TestSource {
    File(PathBuf),
    Text { name: String, text: String },
}

impl TestSource {
    pub(super) fn name(&self) -> String {
        match self {
            TestSource::File(path) => path.display().to_string(),
            TestSource::Text { name, .. } => name.clone(),
        }
    }
}

/// A policy set to push.
#[derive(Debug, Clone)]
pub struct PolicyPush {
    pub files: Vec<PolicyFile>,
    pub tests: Vec<TestSource>,
    /// Who pushes it, for the record.
    pub actor: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Pushed {
    pub version: PolicyVersion,
    /// False when the same files were stored already: nothing was written, and the answer
    /// is the version as it was first pushed.
    pub created: bool,
    pub pushed_by: String,
    pub pushed_at: Timestamp,
    pub policies: usize,
    pub tests: TestsRun,
    /// The store revision the push committed as (absent when nothing was written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
}

/// What an activation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Activated {
    /// The activation in force now.
    #[serde(flatten)]
    pub activation: Activation,
    /// False when the version was active already: nothing was written.
    pub changed: bool,
}
