//! Partner activity from Allow decisions (REL-3), recorded without a disk write on the check
//! path: the check notes `(client, partner, now)` in memory, and a background task flushes the
//! notes in one write every few seconds and at shutdown. A crash loses at most the activity
//! times noted since the last flush, never a command.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{App, AppError};
use crate::domain::{ClientId, PartnerId, RelationshipHistory, Timestamp};
use crate::store::{Aux, StoreError, WriteError, write};

/// The latest activity noted per client since the last flush.
#[derive(Debug, Default)]
pub struct Activity {
    pending: Mutex<HashMap<ClientId, (PartnerId, Timestamp)>>,
}

impl Activity {
    /// Notes an Allow for a partner user of `partner` in `client`.
    pub fn note(&self, client: ClientId, partner: PartnerId) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(client, (partner, Timestamp::now()));
        }
    }

    fn take(&self) -> HashMap<ClientId, (PartnerId, Timestamp)> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    fn restore(&self, notes: HashMap<ClientId, (PartnerId, Timestamp)>) {
        if let Ok(mut pending) = self.pending.lock() {
            for (client, note) in notes {
                pending.entry(client).or_insert(note);
            }
        }
    }
}

impl App {
    /// Writes the noted activity into the relationships' histories, in one transaction
    /// ([`RelationshipHistory::activity`]: the latest relationship, when it is the partner's and
    /// has not ended). Returns how many relationships moved forward. On a store failure the notes are kept for the next flush.
    pub fn flush_activity(&self) -> Result<usize, AppError> {
        let notes = self.activity.take();
        if notes.is_empty() {
            return Ok(0);
        }
        let result = write::<_, usize, ()>(self.store.as_ref(), |tx| {
            let mut moved = 0;
            // In account order, as every command that touches several accounts: two writers
            // that lock accounts in one order never wait for each other in a cycle.
            let mut sorted: Vec<_> = notes.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            for (client, (partner, at)) in sorted {
                let Some(bytes) = tx.aux(Aux::Relationships, client.as_str())? else {
                    continue;
                };
                let Ok(mut history) = serde_json::from_slice::<RelationshipHistory>(&bytes) else {
                    continue;
                };
                if history.activity(partner, *at) {
                    let bytes = serde_json::to_vec(&history)
                        .map_err(|e| WriteError::Store(StoreError::Write(e.to_string())))?;
                    tx.put_aux(Aux::Relationships, client.as_str(), &bytes)?;
                    moved += 1;
                }
            }
            Ok(moved)
        });
        match result {
            Ok((moved, committed)) => {
                self.committed(&committed);
                Ok(moved)
            }
            Err(WriteError::Store(e)) => {
                self.activity.restore(notes);
                Err(self.unavailable(e))
            }
            Err(WriteError::Aborted(())) => Ok(0),
        }
    }
}
