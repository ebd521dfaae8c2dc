//! The layout's claims (see the crate's doc), held by tests that read `src/`: which module
//! alone may import each outside crate, and which modules each module may name.
//!
//! Only code counts: comments (everything after `//` on a line) are skipped, so a doc may name
//! a crate it does not use. A use is a crate's name followed by `::` (`use axum::Router`,
//! `axum::body::Body`, `#[derive(clap::Args)]`), not inside a longer name (`tokio_postgres::`
//! is not `postgres::`).

use std::path::{Path, PathBuf};

/// Each outside crate that stays behind one module, and the only places under `src/` that may
/// name it. `utoipa` derives OpenAPI schemas, which describe types, not a transport: the wire
/// types of `app` and `domain` derive theirs where they are defined; serving the document
/// stays in `http`.
const CRATES: &[(&[&str], &[&str])] = &[
    (
        &[
            "axum",
            "hyper",
            "hyper_util",
            "tower",
            "tower_http",
            "utoipa_axum",
        ],
        &["http/"],
    ),
    (&["utoipa"], &["http/", "app/", "domain/"]),
    (
        &[
            "cedar_policy",
            "cedar_policy_formatter",
            "cedar_policy_symcc",
        ],
        &["policy/"],
    ),
    (
        &["redb", "tokio_postgres", "postgres", "refinery"],
        &["store/"],
    ),
    (
        &[
            "opentelemetry",
            "opentelemetry_sdk",
            "opentelemetry_otlp",
            "tracing_opentelemetry",
            "tracing_subscriber",
        ],
        &["telemetry.rs"],
    ),
    (
        &["clap", "clap_complete", "clap_mangen"],
        &["cli/", "config/flags.rs", "main.rs"],
    ),
];

/// Which of the crate's own modules the code of each module may name (`crate::NAME`), itself
/// included. Modules not listed (the command line, the server, configuration) wire the others
/// together and may name any.
const LAYERS: &[(&str, &[&str])] = &[
    ("domain/", &["domain"]),
    ("fixtures.rs", &["domain"]),
    ("telemetry.rs", &[]),
    ("policy/", &["policy", "domain"]),
    ("store/", &["store", "domain", "fixtures"]),
    ("cache.rs", &["cache", "store", "domain"]),
    ("app/", &["app", "policy", "store", "cache", "domain"]),
    ("http/", &["http", "app", "domain", "config", "telemetry"]),
];

/// Every `.rs` file under `src/` but this one (whose examples name the crates), with its path
/// relative to `src/` (`/`-separated).
fn sources() -> Vec<(String, String)> {
    fn walk(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap();
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                if name != "boundaries.rs" {
                    files.push((name, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &root, &mut files);
    assert!(files.len() > 20, "src/ not found: {files:?}");
    files
}

/// The names that code on `line` uses as a path's first segment (`NAME::`), comments skipped.
fn path_roots(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    let mut roots = Vec::new();
    for (at, _) in code.match_indices("::") {
        let before = &code[..at];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        let name = &before[start..];
        // `a::b::c` has roots only where the name is not itself after `::`.
        if !name.is_empty() && !before[..start].ends_with("::") {
            roots.push(name);
        }
    }
    roots
}

/// The crate's own modules that code on `line` names (`crate::NAME`), comments skipped.
fn own_modules(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .filter(|(at, _)| {
            !code[..*at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

fn within(file: &str, places: &[&str]) -> bool {
    places.iter().any(|place| file.starts_with(place))
}

#[test]
fn the_path_roots_of_a_line_are_its_first_segments() {
    assert_eq!(path_roots("use axum::body::Body;"), ["axum"]);
    assert_eq!(path_roots("#[derive(Debug, clap::Args)]"), ["clap"]);
    assert_eq!(
        path_roots("let c = tokio_postgres::connect(x);"),
        ["tokio_postgres"]
    );
    assert_eq!(path_roots("use crate::policy::CheckRequest;"), ["crate"]);
    assert!(path_roots("/// `axum::serve` is not used").is_empty());
    assert!(path_roots("x(); // axum::serve").is_empty());
    assert_eq!(own_modules("use crate::app::{App, AppError};"), ["app"]);
    assert_eq!(
        own_modules("f(crate::store::deadline::current())"),
        ["store"]
    );
    assert!(own_modules("//! see `crate::store`").is_empty());
}

/// `http` alone imports axum, hyper and tower; `utoipa` (schemas) stays in `http`, `app` and
/// `domain`; `policy` alone imports Cedar; `store` alone redb and the PostgreSQL driver; only
/// the command line and its configuration clap.
#[test]
fn each_outside_crate_is_named_only_by_its_module() {
    let mut found = Vec::new();
    for (file, text) in sources() {
        for (n, line) in text.lines().enumerate() {
            for root in path_roots(line) {
                for (names, places) in CRATES {
                    if names.contains(&root) && !within(&file, places) {
                        found.push(format!("src/{file}:{}: {root} outside {places:?}", n + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// Data flows one way: `http → app → {policy, store, cache} → domain`; `http` reaches the
/// policy engine and the store only through `app`.
#[test]
fn each_module_names_only_the_modules_below_it() {
    let mut found = Vec::new();
    for (file, text) in sources() {
        let Some((place, allowed)) = LAYERS.iter().find(|(place, _)| file.starts_with(place))
        else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for module in own_modules(line) {
                if !allowed.contains(&module) {
                    found.push(format!(
                        "src/{file}:{}: {place} names crate::{module}",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The tests above see a use where there is one: each rule, broken on purpose, is reported.
#[test]
fn a_use_outside_its_module_is_found() {
    let line = "use axum::Router;";
    let misplaced = path_roots(line).into_iter().any(|root| {
        CRATES
            .iter()
            .any(|(names, places)| names.contains(&root) && !within("app/mod.rs", places))
    });
    assert!(misplaced);
    let schema_in_store = path_roots("#[derive(utoipa::ToSchema)]")
        .into_iter()
        .any(|root| {
            CRATES
                .iter()
                .any(|(names, places)| names.contains(&root) && !within("store/mod.rs", places))
        });
    assert!(schema_in_store);
    let (_, allowed) = LAYERS.iter().find(|(place, _)| *place == "http/").unwrap();
    assert!(
        own_modules("use crate::store::SearchKind;")
            .iter()
            .any(|m| !allowed.contains(m))
    );
}
