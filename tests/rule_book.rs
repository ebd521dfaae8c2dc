//! The project's rule book, `docs/rules.md`, against what it restates and what enforces it:
//!
//! - it names every rule id of the specification it restates, when that specification is beside
//!   the checkout (`../shared/spec/DOMAIN.md`, as CI lays it out): a rule added there cannot be
//!   missing here;
//! - every rule it names is traced in the project: a policy annotation, a command check or a
//!   test names the id (rules, not prose, are what users rely on);
//! - every rule has an "Enforced by" line.
//!
//! Its own harness (`libtest-mimic`) reports the first check as ignored when the specification
//! is not there, with a line saying so, under `CI` too: the repository stands on its own (its
//! rule book is `docs/rules.md`), and a clone without the specification beside it must pass
//! `.ci/run`. CI lays the specification out beside the checkout, and there the check runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking: an unwrap, expect or panic is its assertion"
)]

use std::collections::BTreeSet;
use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};

mod support;

use support::root;
use support::rule_ids::rule_ids;

fn rule_book() -> String {
    std::fs::read_to_string(root().join("docs/rules.md")).unwrap()
}

fn names_every_rule_of_the_specification(spec: &Path) -> Result<(), Failed> {
    let wanted = rule_ids(&std::fs::read_to_string(spec)?);
    if wanted.len() < 50 {
        return Err(format!("only {} rule ids in {}", wanted.len(), spec.display()).into());
    }
    let ours = rule_ids(&rule_book());
    let missing: Vec<_> = wanted.difference(&ours).collect();
    let extra: Vec<_> = ours.difference(&wanted).collect();
    if missing.is_empty() && extra.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "docs/rules.md lacks {missing:?} and names rules the specification does not: {extra:?}"
        )
        .into())
    }
}

/// The text of every file under `dir` whose name ends with one of `extensions`.
fn texts(dir: &Path, extensions: &[&str], into: &mut String) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // The classification list names every id by construction: it traces nothing.
        if path.ends_with("tests/integration/policy_cases.rs")
            || path.ends_with("tests/rule_book.rs")
        {
            continue;
        }
        if path.is_dir() {
            texts(&path, extensions, into);
        } else if extensions
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
        {
            into.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
            into.push('\n');
        }
    }
}

fn every_rule_is_traced_in_policies_code_or_tests() -> Result<(), Failed> {
    let mut project = String::new();
    for dir in ["policies", "src", "tests"] {
        texts(&root().join(dir), &["cedar", "rs", "json"], &mut project);
    }
    let traced = rule_ids(&project);
    let untraced: BTreeSet<_> = rule_ids(&rule_book())
        .into_iter()
        .filter(|id| !traced.contains(id))
        .collect();
    if untraced.is_empty() {
        Ok(())
    } else {
        Err(format!("no policy, code or test names {untraced:?}").into())
    }
}

fn every_rule_says_where_it_is_enforced() -> Result<(), Failed> {
    let text = rule_book();
    let mut without = Vec::new();
    for section in text.split("\n### ").skip(1) {
        let heading = section.lines().next().unwrap_or_default();
        let Some(id) = rule_ids(heading).into_iter().next() else {
            continue;
        };
        let body = section.split("\n## ").next().unwrap_or_default();
        if !body.contains("**Enforced by:**") {
            without.push(id);
        }
    }
    let headed: usize = text
        .split("\n### ")
        .skip(1)
        .filter(|s| !rule_ids(s.lines().next().unwrap_or_default()).is_empty())
        .count();
    if headed < 50 {
        return Err(
            format!("only {headed} rule headings (`### ID — title`) in docs/rules.md").into(),
        );
    }
    if without.is_empty() {
        Ok(())
    } else {
        Err(format!("rules without an \"Enforced by\" line: {without:?}").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let spec = root().join("../shared/spec/DOMAIN.md");
    let present = spec.exists();
    if !present {
        eprintln!(
            "rule_book: 1 test ignored: the specification the rule book restates is not beside \
             the checkout ({})",
            spec.display()
        );
    }
    let trials = vec![
        Trial::test("names_every_rule_of_the_specification", move || {
            names_every_rule_of_the_specification(&spec)
        })
        .with_ignored_flag(!present),
        Trial::test("every_rule_is_traced_in_policies_code_or_tests", || {
            every_rule_is_traced_in_policies_code_or_tests()
        }),
        Trial::test("every_rule_says_where_it_is_enforced", || {
            every_rule_says_where_it_is_enforced()
        }),
    ];
    libtest_mimic::run(&args, trials).exit();
}
