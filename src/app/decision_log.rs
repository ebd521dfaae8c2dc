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

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use crate::domain::Timestamp;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, clap::ValueEnum)]
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
    pub latency_us: u64,
}

/// The running decision log.
pub struct DecisionLog {
    settings: DecisionLogSettings,
    /// `None` once closed. Read-locked per record (no contention between checks).
    sender: RwLock<Option<SyncSender<DecisionRecord>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    dropped: metrics::Counter,
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
        let (sender, receiver) = sync_channel(settings.queue.max(1));
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_records(receiver, std::io::BufWriter::new(sink)))?;
        Ok(DecisionLog {
            settings,
            sender: RwLock::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            dropped: metrics::counter!("partner_access_decision_log_dropped_total"),
        })
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
            self.dropped.increment(1);
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
            self.dropped.increment(1);
        }
    }

    /// Stops taking records, writes every queued one and flushes the sink.
    pub fn close(&self) {
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

/// The writer thread: one JSON line per record; flushes when the queue runs dry (so a quiet
/// sidecar's log is current within a fraction of a second) and when the log closes.
fn write_records(receiver: Receiver<DecisionRecord>, mut sink: impl Write) {
    loop {
        match receiver.recv_timeout(Duration::from_millis(200)) {
            Ok(record) => {
                if serde_json::to_writer(&mut sink, &record).is_ok() {
                    let _ = sink.write_all(b"\n");
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = sink.flush();
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = sink.flush();
}
