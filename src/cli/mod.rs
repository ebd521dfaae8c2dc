//! The command line: parsing with `clap`, one file per subcommand.
//!
//! Owns: the subcommands and their flags (with `config` and `main.rs`, the only users of
//! `clap`). It wires the other modules together and may name any of them, but imports none of
//! the crates they keep to themselves (Cedar, redb, PostgreSQL, axum).
//!
//! Each subcommand returns an [`std::process::ExitCode`]; errors are printed to stderr as one
//! clear message naming the file, field or line, never as a panic.

mod check;
mod docs;
mod fmt;
mod impact;
mod lint;
mod policies;
mod serve;
mod state;
mod store;
mod test;
mod validate;
mod verify;

pub use serve::DEMO_STATE;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::policy::PolicyEngine;

/// `--version`: the release, and what it reads and writes: the Cedar SDK and language
/// versions, the redb file layout and the PostgreSQL schema (`-V` prints the release alone).
static LONG_VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let (sdk, language) = crate::policy::cedar_versions();
    let (redb, postgres) = crate::store::format_versions();
    format!(
        "{}\nCedar {sdk} (policy language {language})\nstore formats: redb file layout {redb}, \
         PostgreSQL schema V{postgres}",
        env!("CARGO_PKG_VERSION")
    )
});

/// partner-access: a Cedar-policy authorization sidecar for partner access to client accounts.
#[derive(Debug, Parser)]
#[command(
    name = "partner-access",
    version,
    long_version = LONG_VERSION.as_str(),
    about,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and strictly validate the policies against the schema; print errors with file and
    /// line.
    Validate(PolicyArgs),
    /// Run the declarative policy tests (default: every file in tests/policies/); exit 1 on any
    /// failure.
    Test(test::TestArgs),
    /// Decide one request offline against a state document (--state) or a data directory
    /// (--data), and print the decision with its reasons. Exit 0 on Allow, 2 on Deny, 1 on error.
    Check(check::CheckArgs),
    /// Run the sidecar: HTTP checks, administration and operations over the redb store.
    Serve(Box<crate::config::ServeArgs>),
    /// Load a state document into a data directory (the server must be stopped).
    Import(state::ImportArgs),
    /// Print the state of a data directory as a state document.
    Export(state::ExportArgs),
    /// Check a store file (a data directory's, or a backup): the storage engine's integrity
    /// check on a copy, then every record read and decoded. Exit 0 when sound, 1 when not.
    CheckStore(store::CheckStoreArgs),
    /// Copy the store of a stopped sidecar's data directory to a file (a running sidecar:
    /// `GET /v1/admin/backup`).
    Backup(store::BackupArgs),
    /// Format the .cedar policy files in place (or, with --check, list those that are not
    /// formatted and exit 1).
    Fmt(fmt::FmtArgs),
    /// Find policies and actions that load but do nothing: unused actions, permits shadowed by
    /// a forbid, policies that can never apply. Exit 0 when clean, 1 on findings, 2 when the
    /// policies do not load.
    Lint(lint::LintArgs),
    /// Prove properties of the policy set for every state and request with an SMT solver
    /// (cvc5): no policy errors, the `properties/` hold, nothing new allowed against an earlier
    /// set (--against). Exit 0 when all hold, 1 with counterexamples, 2 when it cannot run.
    Verify(verify::VerifyArgs),
    /// Versioned policy sets in a store: push (validate, test, store), activate, list, pull.
    #[command(subcommand)]
    Policies(policies::PoliciesCommand),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(docs::CompletionsArgs),
    /// Print the manual page (roff), or write one per subcommand into a directory (--out).
    Man(docs::ManArgs),
}

/// Where the policies and the schema are.
#[derive(Debug, Clone, Args)]
pub struct PolicyArgs {
    /// Directory of `.cedar` policy files.
    #[arg(long, env = "PARTNER_ACCESS_POLICIES", default_value = "policies")]
    pub policies: PathBuf,
    /// Directory of `.cedarschema` files.
    #[arg(long, env = "PARTNER_ACCESS_SCHEMA", default_value = "schema")]
    pub schema: PathBuf,
}

impl PolicyArgs {
    /// Loads the engine, printing every load error to stderr on failure.
    pub fn load(&self) -> Result<PolicyEngine, ExitCode> {
        PolicyEngine::load(&self.policies, &self.schema).map_err(|errors| {
            for error in &errors.0 {
                eprintln!("error: {error}");
            }
            ExitCode::FAILURE
        })
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Import(args) => state::import(&args),
        Command::Export(args) => state::export(&args),
        Command::CheckStore(args) => store::check(&args),
        Command::Backup(args) => store::backup(&args),
        Command::Policies(command) => policies::run(&command),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
    }
}

/// Reads a state document from `path` and validates it against `catalogue`; every problem is
/// named with the file (`check --state`, `policies diff --state`).
fn read_state_file(
    path: &std::path::Path,
    catalogue: &crate::domain::Catalogue,
) -> Result<crate::domain::StateDocument, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let doc = crate::domain::StateDocument::from_json_str(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    drop(text);
    crate::domain::validate(&doc, catalogue).map_err(|problems| {
        problems
            .iter()
            .map(|p| format!("{}: {p}", path.display()))
            .collect::<Vec<_>>()
            .join("\nerror: ")
    })?;
    Ok(doc)
}
