//! Sends one HTTP check through the whole router in a loop, in process (no socket), for
//! profilers: `http_loop [ITERATIONS] [check|batch|echo]`.
//!
//! `check` is `POST /v1/is_authorized` with every layer a request meets in `serve` (host
//! check, auth, timeout, request id, trace, body limit, catch-panic); `batch` is a 1,000-item
//! `POST /v1/is_authorized/batch` of one principal and account; `echo` is the load
//! benchmark's echo server (`examples/echo_server.rs`) driven the same way, the floor a check
//! is compared with. Under `valgrind --tool=callgrind`, the difference of two runs with
//! different iteration counts is the cost of that many requests, free of the machine's noise:
//!
//! ```sh
//! cargo build --release --example http_loop
//! valgrind --tool=callgrind target/release/examples/http_loop 1000 check
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use partner_access::app::{App, AppSettings, ImportMode};
use partner_access::fixtures::{Size, generate};
use partner_access::http::{Auth, ConnectionLimits, HttpOptions, router};
use partner_access::store::RedbStore;
use tower::ServiceExt;

const CHECK: &str = r#"{"principal":{"type":"Hub::User","id":"admin1@p1.example"},"action":{"type":"Hub::Action","id":"reports.access"},"resource":{"type":"Hub::Account","id":"c1"}}"#;

fn batch_body() -> String {
    let items = vec![CHECK; 1000].join(",");
    format!(r#"{{"requests":[{items}]}}"#)
}

async fn echo(axum::Json(body): axum::Json<serde_json::Value>) -> axum::Json<serde_json::Value> {
    axum::Json(
        serde_json::json!({"decision": "Allow", "fields": body.as_object().map_or(0, |o| o.len())}),
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let mode = args.next().unwrap_or_else(|| "check".into());

    let dir = std::env::temp_dir().join(format!("pa-http-loop-{}", std::process::id()));
    let store = RedbStore::open(&dir)?;
    let app = App::new(
        AppSettings {
            policies_dir: "policies".into(),
            schema_dir: "schema".into(),
            cache_capacity: 100_000,
            cache_ttl: Duration::from_secs(300),
            follow: Default::default(),
        },
        Arc::new(store),
    )?;
    app.import(
        &generate(Size {
            partners: 20,
            clients: 200,
            users_per_client: 5,
        }),
        ImportMode::Replace,
        "http_loop",
    )?;
    let options = HttpOptions {
        auth: Arc::new(Auth::default()),
        body_limit: 1 << 20,
        request_timeout: Duration::from_secs(5),
        playground: false,
        connections: ConnectionLimits::default(),
        allowed_hosts: Vec::new(),
    };
    let (service, path, body) = match mode.as_str() {
        "check" => (
            router(Arc::new(app), &options),
            "/v1/is_authorized",
            CHECK.to_owned(),
        ),
        "batch" => (
            router(Arc::new(app), &options),
            "/v1/is_authorized/batch",
            batch_body(),
        ),
        "echo" => (
            axum::Router::new().route("/v1/is_authorized", axum::routing::post(echo)),
            "/v1/is_authorized",
            CHECK.to_owned(),
        ),
        other => return Err(format!("unknown mode {other}: check, batch or echo").into()),
    };
    let started = Instant::now();
    let mut ok = 0;
    for _ in 0..iterations {
        let request = Request::post(path)
            .header("host", "127.0.0.1:8180")
            .header("content-type", "application/json")
            .body(Body::from(body.clone()))?;
        let response = service.clone().oneshot(request).await?;
        if response.status().is_success() {
            ok += 1;
        }
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    }
    let elapsed = started.elapsed();
    println!(
        "{mode}: {ok} of {iterations} answered 200, {:.2} µs a request",
        elapsed.as_secs_f64() * 1e6 / iterations.max(1) as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
