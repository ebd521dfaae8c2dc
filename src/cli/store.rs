//! `partner-access check-store` and `partner-access backup`: the redb store file checked and
//! copied, for operators.
//!
//! A running sidecar holds its store file, so both work on a stopped sidecar's data directory
//! (or, for `check-store`, on a backup file). A running sidecar is backed up over HTTP with
//! `GET /v1/admin/backup`, which writes the same consistent copy while it serves.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::store::RedbStore;

#[derive(Debug, Args)]
pub struct CheckStoreArgs {
    /// A store file to check (a backup, or a data directory's `state.redb`); default: the
    /// `state.redb` of `--data`.
    pub file: Option<PathBuf>,
    /// Data directory.
    #[arg(long, env = "PARTNER_ACCESS_DATA", default_value = "data")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Where to write the copy (replaced atomically when it exists).
    #[arg(long)]
    pub to: PathBuf,
    /// Data directory.
    #[arg(long, env = "PARTNER_ACCESS_DATA", default_value = "data")]
    pub data: PathBuf,
}

/// Checks a store file: the storage engine's integrity check (on a copy: the file is not
/// changed), then every record read and decoded. Exit 0 when sound, 1 when not.
pub fn check(args: &CheckStoreArgs) -> ExitCode {
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| args.data.join("state.redb"));
    match RedbStore::check_file(&file) {
        Ok(found) => {
            println!(
                "{}: sound (revision {}: {} partners, {} clients, {} client users, {} audit \
                 records, {} events)",
                file.display(),
                found.revision,
                found.partners,
                found.clients,
                found.users,
                found.audit_records,
                found.events
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Copies the store of a stopped sidecar's data directory to a file, consistently.
pub fn backup(args: &BackupArgs) -> ExitCode {
    let file = args.data.join("state.redb");
    if !std::fs::metadata(&file).is_ok_and(|m| m.len() > 0) {
        eprintln!(
            "error: {}: no store here (is --data the sidecar's data directory?)",
            file.display()
        );
        return ExitCode::FAILURE;
    }
    let copied = RedbStore::open(&args.data).and_then(|store| store.backup_to(&args.to));
    match copied {
        Ok(revision) => {
            println!(
                "{}: backup of {} at revision {revision}",
                args.to.display(),
                args.data.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
