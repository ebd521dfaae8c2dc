//! The suites of the crate's own harness in one test binary (one link instead of eight): the
//! command line ([`cli`], [`cli_authors`]), the declarative policy corpus ([`policy_cases`]),
//! the documented input limits ([`limits`]), the README's examples ([`readme`]), decision equivalence with plain Cedar
//! ([`equivalence`]), failing closed under injected faults ([`fail_closed`]), the store's own
//! disk faults ([`storage_faults`]), revocation freshness ([`freshness`]) and the OpenTelemetry
//! traces the binary exports ([`traces`]). One file per
//! suite; `cargo test --test integration limits::` runs one of them.
//!
//! Apart from it: the HTTP suite (`tests/service`, run once per store backend by `.ci/run`), the
//! suites that measure their own process (`tests/fuzz.rs`: its peak memory; `tests/soak.rs`:
//! load against a time bound), and those with a harness of their own (`tests/crash.rs`,
//! `tests/fleet.rs`, `tests/rule_book.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod cli_authors;
mod equivalence;
mod fail_closed;
mod freshness;
mod limits;
mod policy_cases;
mod readme;
mod storage_faults;
mod traces;
