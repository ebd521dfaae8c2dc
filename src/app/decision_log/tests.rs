#![allow(clippy::unwrap_used, reason = "a test: a failed unwrap fails it")]

use super::*;

/// A sink that refuses writes while `full`, and otherwise takes at most 100 bytes a call
/// (so that lines are written in pieces).
#[derive(Clone, Default)]
struct Disk {
    full: Arc<AtomicBool>,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl Write for Disk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        let n = buf.len().min(100);
        self.bytes.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
        }
        Ok(())
    }
}

fn record(n: usize) -> DecisionRecord {
    DecisionRecord {
        time: Timestamp::now(),
        decision_id: format!("d{n}"),
        principal: "Hub::User::\"ann@acme.example\"".into(),
        action: "crm.objects.view".into(),
        resource: "Hub::Account::\"c-globex\"".into(),
        decision: "Allow",
        reasons: vec!["partner-admin".into()],
        errors: Vec::new(),
        revision: 1,
        policy_version: PolicyVersion::from_digest("0123abcd"),
        latency_us: 3,
    }
}

fn log(mode: LogMode, disk: &Disk) -> Arc<DecisionLog> {
    let settings = DecisionLogSettings {
        sink: LogSink::Stdout,
        mode,
        sample: 1.0,
        queue: 8,
    };
    Arc::new(DecisionLog::start_on(settings, Box::new(disk.clone())).unwrap())
}

fn lines(disk: &Disk) -> Vec<String> {
    let bytes = disk.bytes.lock().unwrap().clone();
    let text = String::from_utf8(bytes).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn never_drop_keeps_every_record_through_a_full_disk_in_order_and_whole() {
    for (records, full_for_ms) in [(50, 50), (200, 300), (1_000, 20)] {
        let disk = Disk::default();
        let log = log(LogMode::NeverDrop, &disk);
        disk.full.store(true, Ordering::SeqCst);
        let sender = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || (0..records).for_each(|n| log.record(record(n))))
        };
        std::thread::sleep(Duration::from_millis(full_for_ms));
        disk.full.store(false, Ordering::SeqCst);
        sender.join().unwrap();
        log.close();
        let lines = lines(&disk);
        assert_eq!(lines.len(), records, "every record written");
        for (n, line) in lines.iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(value["decision_id"], format!("d{n}"), "in order, whole");
        }
        assert_eq!(log.dropped(), 0);
    }
}

#[test]
fn drop_mode_counts_every_record_it_does_not_write() {
    let disk = Disk::default();
    let log = log(LogMode::Drop, &disk);
    disk.full.store(true, Ordering::SeqCst);
    for n in 0..500 {
        log.record(record(n));
    }
    std::thread::sleep(Duration::from_millis(100));
    disk.full.store(false, Ordering::SeqCst);
    log.close();
    let written = lines(&disk);
    for line in &written {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    assert_eq!(
        written.len() as u64 + log.dropped(),
        500,
        "written + dropped = sent"
    );
}

#[test]
fn closing_while_the_sink_fails_and_checks_wait_on_a_full_queue_ends() {
    let disk = Disk::default();
    let log = log(LogMode::NeverDrop, &disk);
    disk.full.store(true, Ordering::SeqCst);
    let sender = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || (0..100).for_each(|n| log.record(record(n))))
    };
    // Long enough for the writer to try the sink, fail, and stop taking records: the
    // queue fills and the sending thread waits.
    std::thread::sleep(Duration::from_millis(600));
    let started = Instant::now();
    log.close();
    sender.join().unwrap();
    assert!(started.elapsed() < CLOSE_PATIENCE + Duration::from_secs(3));
    assert_eq!(lines(&disk).len() as u64 + log.dropped(), 100);
}

#[test]
fn a_sink_that_never_recovers_is_given_up_at_close_and_counted() {
    let disk = Disk::default();
    let log = log(LogMode::NeverDrop, &disk);
    for n in 0..5 {
        log.record(record(n));
    }
    disk.full.store(true, Ordering::SeqCst);
    let started = Instant::now();
    log.close();
    assert!(started.elapsed() < CLOSE_PATIENCE + Duration::from_secs(3));
    assert_eq!(lines(&disk).len() as u64 + log.dropped(), 5);
}
