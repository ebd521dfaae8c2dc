//! `partner-access lint`: find policies and actions that load fine but do nothing.
//!
//! Prints one line per finding, `file:line: rule: message`, like a compiler, then a summary.
//! Exit code 0 when clean, 1 when there are findings, 2 when the policies or the schema do not
//! load (so CI can tell "fix your policies" from "the lint could not run"). The rules are
//! described in [`crate::policy::lint`] and `docs/policy-authoring.md`.

use std::process::ExitCode;

use clap::Args;

use super::PolicyArgs;
use crate::policy::{PolicyEngine, SourceFile};

#[derive(Debug, Args)]
pub struct LintArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Exit code when the policies or the schema cannot be loaded.
const LOAD_ERROR: u8 = 2;

pub fn run(args: &LintArgs) -> ExitCode {
    let loaded =
        PolicyEngine::load(&args.policy.policies, &args.policy.schema).and_then(|engine| {
            // Read again only to locate action declarations; the engine keeps no sources.
            SourceFile::read_dir(&args.policy.schema, "cedarschema").map(|files| (engine, files))
        });
    let (engine, schema_files) = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in &errors.0 {
                eprintln!("error: {error}");
            }
            eprintln!("error: the policies could not be loaded; nothing was linted");
            return ExitCode::from(LOAD_ERROR);
        }
    };
    let findings = engine.lint(&schema_files);
    for finding in &findings {
        println!("{finding}");
    }
    let policies = engine.policies().len();
    let actions = engine.actions().count();
    if findings.is_empty() {
        println!("ok: no findings in {policies} policies and {actions} actions");
        ExitCode::SUCCESS
    } else {
        println!(
            "{} finding(s) in {policies} policies and {actions} actions",
            findings.len()
        );
        ExitCode::FAILURE
    }
}
