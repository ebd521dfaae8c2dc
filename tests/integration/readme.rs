//! The README's examples, run as a reader runs them: `partner-access serve --demo` as a
//! process, then every `curl -s localhost:8180…` block in the README's order, each answer held
//! to the `json` block printed under it. A reader types at human speed, so the partner
//! activity that an Allow notes is written before the next command (it moves the store's
//! `revision`); here the sidecar writes it every second and each example waits for that.
//!
//! Streams (`curl -N`, the event stream) are the one kind of `curl` example not run.
//!
//! In a printed answer, `…` stands for what a reader cannot reproduce or need not read: inside
//! a string, any text in its place (`"decision_id":"…"`, `"4da6a5f7…"`: that prefix, then
//! anything); as an object's member, any further members; as an array's last element, any
//! further elements. Everything else is compared exactly.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support;

/// One example: the request a `curl` block sends and the answer printed under it.
#[derive(Debug)]
struct Example {
    /// The README's line of the `curl`.
    line: usize,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    expected: String,
}

/// The `curl -s localhost:8180` blocks of `readme`, each with the `json` block after it.
fn examples(readme: &str) -> Vec<Example> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let first = lines.get(at + 1).copied().unwrap_or("");
        if lines[at].trim() != "```sh" || !first.starts_with("curl") {
            at += 1;
            continue;
        }
        if first.starts_with("curl -N ") {
            // A stream never ends: its printed messages show the format, with ids that depend
            // on what came before. Every other `curl` example is run.
            at += 1;
            continue;
        }
        assert!(
            first.starts_with("curl -s ") && first.contains(" localhost:8180/"),
            "README line {}: a curl example this test does not run: {first}",
            at + 2
        );
        let start = at + 1;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.trim() == "```")
                .unwrap();
        let command = lines[start..end].join("\n").replace("\\\n", " ");
        let answer = end + 1;
        assert_eq!(
            lines.get(answer).map(|l| l.trim()),
            Some("```json"),
            "README line {}: a curl example without a json answer under it",
            start + 1
        );
        let answer_end = answer
            + 1
            + lines[answer + 1..]
                .iter()
                .position(|l| l.trim() == "```")
                .unwrap();
        found.push(parse_curl(
            start + 1,
            &command,
            lines[answer + 1..answer_end].join("\n"),
        ));
        at = answer_end + 1;
    }
    found
}

/// The request of a `curl` command line: `-X`, `-H`, `-d` and the URL (other flags ignored).
fn parse_curl(line: usize, command: &str, expected: String) -> Example {
    let words = shell_words(command);
    assert_eq!(
        words.first().map(String::as_str),
        Some("curl"),
        "line {line}"
    );
    let (mut method, mut path, mut headers, mut body) = (None, None, Vec::new(), None);
    let mut rest = words[1..].iter();
    while let Some(word) = rest.next() {
        match word.as_str() {
            "-X" => method = rest.next().cloned(),
            "-H" => {
                let header = rest.next().unwrap();
                let (name, value) = header.split_once(':').unwrap();
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
            "-d" => body = rest.next().cloned(),
            url if url.starts_with("localhost:8180/") => {
                path = Some(url.trim_start_matches("localhost:8180").to_owned());
            }
            flag if flag.starts_with('-') => {}
            other => panic!("README line {line}: what is `{other}`?"),
        }
    }
    Example {
        line,
        method: method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into()),
        path: path.unwrap_or_else(|| panic!("README line {line}: no localhost:8180 URL")),
        headers,
        body,
        expected,
    }
}

/// Splits a command line as a POSIX shell does for the quoting the README uses: single
/// quotes (no escapes inside), double quotes with `\` escapes, bare words.
fn shell_words(command: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\n' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    w.push(q);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        q => w.push(q),
                    }
                }
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// The member (in an object) or element (in an array) that stands for "and more".
const MORE: &str = "\u{1}more";

/// A printed answer as a pattern: each `…` outside a string becomes [`MORE`].
fn pattern(printed: &str) -> Value {
    let mut json = String::with_capacity(printed.len());
    let mut open = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in printed.chars() {
        if in_string {
            json.push(c);
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => open.push(c),
            '}' | ']' => {
                open.pop();
            }
            '…' => {
                json.push_str(match open.last() {
                    Some('{') => "\"\\u0001more\": true",
                    _ => "\"\\u0001more\"",
                });
                continue;
            }
            _ => {}
        }
        json.push(c);
    }
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// Where `actual` differs from `expected` (a [`pattern`]), if it does.
fn mismatch(expected: &Value, actual: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::String(e), Value::String(a)) if e.contains('…') => {
            let (prefix, suffix) = e.split_once('…').unwrap();
            let fits = a.len() >= prefix.len() + suffix.len()
                && a.starts_with(prefix)
                && a.ends_with(suffix);
            (!fits).then(|| format!("{at}: {a:?} is not {e:?}"))
        }
        (Value::Object(e), Value::Object(a)) => {
            let more = e.contains_key(MORE);
            for (key, value) in e.iter().filter(|(k, _)| *k != MORE) {
                let Some(found) = a.get(key) else {
                    return Some(format!("{at}: no `{key}`"));
                };
                if let Some(m) = mismatch(value, found, &format!("{at}.{key}")) {
                    return Some(m);
                }
            }
            let printed = e.len() - usize::from(more);
            if !more && a.len() != printed {
                let extra: Vec<&String> = a.keys().filter(|k| !e.contains_key(*k)).collect();
                return Some(format!("{at}: members not printed: {extra:?}"));
            }
            None
        }
        (Value::Array(e), Value::Array(a)) => {
            let more = e.last() == Some(&Value::String(MORE.into()));
            let printed = &e[..e.len() - usize::from(more)];
            if a.len() < printed.len() || (!more && a.len() != printed.len()) {
                return Some(format!(
                    "{at}: {} elements, {} printed",
                    a.len(),
                    printed.len()
                ));
            }
            printed
                .iter()
                .zip(a)
                .enumerate()
                .find_map(|(i, (e, a))| mismatch(e, a, &format!("{at}[{i}]")))
        }
        (e, a) => (e != a).then(|| format!("{at}: {a} is not {e}")),
    }
}

#[test]
fn the_pattern_of_a_printed_answer_holds_what_it_says_and_no_more() {
    let printed =
        r#"{"decision":"Deny","id":"…","version":"4da6…","list":[1, …],"more":{"a":1, …}}"#;
    let pattern = pattern(printed);
    let fits = serde_json::json!({"decision": "Deny", "id": "x", "version": "4da6ff",
        "list": [1, 2, 3], "more": {"a": 1, "b": 2}});
    assert_eq!(mismatch(&pattern, &fits, "$"), None);
    for (what, unfit) in [
        (
            "another value",
            serde_json::json!({"decision": "Allow", "id": "x", "version": "4da6ff", "list": [1], "more": {"a": 1}}),
        ),
        (
            "another prefix",
            serde_json::json!({"decision": "Deny", "id": "x", "version": "5da6ff", "list": [1], "more": {"a": 1}}),
        ),
        (
            "a member not printed",
            serde_json::json!({"decision": "Deny", "id": "x", "version": "4da6", "list": [1], "more": {"a": 1}, "extra": 0}),
        ),
        (
            "a member missing",
            serde_json::json!({"decision": "Deny", "id": "x", "version": "4da6", "list": [1]}),
        ),
        (
            "too few elements",
            serde_json::json!({"decision": "Deny", "id": "x", "version": "4da6", "list": [], "more": {"a": 1}}),
        ),
    ] {
        assert!(mismatch(&pattern, &unfit, "$").is_some(), "{what}: {unfit}");
    }
    assert_eq!(
        shell_words(r#"curl -s -X PUT 'a b' -d '{"x": "\"y\""}' "c\"d""#),
        [
            "curl",
            "-s",
            "-X",
            "PUT",
            "a b",
            "-d",
            r#"{"x": "\"y\""}"#,
            "c\"d"
        ]
    );
}

/// Waits until the store's revision (the export's `x-revision`) has not moved for 2.5 s, 2.5
/// times the sidecar's activity flush period here (at most 30 s).
async fn settle(client: &reqwest::Client, base: &str) {
    let revision = || async {
        client
            .get(format!("{base}/v1/admin/export"))
            .send()
            .await
            .unwrap()
            .headers()
            .get("x-revision")
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            .unwrap()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut last = revision().await;
    let mut since = std::time::Instant::now();
    while since.elapsed() < Duration::from_millis(2_500) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = revision().await;
        if now != last {
            (last, since) = (now, std::time::Instant::now());
        }
    }
}

/// Kills the sidecar when the test ends, however it ends.
struct Sidecar(std::process::Child);

impl Drop for Sidecar {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_example_answers_as_printed() {
    let root = support::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let examples = examples(&readme);
    assert!(examples.len() >= 8, "README examples found: {examples:#?}");

    let data = tempfile::tempdir().unwrap();
    let port = support::process::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut sidecar = Sidecar(
        support::process::serve_command(
            Path::new(env!("CARGO_BIN_EXE_partner-access")),
            &format!("127.0.0.1:{port}"),
            data.path(),
            &root,
        )
        .arg("--demo")
        .args(["--activity-flush-secs", "1"])
        .current_dir(&root)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap(),
    );
    let client = reqwest::Client::new();
    support::process::wait_ready(
        &mut sidecar.0,
        &base,
        &client,
        Duration::from_secs(30),
        Duration::from_millis(50),
    )
    .await
    .unwrap();

    let mut failures = Vec::new();
    for example in &examples {
        let method = reqwest::Method::from_bytes(example.method.as_bytes()).unwrap();
        let mut request = client.request(method, format!("{base}{}", example.path));
        for (name, value) in &example.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &example.body {
            request = request.body(body.clone());
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if let Some(why) = mismatch(&pattern(&example.expected), &answer, "$") {
            failures.push(format!(
                "README line {} ({} {}): {why}\n  answered: {}",
                example.line,
                example.method,
                example.path,
                serde_json::to_string(&answer).unwrap()
            ));
        }
        // A reader's next command comes after the activity this one noted was written: wait
        // until the store's revision has stood still for well over a flush period.
        settle(&client, &base).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
