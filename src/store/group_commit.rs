//! Group commit: concurrent writers share one write transaction and one fsync.
//!
//! A durable commit costs an fsync (hundreds of microseconds to milliseconds), and redb allows
//! one write transaction at a time, so one commit per command would cap durable command
//! throughput near a few thousand per second no matter how many cores or clients there are.
//! Here the writers that arrive while a commit is on its way to disk are applied, one after
//! the other, to the *next* transaction, which is then committed once for all of them.
//!
//! ## The protocol
//!
//! The group is a small state machine behind one mutex:
//!
//! - **Idle**: no transaction. The next writer begins one and becomes the batch's *leader*.
//! - **Open**: a transaction accepts work. Each writer runs its own unit of work on it while
//!   holding the mutex (works never interleave), then waits for the batch's outcome. The leader
//!   waits until every writer that was queued behind the previous commit has joined (or the
//!   batch is full), then takes the transaction and commits it *without* holding the mutex.
//! - **Committing**: the transaction is on its way to disk. Arriving writers queue (they are
//!   counted in `queued`) and join the next batch together.
//!
//! ## Each writer still fails alone
//!
//! - A work that refuses **before writing anything** (an authorization denial, a 404, most
//!   conflicts) leaves the transaction as it was: the batch goes on without it.
//! - A work that refuses or fails **after writing** has left half of its changes in the shared
//!   transaction. redb cannot roll back part of a transaction, so the whole batch is dropped
//!   (nothing of it was written) and every other writer of it runs its work again in a later
//!   batch; the failed writer runs again *alone* in a transaction of its own, so its outcome is
//!   decided on committed state only and its failure can drop no one else's work.
//! - A work that panics drops the batch the same way (the guard in [`Running`]).
//! - Every writer that ran in a batch, refused ones included, answers only after the batch's
//!   outcome is known: a refusal may have been decided on the batch's earlier writes, so it is
//!   final only once those are durable. If the commit fails, every writer of the batch gets the
//!   store error, and nothing of the batch was written.
//!
//! Works must therefore be repeatable: running one again on the same state gives the same
//! result. The commands are (they read everything they decide on from the transaction).
//!
//! Whether a work wrote anything is [`BatchTx::writes`], counted by the state transaction
//! (`super::state`) as each write reaches the backend.
//!
//! One file, longer than most here: the state machine and the guards that keep it consistent
//! when a work or a commit panics are one protocol, read and changed together. The concurrency
//! tests that race writers through it sit beside it, in `group_commit/tests.rs`.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use super::{Committed, StoreError, WorkError, WriteTx};

/// The most writers one transaction takes; a bound on the latency one batch adds.
pub const MAX_BATCH: usize = 128;

/// A write transaction the group can share.
pub trait BatchTx: WriteTx + Send {
    /// How many mutating calls this transaction has seen: a work that fails with this
    /// unchanged has written nothing.
    fn writes(&self) -> u64;
    /// What was changed since the last call (the current writer's changes), leaving nothing.
    fn take_changes(&mut self) -> Committed;
    /// Commits durably; returns the new revision.
    fn commit(self) -> Result<u64, StoreError>;
}

/// How a batch ended, as its writers read it.
#[derive(Debug, Clone)]
enum Outcome {
    Committed {
        revision: u64,
    },
    Failed(StoreError),
    /// Dropped because one writer failed after writing: run the work again.
    Retry,
}

/// A posted outcome and how many writers have yet to read it.
struct Posted {
    batch: u64,
    outcome: Outcome,
    readers: usize,
}

enum Phase<T> {
    Idle,
    Open {
        batch: u64,
        /// `None` while a writer runs its work on it (or when it was lost to a panic).
        tx: Option<T>,
        /// Writers that ran their work in this batch, the leader excluded.
        followers: usize,
        /// Writers whose work succeeded.
        applied: usize,
    },
    Committing,
}

struct Group<T> {
    phase: Phase<T>,
    next_batch: u64,
    /// Writers waiting for a commit to finish before they can join the next batch.
    queued: usize,
    /// A writer running alone after it failed in a shared batch: nobody else starts.
    solo: bool,
    posted: Vec<Posted>,
}

impl<T> Group<T> {
    /// Posts a batch's outcome for its followers, or nothing when it has none.
    fn post(&mut self, batch: u64, outcome: Outcome, readers: usize) {
        if readers > 0 {
            self.posted.push(Posted {
                batch,
                outcome,
                readers,
            });
        }
    }

    /// Reads a batch's outcome once; `None` while it is not posted.
    fn read(&mut self, batch: u64) -> Option<Outcome> {
        let index = self.posted.iter().position(|p| p.batch == batch)?;
        let posted = &mut self.posted[index];
        posted.readers -= 1;
        let outcome = posted.outcome.clone();
        if posted.readers == 0 {
            self.posted.swap_remove(index);
        }
        Some(outcome)
    }

    fn is_open(&self, batch: u64) -> bool {
        matches!(self.phase, Phase::Open { batch: b, .. } if b == batch)
    }

    /// Whether the open batch takes no more writers.
    fn is_full(&self) -> bool {
        matches!(self.phase, Phase::Open { followers, .. } if followers + 1 >= MAX_BATCH)
    }
}

/// The shared-transaction writer of a store. See the module docs for the protocol.
pub struct GroupCommit<T> {
    group: Mutex<Group<T>>,
    /// Signalled when a batch ends (committed, failed or dropped) and when the group goes idle.
    ended: Condvar,
    /// Signalled when a queued writer joins, for the leader waiting to commit.
    joined: Condvar,
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        GroupCommit {
            group: Mutex::new(Group {
                phase: Phase::Idle,
                next_batch: 1,
                queued: 0,
                solo: false,
                posted: Vec::new(),
            }),
            ended: Condvar::new(),
            joined: Condvar::new(),
        }
    }
}

/// What one run of a work in a batch gave.
enum Ran {
    Applied(Committed),
    /// Refused or failed without writing: the batch goes on.
    Refused(WorkError),
    /// Failed after writing: the batch was dropped.
    Dirty(WorkError),
}

/// Which part a writer plays in the batch it ran in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Leader,
    Follower,
}

impl<T: BatchTx> GroupCommit<T> {
    /// Runs `work` in a shared transaction and returns once that transaction is durable (or
    /// the work refused or failed). `begin` starts a new transaction when none is open.
    pub fn write(
        &self,
        begin: &dyn Fn() -> Result<T, StoreError>,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        let mut group = self.lock();
        loop {
            // Wait until a batch can be joined or started: not while a commit is in flight
            // (the next transaction cannot begin before it ends), not into a full batch, and
            // not while a writer runs alone.
            while group.solo || matches!(group.phase, Phase::Committing) || group.is_full() {
                group.queued += 1;
                group = self.wait(&self.ended, group);
                group.queued -= 1;
            }
            let role = match group.phase {
                Phase::Idle => {
                    let tx = begin()?;
                    let batch = group.next_batch;
                    group.next_batch += 1;
                    group.phase = Phase::Open {
                        batch,
                        tx: Some(tx),
                        followers: 0,
                        applied: 0,
                    };
                    Role::Leader
                }
                _ => Role::Follower,
            };
            let Phase::Open { batch, .. } = group.phase else {
                continue;
            };
            let (next, ran) = self.run(group, work, role);
            group = next;
            let ran = match ran {
                Ran::Dirty(_) => {
                    // The batch is gone; decide this work again, alone, on committed state.
                    drop(group);
                    return self.write_alone(begin, work);
                }
                other => other,
            };
            let outcome = match role {
                Role::Leader => {
                    let (next, outcome) = self.lead(group, batch);
                    group = next;
                    outcome
                }
                Role::Follower => {
                    self.joined.notify_one();
                    loop {
                        if let Some(outcome) = group.read(batch) {
                            break outcome;
                        }
                        group = self.wait(&self.ended, group);
                    }
                }
            };
            match (outcome, ran) {
                (Outcome::Retry, _) => continue,
                (Outcome::Failed(e), _) => return Err(WorkError::Store(e)),
                (Outcome::Committed { revision }, Ran::Applied(mut changes)) => {
                    changes.revision = revision;
                    changes.keys.sort();
                    changes.keys.dedup();
                    return Ok(changes);
                }
                (Outcome::Committed { .. }, Ran::Refused(e) | Ran::Dirty(e)) => return Err(e),
            }
        }
    }

    /// Runs one work on the open batch while holding the mutex. A failure after writing, or a
    /// panic, drops the batch and posts `Retry` for its other writers.
    fn run<'g>(
        &'g self,
        mut group: MutexGuard<'g, Group<T>>,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
        role: Role,
    ) -> (MutexGuard<'g, Group<T>>, Ran) {
        let taken = match &mut group.phase {
            Phase::Open { tx, .. } => tx.take(),
            _ => None,
        };
        let Some(mut tx) = taken else {
            let lost = StoreError::Write("group commit: no open transaction".into());
            return (group, Ran::Refused(WorkError::Store(lost)));
        };
        let running = Running {
            group: Some(group),
            gc: self,
            role,
        };
        let open = &mut tx;
        let writes = open.writes();
        open.take_changes();
        let result = work(open);
        let clean = open.writes() == writes;
        let changes = open.take_changes();
        let mut group = running.disarm();
        let ran = match result {
            Ok(()) => Ran::Applied(changes),
            Err(e) if clean => Ran::Refused(e),
            Err(e) => Ran::Dirty(e),
        };
        let Phase::Open {
            batch,
            tx: slot,
            followers,
            applied,
        } = &mut group.phase
        else {
            return (group, ran);
        };
        let batch = *batch;
        if role == Role::Follower {
            *followers += 1;
        }
        match &ran {
            Ran::Dirty(_) => {
                // Half of this work is in the transaction: drop all of it (dropping a write
                // transaction aborts it) and let the others run again. Readers: every
                // follower but this writer, plus the leader if this writer is not it; both
                // come to `followers` (which counts this writer if it is a follower).
                let readers = *followers;
                drop(tx);
                group.phase = Phase::Idle;
                group.post(batch, Outcome::Retry, readers);
                self.ended.notify_all();
                self.joined.notify_all();
            }
            Ran::Applied(_) => {
                *applied += 1;
                *slot = Some(tx);
            }
            Ran::Refused(_) => *slot = Some(tx),
        }
        (group, ran)
    }

    /// The leader waits for the queued writers to join, then commits the batch outside the
    /// mutex and posts the outcome for its followers.
    fn lead<'g>(
        &'g self,
        mut group: MutexGuard<'g, Group<T>>,
        batch: u64,
    ) -> (MutexGuard<'g, Group<T>>, Outcome) {
        loop {
            if !group.is_open(batch) {
                // A follower failed after writing (or panicked) and dropped the batch; it
                // posted a `Retry` that the leader reads like everyone else.
                let outcome = group.read(batch).unwrap_or(Outcome::Retry);
                return (group, outcome);
            }
            // Writers queued behind the previous commit are about to join: wait for them,
            // unless the batch is full or someone must run alone.
            if group.queued == 0 || group.is_full() || group.solo {
                break;
            }
            group = self.wait(&self.joined, group);
        }
        let Phase::Open {
            tx,
            followers,
            applied,
            ..
        } = std::mem::replace(&mut group.phase, Phase::Committing)
        else {
            return (group, Outcome::Retry);
        };
        drop(group);
        let committing = Committing {
            gc: self,
            batch,
            followers,
            armed: true,
        };
        let outcome = match tx {
            Some(tx) if applied > 0 => match tx.commit() {
                Ok(revision) => Outcome::Committed { revision },
                Err(e) => Outcome::Failed(e),
            },
            // Nobody wrote anything: dropping the transaction aborts it, which leaves the
            // same durable state as committing it.
            Some(tx) => {
                drop(tx);
                Outcome::Committed { revision: 0 }
            }
            None => Outcome::Failed(StoreError::Write(
                "group commit: the transaction was lost".into(),
            )),
        };
        let group = committing.finish(outcome.clone());
        (group, outcome)
    }

    /// Runs a work in a transaction of its own while nobody else starts one: for a writer
    /// whose failure after writing dropped a shared batch.
    fn write_alone(
        &self,
        begin: &dyn Fn() -> Result<T, StoreError>,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), WorkError>,
    ) -> Result<Committed, WorkError> {
        let mut group = self.lock();
        while group.solo {
            group = self.wait(&self.ended, group);
        }
        group.solo = true;
        // A leader waiting for queued writers must commit now: they wait for us.
        self.joined.notify_all();
        while !matches!(group.phase, Phase::Idle) {
            group = self.wait(&self.ended, group);
        }
        // The mutex stays held until this write ends: a rare path, kept simple. The guard
        // clears `solo` even if the work panics.
        let alone = Alone { group, gc: self };
        let result = (|| {
            let mut tx = begin()?;
            tx.take_changes();
            work(&mut tx)?;
            let mut changes = tx.take_changes();
            changes.revision = tx.commit()?;
            changes.keys.sort();
            changes.keys.dedup();
            Ok(changes)
        })();
        drop(alone);
        result
    }

    /// Runs `f` while no transaction is open or committing, and none can begin until it
    /// returns: for work on the database itself (reopening its file, a probe write).
    pub fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut group = self.lock();
        while group.solo || !matches!(group.phase, Phase::Idle) {
            group = self.wait(&self.ended, group);
        }
        let result = f();
        drop(group);
        result
    }

    /// [`Self::exclusive`] without waiting: `None` when a transaction is under way.
    pub fn try_exclusive<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        let group = match self.group.try_lock() {
            Ok(group) => group,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        if group.solo || !matches!(group.phase, Phase::Idle) {
            return None;
        }
        let result = f();
        drop(group);
        Some(result)
    }

    fn lock(&self) -> MutexGuard<'_, Group<T>> {
        // A panicking work cannot leave the group inconsistent (the guards below close its
        // batch), so a poisoned mutex is safe to keep using.
        self.group.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'g>(
        &self,
        condvar: &Condvar,
        group: MutexGuard<'g, Group<T>>,
    ) -> MutexGuard<'g, Group<T>> {
        condvar.wait(group).unwrap_or_else(PoisonError::into_inner)
    }
}

/// Holds the mutex while a work runs on the batch's transaction (moved out of the phase). If
/// the work panics, the unwinding drops the transaction (aborting it) and this guard closes
/// the batch, so its other writers run again instead of waiting forever or committing half a
/// work.
struct Running<'g, T: BatchTx> {
    group: Option<MutexGuard<'g, Group<T>>>,
    gc: &'g GroupCommit<T>,
    role: Role,
}

impl<'g, T: BatchTx> Running<'g, T> {
    fn disarm(mut self) -> MutexGuard<'g, Group<T>> {
        match self.group.take() {
            Some(group) => group,
            // Never: the guard is only taken here.
            None => self.gc.lock(),
        }
    }
}

impl<T: BatchTx> Drop for Running<'_, T> {
    fn drop(&mut self) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        if let Phase::Open {
            batch, followers, ..
        } = group.phase
        {
            // The panicking writer is not counted in `followers` yet; the leader reads too
            // unless it is the one that panicked.
            let readers = followers + usize::from(self.role == Role::Follower);
            group.phase = Phase::Idle;
            group.post(batch, Outcome::Retry, readers);
        }
        self.gc.ended.notify_all();
        self.gc.joined.notify_all();
    }
}

/// The leader's commit in flight. If committing panics, the batch's writers are told it
/// failed instead of waiting forever.
struct Committing<'g, T: BatchTx> {
    gc: &'g GroupCommit<T>,
    batch: u64,
    followers: usize,
    armed: bool,
}

impl<'g, T: BatchTx> Committing<'g, T> {
    fn finish(mut self, outcome: Outcome) -> MutexGuard<'g, Group<T>> {
        self.armed = false;
        let mut group = self.gc.lock();
        group.phase = Phase::Idle;
        group.post(self.batch, outcome, self.followers);
        self.gc.ended.notify_all();
        group
    }
}

impl<T: BatchTx> Drop for Committing<'_, T> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut group = self.gc.lock();
        group.phase = Phase::Idle;
        let failed = StoreError::Write("the commit panicked".into());
        group.post(self.batch, Outcome::Failed(failed), self.followers);
        self.gc.ended.notify_all();
    }
}

/// A writer running alone; clears `solo` when it ends, however it ends.
struct Alone<'g, T: BatchTx> {
    group: MutexGuard<'g, Group<T>>,
    gc: &'g GroupCommit<T>,
}

impl<T: BatchTx> Drop for Alone<'_, T> {
    fn drop(&mut self) {
        self.group.solo = false;
        self.gc.ended.notify_all();
    }
}

#[cfg(test)]
mod tests;
