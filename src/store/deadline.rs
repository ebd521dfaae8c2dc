//! The time the caller has left, as every database round trip sees it.
//!
//! A request has a time limit (`--request-timeout-ms`). A store that waits on a network (the
//! PostgreSQL store) must give up before it, and must know *where* it gave up: before the
//! commit nothing was applied, while waiting for the commit's answer the outcome is unknown.
//! Waiting past the limit would let the HTTP layer answer "timed out" while the command goes on
//! and commits later, which is what a retry without an `Idempotency-Key` turns into a double
//! write.
//!
//! The HTTP layer sets the deadline for the request's task ([`scope`]); work moved to a
//! blocking thread takes it along ([`carry`]); the store reads it with [`current`]. Work with no
//! request behind it (the change feed, the activity flush) has no deadline here, and the store
//! bounds each of its round trips on its own.

use std::cell::Cell;
use std::time::Instant;

tokio::task_local! {
    static REQUEST: Instant;
}

thread_local! {
    static CARRIED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `work` (a request's handling) with `deadline` as its store deadline.
pub async fn scope<F: std::future::Future>(deadline: Instant, work: F) -> F::Output {
    REQUEST.scope(deadline, work).await
}

/// The deadline of the work running here: the request's, on its task, or the one carried to
/// this blocking thread.
pub fn current() -> Option<Instant> {
    REQUEST
        .try_with(|deadline| *deadline)
        .ok()
        .or_else(|| CARRIED.with(Cell::get))
}

/// Runs `work` on this (blocking) thread under `deadline`, restoring the thread's previous
/// deadline afterwards, a panic included.
pub fn carry<R>(deadline: Option<Instant>, work: impl FnOnce() -> R) -> R {
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CARRIED.with(|carried| carried.set(self.0));
        }
    }
    let _restore = Restore(CARRIED.with(|carried| carried.replace(deadline)));
    work()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn the_request_deadline_reaches_its_task_and_is_carried_to_a_blocking_thread() {
        assert_eq!(current(), None);
        let deadline = Instant::now() + Duration::from_secs(3);
        let seen = scope(deadline, async {
            let here = current();
            let carried = current();
            let there = tokio::task::spawn_blocking(move || carry(carried, current))
                .await
                .ok()
                .flatten();
            (here, there)
        })
        .await;
        assert_eq!(seen, (Some(deadline), Some(deadline)));
        assert_eq!(current(), None, "nothing left behind");
        assert_eq!(carry(None, current), None);
    }
}
