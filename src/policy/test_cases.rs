//! The declarative policy test runner behind `partner-access test` and `cargo test`.
//!
//! Two file formats are read, told apart by their top level:
//!
//! - **ours** (an object): a state document (inline, or a path relative to the file) and cases.
//!   Entities are built from the state exactly as the sidecar builds them, so a case tests the
//!   policies *and* the entity model:
//!   ```json
//!   {"state": "fixtures/agency.json",
//!    "cases": [{"name": "...", "rules": ["CAP-5"],
//!               "request": {"principal": "Hub::User::\"ann@acme.example\"",
//!                           "action": "scim.provision",
//!                           "resource": {"type": "Hub::Account", "id": "c-globex"},
//!                           "context": {}},
//!               "decision": "deny", "reason": ["partner-admin-never-scim-or-migration"],
//!               "num_errors": 0}]}
//!   ```
//! - **the `cedar` CLI's `run-tests` format** (an array): cases with raw Cedar `entities`
//!   (inline or a file path), run unchanged.
//!
//! A case passes when the decision matches, the expected `reason` ids are a subset of the
//! actual ones, and the number of evaluation errors matches `num_errors` (default 0).
//!
//! [`run_file_selected`] runs only the cases a predicate selects (`partner-access test
//! --filter`); the others are counted, not run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cedar_policy::{Context, Entities, EntityUid, Request};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::{StateDocument, StateIndex, validate};
use crate::policy::{CheckRequest, Decision, PolicyEngine};

/// The expected decision of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Expected {
    #[serde(alias = "Allow")]
    Allow,
    #[serde(alias = "Deny")]
    Deny,
}

impl Expected {
    fn matches(self, decision: &Decision) -> bool {
        decision.allowed == (self == Expected::Allow)
    }
    /// `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Allow => "allow",
            Expected::Deny => "deny",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OurFile {
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted for the file's readers; the runner never reads it"
    )]
    description: String,
    state: Value,
    cases: Vec<OurCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OurCase {
    name: String,
    #[serde(default)]
    rules: Vec<String>,
    request: RawRequest,
    decision: Expected,
    #[serde(default)]
    reason: Vec<String>,
    #[serde(default)]
    num_errors: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    principal: Value,
    action: Value,
    resource: Value,
    #[serde(default)]
    context: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct CedarCase {
    #[serde(default)]
    name: Option<String>,
    request: CedarRequest,
    entities: Value,
    decision: Expected,
    #[serde(default)]
    reason: Vec<String>,
    #[serde(default)]
    num_errors: usize,
}

#[derive(Debug, Deserialize)]
struct CedarRequest {
    principal: String,
    action: String,
    resource: String,
    #[serde(default)]
    context: Value,
}

/// The outcome of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    /// The rule ids the case says it demonstrates.
    pub rules: Vec<String>,
    pub expected: Expected,
    /// The reason ids the case expects among the actual ones.
    pub expected_reasons: Vec<String>,
    /// The number of evaluation errors the case expects.
    pub expected_errors: usize,
    /// The decision, when the case could be run.
    pub decision: Option<Decision>,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The outcome of one file.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub path: PathBuf,
    /// A problem with the file itself (unreadable, malformed, invalid state); its cases did
    /// not run.
    pub error: Option<String>,
    pub cases: Vec<CaseResult>,
    /// Cases of the file that the selection left out (not run).
    pub deselected: usize,
}

impl FileResult {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed() + usize::from(self.error.is_some())
    }
}

/// The test files among `paths`: files as given, directories' `*.json` files (not recursing,
/// so fixtures can live in a subdirectory), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path)
                .map_err(|e| format!("{}: cannot read directory: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "json"))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}

/// Runs every case of one file.
pub fn run_file(engine: &PolicyEngine, path: &Path) -> FileResult {
    run_file_selected(engine, path, &|_| true)
}

/// Runs the cases of one file whose name `select` accepts; the others are only counted (in
/// [`FileResult::deselected`]). A problem with the file itself is reported whatever the
/// selection: a broken file must not pass unnoticed behind a filter.
pub fn run_file_selected(
    engine: &PolicyEngine,
    path: &Path,
    select: &dyn Fn(&str) -> bool,
) -> FileResult {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            return FileResult {
                path: path.to_owned(),
                error: Some(format!("cannot read file: {e}")),
                cases: Vec::new(),
                deselected: 0,
            };
        }
    };
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    run_text(engine, path, &text, Some(dir), select)
}

/// Runs every case of a test file given as its text (a file sent over HTTP with a policy set
/// to push). `name` names it in the results. Such a file has no directory: its state and
/// entities must be inline, and a file that names one by path is an error saying so.
pub fn run_source(engine: &PolicyEngine, name: &Path, text: &str) -> FileResult {
    run_text(engine, name, text, None, &|_| true)
}

/// Runs the selected cases of a test file's text; `dir` is where the paths it names are
/// relative to (`None`: it may name none).
fn run_text(
    engine: &PolicyEngine,
    path: &Path,
    text: &str,
    dir: Option<&Path>,
    select: &dyn Fn(&str) -> bool,
) -> FileResult {
    let fail = |error: String| FileResult {
        path: path.to_owned(),
        error: Some(error),
        cases: Vec::new(),
        deselected: 0,
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return fail(format!("not JSON: {e}")),
    };
    let mut deselected = 0;
    let cases = match value {
        Value::Array(cases) => run_cedar_cases(engine, dir, cases, select, &mut deselected),
        Value::Object(_) => match parse_our_file(value) {
            Ok(file) => match load_state(dir, &file.state, engine) {
                Ok(index) => file
                    .cases
                    .into_iter()
                    .filter(|case| {
                        let selected = select(&case.name);
                        deselected += usize::from(!selected);
                        selected
                    })
                    .map(|case| run_our_case(engine, &index, case))
                    .collect(),
                Err(e) => return fail(e),
            },
            Err(e) => return fail(e),
        },
        _ => {
            return fail(
                "expected an object with `state` and `cases`, or an array of cedar run-tests cases"
                    .into(),
            );
        }
    };
    FileResult {
        path: path.to_owned(),
        error: None,
        cases,
        deselected,
    }
}

fn parse_our_file(value: Value) -> Result<OurFile, String> {
    serde_path_to_error::deserialize(value).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

/// Loads and validates the state a file names (a path relative to the file) or holds inline.
fn load_state(
    dir: Option<&Path>,
    state: &Value,
    engine: &PolicyEngine,
) -> Result<StateIndex, String> {
    let (doc, origin) = match state {
        Value::String(rel) => {
            let path = under(dir, rel, "state")?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("state `{}`: cannot read: {e}", path.display()))?;
            let doc = StateDocument::from_json_str(&text)
                .map_err(|e| format!("state `{}`: {e}", path.display()))?;
            (doc, path.display().to_string())
        }
        other => {
            let doc =
                StateDocument::from_json_value(other.clone()).map_err(|e| format!("state: {e}"))?;
            (doc, "inline state".to_owned())
        }
    };
    validate(&doc, engine.catalogue()).map_err(|problems| {
        format!(
            "{origin} is not a valid state document:\n{}",
            problems
                .iter()
                .map(|p| format!("  {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    Ok(StateIndex::new(&doc))
}

fn run_our_case(engine: &PolicyEngine, index: &StateIndex, case: OurCase) -> CaseResult {
    let mut result = CaseResult {
        name: case.name,
        rules: case.rules,
        expected: case.decision,
        expected_reasons: case.reason.clone(),
        expected_errors: case.num_errors,
        decision: None,
        failure: None,
    };
    let request = match CheckRequest::from_parts(
        &case.request.principal,
        &case.request.action,
        &case.request.resource,
        case.request.context,
    ) {
        Ok(r) => r,
        Err(e) => {
            result.failure = Some(format!("bad request: {e}"));
            return result;
        }
    };
    match engine.decide(&request, index) {
        Ok(decision) => {
            result.failure = compare(case.decision, &case.reason, case.num_errors, &decision);
            result.decision = Some(decision);
        }
        Err(e) => result.failure = Some(format!("request could not be decided: {e}")),
    }
    result
}

/// Where a path a test file names is: relative to the file's directory; a file without one
/// (sent as text) may name no file.
fn under(dir: Option<&Path>, rel: &str, what: &str) -> Result<std::path::PathBuf, String> {
    dir.map(|dir| dir.join(rel)).ok_or_else(|| {
        format!(
            "{what} `{rel}`: a test file sent as text cannot name another file; put the {what} \
             inline"
        )
    })
}

fn run_cedar_cases(
    engine: &PolicyEngine,
    dir: Option<&Path>,
    cases: Vec<Value>,
    select: &dyn Fn(&str) -> bool,
    deselected: &mut usize,
) -> Vec<CaseResult> {
    cases
        .into_iter()
        .enumerate()
        .filter_map(|(i, value)| {
            let name = value
                .get("name")
                .and_then(Value::as_str)
                .map_or_else(|| format!("case {i}"), str::to_owned);
            if !select(&name) {
                *deselected += 1;
                return None;
            }
            // What the case expects, read leniently so that a report can show it even when
            // the case itself is malformed.
            let mut result = CaseResult {
                name,
                rules: Vec::new(),
                expected: Expected::Deny,
                expected_reasons: value
                    .get("reason")
                    .and_then(Value::as_array)
                    .map(|r| {
                        r.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                expected_errors: value
                    .get("num_errors")
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
                    .unwrap_or(0),
                decision: None,
                failure: None,
            };
            match run_cedar_case(engine, dir, value) {
                Ok((expected, decision, failure)) => {
                    result.expected = expected;
                    result.decision = Some(decision);
                    result.failure = failure;
                }
                Err(e) => result.failure = Some(e),
            }
            Some(result)
        })
        .collect()
}

fn run_cedar_case(
    engine: &PolicyEngine,
    dir: Option<&Path>,
    value: Value,
) -> Result<(Expected, Decision, Option<String>), String> {
    let case: CedarCase = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("{}: {}", e.path(), e.inner()))?;
    let _ = &case.name;
    let schema = engine.schema();
    let uid = |what: &str, text: &str| {
        text.parse::<EntityUid>()
            .map_err(|e| format!("failed to parse {what} `{text}`: {e}"))
    };
    let principal = uid("principal", &case.request.principal)?;
    let action = uid("action", &case.request.action)?;
    let resource = uid("resource", &case.request.resource)?;
    let context_json = match case.request.context {
        Value::Null => Value::Object(Map::new()),
        other => other,
    };
    let context = Context::from_json_value(context_json, Some((schema, &action)))
        .map_err(|e| format!("failed to parse context: {e}"))?;
    let request = Request::new(principal, action, resource, context, Some(schema))
        .map_err(|e| format!("failed to create request: {e}"))?;
    let entities = match case.entities {
        Value::String(file) => {
            let path = under(dir, &file, "entities")?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("entities file `{}`: {e}", path.display()))?;
            Entities::from_json_str(&text, Some(schema))
                .map_err(|e| format!("entities file `{}`: {e}", path.display()))?
        }
        other => Entities::from_json_value(other, Some(schema))
            .map_err(|e| format!("failed to parse entities: {e}"))?,
    };
    let decision = engine.evaluate(&request, &entities);
    let failure = compare(case.decision, &case.reason, case.num_errors, &decision);
    Ok((case.decision, decision, failure))
}

/// Compares a decision with what the case expects; `None` when it matches.
fn compare(
    expected: Expected,
    reasons: &[String],
    num_errors: usize,
    decision: &Decision,
) -> Option<String> {
    let actual = if decision.allowed { "allow" } else { "deny" };
    let mut problems = Vec::new();
    if !expected.matches(decision) {
        problems.push(format!("expected {}, got {actual}", expected.as_str()));
    }
    let missing: Vec<&String> = reasons
        .iter()
        .filter(|r| !decision.reasons.contains(r))
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "missing reason(s) {}",
            missing
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if decision.errors.len() != num_errors {
        problems.push(format!(
            "expected {num_errors} error(s), got {}",
            decision.errors.len()
        ));
    }
    if problems.is_empty() {
        return None;
    }
    Some(format!(
        "{} (decision {actual}, reasons [{}]{})",
        problems.join("; "),
        decision.reasons.join(", "),
        if decision.errors.is_empty() {
            String::new()
        } else {
            format!(", errors: {}", decision.errors.join("; "))
        }
    ))
}

/// The policy ids that determined at least one decision in `results`.
pub fn exercised_policies(results: &[FileResult]) -> BTreeSet<String> {
    results
        .iter()
        .flat_map(|f| &f.cases)
        .filter_map(|c| c.decision.as_ref())
        .flat_map(|d| d.reasons.iter().cloned())
        .collect()
}
