//! OpenTelemetry traces (OTLP over HTTP/protobuf), off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is
//! set: the real binary exports to a tiny OTLP receiver started here (`POST /v1/traces`,
//! decoded with `opentelemetry-proto`); after a check, a command and a SIGTERM, the received
//! spans carry the decisions, the policy ids that decided and the store time, under the
//! service name `partner-access`. Without the variable, nothing is exported.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use partner_access_client::{Check, Client, CreateUser, Decision};
use prost::Message;

use crate::support::process::{free_port, serve_command, wait_ready};
use crate::support::root;

/// What the receiver got: one decoded request per export.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

/// Starts the receiver on a free loopback port; answers every export 200.
async fn receiver() -> (String, Received) {
    let received = Received::default();
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: Bytes| {
            let kept = kept.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                kept.0.lock().unwrap().push(request);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

/// One received span: its name, its attributes as text, and its resource's.
#[derive(Debug)]
struct Span {
    name: String,
    attributes: Vec<(String, String)>,
    resource: Vec<(String, String)>,
}

impl Span {
    fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn text(kv: &KeyValue) -> (String, String) {
    let value = match kv.value.as_ref().and_then(|v: &AnyValue| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    };
    (kv.key.clone(), value)
}

fn spans(received: &Received) -> Vec<Span> {
    let mut out = Vec::new();
    for request in received.0.lock().unwrap().iter() {
        for resource_spans in &request.resource_spans {
            let resource: Vec<_> = resource_spans
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter().map(text))
                .collect();
            for scope in &resource_spans.scope_spans {
                for span in &scope.spans {
                    out.push(Span {
                        name: span.name.clone(),
                        attributes: span.attributes.iter().map(text).collect(),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    out
}

/// `serve --demo` with `env`, ready; returns the process and its base URL.
async fn start(env: &[(&str, &str)]) -> (std::process::Child, String, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut command = serve_command(
        std::path::Path::new(env!("CARGO_BIN_EXE_partner-access")),
        &listen,
        data.path(),
        &root(),
    );
    command.arg("--demo").env("RUST_LOG", "error");
    for (var, _) in std::env::vars() {
        if var.starts_with("OTEL_") {
            command.env_remove(var);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let base = format!("http://{listen}");
    wait_ready(
        &mut child,
        &base,
        &reqwest::Client::new(),
        Duration::from_secs(30),
        Duration::from_millis(50),
    )
    .await
    .unwrap();
    (child, base, data)
}

/// SIGTERM, then waits for a clean exit.
fn stop(mut child: std::process::Child) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(Instant::now() < deadline, "no exit 30 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A check (Allow), a check (Deny by a forbid) and a command.
async fn traffic(base: &str) {
    let pa = Client::new(base).unwrap();
    let allow = pa
        .check(&Check::user(
            "ann@acme.example",
            "crm.objects.edit",
            "c-globex",
        ))
        .await
        .unwrap();
    assert_eq!(allow.decision, Decision::Allow);
    let deny = pa
        .check(&Check::user(
            "ann@acme.example",
            "scim.provision",
            "c-globex",
        ))
        .await
        .unwrap();
    assert_eq!(deny.decision, Decision::Deny);
    pa.create_user(
        "c-globex",
        &CreateUser {
            actor: "owner@globex.example".into(),
            email: "zoe@globex.example".into(),
            seat: "core".into(),
            permission_set: "Viewer".into(),
            paid_hubs: vec![],
        },
        None,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn checks_and_commands_are_exported_as_spans_with_their_decisions() {
    let (endpoint, received) = receiver().await;
    let (child, base, _data) = start(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]).await;
    traffic(&base).await;
    // Shutdown flushes the exporter: every span is received by the time the process exits.
    tokio::task::spawn_blocking(move || stop(child))
        .await
        .unwrap();

    let spans = spans(&received);
    let decided: Vec<&Span> = spans
        .iter()
        .filter(|s| s.get("decision").is_some())
        .collect();
    let check = |reason: &str| {
        decided
            .iter()
            .find(|s| {
                s.get("path") == Some("/v1/is_authorized") && s.get("policy_ids") == Some(reason)
            })
            .unwrap_or_else(|| panic!("no check span decided by {reason}: {spans:#?}"))
    };
    let allow = check("listed.crm.objects.edit");
    assert_eq!(allow.get("decision"), Some("Allow"));
    assert!(allow.get("store_us").is_some(), "{allow:?}");
    assert!(
        allow
            .resource
            .contains(&("service.name".into(), "partner-access".into())),
        "{allow:?}"
    );
    let deny = check("partner-admin-never-scim-or-migration");
    assert_eq!(deny.get("decision"), Some("Deny"));

    let command = decided
        .iter()
        .find(|s| s.get("path") == Some("/v1/clients/c-globex/users"))
        .unwrap_or_else(|| panic!("no command span: {spans:#?}"));
    assert_eq!(command.get("decision"), Some("Allow"), "{command:?}");
    assert_eq!(command.get("command"), Some("user.create"), "{command:?}");
    assert!(
        !command.get("policy_ids").unwrap_or_default().is_empty(),
        "{command:?}"
    );
    assert!(command.get("store_us").is_some(), "{command:?}");
    assert!(
        spans
            .iter()
            .all(|s| s.name == "request" || !s.name.is_empty())
    );
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported() {
    let (endpoint, received) = receiver().await;
    // The receiver is there, but only named by a variable the sidecar does not read.
    let (child, base, _data) = start(&[("UNRELATED_OTLP_ENDPOINT", &endpoint)]).await;
    traffic(&base).await;
    tokio::task::spawn_blocking(move || stop(child))
        .await
        .unwrap();
    assert!(received.0.lock().unwrap().is_empty());
}
