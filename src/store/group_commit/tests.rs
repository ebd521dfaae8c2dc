//! Concurrency tests over the real redb store: many threads write at once, some refuse,
//! some fail after writing, one panics; every successful write must be durable and every
//! failed one absent.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use crate::store::{Aux, RedbStore, Store, WriteError, write};

fn store() -> (tempfile::TempDir, Arc<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    (dir, store)
}

fn present(store: &RedbStore, key: &str) -> bool {
    store
        .snapshot()
        .unwrap()
        .aux(Aux::Idempotency, key)
        .unwrap()
        .is_some()
}

/// What each writer does in the shared transaction.
#[derive(Clone, Copy)]
enum Kind {
    Write,
    /// Refuses before writing: the batch goes on without it.
    Refuse,
    /// Writes, then refuses: the batch is dropped and the others run again.
    WriteThenRefuse,
    /// Writes, then panics.
    Panic,
}

/// Starts `kinds.len()` writers together; the first holds the transaction for a moment so
/// the others queue behind it. Returns each writer's result (`None` for a panic).
fn race(store: &Arc<RedbStore>, kinds: &[Kind]) -> Vec<Option<Result<u64, String>>> {
    let barrier = Arc::new(Barrier::new(kinds.len()));
    let handles: Vec<_> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let store = store.clone();
            let barrier = barrier.clone();
            let kind = *kind;
            std::thread::spawn(move || {
                barrier.wait();
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(5));
                }
                let key = format!("k{i}");
                write::<_, (), String>(store.as_ref(), |tx| {
                    if i == 0 {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    if let Kind::Refuse = kind {
                        return Err(WriteError::Aborted(format!("{key} refused")));
                    }
                    tx.put_aux(Aux::Idempotency, &key, b"x")?;
                    match kind {
                        Kind::WriteThenRefuse => {
                            Err(WriteError::Aborted(format!("{key} refused late")))
                        }
                        Kind::Panic => panic!("{key} panics"),
                        _ => Ok(()),
                    }
                })
                .map(|((), committed)| committed.revision)
                .map_err(|e| match e {
                    WriteError::Aborted(m) => m,
                    WriteError::Store(e) => e.to_string(),
                })
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().ok()).collect()
}

#[test]
fn concurrent_writers_share_commits_and_all_land() {
    let (_dir, store) = store();
    let results = race(&store, &[Kind::Write; 32]);
    let mut revisions: Vec<u64> = results
        .iter()
        .map(|r| r.clone().unwrap().unwrap())
        .collect();
    for i in 0..32 {
        assert!(present(&store, &format!("k{i}")), "k{i} lost");
    }
    revisions.sort();
    revisions.dedup();
    // One revision per commit: 32 writers took far fewer than 32 commits.
    assert!(revisions.len() < 16, "commits: {revisions:?}");
    assert_eq!(
        store.snapshot().unwrap().revision(),
        *revisions.last().unwrap()
    );
}

#[test]
fn a_refusal_before_writing_fails_alone() {
    let (_dir, store) = store();
    let mut kinds = vec![Kind::Write; 16];
    kinds[3] = Kind::Refuse;
    kinds[9] = Kind::Refuse;
    let results = race(&store, &kinds);
    for (i, result) in results.iter().enumerate() {
        let result = result.clone().unwrap();
        if i == 3 || i == 9 {
            assert_eq!(result, Err(format!("k{i} refused")));
            assert!(!present(&store, &format!("k{i}")));
        } else {
            assert!(result.is_ok(), "k{i}: {result:?}");
            assert!(present(&store, &format!("k{i}")), "k{i} lost");
        }
    }
}

#[test]
fn a_failure_after_writing_drops_only_its_own_changes() {
    let (_dir, store) = store();
    let mut kinds = vec![Kind::Write; 16];
    kinds[0] = Kind::WriteThenRefuse;
    kinds[5] = Kind::WriteThenRefuse;
    kinds[11] = Kind::WriteThenRefuse;
    let results = race(&store, &kinds);
    for (i, result) in results.iter().enumerate() {
        let result = result.clone().unwrap();
        if matches!(kinds[i], Kind::WriteThenRefuse) {
            assert_eq!(result, Err(format!("k{i} refused late")));
            assert!(!present(&store, &format!("k{i}")), "k{i} half applied");
        } else {
            assert!(result.is_ok(), "k{i}: {result:?}");
            assert!(present(&store, &format!("k{i}")), "k{i} lost");
        }
    }
}

#[test]
fn a_panicking_writer_neither_blocks_nor_leaks_into_the_others() {
    let (_dir, store) = store();
    let mut kinds = vec![Kind::Write; 12];
    kinds[0] = Kind::Panic;
    kinds[7] = Kind::Panic;
    let results = race(&store, &kinds);
    for (i, result) in results.iter().enumerate() {
        if matches!(kinds[i], Kind::Panic) {
            assert!(result.is_none(), "k{i} should have panicked");
            assert!(!present(&store, &format!("k{i}")), "k{i} half applied");
        } else {
            assert!(result.clone().unwrap().is_ok(), "k{i}: {result:?}");
            assert!(present(&store, &format!("k{i}")), "k{i} lost");
        }
    }
    // The store still takes writes.
    let results = race(&store, &[Kind::Write; 2]);
    assert!(results.iter().all(|r| r.clone().unwrap().is_ok()));
}
