//! `partner-access validate`: parse and strictly validate the policies against the schema.

use std::process::ExitCode;

use super::PolicyArgs;

pub fn run(args: &PolicyArgs) -> ExitCode {
    let engine = match args.load() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    for warning in engine.warnings() {
        eprintln!("warning: {warning}");
    }
    println!(
        "ok: {} policies in {} validate against {} ({} actions, {} permissions)",
        engine.policies().len(),
        args.policies.display(),
        args.schema.display(),
        engine.actions().count(),
        engine.catalogue().permissions().count()
    );
    println!("policy version: {}", engine.version());
    ExitCode::SUCCESS
}
