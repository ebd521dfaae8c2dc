//! Fleets of sidecars over one shared store: following what the others commit, bounding how
//! stale a cached answer may be, and consistency tokens.
//!
//! Each sidecar's cache learns of its own commits directly (before the write answers, see
//! [`crate::cache`]). Commits made through *other* sidecars arrive through the store's change
//! feed ([`crate::store::Store::changes_since`]), which a task of the server reads whenever the
//! store signals a commit (PostgreSQL's `NOTIFY`) and every `follow_interval` besides: each
//! change is applied exactly as a local commit is (publish the revision, then evict the records
//! it touched), so the cache's ordering argument holds for them too. A store only this process writes (redb) has no feed, and nothing here applies.
//!
//! **Bounded staleness.** A sidecar trusts its cache only while it has caught up with the feed
//! within `max_staleness`. One that cannot read the feed (lost connection, database down)
//! stops answering from the cache once the bound has passed: every lookup goes to the store,
//! which answers fresh or fails (and a failed read is a Deny). Failing closed, never stale.
//!
//! **Consistency tokens.** Every command answers its `revision`. A check may ask to be
//! evaluated `at_least_as_fresh` as a revision: a sidecar that has not applied that revision
//! catches up first (reads the feed now), and if it still has not, decides on a fresh snapshot
//! of the store, waiting up to `consistency_wait` for the store to reach the revision and
//! answering 503 after that; never from an older state. `fully_consistent` always decides on a
//! fresh snapshot. Either, deciding on a snapshot, first reads the feed, so that it decides under
//! the policy version the store has active (see [`App::checker_with`]). The wait is async ([`App::reach_revision`]): a waiting check holds no
//! thread, only a subscription to the revisions this sidecar publishes (its own commits and
//! the feed's changes) and a timer that re-reads the store's revision every
//! [`REVISION_POLL`]; the blocking pool stays free for commands.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{App, AppError};
use crate::store::StoreError;

/// How fresh the state behind a check must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consistency {
    /// Whatever this sidecar has (within the staleness bound): the fast path.
    #[default]
    MinimizeLatency,
    /// At least this revision (a command's answer): no "new enemy" after a revoke.
    AtLeastAsFresh(u64),
    /// The latest committed state, read from the store.
    FullyConsistent,
}

/// How a sidecar follows a shared store.
#[derive(Debug, Clone, Copy)]
pub struct FollowSettings {
    /// How long the cache may go without catching up with the feed before it is bypassed.
    pub max_staleness: Duration,
    /// How long an `at_least_as_fresh` check waits for the store to reach its revision.
    pub consistency_wait: Duration,
    /// How often the maintenance task reads the change feed.
    pub interval: Duration,
}

impl Default for FollowSettings {
    fn default() -> Self {
        FollowSettings {
            max_staleness: Duration::from_secs(1),
            consistency_wait: Duration::from_secs(2),
            interval: Duration::from_millis(100),
        }
    }
}

/// Where this sidecar is in the store's change feed.
#[derive(Debug)]
pub(super) struct Feed {
    /// The last revision of the feed applied to the cache.
    applied: AtomicU64,
    /// When the feed was last read to its end, in milliseconds since `origin`.
    caught_up_ms: AtomicU64,
    origin: Instant,
    /// Whether other sidecars write the store (it has a feed to follow).
    shared: AtomicBool,
    /// Checks waiting for a revision right now (see [`MAX_WAITING_CHECKS`]).
    waiting: AtomicUsize,
    /// The highest revision this sidecar has made visible (its own commits, the feed's
    /// changes): what waiting checks watch.
    published: tokio::sync::watch::Sender<u64>,
    settings: FollowSettings,
}

/// How far ahead of the store's latest revision a check may ask to wait for: a revision this
/// far beyond cannot come from commits in flight (or other sidecars' lag), so it is refused at
/// once rather than waited for.
pub const MAX_REVISION_AHEAD: u64 = 10_000;

/// How many checks may wait for a revision at once, each for up to `consistency_wait`: more are
/// refused at once. A waiting check holds no thread (see [`App::reach_revision`]); the bound
/// keeps the store reads of their polls bounded.
pub const MAX_WAITING_CHECKS: usize = 32;

/// How often a waiting check re-reads the store's revision besides being woken by a
/// published one (a commit of another sidecar the feed has not brought yet).
pub const REVISION_POLL: Duration = Duration::from_millis(25);

impl Feed {
    /// At `revision` (the store's at startup, with an empty cache: caught up now).
    pub(super) fn new(revision: u64, shared: bool, settings: FollowSettings) -> Self {
        Feed {
            applied: AtomicU64::new(revision),
            caught_up_ms: AtomicU64::new(0),
            origin: Instant::now(),
            shared: AtomicBool::new(shared),
            waiting: AtomicUsize::new(0),
            published: tokio::sync::watch::Sender::new(revision),
            settings,
        }
    }

    /// Tells waiting checks that `revision` is visible here.
    pub(super) fn publish(&self, revision: u64) {
        self.published.send_if_modified(|seen| {
            let newer = revision > *seen;
            if newer {
                *seen = revision;
            }
            newer
        });
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether cached lookups may answer: always for a private store; for a shared one only
    /// while the feed was read to its end within the staleness bound.
    pub(super) fn cache_trusted(&self) -> bool {
        if !self.shared.load(Ordering::Acquire) {
            return true;
        }
        let bound = u64::try_from(self.settings.max_staleness.as_millis()).unwrap_or(u64::MAX);
        self.now_ms()
            .saturating_sub(self.caught_up_ms.load(Ordering::Acquire))
            <= bound
    }
}

/// Counts a waiting check out when dropped.
pub(super) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Feed {
    /// Admits one more check waiting for `revision` (the store being at `latest`), unless the
    /// revision is too far ahead or as many checks as may wait already do.
    fn admit_waiter(&self, revision: u64, latest: u64) -> Result<Waiting<'_>, AppError> {
        if revision.saturating_sub(latest) > MAX_REVISION_AHEAD {
            return Err(AppError::Unavailable(StoreError::Read(format!(
                "the requested revision {revision} is more than {MAX_REVISION_AHEAD} beyond the \
                 store's latest ({latest}); it is not one this store produced"
            ))));
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING_CHECKS {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::Unavailable(StoreError::Read(format!(
                "{MAX_WAITING_CHECKS} checks are already waiting for a newer revision; retry \
                 shortly"
            ))));
        }
        Ok(Waiting(&self.waiting))
    }
}

/// Changes read from the feed per round trip.
const FEED_PAGE: usize = 1_000;

impl App {
    /// Reads the store's change feed to its end and applies every change to the cache.
    /// Returns whether this sidecar is now caught up (always, for a private store).
    pub fn follow_changes(&self) -> bool {
        loop {
            let after = self.feed.applied.load(Ordering::Acquire);
            match self.store.changes_since(after, FEED_PAGE) {
                Ok(None) => return true,
                Ok(Some(changes)) => {
                    let full_page = changes.len() == FEED_PAGE;
                    for change in &changes {
                        self.cache.committed(change);
                        // An activation elsewhere (or a gap in the feed, which may hide one):
                        // the store's active version is loaded before the revision is
                        // published, so a check waiting for it decides under the new set.
                        // One that cannot be loaded now (a store error) is not passed over: the
                        // feed stops before it and the next round tries again, so the sidecar
                        // falls behind (and past the staleness bound answers nothing from its
                        // cache) rather than serve the old set as if it were current.
                        if (change.everything
                            || change.keys.contains(&crate::store::StateKey::ActivePolicy))
                            && !self.follow_active_policy()
                        {
                            return false;
                        }
                        self.feed
                            .applied
                            .fetch_max(change.revision, Ordering::AcqRel);
                        self.feed.publish(change.revision);
                    }
                    if !changes.is_empty() {
                        metrics::counter!("partner_access_feed_changes_total")
                            .increment(changes.len() as u64);
                    }
                    if !full_page {
                        self.feed
                            .caught_up_ms
                            .fetch_max(self.feed.now_ms(), Ordering::AcqRel);
                        return true;
                    }
                }
                Err(e) => {
                    metrics::counter!("partner_access_feed_errors_total").increment(1);
                    tracing::warn!(error = %e, "cannot read the change feed; the cache is bypassed once it is older than the staleness bound");
                    return false;
                }
            }
        }
    }

    /// Whether the store is shared with other sidecars (it has a change feed to follow).
    pub fn follows_a_shared_store(&self) -> bool {
        self.feed.shared.load(Ordering::Acquire)
    }

    /// How often the change feed is read at least.
    pub fn follow_interval(&self) -> Duration {
        self.feed.settings.interval
    }

    /// Woken when the shared store notifies a commit (see [`crate::store::Store::change_signal`]).
    pub fn change_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.store.change_signal()
    }

    /// The last revision of the shared store this sidecar has applied (its own commits
    /// included), or the latest local revision for a private store.
    pub fn applied_revision(&self) -> u64 {
        self.cache
            .published()
            .max(self.feed.applied.load(Ordering::Acquire))
    }

    /// Whether a check with `consistency` may read this sidecar's cache. May read the feed
    /// (`at_least_as_fresh` a revision not applied yet).
    pub(super) fn may_use_cache(&self, consistency: Consistency) -> bool {
        match consistency {
            Consistency::MinimizeLatency => self.feed.cache_trusted(),
            Consistency::FullyConsistent => false,
            Consistency::AtLeastAsFresh(revision) => {
                if self.feed.applied.load(Ordering::Acquire) < revision
                    && self.cache.published() < revision
                {
                    self.follow_changes();
                }
                self.feed.cache_trusted()
                    && (self.feed.applied.load(Ordering::Acquire) >= revision
                        || (!self.feed.shared.load(Ordering::Acquire)
                            && self.cache.published() >= revision))
            }
        }
    }

    /// The revisions this sidecar applies, as they are applied (its own commits, and those
    /// of other sidecars the feed brings): for waiting on the next change without polling.
    pub fn revision_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.feed.published.subscribe()
    }

    /// Waits, without holding a thread, until the store has reached `revision` (a fresh
    /// snapshot sees it), up to `consistency_wait`; 503 after that, and at once for a revision
    /// more than [`MAX_REVISION_AHEAD`] beyond the store's latest or when
    /// [`MAX_WAITING_CHECKS`] checks already wait. Wakes on every revision this sidecar
    /// publishes and every [`REVISION_POLL`]; each look at the store is a short read on the
    /// blocking pool. After it, [`App::checker_with`] finds the revision reached at once.
    pub async fn reach_revision(self: Arc<Self>, revision: u64) -> Result<(), AppError> {
        if self.applied_revision() >= revision {
            return Ok(());
        }
        let latest = self.clone().store_revision().await?;
        if latest >= revision {
            return Ok(());
        }
        let _waiting = self.feed.admit_waiter(revision, latest)?;
        let mut published = self.feed.published.subscribe();
        let deadline = tokio::time::Instant::now() + self.feed.settings.consistency_wait;
        let mut seen = latest;
        loop {
            tokio::select! {
                _ = published.changed() => {}
                () = tokio::time::sleep(REVISION_POLL) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(AppError::Unavailable(StoreError::Read(format!(
                        "the store is at revision {seen}, behind the requested {revision}, \
                         after waiting {:?}",
                        self.feed.settings.consistency_wait
                    ))));
                }
            }
            if self.applied_revision() >= revision {
                return Ok(());
            }
            seen = self.clone().store_revision().await?;
            if seen >= revision {
                return Ok(());
            }
        }
    }

    /// The store's latest revision, read on the blocking pool.
    async fn store_revision(self: Arc<Self>) -> Result<u64, AppError> {
        let app = self.clone();
        match tokio::task::spawn_blocking(move || {
            app.store
                .snapshot()
                .map(|s| s.revision())
                .map_err(|e| app.unavailable(e))
        })
        .await
        {
            Ok(result) => result,
            Err(e) => Err(AppError::Unavailable(StoreError::Read(format!(
                "reading the store's revision failed: {e}"
            )))),
        }
    }

    /// Waits until the store has reached `revision` (a fresh snapshot sees it), up to
    /// `consistency_wait`; 503 after that. Blocks its thread: the HTTP layer waits with
    /// [`App::reach_revision`] first, so that here the revision is reached at once.
    pub(super) fn wait_for_revision(&self, revision: u64) -> Result<(), AppError> {
        let latest = self
            .store
            .snapshot()
            .map_err(|e| self.unavailable(e))?
            .revision();
        if latest >= revision {
            return Ok(());
        }
        let _waiting = self.feed.admit_waiter(revision, latest)?;
        let deadline = Instant::now() + self.feed.settings.consistency_wait;
        loop {
            let seen = self
                .store
                .snapshot()
                .map_err(|e| self.unavailable(e))?
                .revision();
            if seen >= revision {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(AppError::Unavailable(StoreError::Read(format!(
                    "the store is at revision {seen}, behind the requested {revision}, after \
                     waiting {:?}",
                    self.feed.settings.consistency_wait
                ))));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
