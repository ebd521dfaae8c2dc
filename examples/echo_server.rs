//! The HTTP ceiling of the load benchmark: a bare axum + serde_json server, built from the same
//! dependency versions as the sidecar, that parses a JSON body and answers a small JSON object.
//! `echo_server [PORT]` (default 18199).

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(json!({"decision": "Allow", "fields": body.as_object().map_or(0, |o| o.len())}))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18199);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(
        listener,
        Router::new().route("/v1/is_authorized", post(echo)),
    )
    .await
}
