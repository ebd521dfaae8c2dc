//! Fuzzing on stable, bounded in time, so that CI runs it on every change.
//!
//! The targets' bodies and their oracles are in `fuzz/targets/common.rs`, shared with the
//! `cargo fuzz` targets (libFuzzer, nightly) under `fuzz/`; see `docs/fuzzing.md`. Here each
//! target is fed inputs for `FUZZ_SECS` seconds (default 8): random byte strings, and byte-level
//! mutations of earlier inputs that showed a behaviour not seen before (a new route, status and
//! kind of message), a poor man's feedback loop in place of libFuzzer's coverage. The bytes are
//! read as decisions that mutate valid seeds structurally, so most inputs reach the handlers,
//! the policies and the store rather than dying in the JSON parser.
//!
//! Environment:
//! - `FUZZ_SECS` seconds per target (default 8; `FUZZ_SECS=600` for a long run);
//! - `FUZZ_SEED` the random seed (default: from the clock; always printed);
//! - `FUZZ_MAX_INPUT_MS` the longest one input may take (default 20000, a debug build);
//! - `FUZZ_MAX_RSS_MB` the peak resident memory allowed at the end (default 2048);
//! - `FUZZ_VERBOSE=1` lists the behaviours seen (route, status, kind of message);
//! - `FUZZ_INPUT_HEX` runs only that input (as printed by a failure), with a test name filter.
//!
//! A failing input is printed in hex and written to `fuzz/artifacts/<target>/`; every file in
//! `fuzz/artifacts/<target>/` and `fuzz/corpus/<target>/` (cargo fuzz's crashes and corpus) is
//! replayed first, so a libFuzzer finding is reproduced here on stable.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

#[path = "../fuzz/targets/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Harness, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim();
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("FUZZ_INPUT_HEX is hex"))
        .collect()
}

/// Runs one input; on a failure prints it, saves it as an artifact, and fails the test.
fn run_guarded(harness: &mut Harness, target: Target, input: &[u8], label: &str) -> String {
    match std::panic::catch_unwind(AssertUnwindSafe(|| harness.run(input))) {
        Ok(signature) => signature,
        Err(payload) => {
            let dir = fuzz_dir().join("artifacts").join(target.name());
            let file = dir.join(format!("stable-{label}"));
            let saved = std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&file, input))
                .map_or_else(
                    |e| format!("not saved: {e}"),
                    |()| file.display().to_string(),
                );
            eprintln!(
                "fuzz {}: input {label} failed; saved to {saved}\nreplay: FUZZ_INPUT_HEX={} cargo test --test fuzz {}",
                target.name(),
                hex(input),
                target.name()
            );
            std::panic::resume_unwind(payload)
        }
    }
}

/// The next input: fresh random bytes, or an earlier interesting input edited at the byte
/// level (a byte changed, inserted or removed, a piece of another one appended).
fn next_input(rng: &mut StdRng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.random_bool(0.5) {
        let len = if rng.random_bool(0.9) {
            rng.random_range(0..256)
        } else {
            rng.random_range(256..4096)
        };
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes[..]);
        return bytes;
    }
    let mut bytes = corpus[rng.random_range(0..corpus.len())].clone();
    for _ in 0..rng.random_range(1..=4) {
        match rng.random_range(0..5) {
            0 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(0..=bytes.len());
                bytes.insert(i, rng.random());
            }
            2 if !bytes.is_empty() => {
                let i = rng.random_range(0..bytes.len());
                bytes.remove(i);
            }
            3 => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                let from = rng.random_range(0..=other.len());
                bytes.extend_from_slice(&other[from..]);
            }
            _ => {
                let more = rng.random_range(1..32);
                bytes.extend((0..more).map(|_| rng.random::<u8>()));
            }
        }
    }
    bytes
}

/// The process's peak resident memory in MiB (Linux), to bound what the run costs.
fn peak_rss_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Files of a directory, sorted, for replays.
fn files(dir: PathBuf) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn fuzz(target: Target) {
    let secs = env_u64("FUZZ_SECS", 8);
    let seed = env_u64(
        "FUZZ_SEED",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    let max_input = Duration::from_millis(env_u64("FUZZ_MAX_INPUT_MS", 20_000));
    let max_rss = env_u64("FUZZ_MAX_RSS_MB", 2048);
    let started = Instant::now();
    let mut harness = Harness::new(target, max_input);
    let setup = started.elapsed();

    if let Ok(text) = std::env::var("FUZZ_INPUT_HEX") {
        let signature = run_guarded(&mut harness, target, &unhex(&text), "hex");
        println!("fuzz {}: the given input ran: {signature}", target.name());
        return;
    }

    // Earlier findings first: they must keep passing once fixed.
    let mut replayed = 0;
    for kind in ["artifacts", "corpus"] {
        for file in files(fuzz_dir().join(kind).join(target.name())) {
            let input = std::fs::read(&file).unwrap();
            run_guarded(&mut harness, target, &input, &format!("replay-{replayed}"));
            replayed += 1;
        }
    }

    let target_salt = (target as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = StdRng::seed_from_u64(seed ^ target_salt);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let fuzzing = Instant::now();
    let deadline = fuzzing + Duration::from_secs(secs);
    let mut n: u64 = 0;
    while Instant::now() < deadline {
        let input = next_input(&mut rng, &corpus);
        let signature = run_guarded(&mut harness, target, &input, &format!("{seed}-{n}"));
        let count = seen.entry(signature).or_default();
        *count += 1;
        if *count == 1 && corpus.len() < 1024 {
            corpus.push(input);
        }
        n += 1;
    }
    let elapsed = fuzzing.elapsed();
    let stats = &harness.stats;
    let rss = peak_rss_mb();
    println!(
        "fuzz {}: seed {seed}: {n} inputs in {:.1} s ({:.0}/s) after {:.1} s of setup and {replayed} \
         replays; {} accepted, {} behaviours, statuses {:?}, {} with an injected fault, {} \
         unbuildable, {} messages over 1,024 characters, slowest input {:?}, peak RSS {} MiB",
        target.name(),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64().max(0.001),
        setup.as_secs_f64(),
        stats.accepted,
        seen.len(),
        stats.statuses,
        stats.faults,
        stats.unbuildable,
        stats.long_messages,
        stats.slowest,
        rss.map_or("?".to_owned(), |r| r.to_string()),
    );
    if std::env::var("FUZZ_VERBOSE").is_ok_and(|v| v == "1") {
        for (signature, count) in &seen {
            println!("  {count:>6} {signature}");
        }
    }
    assert!(n > 0, "no input ran in {secs} s");
    // Inputs that never get past parsing test nothing but the parser.
    assert!(
        stats.accepted > 0,
        "no input of {n} was accepted: the mutations never produce a valid request"
    );
    if let Some(rss) = rss {
        assert!(rss <= max_rss, "peak RSS {rss} MiB over {max_rss} MiB");
    }
}

#[test]
fn entity_refs() {
    fuzz(Target::EntityRefs);
}

#[test]
fn checks() {
    fuzz(Target::Checks);
}

#[test]
fn state_import() {
    fuzz(Target::StateImport);
}

#[test]
fn commands() {
    fuzz(Target::Commands);
}

#[test]
fn policy_text() {
    fuzz(Target::PolicyText);
}

#[test]
fn identifiers() {
    fuzz(Target::Identifiers);
}
