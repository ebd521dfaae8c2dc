//! The decision log: one JSON line per check with the answer's `decision_id`; sampling; `drop`
//! mode counts what a stuck sink could not take and never makes a check wait; `never_drop`
//! mode makes checks wait for the sink and loses nothing.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use partner_access::app::decision_log::{DecisionLogSettings, LogMode, LogSink};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support;
use crate::support::harness;

fn settings(path: &Path, mode: LogMode, sample: f64, queue: usize) -> DecisionLogSettings {
    DecisionLogSettings {
        sink: LogSink::File(path.to_owned()),
        mode,
        sample,
        queue,
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A batch of `n` checks (alternating an Allow and a Deny of the demo state).
fn batch(n: usize) -> Value {
    let requests: Vec<Value> = (0..n)
        .map(|i| {
            let action = if i % 2 == 0 {
                "reports.access"
            } else {
                "scim.provision"
            };
            json!({"principal": "Hub::User::\"ann@acme.example\"", "action": action,
                   "resource": "Hub::Account::\"c-globex\""})
        })
        .collect();
    json!({ "requests": requests })
}

async fn dropped(server: &harness::TestServer) -> f64 {
    let text = server
        .client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("partner_access_decision_log_dropped_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn every_check_is_a_json_line_with_its_decision_id() {
    let server = harness::start(harness::Options::default()).await;
    let revision = server.import(&support::demo()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("decisions.jsonl");
    server
        .app
        .enable_decision_log(settings(&path, LogMode::Drop, 1.0, 100))
        .unwrap();
    let allow = server
        .check("ann@acme.example", "reports.access", "c-globex")
        .await;
    let deny = server
        .check("ann@acme.example", "scim.provision", "c-globex")
        .await;
    let (status, answers) = server.post("/v1/is_authorized/batch", &batch(4)).await;
    assert_eq!(status, StatusCode::OK);
    server.app.close_decision_log();

    let logged = lines(&path);
    assert_eq!(logged.len(), 6, "{logged:?}");
    assert_eq!(logged[0]["decision_id"], allow["decision_id"]);
    assert_eq!(logged[0]["decision"], "Allow");
    assert_eq!(logged[0]["principal"], "Hub::User::\"ann@acme.example\"");
    assert_eq!(logged[0]["action"], "reports.access");
    assert_eq!(logged[0]["resource"], "Hub::Account::\"c-globex\"");
    assert_eq!(logged[0]["reasons"], json!(["listed.reports.access"]));
    assert_eq!(logged[0]["revision"], revision);
    assert!(logged[0]["latency_us"].as_u64().is_some());
    assert!(logged[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(logged[1]["decision_id"], deny["decision_id"]);
    assert_eq!(logged[1]["decision"], "Deny");
    assert_eq!(
        logged[1]["reasons"],
        json!(["partner-admin-never-scim-or-migration"])
    );
    for (i, answer) in answers["results"].as_array().unwrap().iter().enumerate() {
        assert_eq!(logged[2 + i]["decision_id"], answer["decision_id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_zero_logs_nothing_and_sampling_a_half_logs_some() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.jsonl");
    server
        .app
        .enable_decision_log(settings(&path, LogMode::Drop, 0.0, 100))
        .unwrap();
    server.post("/v1/is_authorized/batch", &batch(200)).await;
    server.app.close_decision_log();
    assert_eq!(lines(&path).len(), 0);

    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let path = dir.path().join("half.jsonl");
    server
        .app
        .enable_decision_log(settings(&path, LogMode::NeverDrop, 0.5, 100))
        .unwrap();
    server.post("/v1/is_authorized/batch", &batch(400)).await;
    server.app.close_decision_log();
    let n = lines(&path).len();
    // 400 draws at p = 0.5: outside 100..300 has a probability far below 1e-20.
    assert!((100..300).contains(&n), "{n} of 400 logged at a 0.5 sample");
}

/// A FIFO whose reader is open but reads nothing: the writer's writes block once the pipe's
/// buffer is full, like a stuck disk or a log shipper that stopped reading.
fn stuck_fifo(dir: &Path) -> (std::path::PathBuf, std::thread::JoinHandle<std::fs::File>) {
    let path = dir.join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let reader_path = path.clone();
    // Opening a FIFO blocks until both ends are open: the reader opens on its own thread.
    let reader = std::thread::spawn(move || std::fs::File::open(reader_path).unwrap());
    (path, reader)
}

#[tokio::test]
async fn drop_mode_never_makes_a_check_wait_and_counts_what_it_drops() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let dir = tempfile::tempdir().unwrap();
    let (fifo, reader) = stuck_fifo(dir.path());
    server
        .app
        .enable_decision_log(settings(&fifo, LogMode::Drop, 1.0, 8))
        .unwrap();
    let mut reader = reader.join().unwrap();
    let before = dropped(&server).await;
    // Far more records than the pipe (64 KiB), the writer's buffer and the queue hold.
    for _ in 0..3 {
        let answer = tokio::time::timeout(
            Duration::from_secs(20),
            server.post("/v1/is_authorized/batch", &batch(1000)),
        )
        .await
        .expect("a check waited for the stuck decision log");
        assert_eq!(answer.0, StatusCode::OK);
    }
    let after = dropped(&server).await;
    assert!(after - before > 100.0, "dropped {before} → {after}");
    // Unstick the sink so the writer can finish.
    let drain = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = reader.read_to_string(&mut all);
        all
    });
    server.app.close_decision_log();
    let logged = drain.join().unwrap().lines().count();
    assert!(logged < 3000, "{logged} lines: nothing was dropped?");
    assert_eq!(logged as f64 + (after - before), 3000.0);
}

// Multi-threaded, as the server runs: a check waiting for the log must not stall the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_drop_mode_makes_checks_wait_and_loses_nothing() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let dir = tempfile::tempdir().unwrap();
    let (fifo, reader) = stuck_fifo(dir.path());
    server
        .app
        .enable_decision_log(settings(&fifo, LogMode::NeverDrop, 1.0, 8))
        .unwrap();
    let mut reader = reader.join().unwrap();
    let url = server.url("/v1/is_authorized/batch");
    let client = server.client.clone();
    let pending = tokio::spawn(async move {
        client
            .post(url)
            .json(&batch(1000))
            .send()
            .await
            .unwrap()
            .status()
    });
    // The pipe is stuck: the batch cannot finish.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !pending.is_finished(),
        "never_drop answered without logging"
    );
    let drain = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = reader.read_to_string(&mut all);
        all
    });
    assert_eq!(pending.await.unwrap(), StatusCode::OK);
    server.app.close_decision_log();
    // Every one of the batch's decisions reached the sink. (The drop counter is shared with
    // the other tests of this binary, so the line count is the proof.)
    assert_eq!(drain.join().unwrap().lines().count(), 1000);
}
