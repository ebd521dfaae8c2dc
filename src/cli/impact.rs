//! `partner-access policies diff`: the impact of a policy change on the live state, before it is
//! activated (see [`crate::app::impact`]).
//!
//! `--from` and `--to` are each a directory (with `policies/` and `schema/` in it, as `policies
//! pull` writes them, or the `.cedar` files with the schema in `--schema`, as `policies push`
//! takes them) or a stored version (its hash or a unique prefix of 8 hex digits or more; `--from`
//! defaults to the store's active version). The state is `--state FILE` (a state document), or
//! the store's (`--data DIR`, its sidecar stopped, or `--store URL`). The report lists every
//! decision that changes, grouped by action, direction and the policies and rule ids that
//! decided before and after, with counts per action and per role and the first `--examples` of
//! each group, as text, JSON (what `policies push --expect-impact` reads) or JUnit XML (one
//! test case per group, failing: CI shows each changed group). Exit 0 when the analysis ran
//! (whatever it found); with `--fail-on-change`, 2 when a decision changes; 1 on error.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::policies::StoreArgs;
use super::test::{attr as xml_attr, text as xml_text};
use crate::app::PolicyFile;
use crate::app::impact::{self, DEFAULT_EXAMPLES, ImpactOptions, ImpactReport};
use crate::app::policies::{self, PolicyError};
use crate::policy::{PolicyEngine, SourceFile};
use crate::store::Store;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The set before: a directory, a stored version, or `active` [default: the store's active
    /// version].
    #[arg(long)]
    pub from: Option<String>,
    /// The set after: a directory or a stored version.
    #[arg(long)]
    pub to: String,
    /// The schema of a --from/--to directory that has no `schema/` subdirectory.
    #[arg(long, env = "PARTNER_ACCESS_SCHEMA", default_value = "schema")]
    pub schema: PathBuf,
    /// A state document to analyse (else the store's state: --data or --store).
    #[arg(long, env = "PARTNER_ACCESS_STATE")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: DiffFormat,
    /// How many examples each group shows.
    #[arg(long, default_value_t = DEFAULT_EXAMPLES)]
    pub examples: usize,
    /// Exit 2 when a decision changes (for CI).
    #[arg(long)]
    pub fail_on_change: bool,
    /// Decide every membership on its own instead of once per case (slow; to check the
    /// shortcut).
    #[arg(long, hide = true)]
    pub no_shared_cases: bool,
}

/// Opens the store once, when something needs it.
struct LazyStore<'a> {
    args: &'a StoreArgs,
    store: Option<Arc<dyn Store>>,
}

impl LazyStore<'_> {
    fn get(&mut self) -> Result<Arc<dyn Store>, String> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let store = crate::store::open(self.args.store.as_deref(), &self.args.data).map_err(|e| {
            let message = e.to_string();
            if self.args.store.is_none() && message.contains("another process") {
                format!(
                    "{message}\n(for an impact analysis: stop it, give --state FILE, or ask the \
                     sidecar: POST /v1/admin/policies/impact)"
                )
            } else {
                message
            }
        })?;
        self.store = Some(store.clone());
        Ok(store)
    }
}

/// A set as `--from`/`--to` names it.
fn engine(
    given: Option<&str>,
    schema: &Path,
    store: &mut LazyStore<'_>,
) -> Result<PolicyEngine, String> {
    let refused = |e: PolicyError| e.to_string();
    if let Some(dir) = given.map(Path::new).filter(|p| p.is_dir()) {
        let (policies, schema) = if dir.join("policies").is_dir() && dir.join("schema").is_dir() {
            (dir.join("policies"), dir.join("schema"))
        } else {
            (dir.to_owned(), schema.to_owned())
        };
        let files = policies::read_dirs(&policies, &schema).map_err(refused)?;
        return engine_of(&files);
    }
    if let Some(given) =
        given.filter(|g| *g != "active" && !g.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "`{given}` is neither a directory nor a policy version (its hash, or 8 or more hex \
             digits of it)"
        ));
    }
    let store = store.get()?;
    let snapshot_version = match given {
        None | Some("active") => None,
        Some(v) => Some(v),
    };
    let files = match snapshot_version {
        Some(version) => {
            policies::get(store.as_ref(), version)
                .map_err(refused)?
                .files
        }
        None => {
            let history = policies::history(store.as_ref()).map_err(refused)?;
            let active = history
                .active
                .ok_or_else(|| refused(PolicyError::NoActiveVersion))?;
            policies::get(store.as_ref(), active.version.as_str())
                .map_err(refused)?
                .files
        }
    };
    engine_of(&files)
}

fn engine_of(files: &[PolicyFile]) -> Result<PolicyEngine, String> {
    let source = |f: &PolicyFile| SourceFile {
        path: PathBuf::from(&f.name),
        text: f.text.clone(),
    };
    let schema: Vec<SourceFile> = files
        .iter()
        .filter(|f| f.kind == crate::app::PolicyFileKind::Schema)
        .map(source)
        .collect();
    let policies: Vec<SourceFile> = files
        .iter()
        .filter(|f| f.kind == crate::app::PolicyFileKind::Policy)
        .map(source)
        .collect();
    PolicyEngine::from_sources(&schema, &policies).map_err(|e| e.to_string())
}

/// A progress line on stderr when it is a terminal.
pub fn progress() -> impl FnMut(u64, u64) {
    let terminal = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    move |done, all| {
        if !terminal {
            return;
        }
        let percent = (done * 100).checked_div(all).unwrap_or(100);
        eprint!(
            "\r  impact: {done}/{all} memberships ({percent}%), {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if done >= all {
            eprintln!();
        }
    }
}

pub fn diff(args: &DiffArgs) -> ExitCode {
    match run_diff(args) {
        Ok(report) => {
            let text = match args.format {
                DiffFormat::Json => serde_json::to_string_pretty(&report)
                    .map(|t| t + "\n")
                    .unwrap_or_default(),
                DiffFormat::Text => text(&report),
                DiffFormat::Junit => junit(&report),
            };
            print!("{text}");
            if args.fail_on_change && report.changed.total() > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_diff(args: &DiffArgs) -> Result<ImpactReport, String> {
    let mut store = LazyStore {
        args: &args.store,
        store: None,
    };
    let from = engine(args.from.as_deref(), &args.schema, &mut store)?;
    let to = engine(Some(&args.to), &args.schema, &mut store)?;
    let doc = match &args.state {
        Some(path) => super::read_state_file(path, from.catalogue())?,
        None => {
            let store = store.get()?;
            let snapshot = store.snapshot().map_err(|e| e.to_string())?;
            snapshot.export().map_err(|e| e.to_string())?
        }
    };
    let options = ImpactOptions {
        examples: args.examples,
        share_cases: !args.no_shared_cases,
        deadline: None,
    };
    impact::analyse(&from, &to, &doc, &options, &mut progress()).map_err(|e| e.to_string())
}

fn short(version: &str) -> &str {
    &version[..16.min(version.len())]
}

fn policies_of(d: &impact::Determining) -> String {
    if d.policies.is_empty() {
        "(no policy: denied by default)".into()
    } else if d.rules.is_empty() {
        d.policies.join(", ")
    } else {
        format!("{} ({})", d.policies.join(", "), d.rules.join(", "))
    }
}

/// The report as `--format text` prints it.
pub fn text(report: &ImpactReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "policy impact: {} → {}",
        short(report.from.as_str()),
        short(report.to.as_str())
    );
    let _ = writeln!(
        out,
        "  {} memberships × {} check actions = {} decisions ({} distinct cases evaluated)",
        report.memberships,
        report.actions.len(),
        report.decisions,
        report.cases
    );
    let _ = writeln!(
        out,
        "  {} decisions change: {} allow → deny, {} deny → allow",
        report.changed.total(),
        report.changed.allow_to_deny,
        report.changed.deny_to_allow
    );
    for (title, counts) in [
        ("by action", &report.by_action),
        ("by role", &report.by_role),
    ] {
        if counts.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{title}:");
        for (name, c) in counts {
            let _ = writeln!(
                out,
                "  {name:<28} allow → deny {:>9}   deny → allow {:>9}",
                c.allow_to_deny, c.deny_to_allow
            );
        }
    }
    if !report.groups.is_empty() {
        let _ = writeln!(out, "\ngroups:");
    }
    for (i, g) in report.groups.iter().enumerate() {
        let roles: Vec<String> = g.by_role.iter().map(|(r, n)| format!("{r} {n}")).collect();
        let _ = writeln!(
            out,
            "  [{}] {}  {}  {} decisions ({})",
            i + 1,
            g.action,
            g.direction.arrow(),
            g.count,
            roles.join(", ")
        );
        let _ = writeln!(out, "      before: {}", policies_of(&g.before));
        let _ = writeln!(out, "      after:  {}", policies_of(&g.after));
        for e in &g.examples {
            let _ = writeln!(out, "      e.g. {} in {} ({})", e.user, e.account, e.role);
        }
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\nnotes:");
        for note in &report.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    out
}

/// The report as JUnit XML: one failing test case per group (a changed decision is what CI
/// should show), or one passing case when nothing changes.
pub fn junit(report: &ImpactReport) -> String {
    let mut out = String::new();
    let cases = report.groups.len().max(1);
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<testsuites name="policy impact" tests="{cases}" failures="{}">"#,
        report.groups.len()
    );
    let _ = writeln!(
        out,
        r#"  <testsuite name="policy impact {} to {}" tests="{cases}" failures="{}">"#,
        xml_attr(short(report.from.as_str())),
        xml_attr(short(report.to.as_str())),
        report.groups.len()
    );
    if report.groups.is_empty() {
        let _ = writeln!(
            out,
            r#"    <testcase classname="impact" name="no decision changes ({} decisions)"/>"#,
            report.decisions
        );
    }
    for g in &report.groups {
        let name = format!(
            "{} {}: {} then {}",
            g.action,
            g.direction.arrow(),
            g.before.policies.join("+"),
            g.after.policies.join("+")
        );
        let _ = writeln!(
            out,
            r#"    <testcase classname="impact.{}" name="{}">"#,
            xml_attr(&g.action),
            xml_attr(&name)
        );
        let mut body = format!(
            "before: {}\nafter: {}\n",
            policies_of(&g.before),
            policies_of(&g.after)
        );
        for e in &g.examples {
            let _ = writeln!(body, "e.g. {} in {} ({})", e.user, e.account, e.role);
        }
        let _ = writeln!(
            out,
            r#"      <failure message="{} decisions change {}">{}</failure>"#,
            g.count,
            xml_attr(g.direction.arrow()),
            xml_text(&body)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>\n</testsuites>");
    out
}
