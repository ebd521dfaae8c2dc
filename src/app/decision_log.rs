//! The decision log: one JSON line per check decision, written by a background thread to
//! standard output or a file.
//!
//! The check path only hands a record to a bounded queue; the writer thread serializes and
//! writes, so a slow disk never sits on the check path, and the queue decides what happens when
//! the sink cannot keep up:
//!
//! - [`LogMode::Drop`] (the default): the record is dropped and counted in
//!   `partner_access_decision_log_dropped_total`. Checks never wait.
//! - [`LogMode::NeverDrop`]: the check waits for room in the queue (back-pressure): every
//!   sampled decision is logged, at the cost of latency when the sink is slow.
//!
//! `sample` (0.0 to 1.0) logs that fraction of decisions. Closing the log (at shutdown) drains
//! the queue and flushes the sink.
//!
//! ## When the sink fails
//!
//! A write that fails (a full disk, a closed pipe) loses nothing by itself: the writer keeps
//! the unwritten bytes (it counts what the sink took, so no line is written twice or cut), logs
//! the failure once, counts it in `partner_access_decision_log_write_errors_total`, and tries
//! again with a growing pause (up to 1 s), logging again when writes succeed.
//!
//! - In `never_drop` mode the writer takes no new record while it cannot write, so the queue
//!   fills and checks wait: nothing is lost. At shutdown it keeps trying for
//!   [`CLOSE_PATIENCE`]; what it still cannot write then is counted as dropped and logged.
//! - In `drop` mode records keep being taken up to [`MAX_PENDING`] bytes of unwritten lines;
//!   beyond that they are dropped and counted.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::domain::{PolicyVersion, Timestamp};

/// Where decision records go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSink {
    Stdout,
    File(PathBuf),
}

impl std::str::FromStr for LogSink {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" => Err("decision log: expected `stdout` or a file path".into()),
            "stdout" | "-" => Ok(LogSink::Stdout),
            path => Ok(LogSink::File(PathBuf::from(path))),
        }
    }
}

/// What to do when the sink cannot keep up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogMode {
    /// Drop the record and count it.
    #[default]
    Drop,
    /// Make the check wait for room.
    NeverDrop,
}

/// How the decision log is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionLogSettings {
    pub sink: LogSink,
    pub mode: LogMode,
    /// The fraction of decisions logged, 0.0 to 1.0.
    pub sample: f64,
    /// Records waiting for the writer at most.
    pub queue: usize,
}

/// One logged decision.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord {
    pub time: Timestamp,
    pub decision_id: String,
    pub principal: String,
    pub action: String,
    pub resource: String,
    /// `Allow` or `Deny`.
    pub decision: &'static str,
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    pub revision: u64,
    /// The policy set that decided.
    pub policy_version: PolicyVersion,
    pub latency_us: u64,
}

/// Unwritten bytes the writer keeps in `drop` mode while the sink fails; more is dropped.
pub const MAX_PENDING: usize = 8 << 20;

/// How long closing the log keeps trying a failing sink before it gives up.
pub const CLOSE_PATIENCE: Duration = Duration::from_secs(5);

/// Records dropped, shared by the check path and the writer.
#[derive(Debug)]
struct Dropped {
    count: AtomicU64,
    metric: metrics::Counter,
}

impl Dropped {
    fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
        self.metric.increment(n);
    }
}

/// The running decision log.
pub struct DecisionLog {
    settings: DecisionLogSettings,
    /// `None` once closed. Read-locked per record (no contention between checks).
    sender: RwLock<Option<SyncSender<DecisionRecord>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    dropped: Arc<Dropped>,
    /// Set when the log closes: a writer held up by a failing sink stops waiting for it and
    /// drains the queue, so that checks blocked on a full queue go on and the close ends.
    closing: Arc<AtomicBool>,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("settings", &self.settings)
            .finish()
    }
}

impl DecisionLog {
    /// Opens the sink (a file is created or appended to) and starts the writer thread.
    pub fn start(settings: DecisionLogSettings) -> std::io::Result<Self> {
        let sink: Box<dyn Write + Send> = match &settings.sink {
            LogSink::Stdout => Box::new(std::io::stdout()),
            LogSink::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        Self::start_on(settings, sink)
    }

    /// Starts the writer thread on a given sink (`settings.sink` only names it): for tests
    /// with a sink that fails on demand.
    #[doc(hidden)]
    pub fn start_on(
        settings: DecisionLogSettings,
        sink: Box<dyn Write + Send>,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel(settings.queue.max(1));
        let dropped = Arc::new(Dropped {
            count: AtomicU64::new(0),
            metric: metrics::counter!("partner_access_decision_log_dropped_total"),
        });
        let closing = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            sink,
            pending: Vec::new(),
            mode: settings.mode,
            dropped: Arc::clone(&dropped),
            errors: metrics::counter!("partner_access_decision_log_write_errors_total"),
            failing_since: None,
            closing: Arc::clone(&closing),
        };
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || writer.run(receiver))?;
        Ok(DecisionLog {
            settings,
            sender: RwLock::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            dropped,
            closing,
        })
    }

    /// Records dropped so far (also the metric `partner_access_decision_log_dropped_total`).
    pub fn dropped(&self) -> u64 {
        self.dropped.count.load(Ordering::Relaxed)
    }

    /// Whether this decision is sampled (decided before a record is built).
    pub fn sampled(&self) -> bool {
        self.settings.sample >= 1.0 || rand::random::<f64>() < self.settings.sample
    }

    /// Hands a record to the writer: waits for room in `never_drop` mode, drops and counts it
    /// in `drop` mode when the queue is full.
    pub fn record(&self, record: DecisionRecord) {
        let guard = match self.sender.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(sender) = guard.as_ref() else {
            self.dropped.add(1);
            return;
        };
        let sent = match self.settings.mode {
            LogMode::NeverDrop => {
                // Waiting here blocks the thread. On tokio's multi-threaded runtime the worker
                // hands its other tasks over first, so only this request waits.
                let multi_thread = tokio::runtime::Handle::try_current().is_ok_and(|h| {
                    h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                });
                if multi_thread {
                    tokio::task::block_in_place(|| sender.send(record).is_ok())
                } else {
                    sender.send(record).is_ok()
                }
            }
            LogMode::Drop => match sender.try_send(record) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        };
        if !sent {
            self.dropped.add(1);
        }
    }

    /// Stops taking records, writes every queued one and flushes the sink.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        match self.sender.write() {
            Ok(mut sender) => drop(sender.take()),
            Err(poisoned) => drop(poisoned.into_inner().take()),
        }
        let writer = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer thread's side: the sink and the lines it has not taken yet.
struct Writer {
    sink: Box<dyn Write + Send>,
    /// Serialized lines not yet written; the sink's partial writes drain it from the front.
    pending: Vec<u8>,
    mode: LogMode,
    dropped: Arc<Dropped>,
    errors: metrics::Counter,
    /// When the sink started failing, while it does.
    failing_since: Option<Instant>,
    closing: Arc<AtomicBool>,
}

/// Bytes gathered before a write is tried without waiting for the queue to run dry.
const WRITE_AT: usize = 64 << 10;

impl Writer {
    /// One JSON line per record; writes when enough has gathered and when the queue runs dry
    /// (so a quiet sidecar's log is current within a fraction of a second), and drains what is
    /// left when the log closes.
    fn run(mut self, receiver: Receiver<DecisionRecord>) {
        let mut pause = Duration::from_millis(10);
        loop {
            // While the sink fails in `never_drop` mode, take nothing new: the queue fills and
            // the checks wait, so no record is lost.
            if self.failing_since.is_some() && self.mode == LogMode::NeverDrop {
                if self.closing.load(Ordering::SeqCst) {
                    // Take what is queued (unblocking the checks waiting to send), then try
                    // the sink for a last while.
                    loop {
                        match receiver.recv_timeout(Duration::from_millis(50)) {
                            Ok(record) => self.push(&record),
                            Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => break,
                        }
                    }
                    break;
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(1));
                if self.write_pending() {
                    pause = Duration::from_millis(10);
                }
                continue;
            }
            match receiver.recv_timeout(Duration::from_millis(200)) {
                Ok(record) => {
                    self.push(&record);
                    if self.pending.len() >= WRITE_AT {
                        self.write_pending();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.write_pending();
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.close();
    }

    /// Adds a record's line, or drops it in `drop` mode when too much is unwritten.
    fn push(&mut self, record: &DecisionRecord) {
        if self.mode == LogMode::Drop && self.pending.len() >= MAX_PENDING {
            self.dropped.add(1);
            return;
        }
        let start = self.pending.len();
        if serde_json::to_writer(&mut self.pending, record).is_ok() {
            self.pending.push(b'\n');
        } else {
            self.pending.truncate(start);
            self.dropped.add(1);
        }
    }

    /// Writes what is pending and flushes; `true` when all of it was taken. A failure keeps the
    /// rest for the next try and is logged once per outage.
    fn write_pending(&mut self) -> bool {
        let written =
            write_some(&mut self.sink, &mut self.pending).and_then(|()| self.sink.flush());
        match written {
            Ok(()) => {
                if let Some(since) = self.failing_since.take() {
                    tracing::info!(
                        after_ms = since.elapsed().as_millis() as u64,
                        "decision log writes succeed again"
                    );
                }
                true
            }
            Err(error) => {
                self.errors.increment(1);
                if self.failing_since.is_none() {
                    self.failing_since = Some(Instant::now());
                    tracing::error!(
                        %error,
                        mode = ?self.mode,
                        "the decision log cannot write; its records are kept and written when \
                         the sink takes them again"
                    );
                }
                false
            }
        }
    }

    /// At shutdown: keeps trying for [`CLOSE_PATIENCE`], then counts what is left as dropped.
    fn close(mut self) {
        let deadline = Instant::now() + CLOSE_PATIENCE;
        let mut pause = Duration::from_millis(10);
        while !self.write_pending() {
            if Instant::now() >= deadline {
                let lost = self.pending.iter().filter(|b| **b == b'\n').count() as u64;
                self.dropped.add(lost);
                tracing::error!(
                    records = lost,
                    "the decision log could not write its last records before shutdown"
                );
                return;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// Writes from the front of `pending`, removing what the sink took; stops at the first error
/// with the rest still pending (a line is never written twice, nor cut without its rest
/// following).
fn write_some(sink: &mut dyn Write, pending: &mut Vec<u8>) -> std::io::Result<()> {
    let mut taken = 0;
    let result = loop {
        if taken == pending.len() {
            break Ok(());
        }
        match sink.write(&pending[taken..]) {
            Ok(0) => break Err(std::io::Error::from(std::io::ErrorKind::WriteZero)),
            Ok(n) => taken += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    pending.drain(..taken);
    result
}

#[cfg(test)]
mod tests;
