//! Loading the schema and the policies from disk, strictly.
//!
//! Everything is parsed and validated before anything is used, and every problem is reported
//! with its file, line and column, so `partner-access validate` reads like a compiler. Each
//! policy must carry `@id("...")`, which becomes its Cedar policy id (the id shown in every
//! decision's reasons) and must be unique across files.
//!
//! Nothing a policy author writes may take the sidecar down. Cedar parses, validates and
//! evaluates by recursion over the expression tree, so a deeply nested policy (a few hundred
//! parentheses, a long run of `!`, a chain of thousands of `&&`) overflows a thread's stack,
//! which aborts the whole process. Two bounds keep every loaded policy shallow: before parsing,
//! a scan of the text refuses brackets nested deeper than [`MAX_NESTING`] and runs of prefix
//! operators longer than [`MAX_PREFIX_RUN`] (so the parse itself stays shallow); after parsing
//! and before validation, each policy's expression tree is measured and refused deeper than
//! [`MAX_TREE_DEPTH`] (so validation and every evaluation on a request thread stay shallow).
//! Loading runs on a thread of its own with [`LOADER_STACK`] of stack, where a panic is an
//! error like any other (see `PolicyEngine::from_sources`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cedar_policy::{PolicyId, PolicySet, Schema, SchemaFragment, ValidationMode, Validator};
use miette::Diagnostic;

/// A source file: its path (as shown in messages) and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// Reads every file with the extension `ext` in `dir`, sorted by name.
    pub fn read_dir(dir: &Path, ext: &str) -> Result<Vec<SourceFile>, LoadErrors> {
        let (kind, flag) = if ext == "cedarschema" {
            ("schema", "--schema")
        } else {
            ("policy", "--policies")
        };
        let entries = std::fs::read_dir(dir).map_err(|e| {
            let message = match e.kind() {
                std::io::ErrorKind::NotFound => format!(
                    "no such directory: the {kind} directory (the `.{ext}` files) is given with \
                     {flag}"
                ),
                std::io::ErrorKind::NotADirectory => format!(
                    "not a directory: the {kind} directory (the `.{ext}` files) is given with \
                     {flag}"
                ),
                _ => format!("cannot read the {kind} directory: {e}"),
            };
            LoadErrors::one(dir, message)
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == ext))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(LoadErrors::one(
                dir,
                format!("no `.{ext}` files found in the {kind} directory"),
            ));
        }
        paths
            .into_iter()
            .map(|path| match std::fs::read_to_string(&path) {
                Ok(text) => Ok(SourceFile { path, text }),
                Err(e) => Err(LoadErrors::one(&path, format!("cannot read file: {e}"))),
            })
            .collect()
    }
}

/// One problem in a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based line and column, when the problem has a position.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found while loading; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    pub(crate) fn one(file: &Path, message: String) -> Self {
        LoadErrors(vec![LoadError {
            file: file.to_owned(),
            position: None,
            message,
        }])
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Where a policy came from and what its author wrote around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySourceInfo {
    pub file: PathBuf,
    /// The line of its `@id` annotation.
    pub line: usize,
    /// The `///` comment above it, joined into one paragraph.
    pub doc: String,
}

/// The result of loading: a validated schema and policy set, with where each policy came from.
pub(crate) struct Loaded {
    pub schema: Schema,
    pub fragments: Vec<SchemaFragment>,
    pub policies: PolicySet,
    pub sources: HashMap<PolicyId, PolicySourceInfo>,
    pub warnings: Vec<LoadError>,
}

/// How deep brackets (`(`, `[`, `{`) may nest in a policy file.
pub const MAX_NESTING: usize = 32;
/// How many prefix operators (`!`, `-`) may follow one another.
pub const MAX_PREFIX_RUN: usize = 8;
/// How many tokens one policy may have (the project's longest has about 150): a chain of
/// thousands of `&&` is shallow in the text and deep in the tree.
pub const MAX_POLICY_TOKENS: usize = 4000;
/// How deep a policy's expression tree may be, counted in the levels of Cedar's JSON form of
/// the policy (about two per operator; a chain of 28 `&&` fits). The project's own policies
/// need at most 19. The deepest policy that loads evaluates on a request thread without an
/// error (tested); at about one and a half times this depth a debug build's evaluator already
/// reports "recursion limit reached" (a Deny, but a policy that never applies).
pub const MAX_TREE_DEPTH: usize = 64;
/// The stack of the thread that loads policies: parsing anything the scan lets through fits.
pub const LOADER_STACK: usize = 256 * 1024 * 1024;

/// The first place where `file` nests brackets deeper than [`MAX_NESTING`], runs prefix
/// operators longer than [`MAX_PREFIX_RUN`] or has a policy of more than
/// [`MAX_POLICY_TOKENS`] tokens, outside strings and comments. No recursion.
fn nesting_error(file: &SourceFile) -> Option<LoadError> {
    let (mut depth, mut run) = (0usize, 0usize);
    // Tokens of the current policy (a statement ends with `;`), and whether the previous
    // character continued a word.
    let (mut tokens, mut in_word) = (0usize, false);
    let (mut line, mut column) = (1usize, 0usize);
    let mut chars = file.text.chars().peekable();
    let error = |line, column, message: String| LoadError {
        file: file.path.clone(),
        position: Some((line, column)),
        message,
    };
    while let Some(c) = chars.next() {
        column += 1;
        let word = c.is_alphanumeric() || c == '_';
        if !(c.is_whitespace() || word && in_word) {
            tokens += 1;
            if tokens > MAX_POLICY_TOKENS {
                return Some(error(
                    line,
                    column,
                    format!(
                        "this policy has more than {MAX_POLICY_TOKENS} tokens; split it into several policies"
                    ),
                ));
            }
        }
        in_word = word;
        if c == ';' {
            tokens = 0;
        }
        match c {
            '\n' => {
                line += 1;
                column = 0;
            }
            '"' => {
                // A string: skip to its closing quote, honouring `\"`.
                while let Some(c) = chars.next() {
                    column += 1;
                    match c {
                        '\\' => {
                            chars.next();
                            column += 1;
                        }
                        '"' => break,
                        '\n' => {
                            line += 1;
                            column = 0;
                        }
                        _ => {}
                    }
                }
                run = 0;
            }
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        column = 0;
                        break;
                    }
                }
            }
            '(' | '[' | '{' => {
                depth += 1;
                run = 0;
                if depth > MAX_NESTING {
                    return Some(error(
                        line,
                        column,
                        format!(
                            "brackets nest more than {MAX_NESTING} deep here; split the condition (deeply nested policies could exhaust the stack)"
                        ),
                    ));
                }
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                run = 0;
            }
            // A prefix operator (`!=` is a comparison, not one).
            '!' | '-' if c == '-' || chars.peek() != Some(&'=') => {
                run += 1;
                if run > MAX_PREFIX_RUN {
                    return Some(error(
                        line,
                        column,
                        format!("more than {MAX_PREFIX_RUN} `!` or `-` in a row"),
                    ));
                }
            }
            c if c.is_whitespace() => {}
            _ => run = 0,
        }
    }
    None
}

/// The depth of a JSON value, without recursion.
fn json_depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            serde_json::Value::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            serde_json::Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// Parses the schema files and the policy files and validates the policies strictly against
/// the schema. Every error found is returned, not just the first.
pub(crate) fn load(
    schema_files: &[SourceFile],
    policy_files: &[SourceFile],
) -> Result<Loaded, LoadErrors> {
    let (schema, fragments) = load_schema(schema_files)?;
    let mut errors = Vec::new();
    let mut policies = PolicySet::new();
    let mut sources: HashMap<PolicyId, PolicySourceInfo> = HashMap::new();
    let mut texts: HashMap<PolicyId, &SourceFile> = HashMap::new();

    for file in policy_files {
        if let Some(error) = nesting_error(file) {
            errors.push(error);
            continue;
        }
        let parsed = match file.text.parse::<PolicySet>() {
            Ok(parsed) => parsed,
            Err(err) => {
                errors.extend(diagnostic_errors(file, &err));
                continue;
            }
        };
        if parsed.templates().next().is_some() {
            errors.push(LoadError {
                file: file.path.clone(),
                position: None,
                message: "policy templates (`?principal`, `?resource`) are not supported".into(),
            });
        }
        let mut search_from = 0usize;
        for policy in parsed.policies() {
            let Some(id) = policy.annotation("id") else {
                let line = line_of_text(&file.text, &policy.to_string()).unwrap_or(1);
                errors.push(LoadError {
                    file: file.path.clone(),
                    position: Some((line, 1)),
                    message: "policy has no `@id(\"...\")` annotation; every policy needs one"
                        .into(),
                });
                continue;
            };
            let policy_id = PolicyId::new(id);
            let (line, next) = find_id_line(&file.text, id, search_from);
            search_from = next;
            // A policy Cedar cannot show as JSON is not measured, so it is not loaded either.
            let depth = policy
                .to_json()
                .map_or(usize::MAX, |json| json_depth(&json));
            if depth > MAX_TREE_DEPTH {
                errors.push(LoadError {
                    file: file.path.clone(),
                    position: Some((line, 1)),
                    message: format!(
                        "policy `{id}` is too deeply nested ({depth} levels, at most {MAX_TREE_DEPTH}): split its condition, e.g. into several policies"
                    ),
                });
                continue;
            }
            if let Some(first) = sources.get(&policy_id) {
                errors.push(LoadError {
                    file: file.path.clone(),
                    position: Some((line, 1)),
                    message: format!(
                        "policy id `{id}` is already used at {}:{}",
                        first.file.display(),
                        first.line
                    ),
                });
                continue;
            }
            if let Err(err) = policies.add(policy.new_id(policy_id.clone())) {
                errors.push(LoadError {
                    file: file.path.clone(),
                    position: Some((line, 1)),
                    message: err.to_string(),
                });
                continue;
            }
            sources.insert(
                policy_id.clone(),
                PolicySourceInfo {
                    file: file.path.clone(),
                    line,
                    doc: doc_comment_above(&file.text, line),
                },
            );
            texts.insert(policy_id, file);
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }

    let result = Validator::new(schema.clone()).validate(&policies, ValidationMode::Strict);
    let mut warnings = Vec::new();
    for error in result.validation_errors() {
        match texts.get(error.policy_id()) {
            Some(file) => errors.extend(diagnostic_errors(file, error)),
            None => errors.push(LoadError {
                file: PathBuf::from("policies"),
                position: None,
                message: error.to_string(),
            }),
        }
    }
    for warning in result.validation_warnings() {
        if let Some(file) = texts.get(warning.policy_id()) {
            warnings.extend(diagnostic_errors(file, warning));
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    Ok(Loaded {
        schema,
        fragments,
        policies,
        sources,
        warnings,
    })
}

fn load_schema(files: &[SourceFile]) -> Result<(Schema, Vec<SchemaFragment>), LoadErrors> {
    let mut fragments = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match SchemaFragment::from_cedarschema_str(&file.text) {
            Ok((fragment, _warnings)) => fragments.push(fragment),
            Err(err) => errors.extend(diagnostic_errors(file, &err)),
        }
    }
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    let schema = Schema::from_schema_fragments(fragments.clone()).map_err(|err| {
        let file = files
            .first()
            .map_or_else(|| PathBuf::from("schema"), |f| f.path.clone());
        match files {
            [only] => LoadErrors(diagnostic_errors(only, &err)),
            _ => LoadErrors::one(&file, err.to_string()),
        }
    })?;
    Ok((schema, fragments))
}

/// Turns a Cedar diagnostic into errors positioned in `file`: one per label, or one without a
/// position when the diagnostic has no label. Related diagnostics (a parse error lists each
/// problem as one) are unfolded.
fn diagnostic_errors(file: &SourceFile, diagnostic: &dyn Diagnostic) -> Vec<LoadError> {
    let mut out = Vec::new();
    if let Some(related) = diagnostic.related() {
        for inner in related {
            out.extend(diagnostic_errors(file, inner));
        }
        if !out.is_empty() {
            return out;
        }
    }
    let mut message = diagnostic.to_string();
    if let Some(help) = diagnostic.help() {
        message.push_str(&format!(" (help: {help})"));
    }
    let position = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| line_column(&file.text, label.offset()));
    out.push(LoadError {
        file: file.path.clone(),
        position,
        message,
    });
    out
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Finds the line of `@id("<id>")` at or after `from`; returns the line and where to search
/// next.
fn find_id_line(text: &str, id: &str, from: usize) -> (usize, usize) {
    let needle = format!("@id(\"{id}\")");
    let rest = text.get(from..).unwrap_or("");
    match rest.find(&needle) {
        Some(at) => (line_column(text, from + at).0, from + at + needle.len()),
        None => (
            text.find(&needle).map_or(1, |at| line_column(text, at).0),
            from,
        ),
    }
}

fn line_of_text(text: &str, policy: &str) -> Option<usize> {
    let first = policy.lines().find(|l| !l.trim().is_empty())?.trim();
    text.lines().position(|l| l.trim() == first).map(|i| i + 1)
}

/// The `///` lines right above a policy's annotations, as one paragraph.
fn doc_comment_above(text: &str, id_line: usize) -> String {
    let lines: Vec<&str> = text.lines().take(id_line.saturating_sub(1)).collect();
    let mut doc = Vec::new();
    for line in lines.iter().rev() {
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix("///") {
            doc.push(comment.trim());
        } else if trimmed.starts_with('@') && doc.is_empty() {
            continue;
        } else {
            break;
        }
    }
    doc.reverse();
    doc.join(" ")
}

#[cfg(test)]
mod tests;
