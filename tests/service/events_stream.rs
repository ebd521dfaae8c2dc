//! `GET /v1/events/stream`: the outbox as Server-Sent Events, live and resumable.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{self, harness, harness::TestServer};

const ANN: &str = "ann@acme.example";
const BOB: &str = "bob@acme.example";

/// One SSE message: its id, event type and data.
#[derive(Debug)]
struct Message {
    id: u64,
    event: String,
    data: Value,
}

/// Reads messages from an open stream until `count` have arrived (keep-alive comments
/// skipped), or fails after a few seconds.
async fn take(response: &mut reqwest::Response, buffer: &mut String, count: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if let Some(id) = id {
                messages.push(Message {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            if messages.len() == count {
                return messages;
            }
        }
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{} of {count} messages in time: {messages:?}",
                    messages.len()
                )
            })
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended after {messages:?}"));
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn open(server: &TestServer, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = server.client.get(server.url("/v1/events/stream"));
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

async fn set_status(server: &TestServer, change: &str) {
    let (status, body) = server
        .post(
            &format!("/v1/clients/c-globex/partner-users/{BOB}/{change}"),
            &json!({"actor": ANN}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_outbox_streams_live_and_resumes_from_the_last_event_id() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    set_status(&server, "deactivate").await;

    let mut stream = open(&server, None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buffer = String::new();
    let first = take(&mut stream, &mut buffer, 1).await;
    assert_eq!(first[0].event, "user.deactivated", "{first:?}");
    assert_eq!(first[0].data["seq"], first[0].id, "{first:?}");
    assert_eq!(first[0].data["data"]["email"], BOB, "{first:?}");

    // Committed while the stream is open: pushed without a new request.
    set_status(&server, "reactivate").await;
    let live = take(&mut stream, &mut buffer, 1).await;
    assert_eq!(live[0].event, "user.reactivated", "{live:?}");
    assert!(live[0].id > first[0].id);

    // A reconnect with the last id gets what followed it, nothing before.
    let mut resumed = open(&server, Some(&first[0].id.to_string())).await;
    let mut buffer = String::new();
    let again = take(&mut resumed, &mut buffer, 1).await;
    assert_eq!(again[0].id, live[0].id, "{again:?}");

    // The same events as the paged list.
    let (status, page) = server.get("/v1/events").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let listed = page["records"].as_array().unwrap();
    assert_eq!(listed.last().unwrap(), &live[0].data);
}

#[tokio::test]
async fn a_bad_last_event_id_is_a_400() {
    let server = harness::start(harness::Options::default()).await;
    for bad in ["seven", "-1", "1.5"] {
        let response = open(&server, Some(bad)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Last-Event-ID"),
            "{body}"
        );
    }
}

/// A stream ends when the server shuts down, rather than holding the shutdown for the whole
/// drain timeout.
#[tokio::test]
async fn a_stream_ends_when_the_server_shuts_down() {
    let server = harness::start(harness::Options::default()).await;
    server.import(&support::demo()).await;
    let mut stream = open(&server, None).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    assert!(stopped.is_ok(), "shutdown waited for the open stream");
    assert!(started.elapsed() < Duration::from_secs(10));
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream did not end");
}
