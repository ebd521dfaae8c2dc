//! `partner-access test`: run declarative policy test files and report per file.
//!
//! `--filter NAME` runs only the cases whose name contains NAME, or every case of a file whose
//! name is NAME (with or without `.json`); a filter that selects nothing is an error, so a typo
//! cannot turn a CI step green by running zero cases. `--junit FILE` also writes the results as
//! JUnit XML for CI systems: one `<testsuite>` per test file, one `<testcase>` per case run.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use super::PolicyArgs;
use crate::policy::test_cases::{
    CaseResult, FileResult, discover, exercised_policies, run_file, run_file_selected,
};

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Test files or directories (a directory's `*.json` files); default: tests/policies.
    pub paths: Vec<PathBuf>,
    /// Also list every policy `@id` that no case exercised (determined no decision).
    #[arg(long)]
    pub coverage: bool,
    /// Run only the cases whose name contains NAME, or all cases of the files named NAME (with
    /// or without `.json`). Selecting no case is an error.
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Also write the results as JUnit XML to FILE (one testsuite per test file).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Whether `filter` names the file itself: its whole name or its name without `.json`.
fn file_matches(path: &Path, filter: &str) -> bool {
    let name = |p: Option<&std::ffi::OsStr>| p.is_some_and(|n| n == filter);
    name(path.file_name()) || name(path.file_stem())
}

pub fn run(args: &TestArgs) -> ExitCode {
    let engine = match args.policy.load() {
        Ok(engine) => engine,
        Err(code) => return code,
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("tests/policies")]
    } else {
        args.paths.clone()
    };
    let files = match discover(&paths) {
        Ok(files) if files.is_empty() => {
            eprintln!("error: no test files found in {paths:?}");
            return ExitCode::FAILURE;
        }
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };

    let results: Vec<(FileResult, Duration)> = files
        .iter()
        .map(|path| {
            let start = Instant::now();
            let result = match &args.filter {
                Some(filter) if !file_matches(path, filter) => {
                    run_file_selected(&engine, path, &|name| name.contains(filter.as_str()))
                }
                _ => run_file(&engine, path),
            };
            (result, start.elapsed())
        })
        .collect();

    if let Some(filter) = &args.filter {
        let selected: usize = results.iter().map(|(f, _)| f.cases.len()).sum();
        let total: usize = selected + results.iter().map(|(f, _)| f.deselected).sum::<usize>();
        let in_files = results.iter().filter(|(f, _)| !f.cases.is_empty()).count();
        if selected == 0 {
            let broken: Vec<_> = results
                .iter()
                .filter_map(|(f, _)| f.error.as_ref().map(|e| (&f.path, e)))
                .collect();
            for (path, error) in &broken {
                eprintln!("error: {}: {error}", path.display());
            }
            eprintln!(
                "error: --filter `{filter}` selected no case (of {total} in {} file(s)): no case \
                 name contains it and no test file is named `{filter}` or `{filter}.json`{}",
                results.len(),
                if broken.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; {} file(s) could not be read, their cases are unknown",
                        broken.len()
                    )
                }
            );
            return ExitCode::FAILURE;
        }
        println!(
            "filter `{filter}`: {selected} of {total} cases selected, in {in_files} of {} file(s)",
            results.len()
        );
    }

    let (mut passed, mut failed) = (0, 0);
    for (file, _) in &results {
        if args.filter.is_some() && file.cases.is_empty() && file.error.is_none() {
            // Nothing selected here: not a result worth a line.
            continue;
        }
        passed += file.passed();
        failed += file.failed();
        let status = if file.failed() == 0 { "ok" } else { "FAILED" };
        println!(
            "{}: {status} ({} passed, {} failed)",
            file.path.display(),
            file.passed(),
            file.failed()
        );
        if let Some(error) = &file.error {
            println!("  error: {error}");
        }
        for case in file.cases.iter().filter(|c| !c.passed()) {
            println!(
                "  FAIL {}: {}",
                case.name,
                case.failure.as_deref().unwrap_or_default()
            );
        }
    }
    if args.coverage {
        let files: Vec<FileResult> = results.iter().map(|(f, _)| f.clone()).collect();
        let exercised = exercised_policies(&files);
        let unexercised: Vec<_> = engine
            .policies()
            .iter()
            .filter(|p| !exercised.contains(&p.id))
            .collect();
        println!(
            "coverage: {} of {} policies exercised{}",
            engine.policies().len() - unexercised.len(),
            engine.policies().len(),
            if args.filter.is_some() {
                " (by the selected cases)"
            } else {
                ""
            }
        );
        for policy in unexercised {
            println!(
                "  not exercised: {} ({}:{})",
                policy.id, policy.file, policy.line
            );
        }
    }
    println!("{passed} passed, {failed} failed");
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit_xml(&results)) {
            eprintln!(
                "error: {}: cannot write the JUnit report: {e}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
        println!("junit: wrote {}", path.display());
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The JUnit XML report: `<testsuites>` of one `<testsuite>` per file, a `<testcase>` per case
/// run (`classname` the file, `name` the case), a `<failure>` with expected and actual for a
/// failed case, and an `<error>` in a testcase named `(file)` when the file itself could not be
/// run.
fn junit_xml(results: &[(FileResult, Duration)]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests: usize = results
        .iter()
        .map(|(f, _)| f.cases.len() + usize::from(f.error.is_some()))
        .sum();
    let failures: usize = results
        .iter()
        .map(|(f, _)| f.cases.iter().filter(|c| !c.passed()).count())
        .sum();
    let errors = results.iter().filter(|(f, _)| f.error.is_some()).count();
    let time: Duration = results.iter().map(|(_, t)| *t).sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"partner-access policy tests\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"{errors}\" time=\"{:.3}\">",
        time.as_secs_f64()
    );
    for (file, time) in results {
        if file.cases.is_empty() && file.error.is_none() {
            // Every case deselected by --filter.
            continue;
        }
        let path = attr(&file.path.display().to_string());
        let _ = writeln!(
            out,
            "  <testsuite name=\"{path}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" \
             skipped=\"0\" time=\"{:.3}\">",
            file.cases.len() + usize::from(file.error.is_some()),
            file.cases.iter().filter(|c| !c.passed()).count(),
            usize::from(file.error.is_some()),
            time.as_secs_f64()
        );
        if let Some(error) = &file.error {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{path}\" name=\"(file)\">\n      <error \
                 message=\"{}\" type=\"file\">{}</error>\n    </testcase>",
                attr(&first_line(error)),
                text(error)
            );
        }
        for case in &file.cases {
            let name = attr(&case.name);
            match &case.failure {
                None => {
                    let _ = writeln!(out, "    <testcase classname=\"{path}\" name=\"{name}\"/>");
                }
                Some(failure) => {
                    let _ = writeln!(
                        out,
                        "    <testcase classname=\"{path}\" name=\"{name}\">\n      <failure \
                         message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>",
                        attr(failure),
                        if case.decision.is_some() {
                            "mismatch"
                        } else {
                            "not-decided"
                        },
                        text(&expected_vs_actual(case, failure))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// The body of a `<failure>`: what the case expected and what happened, one per line.
fn expected_vs_actual(case: &CaseResult, failure: &str) -> String {
    let list = |items: &[String]| items.join(", ");
    let mut body = format!(
        "expected: decision {}, reasons including [{}], {} error(s)\n",
        case.expected.as_str(),
        list(&case.expected_reasons),
        case.expected_errors
    );
    match &case.decision {
        Some(d) => {
            let _ = write!(
                body,
                "actual:   decision {}, reasons [{}], {} error(s)",
                d.verdict().label(),
                list(&d.reasons),
                d.errors.len()
            );
            for error in &d.errors {
                let _ = write!(body, "\n  error: {error}");
            }
        }
        None => {
            let _ = write!(body, "actual:   not decided: {failure}");
        }
    }
    body
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// Escapes an attribute value. Line breaks and tabs become character references (a parser
/// would fold them into spaces otherwise); characters XML 1.0 cannot carry at all, even as
/// references (most C0 controls), become U+FFFD.
pub(super) fn attr(value: &str) -> String {
    escape(value, true)
}

/// Escapes element text.
pub(super) fn text(value: &str) -> String {
    escape(value, false)
}

fn escape(value: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_keeps_markup_out_and_drops_what_xml_cannot_hold() {
        assert_eq!(
            attr("a<b>&\"c'\n\t\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;&#9;\u{FFFD}"
        );
        assert_eq!(text("x\ny\u{0}"), "x\ny\u{FFFD}");
    }

    #[test]
    fn a_file_is_matched_by_its_name_with_or_without_the_extension() {
        let path = Path::new("tests/policies/reads.json");
        assert!(file_matches(path, "reads"));
        assert!(file_matches(path, "reads.json"));
        assert!(!file_matches(path, "read"));
    }
}
