//! Proofs about a policy set for *every* state and request the schema allows, not only the
//! cases someone wrote down: `partner-access verify`.
//!
//! The declarative tests ([`super::test_cases`]) show that the rules decide the examples as
//! expected. This module asks an SMT solver, through Cedar's symbolic compiler
//! (`cedar-policy-symcc`, whose encoding is proved correct against Cedar's semantics in Lean),
//! whether a property holds for all inputs; when one does not, the solver's model becomes a
//! counterexample: a request and the entities that make it fail, which a policy author can
//! replay with `partner-access check`.
//!
//! Three kinds of property, each checked per request environment (principal type, action,
//! resource type) of the schema:
//!
//! - **never errors**: no policy can error on a well-formed request. An erroring policy is
//!   skipped by Cedar; the engine turns an erroring `forbid` into a Deny, but a set whose
//!   policies cannot error does not need that rescue.
//! - **author properties** ([`Property`]), `permit` policies in a directory of their own
//!   (`properties/`), each with `@id` and `@property("never")` or `@property("always")`:
//!   `never` holds when the policy set allows none of the requests the property matches (the
//!   two are disjoint: "no partner admin is ever allowed `scim.provision`"); `always` holds
//!   when the set allows every request it matches (the property implies the set).
//! - **no new allows** against an earlier set (`--against DIR`): every request the new set
//!   allows, the earlier one allowed too.
//!
//! The solver is a process speaking SMT-LIB on its standard input and output ([`Solver`]):
//! `cvc5 --lang smt`, or the `tools/cvc5-smt` driver over the `cvc5` Python package.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Policy, PolicySet, RequestEnv, Schema, ValidationMode, Validator,
};
use cedar_policy_symcc::solver::LocalSolver;
use cedar_policy_symcc::{CedarSymCompiler, CompiledPolicy, CompiledPolicySet, Env};
use serde::Serialize;

use super::{LoadErrors, PolicyEngine, SourceFile};

/// The solver's time limit per query, in milliseconds (cvc5's `--tlimit-per`: per check, where
/// `--tlimit` would bound the whole run).
const SOLVER_TIME_LIMIT_MS: u64 = 60_000;

/// How to start the SMT solver: a program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solver {
    program: OsString,
    args: Vec<OsString>,
}

impl Solver {
    /// `program` with the arguments cvc5 needs to read SMT-LIB from its standard input.
    pub fn cvc5(program: impl Into<OsString>) -> Self {
        Solver {
            program: program.into(),
            args: vec![
                "--lang".into(),
                "smt".into(),
                format!("--tlimit-per={SOLVER_TIME_LIMIT_MS}").into(),
            ],
        }
    }

    /// The solver the environment names: `CVC5` (the variable cedar-policy-symcc reads),
    /// else `cvc5` on the `PATH`.
    pub fn from_env() -> Self {
        Solver::cvc5(std::env::var_os("CVC5").unwrap_or_else(|| "cvc5".into()))
    }

    /// The program started.
    pub fn program(&self) -> &std::ffi::OsStr {
        &self.program
    }

    fn start(&self) -> Result<LocalSolver, VerifyError> {
        let mut command = tokio::process::Command::new(&self.program);
        command.args(&self.args).kill_on_drop(true);
        LocalSolver::from_command(&mut command).map_err(|source| VerifyError::SolverStart {
            program: self.program.to_string_lossy().into_owned(),
            source: Box::new(source.into()),
        })
    }
}

/// What a property says of the requests its policy matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyKind {
    /// The policy set allows none of them.
    Never,
    /// The policy set allows all of them.
    Always,
}

/// A property a policy author wrote: a `permit` whose scope and conditions describe requests.
#[derive(Debug, Clone)]
pub struct Property {
    /// Its `@id`.
    pub id: String,
    pub kind: PropertyKind,
    /// The file it is in.
    pub file: String,
    /// The property's policy, alone in a set (as the symbolic compiler takes it).
    policy: Policy,
    set: PolicySet,
}

/// Why properties do not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropertyError {
    #[error("{0}")]
    Read(LoadErrors),
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error(
        "{file}: policy {policy}: a property needs @id(\"...\") and @property(\"never\") or \
         @property(\"always\")"
    )]
    Annotations { file: String, policy: String },
    #[error("{file}: property {id} is a forbid; a property is a permit that matches requests")]
    Forbid { file: String, id: String },
    #[error("{file}: property {id} is defined twice")]
    Duplicate { file: String, id: String },
    #[error("{file}: property {id} does not validate against the schema: {message}")]
    Invalid {
        file: String,
        id: String,
        message: String,
    },
}

/// Reads the properties in `dir` (its `.cedar` files), each validated strictly against
/// `schema` as a policy is: a property naming an undeclared action or a scope no action has
/// would otherwise match nothing, and hold without saying anything.
pub fn load_properties(dir: &Path, schema: &Schema) -> Result<Vec<Property>, PropertyError> {
    let files = SourceFile::read_dir(dir, "cedar").map_err(PropertyError::Read)?;
    let mut properties: Vec<Property> = Vec::new();
    for file in files {
        let set = PolicySet::from_str(&file.text).map_err(|e| PropertyError::Parse {
            file: file.path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut policies: Vec<&Policy> = set.policies().collect();
        policies.sort_by_key(|p| p.id().to_string());
        for policy in policies {
            let id = policy.annotation("id");
            let kind = match policy.annotation("property") {
                Some("never") => Some(PropertyKind::Never),
                Some("always") => Some(PropertyKind::Always),
                _ => None,
            };
            let (Some(id), Some(kind)) = (id, kind) else {
                return Err(PropertyError::Annotations {
                    file: file.path.display().to_string(),
                    policy: policy.id().to_string(),
                });
            };
            if policy.effect() != cedar_policy::Effect::Permit {
                return Err(PropertyError::Forbid {
                    file: file.path.display().to_string(),
                    id: id.to_owned(),
                });
            }
            if properties.iter().any(|p| p.id == id) {
                return Err(PropertyError::Duplicate {
                    file: file.path.display().to_string(),
                    id: id.to_owned(),
                });
            }
            let set =
                PolicySet::from_policies([policy.clone()]).map_err(|e| PropertyError::Parse {
                    file: file.path.display().to_string(),
                    message: e.to_string(),
                })?;
            let validated = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
            if let Some(error) = validated.validation_errors().next() {
                return Err(PropertyError::Invalid {
                    file: file.path.display().to_string(),
                    id: id.to_owned(),
                    message: error.to_string(),
                });
            }
            properties.push(Property {
                id: id.to_owned(),
                kind,
                file: file.path.display().to_string(),
                policy: policy.clone(),
                set,
            });
        }
    }
    Ok(properties)
}

/// Why a verification could not be run (a property that does not hold is a finding, not an
/// error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error(
        "cannot start the SMT solver `{program}`: {source} (install cvc5, or name a solver \
         with --solver or the CVC5 variable)"
    )]
    SolverStart {
        program: String,
        source: Box<cedar_policy_symcc::err::Error>,
    },
    #[error(
        "property {id} matches no request the schema allows (its conditions can never hold): \
         it would prove nothing"
    )]
    Vacuous { id: String },
    #[error(
        "--against: the earlier policies do not compile under the new schema for {env} (an \
         action, type or attribute they use is gone?): {source}"
    )]
    Earlier {
        env: String,
        source: Box<cedar_policy_symcc::err::Error>,
    },
    #[error("{check} for {env}: {source}")]
    Symbolic {
        check: String,
        env: String,
        source: Box<cedar_policy_symcc::err::Error>,
    },
}

/// What was checked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// The policy never errors.
    NeverErrors { policy: String },
    /// An author's property.
    Property { id: String, property: PropertyKind },
    /// Nothing the set allows was denied by the earlier set.
    NoNewAllows { against: String },
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Check::NeverErrors { policy } => write!(f, "policy {policy} never errors"),
            Check::Property {
                id,
                property: PropertyKind::Never,
            } => write!(f, "property {id}: never allowed"),
            Check::Property {
                id,
                property: PropertyKind::Always,
            } => write!(f, "property {id}: always allowed"),
            Check::NoNewAllows { against } => {
                write!(f, "allows nothing that {against} denies")
            }
        }
    }
}

/// A request and entities for which a property fails, as the solver found them.
#[derive(Debug, Clone, Serialize)]
pub struct Counterexample {
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// The request's context, in Cedar's JSON format.
    pub context: serde_json::Value,
    /// The entities other than actions, in Cedar's JSON entity format.
    pub entities: Vec<serde_json::Value>,
}

impl Counterexample {
    fn of(env: &Env) -> Self {
        let show = |uid: Option<&cedar_policy::EntityUid>| {
            uid.map_or_else(|| "(unknown)".to_owned(), ToString::to_string)
        };
        // Every action is an entity of the model; only the others say anything.
        let entities = match env.entities.to_json_value() {
            Ok(serde_json::Value::Array(entities)) => entities
                .into_iter()
                .filter(|e| {
                    e.pointer("/uid/type")
                        .and_then(serde_json::Value::as_str)
                        .is_none_or(|t| t.rsplit("::").next() != Some("Action"))
                })
                .collect(),
            _ => Vec::new(),
        };
        Counterexample {
            principal: show(env.request.principal()),
            action: show(env.request.action()),
            resource: show(env.request.resource()),
            context: env
                .request
                .context()
                .and_then(|c| c.to_json_value().ok())
                .unwrap_or(serde_json::Value::Null),
            entities,
        }
    }
}

/// A property that failed, with its counterexample.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub check: Check,
    /// The request environment: `principal type, action, resource type`.
    pub env: String,
    pub counterexample: Counterexample,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Each check, with the number of request environments it held in.
    pub held: BTreeMap<String, usize>,
    /// Every (check, environment) that failed, in the order of the checks.
    pub failures: Vec<Failure>,
    /// The solver queries made.
    pub queries: usize,
}

impl Report {
    /// Whether every property held.
    pub fn holds(&self) -> bool {
        self.failures.is_empty()
    }
}

fn env_name(env: &RequestEnv) -> String {
    format!("{}, {}, {}", env.principal(), env.action(), env.resource())
}

/// Whether `policy`'s action scope can match `env`'s action: `==` decides at once; `in` (a group
/// or a list) is taken to match, and the symbolic compiler decides it exactly.
fn may_apply(policy: &Policy, env: &RequestEnv) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any | ActionConstraint::In(_) => true,
        ActionConstraint::Eq(action) => &action == env.action(),
    }
}

/// Runs every check on `engine`'s policy set: its policies never error, the `properties` hold,
/// and (with `against`) it allows nothing the earlier set denied. One solver process serves
/// every query.
pub async fn verify(
    engine: &PolicyEngine,
    properties: &[Property],
    against: Option<&PolicyEngine>,
    solver: &Solver,
) -> Result<Report, VerifyError> {
    let schema: &Schema = engine.schema();
    let mut compiler =
        CedarSymCompiler::new(solver.start()?).map_err(|source| VerifyError::SolverStart {
            program: solver.program.to_string_lossy().into_owned(),
            source: Box::new(source),
        })?;
    let mut report = Report::default();
    let symbolic = |check: &str, env: &RequestEnv| {
        let (check, env) = (check.to_owned(), env_name(env));
        move |source: cedar_policy_symcc::err::Error| VerifyError::Symbolic {
            check,
            env,
            source: Box::new(source),
        }
    };
    let mut policies: Vec<&Policy> = engine.policy_set().policies().collect();
    policies.sort_by_key(|p| p.annotation("id").unwrap_or_default().to_owned());
    // Per property: whether some request of some environment matches it. One that matches
    // none holds in every check and proves nothing: an error, not a pass.
    let mut matches_some = vec![false; properties.len()];

    for env in schema.request_envs() {
        // Never errors: one query per policy that can apply here.
        for policy in policies.iter().filter(|p| may_apply(p, &env)) {
            let check = Check::NeverErrors {
                policy: policy
                    .annotation("id")
                    .map_or_else(|| policy.id().to_string(), str::to_owned),
            };
            let name = check.to_string();
            let compiled =
                CompiledPolicy::compile(policy, &env, schema).map_err(symbolic(&name, &env))?;
            let found = compiler
                .check_never_errors_with_counterexample_opt(&compiled)
                .await
                .map_err(symbolic(&name, &env))?;
            report.record(check, &env, found);
        }

        let compiled_set = CompiledPolicySet::compile(engine.policy_set(), &env, schema)
            .map_err(symbolic("the policy set compiles", &env))?;

        for (index, property) in properties.iter().enumerate() {
            if !may_apply(&property.policy, &env) {
                continue;
            }
            let check = Check::Property {
                id: property.id.clone(),
                property: property.kind,
            };
            let name = check.to_string();
            let compiled_property = CompiledPolicySet::compile(&property.set, &env, schema)
                .map_err(symbolic(&name, &env))?;
            if !matches_some[index] {
                matches_some[index] = !compiler
                    .check_always_denies_opt(&compiled_property)
                    .await
                    .map_err(symbolic(&name, &env))?;
                report.queries += 1;
            }
            let found = match property.kind {
                PropertyKind::Never => {
                    compiler
                        .check_disjoint_with_counterexample_opt(&compiled_set, &compiled_property)
                        .await
                }
                PropertyKind::Always => {
                    compiler
                        .check_implies_with_counterexample_opt(&compiled_property, &compiled_set)
                        .await
                }
            }
            .map_err(symbolic(&name, &env))?;
            report.record(check, &env, found);
        }

        if let Some(earlier) = against {
            let check = Check::NoNewAllows {
                against: earlier.version().to_string(),
            };
            let name = check.to_string();
            // The earlier policies are read under the new schema: both sets are compiled for
            // the same request environment, as the comparison needs.
            let compiled_earlier = CompiledPolicySet::compile(earlier.policy_set(), &env, schema)
                .map_err(|source| VerifyError::Earlier {
                env: env_name(&env),
                source: Box::new(source),
            })?;
            let found = compiler
                .check_implies_with_counterexample_opt(&compiled_set, &compiled_earlier)
                .await
                .map_err(symbolic(&name, &env))?;
            report.record(check, &env, found);
        }
    }
    if let Some(index) = matches_some.iter().position(|matched| !matched) {
        return Err(VerifyError::Vacuous {
            id: properties[index].id.clone(),
        });
    }
    // In the order of the checks, whatever order the schema lists its environments in.
    report
        .failures
        .sort_by(|a, b| (&a.check, &a.env).cmp(&(&b.check, &b.env)));
    Ok(report)
}

impl Report {
    fn record(&mut self, check: Check, env: &RequestEnv, found: Option<Env>) {
        self.queries += 1;
        match found {
            None => *self.held.entry(check.to_string()).or_default() += 1,
            Some(counterexample) => self.failures.push(Failure {
                check,
                env: env_name(env),
                counterexample: Counterexample::of(&counterexample),
            }),
        }
    }
}
