//! Integration tests of the sidecar over HTTP: the real server on an ephemeral port with a
//! temporary data directory. One test binary; one file per concern.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod auth;
mod bad_input;
mod cam_rights;
mod checks;
mod client_rights;
mod commands_cam;
mod commands_client;
mod corpus;
mod decision_log;
mod events_stream;
mod explain;
mod idempotency;
mod link2;
mod openapi_shapes;
mod ops;
mod policy_store;
mod policy_version;
mod rust_client;
mod secrets;
