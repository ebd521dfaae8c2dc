//! Versioned policy sets in the store: push, activate, list, read back.
//!
//! A policy set (its `.cedarschema` and `.cedar` files) is stored as an immutable version, known
//! by its content hash ([`PolicyVersion`], the same hash a directory of the same files has). A
//! push validates the set strictly (as `partner-access validate` does), runs the declarative
//! policy tests it is given against it (one failing case refuses the push, and nothing is
//! stored), and stores it with who pushed it, when, and the tests it passed; pushing the same
//! files again stores nothing and answers the version stored. Activation makes a stored
//! version the one in force, atomically with the check that the stored state holds no
//! permission the new schema lacks (as a reload checks): an exclusive write transaction checks
//! the state, moves the pointer, records the activation in the history and in the audit log,
//! and (on a sidecar serving the store's policies) swaps the engine before it commits. Other
//! sidecars of a fleet hear of it through the change feed ([`crate::store::StateKey`]
//! `ActivePolicy`) and load the version from the store (see [`App::follow_active_policy`]).
//! Rollback is activating an earlier version.
//!
//! The functions here work on a [`Store`] alone, so that the command line can push to and
//! activate on a store without a serving sidecar; the [`App`] methods wrap them for the HTTP
//! layer, with the sidecar's own engine swap.
//!
//! Side tables (JSON): `Aux::PolicySets` (version → [`StoredPolicySet`]) and
//! `Aux::PolicyActivations` (`active` → the [`Activation`] in force; `history/` + the commit's
//! revision, 20 digits → every [`Activation`], oldest first).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::commands::{AuditOutcome, AuditRecord, CommandName};
use super::{App, PolicySource, export_policy_version};
use crate::domain::{OrphanedPermissions, PolicyVersion, Timestamp, Verdict, check_orphans};
use crate::policy::test_cases::{FileResult, run_file, run_source};
use crate::policy::{LoadErrors, PolicyEngine, SourceFile};
use crate::store::{Aux, Committed, Log, Snapshot, Store, StoreError, WriteError, write};

/// The key of the active pointer in `Aux::PolicyActivations`.
const ACTIVE: &str = "active";
/// The prefix of the activation history's keys in `Aux::PolicyActivations`.
const HISTORY: &str = "history/";
/// The most files a policy set may have.
pub const MAX_POLICY_FILES: usize = 256;
/// The most test files a push may run.
pub const MAX_TEST_FILES: usize = 256;
/// The most versions `policies list` shows (the newest).
pub const MAX_VERSIONS_LISTED: usize = 1000;
/// The shortest prefix of a version's hash that names it.
pub const MIN_VERSION_PREFIX: usize = 8;
/// The longest actor name kept.
const MAX_ACTOR: usize = 200;

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
    fn name(&self) -> String {
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

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Write(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

/// An actor's name as given: not empty, no control characters, bounded.
pub fn check_actor(actor: &str) -> Result<(), PolicyError> {
    if actor.trim().is_empty() || actor.len() > MAX_ACTOR || actor.chars().any(char::is_control) {
        return Err(PolicyError::BadInput(format!(
            "actor: `{}` is not a name: give 1 to {MAX_ACTOR} characters, no control characters",
            actor.escape_debug()
        )));
    }
    Ok(())
}

/// The files of a set as the engine loads them: schema files and policy files, each sorted by
/// name. Every name is a plain file name whose extension is its kind, each once; at least one
/// of each kind.
fn sources(files: &[PolicyFile]) -> Result<(Vec<SourceFile>, Vec<SourceFile>), PolicyError> {
    if files.len() > MAX_POLICY_FILES {
        return Err(PolicyError::BadInput(format!(
            "files: {} files; a policy set may have at most {MAX_POLICY_FILES}",
            files.len()
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    let (mut schema, mut policies) = (Vec::new(), Vec::new());
    for file in files {
        let plain = !file.name.is_empty()
            && !file.name.starts_with('.')
            && !file
                .name
                .contains(|c: char| c == '/' || c == '\\' || c.is_control());
        if !plain {
            return Err(PolicyError::BadInput(format!(
                "files: `{}` is not a plain file name (no directory, not hidden)",
                file.name.escape_debug()
            )));
        }
        if PolicyFileKind::of_name(&file.name) != Some(file.kind) {
            return Err(PolicyError::BadInput(format!(
                "files: `{}` is not a {} file: schema files end in `.cedarschema`, policy files \
                 in `.cedar`",
                file.name,
                match file.kind {
                    PolicyFileKind::Schema => "schema",
                    PolicyFileKind::Policy => "policy",
                }
            )));
        }
        if !names.insert(file.name.as_str()) {
            return Err(PolicyError::BadInput(format!(
                "files: `{}` is given twice",
                file.name
            )));
        }
        let source = SourceFile {
            path: PathBuf::from(&file.name),
            text: file.text.clone(),
        };
        match file.kind {
            PolicyFileKind::Schema => schema.push(source),
            PolicyFileKind::Policy => policies.push(source),
        }
    }
    if schema.is_empty() || policies.is_empty() {
        return Err(PolicyError::BadInput(
            "files: a policy set needs at least one `.cedarschema` file and one `.cedar` file"
                .into(),
        ));
    }
    schema.sort_by(|a, b| a.path.cmp(&b.path));
    policies.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((schema, policies))
}

/// Reads a policy set from its directories (the files `partner-access validate` reads).
pub fn read_dirs(policies_dir: &Path, schema_dir: &Path) -> Result<Vec<PolicyFile>, PolicyError> {
    let mut files = Vec::new();
    for (dir, ext, kind) in [
        (schema_dir, "cedarschema", PolicyFileKind::Schema),
        (policies_dir, "cedar", PolicyFileKind::Policy),
    ] {
        for source in SourceFile::read_dir(dir, ext).map_err(PolicyError::Invalid)? {
            let name = source
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(PolicyFile {
                name,
                kind,
                text: source.text,
            });
        }
    }
    Ok(files)
}

/// The engine of a stored set's files.
pub(super) fn engine_of(files: &[PolicyFile]) -> Result<PolicyEngine, PolicyError> {
    let (schema, policies) = sources(files)?;
    PolicyEngine::from_sources(&schema, &policies).map_err(PolicyError::Invalid)
}

/// Runs the tests against `engine`: the names run and the cases passed, or every failure.
fn run_tests(engine: &PolicyEngine, tests: &[TestSource]) -> Result<TestsRun, PolicyError> {
    if tests.len() > MAX_TEST_FILES {
        return Err(PolicyError::BadInput(format!(
            "tests: {} files; a push may run at most {MAX_TEST_FILES}",
            tests.len()
        )));
    }
    let mut run = TestsRun::default();
    let mut failures = Vec::new();
    for test in tests {
        let result: FileResult = match test {
            TestSource::File(path) => run_file(engine, path),
            TestSource::Text { name, text } => run_source(engine, Path::new(name), text),
        };
        let file = test.name();
        if let Some(error) = &result.error {
            failures.push(TestFailure {
                file: file.clone(),
                case: None,
                message: error.clone(),
            });
        }
        for case in &result.cases {
            match &case.failure {
                None => run.passed += 1,
                Some(message) => failures.push(TestFailure {
                    file: file.clone(),
                    case: Some(case.name.clone()),
                    message: message.clone(),
                }),
            }
        }
        run.files.push(file);
    }
    if failures.is_empty() {
        Ok(run)
    } else {
        Err(PolicyError::TestsFailed(failures))
    }
}

/// A version as a caller names it: the hash or a prefix of it of at least
/// [`MIN_VERSION_PREFIX`] hex digits (any case).
fn version_prefix(given: &str) -> Result<String, PolicyError> {
    let prefix = given.trim().to_ascii_lowercase();
    if prefix.len() < MIN_VERSION_PREFIX
        || prefix.len() > 64
        || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(PolicyError::BadInput(format!(
            "version: `{}` is not a policy version: give its hash, or at least \
             {MIN_VERSION_PREFIX} hex digits of it",
            given.escape_debug()
        )));
    }
    Ok(prefix)
}

/// The stored set a version (or a unique prefix of it) names.
pub(super) fn resolve(
    snapshot: &dyn Snapshot,
    given: &str,
) -> Result<StoredPolicySet, PolicyError> {
    let prefix = version_prefix(given)?;
    if prefix.len() == 64 {
        return match snapshot.aux(Aux::PolicySets, &prefix)? {
            Some(bytes) => Ok(decode(&prefix, &bytes)?),
            None => Err(PolicyError::UnknownVersion(prefix)),
        };
    }
    // Keys sort by bytes: the versions that start with the prefix come first after it.
    let found: Vec<(String, Vec<u8>)> = snapshot
        .aux_after(Aux::PolicySets, &prefix, 2)?
        .into_iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .collect();
    match found.as_slice() {
        [] => Err(PolicyError::UnknownVersion(prefix)),
        [(key, bytes)] => Ok(decode(key, bytes)?),
        many => Err(PolicyError::AmbiguousVersion {
            prefix,
            versions: many.iter().map(|(key, _)| key.clone()).collect(),
        }),
    }
}

/// The active pointer, if any.
fn active_of(snapshot: &dyn Snapshot) -> Result<Option<Activation>, StoreError> {
    snapshot
        .aux(Aux::PolicyActivations, ACTIVE)?
        .map(|bytes| decode(ACTIVE, &bytes))
        .transpose()
}

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

/// The store's versions (the [`MAX_VERSIONS_LISTED`] first pushed... in push order), the
/// active one and every activation.
pub fn history(store: &dyn Store) -> Result<PolicyHistory, PolicyError> {
    let snapshot = store.snapshot()?;
    let active = active_of(snapshot.as_ref())?;
    let mut versions = Vec::new();
    let mut after = String::new();
    loop {
        let page = snapshot.aux_after(Aux::PolicySets, &after, 100)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (key, bytes) in &page {
            let set: StoredPolicySet = decode(key, bytes)?;
            versions.push(PolicyVersionSummary {
                active: active.as_ref().is_some_and(|a| a.version == set.version),
                version: set.version,
                pushed_by: set.pushed_by,
                pushed_at: set.pushed_at,
                policies: set.policies,
                tests: set.tests,
            });
        }
    }
    versions.sort_by(|a, b| (a.pushed_at, &a.version).cmp(&(b.pushed_at, &b.version)));
    if versions.len() > MAX_VERSIONS_LISTED {
        versions.drain(..versions.len() - MAX_VERSIONS_LISTED);
    }
    // The newest activations: the history's keys sort by revision, so the whole history is
    // paged through and its tail kept.
    let mut activations = std::collections::VecDeque::new();
    let mut after = HISTORY.to_owned();
    loop {
        let page = snapshot.aux_after(Aux::PolicyActivations, &after, MAX_VERSIONS_LISTED)?;
        let full = page.len() == MAX_VERSIONS_LISTED;
        for (key, bytes) in page {
            if key.starts_with(HISTORY) {
                activations.push_back(decode::<Activation>(&key, &bytes)?);
                if activations.len() > MAX_VERSIONS_LISTED {
                    activations.pop_front();
                }
            }
            after = key;
        }
        if !full {
            break;
        }
    }
    let activations: Vec<Activation> = activations.into();
    Ok(PolicyHistory {
        active,
        versions,
        activations,
    })
}

/// One stored version, with its files.
pub fn get(store: &dyn Store, version: &str) -> Result<StoredPolicySet, PolicyError> {
    resolve(store.snapshot()?.as_ref(), version)
}

/// The engine of the store's active version, or [`PolicyError::NoActiveVersion`].
pub(super) fn load_active(snapshot: &dyn Snapshot) -> Result<PolicyEngine, PolicyError> {
    let active = active_of(snapshot)?.ok_or(PolicyError::NoActiveVersion)?;
    let bytes = snapshot
        .aux(Aux::PolicySets, active.version.as_str())?
        .ok_or_else(|| {
            PolicyError::Store(StoreError::Corrupt {
                key: active.version.to_string(),
                message: "the active policy version is not stored".into(),
            })
        })?;
    let record: StoredPolicySet = decode(active.version.as_str(), &bytes)?;
    engine_of(&record.files)
}

impl App {
    /// Stores a policy set as a version ([`push`]); with `activate`, then activates it on this
    /// sidecar ([`App::activate_policies`]), which a sidecar serving its directory refuses
    /// before anything is stored.
    pub fn push_policies(
        &self,
        request: &PolicyPush,
        activate: bool,
    ) -> Result<(Pushed, Option<Activated>), PolicyError> {
        if activate && self.policy_source == PolicySource::Directory {
            return Err(PolicyError::DirectoryMode);
        }
        let (pushed, committed) = push(self.store.as_ref(), request, Timestamp::now())
            .map_err(|e| self.policy_failed(e))?;
        if let Some(committed) = committed {
            self.committed(&committed);
        }
        let activated = if activate {
            Some(self.activate_policies(pushed.version.as_str(), &request.actor)?)
        } else {
            None
        };
        Ok((pushed, activated))
    }

    /// Activates a stored version on this sidecar and in the store ([`activate`]): refused on
    /// a sidecar serving its policy directory ([`PolicyError::DirectoryMode`]). Runs one at a
    /// time with reloads.
    pub fn activate_policies(&self, version: &str, actor: &str) -> Result<Activated, PolicyError> {
        if self.policy_source == PolicySource::Directory {
            return Err(PolicyError::DirectoryMode);
        }
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (activated, committed) = activate(
            self.store.as_ref(),
            version,
            actor,
            Timestamp::now(),
            &mut |engine| {
                let previous = self.engine.swap(engine.clone());
                export_policy_version(engine.version(), Some(previous.version()));
                Some(previous)
            },
            &mut |old| {
                let failed = self.engine.swap(old.clone());
                export_policy_version(old.version(), Some(failed.version()));
            },
        )
        .map_err(|e| self.policy_failed(e))?;
        if let Some(committed) = committed {
            self.slices.clear();
            self.committed(&committed);
            metrics::counter!("partner_access_policy_reloads_total", "outcome" => "ok")
                .increment(1);
            tracing::info!(version = %activated.activation.version, "policy version activated");
        }
        Ok(activated)
    }

    /// The store's policy versions and activations.
    pub fn policy_history(&self) -> Result<PolicyHistory, PolicyError> {
        history(self.store.as_ref()).map_err(|e| self.policy_failed(e))
    }

    /// One stored version, with its files.
    pub fn stored_policy_set(&self, version: &str) -> Result<StoredPolicySet, PolicyError> {
        get(self.store.as_ref(), version).map_err(|e| self.policy_failed(e))
    }

    /// Whether this sidecar serves the store's active version (rather than its directory).
    pub fn serves_stored_policies(&self) -> bool {
        self.policy_source == PolicySource::Store
    }

    /// A store failure is recorded (readiness, metrics) like any other.
    fn policy_failed(&self, e: PolicyError) -> PolicyError {
        if let PolicyError::Store(store) = &e {
            self.store_failed(store);
        }
        e
    }

    /// On a sidecar serving the store's policies: loads the store's active version if it is
    /// not the one in force (another sidecar activated it; the change feed said so). The
    /// activating sidecar checked the stored state under it; a version that does not load
    /// here keeps the old one serving, logged and counted, and answers `false`: the caller does
    /// not follow the feed past the activation (see [`App::follow_changes`]).
    pub(super) fn follow_active_policy(&self) -> bool {
        if self.policy_source != PolicySource::Store {
            return true;
        }
        let _one_at_a_time = self
            .reloading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let loaded =
            self.store
                .snapshot()
                .map_err(PolicyError::from)
                .and_then(|s| match active_of(s.as_ref())? {
                    Some(active) if active.version != *self.engine.load().version() => {
                        load_active(s.as_ref()).map(Some)
                    }
                    _ => Ok(None),
                });
        match loaded {
            Ok(None) => true,
            Ok(Some(engine)) => {
                let engine = Arc::new(engine);
                let previous = self.engine.swap(engine.clone());
                export_policy_version(engine.version(), Some(previous.version()));
                self.slices.clear();
                metrics::counter!("partner_access_policy_reloads_total", "outcome" => "ok")
                    .increment(1);
                tracing::info!(version = %engine.version(), "followed the store's policy activation");
                true
            }
            Err(e) => {
                metrics::counter!("partner_access_policy_reloads_total", "outcome" => "refused")
                    .increment(1);
                tracing::error!(error = %e, "cannot load the store's active policy version; the feed is not followed past the activation until it loads");
                false
            }
        }
    }
}
