//! The test kit every test binary shares (`mod support;`): where the checkout is and its
//! fixtures, the app's settings for tests, the real server in-process on an ephemeral port
//! ([`harness`]), `partner-access serve` as a child process ([`process`]), one fault-injecting
//! store ([`faults`]), the test PostgreSQL server ([`postgres`]) and a proxy in front of it
//! ([`proxy`]), honest skips for the custom harnesses ([`needs`]), and rule ids in texts
//! ([`rule_ids`]).

#![allow(
    dead_code,
    reason = "each test binary compiles the whole kit and uses the part it needs"
)]

pub mod faults;
pub mod harness;
pub mod needs;
pub mod postgres;
pub mod process;
pub mod proxy;
pub mod rule_ids;

use std::path::PathBuf;
use std::time::Duration;

use partner_access::app::AppSettings;
use serde_json::Value;

/// The checkout: `policies/`, `schema/`, `tests/policies/`, `docs/`.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The agency fixture of the declarative policy tests (`tests/policies/fixtures/agency.json`).
pub fn agency() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/policies/fixtures/agency.json")).unwrap(),
    )
    .unwrap()
}

/// The demo state: partner `p-acme` (employees ann, bob, pat, cy) manages `c-globex`.
pub fn demo() -> Value {
    serde_json::from_str(partner_access::cli::DEMO_STATE).unwrap()
}

/// The app's settings for tests: the checkout's policies and schema, a cache of 10,000 entries
/// that expire after 30 s, and the default way of following a shared store. A test that needs
/// other values says only those: `AppSettings { cache_ttl: ..., ..settings() }`.
pub fn settings() -> AppSettings {
    AppSettings {
        policies_dir: root().join("policies"),
        schema_dir: root().join("schema"),
        cache_capacity: 10_000,
        cache_ttl: Duration::from_secs(30),
        follow: Default::default(),
    }
}
