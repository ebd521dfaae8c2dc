//! The server harness: the real server (router, limits, timeouts, background upkeep) started
//! in-process on an ephemeral port with a temporary data directory, talked to over HTTP,
//! stopped, and restarted on the same directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use partner_access::app::{App, ImportMode};
use partner_access::domain::StateDocument;
use partner_access::http::{Auth, HttpOptions};
use partner_access::store::{RedbStore, Store};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{postgres, root, settings};

/// How to start a server.
#[derive(Clone)]
pub struct Options {
    /// Check-only tokens.
    pub check_tokens: Vec<String>,
    pub caller_tokens: Vec<String>,
    pub admin_token: Option<String>,
    pub body_limit: usize,
    pub policies: PathBuf,
    pub schema: PathBuf,
    /// Serve `/ui`.
    pub playground: bool,
    /// How long a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Connections served at once and how long one may idle.
    pub connections: partner_access::http::ConnectionLimits,
    /// How long an idempotency key's answer is replayed (the product's default if `None`).
    pub idempotency_ttl: Option<Duration>,
    /// How long the check path's cache keeps an entry.
    pub cache_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            check_tokens: Vec::new(),
            caller_tokens: Vec::new(),
            admin_token: None,
            body_limit: 1024 * 1024,
            policies: root().join("policies"),
            schema: root().join("schema"),
            playground: true,
            request_timeout: Duration::from_secs(10),
            connections: partner_access::http::ConnectionLimits::default(),
            idempotency_ttl: None,
            cache_ttl: settings().cache_ttl,
        }
    }
}

/// A running server.
pub struct TestServer {
    pub base: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    pub data: PathBuf,
    pub options: Options,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// Only the first server of a directory owns it, so a restart keeps the files.
    _dir: Option<tempfile::TempDir>,
    /// The admin token to send on admin calls, if any.
    admin: Option<String>,
    /// The caller token to send on other calls, if any.
    caller: Option<String>,
    /// The PostgreSQL schema's connection string, when the suite runs on PostgreSQL.
    pub store_url: Option<String>,
}

/// Opens the suite's store: the redb file in `data`, or the PostgreSQL schema `url`.
pub fn open_store(data: &Path, url: Option<&str>) -> Arc<dyn Store> {
    match url {
        Some(url) => Arc::new(partner_access::store::PostgresStore::open(url).unwrap()),
        None => Arc::new(RedbStore::open(data).unwrap()),
    }
}

/// Starts a server with a fresh data directory, on the suite's backend: a fresh schema of the
/// PostgreSQL server when `PARTNER_ACCESS_TEST_POSTGRES` names one (`.ci/run` runs the HTTP
/// suite on both backends), redb otherwise.
pub async fn start(options: Options) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let url = match postgres::url() {
        Some(base) => Some(postgres::fresh_schema(&base).await),
        None => None,
    };
    let store = open_store(&data, url.as_deref());
    let mut server = start_on(store, data, options).await;
    server._dir = Some(dir);
    server.store_url = url;
    server
}

/// Starts a server with a fresh data directory on redb, whatever the suite's backend.
pub async fn start_redb(options: Options) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let store = Arc::new(RedbStore::open(&data).unwrap());
    let mut server = start_on(store, data, options).await;
    server.keep(dir);
    server
}

/// Starts a server over a given store (a fault-injecting one, for instance).
pub async fn start_on(store: Arc<dyn Store>, data: PathBuf, options: Options) -> TestServer {
    partner_access::telemetry::init_metrics();
    let app = App::new(
        partner_access::app::AppSettings {
            policies_dir: options.policies.clone(),
            schema_dir: options.schema.clone(),
            cache_ttl: options.cache_ttl,
            ..settings()
        },
        store,
    )
    .unwrap();
    let app = Arc::new(match options.idempotency_ttl {
        Some(ttl) => app.with_idempotency_ttl(ttl),
        None => app,
    });
    serve(app, data, options).await
}

/// Serves an app the caller built (`options` gives the HTTP side only), `data` being its data
/// directory.
pub async fn serve(app: Arc<App>, data: PathBuf, options: Options) -> TestServer {
    partner_access::telemetry::init_metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let http = HttpOptions {
        playground: options.playground,
        auth: Arc::new(Auth::new(
            &options.check_tokens,
            &options.caller_tokens,
            options.admin_token.as_deref(),
        )),
        body_limit: options.body_limit,
        request_timeout: options.request_timeout,
        connections: options.connections,
        allowed_hosts: Vec::new(),
    };
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(partner_access::server::run(
        listener,
        app.clone(),
        http,
        async {
            let _ = rx.await;
        },
    ));
    TestServer {
        base,
        app,
        client: reqwest::Client::new(),
        data,
        admin: options.admin_token.clone(),
        caller: options.caller_tokens.first().cloned(),
        options,
        shutdown: Some(tx),
        task: Some(task),
        _dir: None,
        store_url: None,
    }
}

impl TestServer {
    /// The Rust client (`clients/rust`) of this server, with the caller token (else the admin
    /// token) if it has one.
    pub fn api(&self) -> partner_access_client::Client {
        let mut builder =
            partner_access_client::Client::builder(&self.base).http_client(self.client.clone());
        if let Some(token) = self.caller.as_deref().or(self.admin.as_deref()) {
            builder = builder.token(token);
        }
        builder.build().unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn token_for(&self, path: &str) -> Option<&str> {
        if path.starts_with("/v1/admin")
            || path.starts_with("/v1/audit")
            || path.starts_with("/v1/events")
        {
            self.admin.as_deref()
        } else {
            self.caller.as_deref().or(self.admin.as_deref())
        }
    }

    /// Sends a request with the right token for the path and returns status and JSON body
    /// (a JSON string of the text for a body that is not JSON, so that a failure shows it).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = self.token_for(path) {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, json_or_text(text))
    }

    /// Sends exactly `body` with `Content-Type: application/json` and the extra `headers`
    /// (no token); the answer's body as [`TestServer::send`] reads it.
    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, json_or_text(text))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Replaces the state with `doc` through the app, not over HTTP (no body limit, no token).
    pub fn load(&self, doc: &Value) {
        let state = StateDocument::from_json_value(doc.clone()).unwrap();
        self.app
            .import(&state, ImportMode::Replace, "tests")
            .unwrap();
    }

    /// Imports a state document (replace) and returns the new revision.
    pub async fn import(&self, doc: &Value) -> u64 {
        let (status, body) = self.post("/v1/admin/import?mode=replace", doc).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["revision"].as_u64().unwrap()
    }

    /// One check; returns the whole answer.
    pub async fn check(&self, principal: &str, action: &str, resource: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/is_authorized",
                &serde_json::json!({
                    "principal": format!("Hub::User::\"{principal}\""),
                    "action": action,
                    "resource": format!("Hub::Account::\"{resource}\""),
                }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// POSTs with an `Idempotency-Key`; returns status, whether the answer says it is a
    /// replay, and the body.
    pub async fn post_keyed(
        &self,
        path: &str,
        key: &str,
        body: &Value,
    ) -> (StatusCode, bool, Value) {
        let response = self
            .client
            .post(self.url(path))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .is_some_and(|v| v == "true");
        (status, replayed, response.json().await.unwrap())
    }

    /// Keeps `dir` (the data directory) alive as long as the server.
    pub fn keep(&mut self, dir: tempfile::TempDir) {
        self._dir = Some(dir);
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) -> (PathBuf, Options, Option<tempfile::TempDir>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let data = self.data.clone();
        let options = self.options.clone();
        let dir = self._dir.take();
        drop(self.app);
        (data, options, dir)
    }

    /// Stops the server and starts a new one on the same data directory.
    pub async fn restart(self) -> TestServer {
        let url = self.store_url.clone();
        let (data, options, dir) = self.stop().await;
        let store = open_store(&data, url.as_deref());
        let mut server = start_on(store, data, options).await;
        server._dir = dir;
        server.store_url = url;
        server
    }
}

/// The body as JSON, or the text as a JSON string when it is not JSON.
fn json_or_text(text: String) -> Value {
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}
