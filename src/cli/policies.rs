//! `partner-access policies push|activate|list|pull`: versioned policy sets in a store (a data
//! directory, with its sidecar stopped, or a fleet's PostgreSQL database).
//!
//! `push DIR` reads the `.cedar` files of DIR and the `.cedarschema` files of `--schema`,
//! validates them strictly (as `validate` does), runs the `--tests` files against them (a
//! failing case refuses the push: nothing is stored), and stores the set as a version: its
//! hash, who pushed it (`--actor`) and when, the tests it passed. `activate VERSION` makes a
//! stored version the active one, checked against the stored state as a reload is; sidecars
//! serving the store's policies (`serve --policies-from-store`) switch to it (a fleet through
//! its change feed). `list` shows the history; `pull VERSION OUT` writes a version's files back
//! (`OUT/schema/`, `OUT/policies/`). A version is its hash or a unique prefix of at least 8 hex
//! digits.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::app::impact::{self, ImpactReport};
use crate::app::policies::{self, PolicyError};
use crate::app::{PolicyFileKind, PolicyHistory, PolicyPush, TestSource};
use crate::domain::Timestamp;
use crate::policy::test_cases::discover;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// Validate a policy set, run its tests, and store it as a version (nothing is stored when
    /// a test fails). Prints the version.
    Push(PushArgs),
    /// Make a stored version the active one (refused when the stored state holds permissions
    /// its schema lacks). Rollback is activating an earlier version.
    Activate(ActivateArgs),
    /// The stored versions (who pushed each, when, the tests it passed, which is active) and
    /// the activations.
    List(ListArgs),
    /// Write a stored version's files to a directory: OUT/schema/*.cedarschema and
    /// OUT/policies/*.cedar.
    Pull(PullArgs),
    /// The impact of a policy change on the state: every check decision that changes, grouped
    /// by action and by the policies and rule ids that decided before and after. Exit 0 (with
    /// --fail-on-change: 2 when a decision changes), 1 on error.
    Diff(super::impact::DiffArgs),
}

/// Which store: the redb file of a data directory, or a shared PostgreSQL store.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Data directory (its sidecar stopped: the file is held by one process at a time).
    #[arg(long, env = "PARTNER_ACCESS_DATA", default_value = "data")]
    pub data: PathBuf,
    /// A shared PostgreSQL store (`postgres://...`) instead of the redb file in `--data`.
    #[arg(long, env = "PARTNER_ACCESS_STORE")]
    pub store: Option<String>,
}

impl StoreArgs {
    pub(super) fn open(&self) -> Result<std::sync::Arc<dyn Store>, String> {
        crate::store::open(self.store.as_deref(), &self.data).map_err(|e| e.to_string())
    }
}

/// Who acts, for the history and the audit log.
#[derive(Debug, Clone, Args)]
pub struct ActorArgs {
    /// Who pushes or activates [default: the OS user ($USER), else `cli`].
    #[arg(long)]
    pub actor: Option<String>,
}

impl ActorArgs {
    fn name(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| "cli".to_owned())
    }
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Directory of `.cedar` policy files.
    pub dir: PathBuf,
    /// Directory of `.cedarschema` files.
    #[arg(long, env = "PARTNER_ACCESS_SCHEMA", default_value = "schema")]
    pub schema: PathBuf,
    /// Policy test files or directories (a directory's `*.json` files) to run against the set;
    /// any failing case refuses the push. May be given several times.
    #[arg(long = "tests", value_name = "PATH")]
    pub tests: Vec<PathBuf>,
    /// Also activate the version once stored.
    #[arg(long)]
    pub activate: bool,
    /// Refuse the push (nothing stored) unless its impact on the store's state against the
    /// active version is the one in FILE (the JSON of `policies diff --format json`, compared
    /// on its groups and counts, not on the examples).
    #[arg(long, value_name = "FILE")]
    pub expect_impact: Option<PathBuf>,
    /// Refuse the push (nothing stored) unless `partner-access verify` proves the set: no
    /// policy errors and every property in DIR holds (needs the SMT solver; see `verify`).
    #[arg(long, value_name = "DIR")]
    pub properties: Option<PathBuf>,
    /// The SMT solver for --properties [default: $CVC5, else `cvc5` on the PATH].
    #[arg(long, requires = "properties")]
    pub solver: Option<PathBuf>,
    #[command(flatten)]
    pub actor: ActorArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// The version: its hash, or a unique prefix of at least 8 hex digits.
    pub version: String,
    #[command(flatten)]
    pub actor: ActorArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The version: its hash, or a unique prefix of at least 8 hex digits.
    pub version: String,
    /// Where to write the files (created if missing; files of the same name are replaced).
    pub out: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn run(command: &PoliciesCommand) -> ExitCode {
    let result = match command {
        PoliciesCommand::Push(args) => push(args),
        PoliciesCommand::Activate(args) => activate(args),
        PoliciesCommand::List(args) => list(args),
        PoliciesCommand::Pull(args) => pull(args),
        PoliciesCommand::Diff(args) => return super::impact::diff(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn refused(e: PolicyError) -> String {
    e.to_string()
}

fn push(args: &PushArgs) -> Result<(), String> {
    let files = policies::read_dirs(&args.dir, &args.schema).map_err(refused)?;
    let tests = if args.tests.is_empty() {
        Vec::new()
    } else {
        let found = discover(&args.tests)?;
        if found.is_empty() {
            return Err(format!("--tests: no test files found in {:?}", args.tests));
        }
        found.into_iter().map(TestSource::File).collect()
    };
    let request = PolicyPush {
        files,
        tests,
        actor: args.actor.name(),
    };
    if let Some(properties) = &args.properties {
        let proved =
            super::verify::require(&args.dir, &args.schema, properties, args.solver.as_deref())?;
        println!("properties proved: {proved}");
    }
    let store = args.store.open()?;
    if let Some(path) = &args.expect_impact {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--expect-impact {}: cannot read: {e}", path.display()))?;
        let acknowledged: ImpactReport = serde_json::from_str(&text).map_err(|e| {
            format!(
                "--expect-impact {}: not a report of `policies diff --format json`: {e}",
                path.display()
            )
        })?;
        let report = impact::check_acknowledged(
            store.as_ref(),
            &request.files,
            &acknowledged,
            &mut super::impact::progress(),
        )
        .map_err(refused)?;
        println!(
            "impact acknowledged: {} changed decisions in {} groups",
            report.changed.total(),
            report.groups.len()
        );
    }
    let (pushed, _) =
        policies::push(store.as_ref(), &request, Timestamp::now()).map_err(refused)?;
    if pushed.created {
        println!(
            "pushed {} ({} policies; {} test case(s) passed in {} file(s))",
            pushed.version,
            pushed.policies,
            pushed.tests.passed,
            pushed.tests.files.len()
        );
    } else {
        println!(
            "{} is stored already (pushed by {} at {}); nothing stored",
            pushed.version, pushed.pushed_by, pushed.pushed_at
        );
    }
    if args.activate {
        activate_on(store.as_ref(), pushed.version.as_str(), &request.actor)?;
    }
    Ok(())
}

fn activate_on(store: &dyn Store, version: &str, actor: &str) -> Result<(), String> {
    let (activated, _) = policies::activate(
        store,
        version,
        actor,
        Timestamp::now(),
        &mut |_| None,
        &mut |_| {},
    )
    .map_err(refused)?;
    let activation = &activated.activation;
    if activated.changed {
        match &activation.previous {
            Some(previous) => println!("activated {} (was {previous})", activation.version),
            None => println!("activated {}", activation.version),
        }
    } else {
        println!("{} is active already; nothing changed", activation.version);
    }
    Ok(())
}

fn activate(args: &ActivateArgs) -> Result<(), String> {
    let store = args.store.open()?;
    activate_on(store.as_ref(), &args.version, &args.actor.name())
}

fn list(args: &ListArgs) -> Result<(), String> {
    let store = args.store.open()?;
    let history = policies::history(store.as_ref()).map_err(refused)?;
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&history).map_err(|e| e.to_string())?;
            println!("{text}");
        }
        Format::Text => print!("{}", text_history(&history)),
    }
    Ok(())
}

/// The history as `policies list` prints it: one line per version, then the activations.
fn text_history(history: &PolicyHistory) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if history.versions.is_empty() {
        out.push_str("no stored policy versions\n");
        return out;
    }
    let _ = writeln!(
        out,
        "  {:<16} {:<20} {:<25} {:>8} {:>6}",
        "VERSION", "PUSHED BY", "PUSHED AT", "POLICIES", "TESTS"
    );
    for v in &history.versions {
        let _ = writeln!(
            out,
            "{} {:<16} {:<20} {:<25} {:>8} {:>6}",
            if v.active { '*' } else { ' ' },
            &v.version.as_str()[..16.min(v.version.as_str().len())],
            v.pushed_by,
            v.pushed_at.to_string(),
            v.policies,
            v.tests.passed
        );
    }
    if !history.activations.is_empty() {
        out.push_str("\nactivations:\n");
        for a in &history.activations {
            let _ = writeln!(
                out,
                "  {} {} by {} (revision {})",
                a.activated_at, a.version, a.activated_by, a.revision
            );
        }
    }
    out
}

fn pull(args: &PullArgs) -> Result<(), String> {
    let store = args.store.open()?;
    let set = policies::get(store.as_ref(), &args.version).map_err(refused)?;
    for file in &set.files {
        let dir = args.out.join(match file.kind {
            PolicyFileKind::Schema => "schema",
            PolicyFileKind::Policy => "policies",
        });
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
        // A stored name is a bare file name (a push refuses others); one that is not (a record
        // written past the push) never reaches outside OUT.
        let bare = std::path::Path::new(&file.name)
            .file_name()
            .is_some_and(|n| n == std::ffi::OsStr::new(&file.name));
        if !bare || PolicyFileKind::of_name(&file.name) != Some(file.kind) {
            return Err(format!(
                "{}: the stored file name {:?} is not a bare .cedar or .cedarschema name; nothing more written",
                set.version, file.name
            ));
        }
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.text)
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    println!(
        "wrote {} ({} files) to {}",
        set.version,
        set.files.len(),
        args.out.display()
    );
    Ok(())
}
