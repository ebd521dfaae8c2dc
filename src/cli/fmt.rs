//! `partner-access fmt`: format the `.cedar` files with Cedar's own formatter.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::policy::{SourceFile, format_policies};

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Directory of `.cedar` policy files.
    #[arg(long, env = "PARTNER_ACCESS_POLICIES", default_value = "policies")]
    pub policies: PathBuf,
    /// Do not write: list the files that are not formatted and exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: &FmtArgs) -> ExitCode {
    let files = match SourceFile::read_dir(&args.policies, "cedar") {
        Ok(files) => files,
        Err(errors) => {
            eprintln!("error: {errors}");
            return ExitCode::FAILURE;
        }
    };
    let mut unformatted = 0;
    let count = files.len();
    for file in files {
        let pretty = match format_policies(&file.text) {
            Ok(pretty) => pretty,
            Err(e) => {
                eprintln!("error: {}: {e}", file.path.display());
                return ExitCode::FAILURE;
            }
        };
        if pretty == file.text {
            continue;
        }
        unformatted += 1;
        if args.check {
            println!("not formatted: {}", file.path.display());
        } else if let Err(e) = std::fs::write(&file.path, pretty) {
            eprintln!("error: {}: cannot write: {e}", file.path.display());
            return ExitCode::FAILURE;
        } else {
            println!("formatted: {}", file.path.display());
        }
    }
    // A word on success too, so a script's log (and a person) sees what was checked.
    match (args.check, unformatted) {
        (true, 0) => println!(
            "ok: {count} policy files in {} are formatted",
            args.policies.display()
        ),
        (false, 0) => println!(
            "ok: {count} policy files in {} were already formatted",
            args.policies.display()
        ),
        _ => {}
    }
    if args.check && unformatted > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
