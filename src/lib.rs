//! # partner-access
//!
//! An authorization sidecar for multi-account SaaS: partner agencies manage their clients'
//! accounts, and who may do what is written as Cedar policies (`policies/*.cedar`, checked
//! against `schema/hub.cedarschema`). Host applications ask allow/deny questions; policy authors
//! edit and unit-test the rules.
//!
//! ## Layout
//!
//! - [`domain`]: the model every layer shares: ids, vocabularies, the permission catalogue, the
//!   state document and its validation, the [`domain::Directory`] read interface.
//! - [`policy`]: the only module that imports `cedar_policy`: loads and strictly validates the
//!   policies, builds the entities of a request, and decides (failing closed).
//! - [`store`]: the only module that imports `redb` or a PostgreSQL driver: the state behind
//!   the [`store::Store`] trait; every change atomic and durable before it answers, a revision
//!   per commit. redb (the default; concurrent changes share a transaction and its fsync: group
//!   commit) or PostgreSQL for fleets of sidecars (writers serialized on the revision row, a
//!   change feed the sidecars follow).
//! - [`cache`]: moka in front of the store's point lookups, safe against stale fills.
//! - [`app`]: the use cases over policy engine, store and cache: checks (with consistency
//!   tokens), explanations and reverse queries, administration, the Client Access Manager's
//!   commands (one write transaction each) and reads; following a shared store's changes.
//! - [`http`]: the only module that imports axum: routes, wire types, one `ApiError`, and the
//!   playground page (`/ui`).
//! - [`server`]: serving on a bound listener until shutdown; SIGHUP reloads policies.
//! - [`config`], [`telemetry`]: settings (flags, environment, TOML), logs and metrics.
//! - [`policy_tests`]: the declarative policy test runner (`partner-access test`).
//! - [`fixtures`]: generated states for benchmarks and load tests.
//! - [`cli`]: the command line, one file per subcommand.
//!
//! Data flows one way: `http → app → {policy, store, cache} → domain`.

pub mod app;
pub mod cache;
pub mod cli;
pub mod config;
pub mod domain;
pub mod fixtures;
pub mod http;
pub mod policy;
pub mod policy_tests;
pub mod server;
pub mod store;
pub mod telemetry;
