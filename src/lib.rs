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
//!   state document and its validation, the [`domain::Directory`] read interface. Names no
//!   other module.
//! - [`policy`], alone importing `cedar_policy`: loads and strictly validates the policies,
//!   builds a request's entities, decides (failing closed), explains, lints and formats; the
//!   declarative policy test runner ([`policy::test_cases`], `partner-access test`). Names
//!   `domain`.
//! - [`store`], alone importing `redb` and the PostgreSQL driver: the state behind
//!   [`store::Store`], every change atomic and durable before it answers, a revision per
//!   commit; redb (group commit) or PostgreSQL for fleets (a change feed the sidecars follow).
//!   Names `domain`.
//! - [`cache`]: moka in front of the store's point lookups, safe against stale fills. Names
//!   `store`, `domain`.
//! - [`app`]: the use cases: checks (with consistency tokens), explanations and reverse
//!   queries, administration, the Client Access Manager's commands and reads, following a
//!   shared store. Names `policy`, `store`, `cache`, `domain`, and re-exports the few of their
//!   types its callers need.
//! - [`http`], alone importing `axum`, `hyper`, `tower` and `utoipa`: routes, wire types, one
//!   `ApiError`, the playground page (`/ui`), and the connections ([`http::serve`]). Names
//!   `app`, `domain`, `config`, `telemetry`; never `policy`, `store` or `cache`.
//! - [`server`]: runs the sidecar: the HTTP server, background upkeep, SIGHUP reloads.
//! - [`config`] (with [`cli`], alone importing `clap`): `serve`'s settings from flags,
//!   environment and TOML. [`telemetry`]: logs and metrics; names no other module.
//! - [`cli`]: the command line, one file per subcommand. [`fixtures`]: generated states for
//!   benchmarks and load tests.

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
