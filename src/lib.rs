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
//! - [`policy_tests`]: the declarative policy test runner (`partner-access test`).
//! - [`cli`]: the command line, one file per subcommand.
//!
//! Data flows one way: `cli → policy_tests → policy → domain`.

pub mod app;
pub mod cache;
pub mod cli;
pub mod domain;
pub mod config;
pub mod http;
pub mod policy;
pub mod policy_tests;
pub mod server;
pub mod store;
pub mod telemetry;
