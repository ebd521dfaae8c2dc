//! `partner-access import FILE` and `partner-access export`: the state document in and out of a
//! data directory (with the server stopped: the store file is held by one process at a time).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::PolicyArgs;
use crate::app::{App, AppSettings, ImportMode};
use crate::domain::StateDocument;

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The state document to load.
    pub file: PathBuf,
    /// Data directory.
    #[arg(long, env = "PARTNER_ACCESS_DATA", default_value = "data")]
    pub data: PathBuf,
    /// A shared PostgreSQL store (`postgres://...`) instead of the redb file in `--data`.
    #[arg(long, env = "PARTNER_ACCESS_STORE")]
    pub store: Option<String>,
    /// Merge into the current state: partners and clients in the file replace those with the
    /// same id, the others stay.
    #[arg(long, conflicts_with = "replace")]
    pub merge: bool,
    /// Replace the whole current state with the file's (needed when the store is not empty).
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Data directory.
    #[arg(long, env = "PARTNER_ACCESS_DATA", default_value = "data")]
    pub data: PathBuf,
    /// A shared PostgreSQL store (`postgres://...`) instead of the redb file in `--data`.
    #[arg(long, env = "PARTNER_ACCESS_STORE")]
    pub store: Option<String>,
}

/// Opens the store of `data` under the policies of `policy`, even when its schema drops
/// permissions the store holds: `export` shows such a state and `import` replaces it.
pub(super) fn open_app(
    policy: &PolicyArgs,
    store: Option<&str>,
    data: &std::path::Path,
) -> Result<App, String> {
    let store = crate::store::open(store, data).map_err(|e| e.to_string())?;
    App::new_for_state_repair(
        AppSettings {
            policies_dir: policy.policies.clone(),
            schema_dir: policy.schema.clone(),
            cache_capacity: 1000,
            cache_ttl: Duration::from_secs(30),
            follow: Default::default(),
        },
        store,
    )
    .map_err(|e| e.to_string())
}

pub fn import(args: &ImportArgs) -> ExitCode {
    let run = || -> Result<(u64, &str), String> {
        let text = std::fs::read_to_string(&args.file)
            .map_err(|e| format!("{}: cannot read: {e}", args.file.display()))?;
        let doc = StateDocument::from_json_str(&text)
            .map_err(|e| format!("{}: {e}", args.file.display()))?;
        let app = open_app(&args.policy, args.store.as_deref(), &args.data)?;
        let mode = match (args.merge, args.replace) {
            (true, _) => ImportMode::Merge,
            (false, true) => ImportMode::Replace,
            (false, false) => ImportMode::Empty,
        };
        let done = match mode {
            ImportMode::Merge => "merged into the state",
            ImportMode::Replace => "replaced the state",
            ImportMode::Empty => "loaded into an empty store",
        };
        app.import(&doc, mode, "cli")
            .map(|revision| (revision, done))
            .map_err(|e| match e {
                crate::app::AppError::InvalidRequest { problems, message }
                    if !problems.is_empty() =>
                {
                    let _ = message;
                    problems
                        .iter()
                        .map(|p| format!("{}: {p}", args.file.display()))
                        .collect::<Vec<_>>()
                        .join("\nerror: ")
                }
                crate::app::AppError::Conflict { .. } if mode == ImportMode::Empty => {
                    let place = match &args.store {
                        Some(_) => "the shared store".to_owned(),
                        None => format!("the store in {}", args.data.display()),
                    };
                    format!(
                        "{place} already holds a state, and an import replaces the whole of it: \
                     give --replace to replace it, or --merge to merge the file into it \
                     (partners and clients of the file replace those with the same id)"
                    )
                }
                other => format!("{}: {other}", args.file.display()),
            })
    };
    match run() {
        Ok((revision, done)) => {
            println!(
                "imported {}: {done} (revision {revision})",
                args.file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

pub fn export(args: &ExportArgs) -> ExitCode {
    let run = || -> Result<String, String> {
        let app = open_app(&args.policy, args.store.as_deref(), &args.data)?;
        let (doc, _) = app.export().map_err(|e| e.to_string())?;
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
    };
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
