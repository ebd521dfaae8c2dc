//! `partner-access verify`: proofs about the policy set with an SMT solver (see
//! [`crate::policy::verify`]): its policies never error, the authors' properties hold, and
//! (with `--against`) it allows nothing an earlier set denied. Exit 0 when everything holds, 1
//! with a counterexample for each failure, 2 when the check cannot run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::PolicyArgs;
use crate::policy::PolicyEngine;
use crate::policy::verify::{Report, Solver, load_properties, verify};

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Directory of property files (`.cedar`: permits with `@id` and `@property("never")` or
    /// `@property("always")`); a missing default directory means no properties.
    #[arg(long, default_value = "properties")]
    pub properties: PathBuf,
    /// An earlier policy directory: prove the set allows nothing the earlier one denied. The
    /// earlier policies are compared under the new schema (one that uses what it removed is
    /// reported, not compared).
    #[arg(long)]
    pub against: Option<PathBuf>,
    /// The schema the earlier policies are loaded (validated) with [default: --schema].
    #[arg(long, requires = "against")]
    pub against_schema: Option<PathBuf>,
    /// The SMT solver to run: what `tools/install-cvc5 DIR` prints, or a cvc5 1.3 executable
    /// [default: $CVC5, else `cvc5` on the PATH].
    #[arg(long)]
    pub solver: Option<PathBuf>,
    /// Output: text, or a JSON report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: &VerifyArgs) -> ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let Ok(engine) = args.policy.load() else {
        return ExitCode::from(2);
    };
    let properties = if args.properties.is_dir() {
        match load_properties(&args.properties, engine.schema()) {
            Ok(properties) => properties,
            Err(e) => return fail(e.to_string()),
        }
    } else if args.properties == std::path::Path::new("properties") {
        Vec::new()
    } else {
        return fail(format!(
            "{}: no such properties directory",
            args.properties.display()
        ));
    };
    if properties.is_empty() {
        eprintln!(
            "warning: no properties in {} (only that no policy errors is proved)",
            args.properties.display()
        );
    }
    let against = match &args.against {
        None => None,
        Some(dir) => {
            let schema = args.against_schema.as_ref().unwrap_or(&args.policy.schema);
            match PolicyEngine::load(dir, schema) {
                Ok(engine) => Some(engine),
                Err(errors) => {
                    return fail(format!("--against {}: {errors}", dir.display()));
                }
            }
        }
    };
    let solver = args
        .solver
        .as_ref()
        .map_or_else(Solver::from_env, Solver::cvc5);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let report = match runtime.block_on(verify(&engine, &properties, against.as_ref(), &solver)) {
        Ok(report) => report,
        Err(e) => return fail(e.to_string()),
    };
    match args.format {
        Format::Json => match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => return fail(e.to_string()),
        },
        Format::Text => print_text(&report, properties.len()),
    }
    if report.holds() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_text(report: &Report, properties: usize) {
    print!("{}", render_text(report, properties));
}

/// The text report: each failure with its counterexample, then the summary line.
fn render_text(report: &Report, properties: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for failure in &report.failures {
        let c = &failure.counterexample;
        let _ = writeln!(out, "FAILED {} ({})", failure.check, failure.env);
        let _ = writeln!(
            out,
            "  counterexample: principal {}, action {}, resource {}",
            c.principal, c.action, c.resource
        );
        if c.context.as_object().is_some_and(|o| !o.is_empty()) {
            let _ = writeln!(out, "  context: {}", c.context);
        }
        for entity in &c.entities {
            let _ = writeln!(out, "  entity: {entity}");
        }
    }
    let held: usize = report.held.values().sum();
    let _ = writeln!(
        out,
        "{}: {} of {} checks held ({} properties, {} solver queries)",
        if report.holds() { "ok" } else { "FAILED" },
        held,
        held + report.failures.len(),
        properties,
        report.queries
    );
    out
}

/// For `policies push --properties DIR`: the set in `policies` and `schema` must never error
/// and must hold every property in `properties`. The summary line when it does; every failure
/// with its counterexample when it does not (the push then stores nothing).
pub fn require(
    policies: &Path,
    schema: &Path,
    properties: &Path,
    solver: Option<&Path>,
) -> Result<String, String> {
    let engine = PolicyEngine::load(policies, schema).map_err(|e| e.to_string())?;
    let properties =
        load_properties(properties, engine.schema()).map_err(|e| format!("--properties: {e}"))?;
    let solver = solver.map_or_else(Solver::from_env, Solver::cvc5);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let report = runtime
        .block_on(verify(&engine, &properties, None, &solver))
        .map_err(|e| e.to_string())?;
    let text = render_text(&report, properties.len());
    if report.holds() {
        Ok(text.trim_end().to_owned())
    } else {
        Err(format!(
            "the policy set does not hold its properties; nothing was stored\n{}",
            text.trim_end()
        ))
    }
}
