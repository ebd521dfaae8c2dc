//! `partner-access check`: one decision offline, against a state document.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Map, Value};

use super::PolicyArgs;
use crate::domain::StateIndex;
use crate::policy::{CheckRequest, Decision, PolicyEngine};

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
    /// A state document to decide against.
    #[arg(long, env = "PARTNER_ACCESS_STATE", conflicts_with = "data")]
    pub state: Option<PathBuf>,
    /// Or a data directory (the sidecar's store, with the server stopped) [default: ./data].
    #[arg(long, env = "PARTNER_ACCESS_DATA")]
    pub data: Option<PathBuf>,
}

/// A reference given on the command line: JSON if it parses as JSON, else the string form.
fn reference(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

pub fn run(args: &CheckArgs) -> ExitCode {
    match decide(args) {
        Ok(decision) => {
            let answer = serde_json::json!({
                "decision": decision.verdict(),
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
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn decide(args: &CheckArgs) -> Result<Decision, String> {
    let context = match args.context.as_deref().map(serde_json::from_str::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        Some(Ok(_)) => return Err("--context: expected a JSON object".into()),
        Some(Err(e)) => return Err(format!("--context: not JSON: {e}")),
    };
    let request = CheckRequest::from_parts(
        &reference(&args.principal),
        &Value::String(args.action.clone()),
        &reference(&args.resource),
        context,
    )?;
    match &args.state {
        Some(path) => {
            let engine = PolicyEngine::load(&args.policy.policies, &args.policy.schema)
                .map_err(|e| e.to_string())?;
            let doc = super::read_state_file(path, engine.catalogue())?;
            engine
                .decide(&request, &StateIndex::new(&doc))
                .map_err(|e| e.to_string())
        }
        None => {
            let data = args.data.clone().unwrap_or_else(|| PathBuf::from("data"));
            let app = super::state::open_app(&args.policy, None, &data)?;
            app.check(&request)
                .map(|checked| checked.decision)
                .map_err(|e| e.to_string())
        }
    }
}
