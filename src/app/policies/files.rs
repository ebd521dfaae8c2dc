//! From the files of a set to an engine that passed its tests: the checks on the files a caller
//! gives (plain names, kinds matching extensions, bounded counts), reading a set from its
//! directories, loading it, and running the declarative policy tests of a push. Also the check
//! on an actor's name, which every policy command records.

use std::path::{Path, PathBuf};

use super::{PolicyError, PolicyFile, PolicyFileKind, TestFailure, TestSource, TestsRun};
use crate::policy::test_cases::{FileResult, run_file, run_source};
use crate::policy::{PolicyEngine, SourceFile};

/// The most files a policy set may have.
pub const MAX_POLICY_FILES: usize = 256;
/// The most test files a push may run.
pub const MAX_TEST_FILES: usize = 256;
/// The longest actor name kept.
const MAX_ACTOR: usize = 200;

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
pub(in crate::app) fn engine_of(files: &[PolicyFile]) -> Result<PolicyEngine, PolicyError> {
    let (schema, policies) = sources(files)?;
    PolicyEngine::from_sources(&schema, &policies).map_err(PolicyError::Invalid)
}

/// Runs the tests against `engine`: the names run and the cases passed, or every failure.
pub(super) fn run_tests(
    engine: &PolicyEngine,
    tests: &[TestSource],
) -> Result<TestsRun, PolicyError> {
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
