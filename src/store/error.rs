//! What can go wrong in the store: [`StoreError`], one type for both backends.
//!
//! It is `Clone` (a group commit hands one failure to every writer of a batch), so an error of
//! the storage engine or of the database is kept whole behind an `Arc` ([`Source`]) instead of
//! as its message: the cause stays a typed value that callers can reach through
//! [`std::error::Error::source`].

use std::path::PathBuf;
use std::sync::Arc;

/// The error of a storage engine, a database driver or an encoder, kept whole.
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

/// Whether a failed call read or wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
        })
    }
}

/// A file operation's error with the file it was about (`PATH: error`).
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub(super) struct AtPath {
    pub(super) path: PathBuf,
    pub(super) source: std::io::Error,
}

impl StoreError {
    /// A failed read, with its cause.
    pub(super) fn read(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend {
            access: Access::Read,
            source: Arc::new(source),
        }
    }

    /// A failed write, with its cause.
    pub(super) fn write(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend {
            access: Access::Write,
            source: Arc::new(source),
        }
    }

    /// The same failure, as a write: a statement that writes, whose cause was reported as a
    /// read by the layer below.
    pub(super) fn into_write(self) -> Self {
        match self {
            StoreError::Backend { source, .. } => StoreError::Backend {
                access: Access::Write,
                source,
            },
            StoreError::Read(message) => StoreError::Write(message),
            other => other,
        }
    }
}

/// What can go wrong in the store. Callers never turn any of these into an Allow.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory or file cannot be opened (missing permissions, corrupt file, held by
    /// another process).
    #[error("cannot open the store at `{path}`: {message}")]
    Open { path: PathBuf, message: String },
    /// A read failed, as a message (the store's own checks, or a caller's).
    #[error("store read failed: {0}")]
    Read(String),
    /// A write failed, as a message (the store's own checks, or a caller's).
    #[error("store write failed: {0}")]
    Write(String),
    /// The storage engine or the database failed a call, or a record did not encode. `source`
    /// is that error, kept whole (`redb::Error`, the PostgreSQL driver's error,
    /// `serde_json::Error`, ...): [`std::error::Error::source`] reaches it, and a caller can
    /// downcast it. Its message is the one [`StoreError::Read`] or [`StoreError::Write`] would
    /// give.
    #[error("store {access} failed: {source}")]
    Backend { access: Access, source: Source },
    /// A stored record does not decode: the file was written by something else, or damaged.
    #[error("stored record `{key}` is corrupt: {message}")]
    Corrupt { key: String, message: String },
    /// The change would break a rule: nothing was written.
    #[error("{0}")]
    Rejected(String),
    /// The storage engine found a damaged page (or tripped over one). The store stays damaged
    /// until the file is restored: readiness fails and writes are refused.
    #[error(
        "the store is damaged: {file} ({detail}); restore the backup or import the last export"
    )]
    Damaged { file: String, detail: String },
    /// A write to the disk failed (no space left, an I/O error). Nothing of the write is
    /// committed; the store reopens its file before the next write.
    #[error("the disk refused a write: {detail}; nothing was written")]
    Disk { detail: String },
    /// The store file was removed or replaced while the sidecar ran. Writes are refused, so
    /// that none is acknowledged into a file that a restart would not see.
    #[error(
        "the store file {path} was removed or replaced while the sidecar ran; writes are refused \
         ({rescue}); restore the file (or import the last export) and restart the sidecar"
    )]
    Replaced { path: PathBuf, rescue: String },
    /// The data directory held a store (its marker file says so), but the store file is gone:
    /// starting would create an empty authorization state.
    #[error(
        "the store file {path} is missing, but {marker} says this directory held a store; \
         restore the file from a backup (or import the last export into a new directory), or \
         delete {marker} to start with an empty store on purpose"
    )]
    Missing { path: PathBuf, marker: PathBuf },
    /// The database did not answer in time, before anything was committed: nothing was applied
    /// (the connection is dropped, and the server rolls its transaction back).
    #[error("the database did not answer within the request's time ({what}); nothing was applied")]
    Timeout { what: String },
    /// The database did not confirm a commit (no answer in time, or the connection broke while
    /// waiting): the write may or may not have been applied.
    #[error(
        "the database did not confirm the commit ({detail}): the command may or may not have \
         been applied; retry it with the same Idempotency-Key to learn its outcome"
    )]
    OutcomeUnknown { detail: String },
    /// The database gave the transaction up for a concurrent one (two commands' locks in a
    /// cycle, a serialization failure): nothing was applied. The store runs such a transaction
    /// again by itself; this reaches a caller only when that keeps happening.
    #[error(
        "the database gave the transaction up for a concurrent one ({detail}); nothing was applied"
    )]
    Contention { detail: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_error_keeps_its_source_and_reads_as_before() {
        let io = std::io::Error::other("the engine said no");
        let error = StoreError::read(io);
        assert_eq!(error.to_string(), "store read failed: the engine said no");
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("the engine said no"));
        let StoreError::Backend { source, .. } = error.clone() else {
            panic!("not a backend error: {error:?}");
        };
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        assert_eq!(
            error.into_write().to_string(),
            "store write failed: the engine said no"
        );
        assert_eq!(
            StoreError::Read("x".into()).into_write().to_string(),
            "store write failed: x"
        );
    }
}
