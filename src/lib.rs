//! # partner-access
//!
//! An authorization sidecar for multi-account SaaS: partner agencies manage their clients'
//! accounts, and who may do what is written as Cedar policies (`policies/*.cedar`, checked
//! against `schema/hub.cedarschema`). Host applications ask allow/deny questions; policy authors
//! edit and unit-test the rules.
//!
//! ## Layout
//!
//! Data flows one way: `http → app → {policy, store, cache} → domain`. Each module says what it
//! owns, which outside crates it alone imports, and which modules it may name; the test module
//! `boundaries` reads `src/` and fails on an import out of place.
//!
//! - [`domain`]: the model every layer shares: ids, vocabularies, the permission catalogue, the
//!   state document and its validation, the rules a client account keeps whatever changes it
//!   ([`domain::client_account`]: MIG-4, LINK-2, the relationship's arithmetic), the policy
//!   set's version, the [`domain::Directory`] read interface. Names no other module.
//! - [`policy`], alone importing `cedar_policy` (and Cedar's symbolic compiler): loads and
//!   strictly validates the policies, builds a request's entities, decides (failing closed),
//!   explains, lints and formats; the declarative policy test runner ([`policy::test_cases`],
//!   `partner-access test`) and proofs for every request with an SMT solver
//!   ([`policy::verify`], `partner-access verify`). Names `domain`.
//! - [`store`], alone importing `redb` and the PostgreSQL driver: the state behind
//!   [`store::Store`], every change atomic and durable before it answers, a revision per
//!   commit. One state transaction written once over a narrow table interface that redb
//!   (group commit) and PostgreSQL (fleets: per-account locks, a change feed the sidecars
//!   follow) implement. Names `domain`.
//! - [`cache`]: moka in front of the store's point lookups, safe against stale fills. Names
//!   `store`, `domain`.
//! - [`app`]: the use cases: checks (with consistency tokens and policy-version pins),
//!   explanations and reverse queries, administration, versioned policy sets in the store
//!   ([`app::policies`]: push, activate, history; a sidecar may serve the store's active
//!   version), following a shared store (its changes, and another sidecar's activation), and
//!   the Client Access Manager's reads and commands. Each command is a type in a file of its own
//!   ([`app::commands::Command`]: body, answer, audit name, `run`; granting and revoking one
//!   permission, on either side, is one generic type over the side), run by
//!   [`app::App::run`] in one transaction with its audit record and events. Names `policy`,
//!   `store`, `cache`, `domain`, and re-exports the few of their types its callers need.
//! - [`http`], alone importing `axum`, `hyper` and `tower`: one route table from which the
//!   router, each route's scope and the OpenAPI document are built; wire types, one
//!   `ApiError`, the playground page (`/ui`), and the connections on TCP or a Unix socket
//!   ([`http::serve`]). Names `app`, `domain`, `config`, `telemetry`; never `policy`, `store`
//!   or `cache`. The OpenAPI schemas (`utoipa`) of the types `app` and `domain` send and read
//!   are derived where those types are defined; `utoipa` is named in `http`, `app` and
//!   `domain` only.
//! - [`server`]: runs the sidecar: the HTTP server, background upkeep, SIGHUP reloads.
//! - [`config`] (its `flags.rs`, with [`cli`], alone importing `clap`): `serve`'s settings
//!   from flags and environment (`flags.rs`) and TOML and token files (`file.rs`), resolved
//!   and checked (`resolve.rs`). [`telemetry`]: logs, OpenTelemetry traces (off unless an
//!   OTLP endpoint is set) and metrics; names no other module.
//! - [`cli`]: the command line, one file per subcommand. [`fixtures`]: generated states for
//!   benchmarks and load tests.
//!
//! A file's unit tests of more than a screen sit beside it, in `NAME/tests.rs`, so that the
//! product file reads as one thing; each file's first lines say what it owns.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod fixtures;
pub mod http;
pub mod policy;
pub mod server;
pub mod store;
pub mod telemetry;

#[cfg(test)]
mod boundaries;
