//! Reading the store's policy side tables: a stored version by its hash or a unique prefix, the
//! active pointer, the engine of the active version, and the history of versions and
//! activations; and the JSON encoding the side tables' values share with the writes.

use serde::Serialize;

use super::files::engine_of;
use super::{Activation, PolicyError, PolicyHistory, PolicyVersionSummary, StoredPolicySet};
use crate::policy::PolicyEngine;
use crate::store::{Aux, Snapshot, Store, StoreError};

/// The key of the active pointer in `Aux::PolicyActivations`.
pub(super) const ACTIVE: &str = "active";
/// The prefix of the activation history's keys in `Aux::PolicyActivations`.
pub(super) const HISTORY: &str = "history/";
/// The most versions `policies list` shows (the newest).
pub const MAX_VERSIONS_LISTED: usize = 1000;
/// The shortest prefix of a version's hash that names it.
pub const MIN_VERSION_PREFIX: usize = 8;

pub(super) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Write(e.to_string()))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    key: &str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: key.to_owned(),
        message: e.to_string(),
    })
}

/// A version as a caller names it: the hash or a prefix of it of at least
/// [`MIN_VERSION_PREFIX`] hex digits (any case).
fn version_prefix(given: &str) -> Result<String, PolicyError> {
    let prefix = given.trim().to_ascii_lowercase();
    if prefix.len() < MIN_VERSION_PREFIX
        || prefix.len() > 64
        || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(PolicyError::BadInput(format!(
            "version: `{}` is not a policy version: give its hash, or at least \
             {MIN_VERSION_PREFIX} hex digits of it",
            given.escape_debug()
        )));
    }
    Ok(prefix)
}

/// The stored set a version (or a unique prefix of it) names.
pub(in crate::app) fn resolve(
    snapshot: &dyn Snapshot,
    given: &str,
) -> Result<StoredPolicySet, PolicyError> {
    let prefix = version_prefix(given)?;
    if prefix.len() == 64 {
        return match snapshot.aux(Aux::PolicySets, &prefix)? {
            Some(bytes) => Ok(decode(&prefix, &bytes)?),
            None => Err(PolicyError::UnknownVersion(prefix)),
        };
    }
    // Keys sort by bytes: the versions that start with the prefix come first after it.
    let found: Vec<(String, Vec<u8>)> = snapshot
        .aux_after(Aux::PolicySets, &prefix, 2)?
        .into_iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .collect();
    match found.as_slice() {
        [] => Err(PolicyError::UnknownVersion(prefix)),
        [(key, bytes)] => Ok(decode(key, bytes)?),
        many => Err(PolicyError::AmbiguousVersion {
            prefix,
            versions: many.iter().map(|(key, _)| key.clone()).collect(),
        }),
    }
}

/// The active pointer, if any.
pub(super) fn active_of(snapshot: &dyn Snapshot) -> Result<Option<Activation>, StoreError> {
    snapshot
        .aux(Aux::PolicyActivations, ACTIVE)?
        .map(|bytes| decode(ACTIVE, &bytes))
        .transpose()
}

/// The store's versions (the [`MAX_VERSIONS_LISTED`] first pushed... in push order), the
/// active one and every activation.
pub fn history(store: &dyn Store) -> Result<PolicyHistory, PolicyError> {
    let snapshot = store.snapshot()?;
    let active = active_of(snapshot.as_ref())?;
    let mut versions = Vec::new();
    let mut after = String::new();
    loop {
        let page = snapshot.aux_after(Aux::PolicySets, &after, 100)?;
        let Some((last, _)) = page.last() else { break };
        after = last.clone();
        for (key, bytes) in &page {
            let set: StoredPolicySet = decode(key, bytes)?;
            versions.push(PolicyVersionSummary {
                active: active.as_ref().is_some_and(|a| a.version == set.version),
                version: set.version,
                pushed_by: set.pushed_by,
                pushed_at: set.pushed_at,
                policies: set.policies,
                tests: set.tests,
            });
        }
    }
    versions.sort_by(|a, b| (a.pushed_at, &a.version).cmp(&(b.pushed_at, &b.version)));
    if versions.len() > MAX_VERSIONS_LISTED {
        versions.drain(..versions.len() - MAX_VERSIONS_LISTED);
    }
    // The newest activations: the history's keys sort by revision, so the whole history is
    // paged through and its tail kept.
    let mut activations = std::collections::VecDeque::new();
    let mut after = HISTORY.to_owned();
    loop {
        let page = snapshot.aux_after(Aux::PolicyActivations, &after, MAX_VERSIONS_LISTED)?;
        let full = page.len() == MAX_VERSIONS_LISTED;
        for (key, bytes) in page {
            if key.starts_with(HISTORY) {
                activations.push_back(decode::<Activation>(&key, &bytes)?);
                if activations.len() > MAX_VERSIONS_LISTED {
                    activations.pop_front();
                }
            }
            after = key;
        }
        if !full {
            break;
        }
    }
    let activations: Vec<Activation> = activations.into();
    Ok(PolicyHistory {
        active,
        versions,
        activations,
    })
}

/// One stored version, with its files.
pub fn get(store: &dyn Store, version: &str) -> Result<StoredPolicySet, PolicyError> {
    resolve(store.snapshot()?.as_ref(), version)
}

/// The engine of the store's active version, or [`PolicyError::NoActiveVersion`].
pub(in crate::app) fn load_active(snapshot: &dyn Snapshot) -> Result<PolicyEngine, PolicyError> {
    let active = active_of(snapshot)?.ok_or(PolicyError::NoActiveVersion)?;
    let bytes = snapshot
        .aux(Aux::PolicySets, active.version.as_str())?
        .ok_or_else(|| {
            PolicyError::Store(StoreError::Corrupt {
                key: active.version.to_string(),
                message: "the active policy version is not stored".into(),
            })
        })?;
    let record: StoredPolicySet = decode(active.version.as_str(), &bytes)?;
    engine_of(&record.files)
}
