//! `partner-access check`: one decision offline, against a state document.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Map, Value};

use super::PolicyArgs;
use crate::domain::{StateDocument, StateIndex, validate};
use crate::policy_tests::parse_request;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The principal: `Hub::User::"ann@acme.example"` or its JSON object form.
    #[arg(long)]
    pub principal: String,
    /// The action: its name (`reports.access`) or `Hub::Action::"reports.access"`.
    #[arg(long)]
    pub action: String,
    /// The resource: `Hub::Account::"c-globex"` or its JSON object form.
    #[arg(long)]
    pub resource: String,
    /// The context, a JSON object.
    #[arg(long)]
    pub context: Option<String>,
    /// The state document to decide against.
    #[arg(long, env = "PARTNER_ACCESS_STATE")]
    pub state: PathBuf,
}

/// A reference given on the command line: JSON if it parses as JSON, else the string form.
fn reference(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

pub fn run(args: &CheckArgs) -> ExitCode {
    let engine = match args.policy.load() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let text = match std::fs::read_to_string(&args.state) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {}: cannot read: {e}", args.state.display());
            return ExitCode::FAILURE;
        }
    };
    let doc = match StateDocument::from_json_str(&text) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("error: {}: {e}", args.state.display());
            return ExitCode::FAILURE;
        }
    };
    if let Err(problems) = validate(&doc, engine.catalogue()) {
        for problem in problems {
            eprintln!("error: {}: {problem}", args.state.display());
        }
        return ExitCode::FAILURE;
    }
    let context = match args.context.as_deref().map(serde_json::from_str::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        Some(Ok(_)) => {
            eprintln!("error: --context: expected a JSON object");
            return ExitCode::FAILURE;
        }
        Some(Err(e)) => {
            eprintln!("error: --context: not JSON: {e}");
            return ExitCode::FAILURE;
        }
    };
    let action = Value::String(args.action.clone());
    let request = match parse_request(
        &reference(&args.principal),
        &action,
        &reference(&args.resource),
        context,
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let index = StateIndex::new(&doc);
    match engine.decide(&request, &index) {
        Ok(decision) => {
            let answer = serde_json::json!({
                "decision": if decision.allowed { "Allow" } else { "Deny" },
                "diagnostics": {"reasons": decision.reasons, "errors": decision.errors},
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            if decision.allowed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
