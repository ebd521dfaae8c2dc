//! The loader's unit tests: errors name their file and line, ids are required and unique, doc
//! comments are kept, and the repository's policies are far from the depth limits.

use super::*;

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile {
        path: PathBuf::from(path),
        text: text.to_owned(),
    }
}

const SCHEMA: &str =
    "namespace Hub { entity User; action \"view\" appliesTo { principal: User, resource: User }; }";

#[test]
fn syntax_errors_name_file_and_line() {
    let policies = file(
        "p.cedar",
        "@id(\"a\")\npermit(principal, action, resource);\n\n@id(\"b\")\npermit(principal, action, resource) when { principal. };\n",
    );
    let errors = load(&[file("s.cedarschema", SCHEMA)], &[policies])
        .err()
        .unwrap();
    let text = errors.to_string();
    assert!(text.starts_with("p.cedar:5:"), "{text}");
}

#[test]
fn validation_errors_name_file_and_line() {
    let policies = file(
        "p.cedar",
        "@id(\"a\")\npermit(principal, action, resource)\nwhen { principal.nope == 1 };\n",
    );
    let errors = load(&[file("s.cedarschema", SCHEMA)], &[policies])
        .err()
        .unwrap();
    let text = errors.to_string();
    assert!(text.starts_with("p.cedar:3:"), "{text}");
    assert!(text.contains("nope"), "{text}");
}

#[test]
fn ids_are_required_and_unique() {
    let policies = file("p.cedar", "permit(principal, action, resource);\n");
    let text = load(&[file("s.cedarschema", SCHEMA)], &[policies])
        .err()
        .unwrap()
        .to_string();
    assert!(text.contains("no `@id"), "{text}");

    let a = file(
        "a.cedar",
        "@id(\"x\")\npermit(principal, action, resource);\n",
    );
    let b = file(
        "b.cedar",
        "\n@id(\"x\")\nforbid(principal, action, resource);\n",
    );
    let text = load(&[file("s.cedarschema", SCHEMA)], &[a, b])
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("b.cedar:2:1: policy id `x` is already used at a.cedar:1"),
        "{text}"
    );
}

#[test]
fn doc_comments_are_kept() {
    let p = file(
        "p.cedar",
        "// header\n\n/// Views\n/// things.\n@id(\"a\")\n@rules(\"R-1\")\npermit(principal, action, resource);\n",
    );
    let loaded = load(&[file("s.cedarschema", SCHEMA)], &[p]).ok().unwrap();
    let info = &loaded.sources[&PolicyId::new("a")];
    assert_eq!((info.line, info.doc.as_str()), (5, "Views things."));
}

#[test]
fn schema_errors_name_file_and_line() {
    let schema = file(
        "s.cedarschema",
        "namespace Hub {\n entity User = { name: Strin };\n}\n",
    );
    let text = load(&[schema], &[]).err().unwrap().to_string();
    assert!(text.starts_with("s.cedarschema:"), "{text}");
}

fn repository_policies() -> Vec<SourceFile> {
    SourceFile::read_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"),
        "cedar",
    )
    .unwrap()
}

#[test]
fn the_repository_policies_are_far_from_the_limits() {
    let mut deepest = 0;
    for file in repository_policies() {
        assert!(nesting_error(&file).is_none(), "{}", file.path.display());
        for policy in file.text.parse::<PolicySet>().unwrap().policies() {
            deepest = deepest.max(json_depth(&policy.to_json().unwrap()));
        }
    }
    eprintln!("deepest repository policy: {deepest} levels");
    assert!(deepest * 2 <= MAX_TREE_DEPTH, "{deepest} levels");
}
