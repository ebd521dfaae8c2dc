//! `partner-access test`: run declarative policy test files and report per file.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::PolicyArgs;
use crate::policy_tests::{discover, exercised_policies, run_file};

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Test files or directories (a directory's `*.json` files); default: tests/policies.
    pub paths: Vec<PathBuf>,
    /// Also list every policy `@id` that no case exercised (determined no decision).
    #[arg(long)]
    pub coverage: bool,
}

pub fn run(args: &TestArgs) -> ExitCode {
    let engine = match args.policy.load() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("tests/policies")]
    } else {
        args.paths.clone()
    };
    let files = match discover(&paths) {
        Ok(files) if files.is_empty() => {
            eprintln!("error: no test files found in {paths:?}");
            return ExitCode::FAILURE;
        }
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let results: Vec<_> = files.iter().map(|f| run_file(&engine, f)).collect();
    let (mut passed, mut failed) = (0, 0);
    for file in &results {
        passed += file.passed();
        failed += file.failed();
        let status = if file.failed() == 0 { "ok" } else { "FAILED" };
        println!(
            "{}: {status} ({} passed, {} failed)",
            file.path.display(),
            file.passed(),
            file.failed()
        );
        if let Some(error) = &file.error {
            println!("  error: {error}");
        }
        for case in file.cases.iter().filter(|c| !c.passed()) {
            println!(
                "  FAIL {}: {}",
                case.name,
                case.failure.as_deref().unwrap_or_default()
            );
        }
    }
    if args.coverage {
        let exercised = exercised_policies(&results);
        let unexercised: Vec<_> = engine
            .policies()
            .iter()
            .filter(|p| !exercised.contains(&p.id))
            .collect();
        println!(
            "coverage: {} of {} policies exercised",
            engine.policies().len() - unexercised.len(),
            engine.policies().len()
        );
        for policy in unexercised {
            println!(
                "  not exercised: {} ({}:{})",
                policy.id, policy.file, policy.line
            );
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
