//! The shared harness: start the real server on an ephemeral port with a temporary data
//! directory, talk to it over HTTP, stop it, restart it on the same directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use partner_access::app::{App, AppSettings};
use partner_access::http::{Auth, HttpOptions};
use partner_access::store::{
    Committed, RedbStore, Snapshot, Store, StoreError, WorkError, WriteTx,
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The agency fixture of the declarative policy tests.
pub fn agency() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/policies/fixtures/agency.json")).unwrap(),
    )
    .unwrap()
}

/// The demo state.
pub fn demo() -> Value {
    serde_json::from_str(partner_access::cli::DEMO_STATE).unwrap()
}

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

/// The PostgreSQL server the suite runs on instead of redb, when
/// `PARTNER_ACCESS_TEST_POSTGRES` names one (`.ci/run` runs the suite on both backends).
#[path = "../support/postgres.rs"]
pub mod postgres;

/// Opens the suite's store: the redb file in `data`, or the PostgreSQL schema `url`.
pub fn open_store(data: &Path, url: Option<&str>) -> Arc<dyn Store> {
    match url {
        Some(url) => Arc::new(partner_access::store::PostgresStore::open(url).unwrap()),
        None => Arc::new(RedbStore::open(data).unwrap()),
    }
}

/// Starts a server with a fresh data directory (and a fresh schema, on PostgreSQL).
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

/// Starts a server over a given store (a fault-injecting one, for instance).
pub async fn start_on(store: Arc<dyn Store>, data: PathBuf, options: Options) -> TestServer {
    partner_access::telemetry::init_metrics();
    let app = App::new(
        AppSettings {
            policies_dir: options.policies.clone(),
            schema_dir: options.schema.clone(),
            cache_capacity: 10_000,
            cache_ttl: Duration::from_secs(30),
            follow: Default::default(),
        },
        store,
    )
    .unwrap();
    let app = Arc::new(match options.idempotency_ttl {
        Some(ttl) => app.with_idempotency_ttl(ttl),
        None => app,
    });
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
    /// (`Value::Null` for a body that is not JSON).
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
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
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
    #[allow(dead_code)] // used by the suites that include this file, not all of them
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

/// A store that fails on demand: reads, writes, or both. Everything else is the redb store.
pub struct FaultyStore {
    pub inner: RedbStore,
    pub fail_reads: AtomicBool,
    pub fail_writes: AtomicBool,
}

impl FaultyStore {
    pub fn open(dir: &Path) -> Self {
        FaultyStore {
            inner: RedbStore::open(dir).unwrap(),
            fail_reads: AtomicBool::new(false),
            fail_writes: AtomicBool::new(false),
        }
    }
}

impl Store for FaultyStore {
    fn snapshot(&self) -> Result<Box<dyn Snapshot + '_>, StoreError> {
        if self.fail_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Read("injected read failure".into()));
        }
        self.inner.snapshot()
    }

    fn write_dyn(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(WorkError::Store(StoreError::Write(
                "injected write failure".into(),
            )));
        }
        self.inner.write_dyn(work)
    }
}
