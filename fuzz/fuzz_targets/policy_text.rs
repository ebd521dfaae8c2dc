//! libFuzzer target `policy_text`: the body and its oracles are `Target::PolicyText` in
//! `../targets/common.rs`, shared with the stable test `tests/fuzz.rs`.

#![no_main]

#[path = "../targets/common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{Harness, Target};

/// One harness (server, store, runtime) per fuzzing process; libFuzzer calls the target
/// again and again on the same thread.
static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let harness = HARNESS.get_or_init(|| {
        // libFuzzer's own -timeout also applies; this bound names the input in its message.
        Mutex::new(Harness::new(Target::PolicyText, Duration::from_secs(10)))
    });
    let mut harness = harness
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    harness.run(data);
});
