//! Admission of a checked request: the replay record and the per-key counter, written for many
//! requests in one transaction ([`batch`]; on an SQLite file by [`sqlite_writer`] on a thread of
//! its own), and the per-key limit they feed ([`key_limit`]). Each request waits for the commit
//! that holds its own record, so nothing is acknowledged before it is durable, but concurrent
//! requests share one disk sync instead of paying two each (group commit).

mod batch;
pub mod key_limit;
mod sqlite_writer;

use std::path::Path;

use tokio::sync::{mpsc, oneshot};

use crate::store::{Store, retry_on_conflict};
pub use key_limit::KeyLimit;

/// Requests written per transaction at most; more wait for the next one.
const MAX_BATCH: usize = 256;

/// A checked request to record: its id against replays, its signer against the per-key limit.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    pub event_id: [u8; 32],
    /// When the replay record may be pruned: the end of the event's `created_at` window.
    pub forget_after: i64,
    pub signer: [u8; 32],
    pub now: i64,
}

/// What recording a request found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admitted {
    /// False for a replay (nothing else is then recorded).
    pub fresh: bool,
    /// Requests by the signer in the current window, this one included.
    pub key_requests: i64,
    pub key_window_start: i64,
}

#[derive(Debug)]
struct Pending {
    ticket: Ticket,
    reply: oneshot::Sender<Result<Admitted, String>>,
}

/// The sending side; clone it freely. The writer stops when every sender is gone.
#[derive(Debug, Clone)]
pub struct Admission {
    queue: mpsc::Sender<Pending>,
    key_limit: KeyLimit,
}

/// Why a request could not be admitted.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    #[error("the admission writer has stopped")]
    Stopped,
    #[error("recording the request failed: {0}")]
    Store(String),
}

impl Admission {
    /// Starts the writer over `store`, counting keys in the windows of `key_limit`: on a thread
    /// of its own for an SQLite file, as a task through the pool otherwise. It ends by itself
    /// once every `Admission` is dropped.
    pub fn start(store: Store, key_limit: KeyLimit) -> std::io::Result<Self> {
        let key_window = key_limit::WINDOW_SECS;
        let (queue, incoming) = mpsc::channel(MAX_BATCH * 4);
        match store.sqlite_file() {
            Some(file) => {
                let file = file.to_owned();
                std::thread::Builder::new()
                    .name("sigil-admission".into())
                    .spawn(move || write_batches_here(&file, incoming, key_window))?;
            }
            None => {
                tokio::spawn(write_batches(store, incoming, key_window));
            }
        }
        Ok(Self { queue, key_limit })
    }

    /// The limit that the counts of [`Admission::admit`] are checked against.
    pub fn key_limit(&self) -> &KeyLimit {
        &self.key_limit
    }

    /// Records `ticket` and says whether the event is new and how busy its key is.
    pub async fn admit(&self, ticket: Ticket) -> Result<Admitted, AdmissionError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Pending { ticket, reply })
            .await
            .map_err(|_| AdmissionError::Stopped)?;
        answer
            .await
            .map_err(|_| AdmissionError::Stopped)?
            .map_err(AdmissionError::Store)
    }
}

async fn write_batches(store: Store, mut incoming: mpsc::Receiver<Pending>, key_window: i64) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let tickets: Vec<Ticket> = batch.iter().map(|p| p.ticket).collect();
        // PostgreSQL may abort a batch when another process's batch touched the same rows.
        let outcome =
            retry_on_conflict(|| batch::admit_in_pool(&store, &tickets, key_window)).await;
        answer(&mut batch, outcome);
    }
}

/// The writer for an SQLite file, on its own thread: it blocks on the queue, takes whatever
/// else has arrived meanwhile, and writes it all in one transaction. A batch that fails (the
/// connection would not open, or the write failed) fails its requests, and the next batch starts
/// on a fresh connection.
fn write_batches_here(file: &Path, mut incoming: mpsc::Receiver<Pending>, key_window: i64) {
    let mut connection = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = incoming.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match incoming.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let tickets: Vec<Ticket> = batch.iter().map(|p| p.ticket).collect();
        let outcome = match &mut connection {
            Some(connection) => sqlite_writer::admit(connection, &tickets, key_window),
            None => sqlite_writer::open(file).and_then(|opened| {
                sqlite_writer::admit(connection.insert(opened), &tickets, key_window)
            }),
        };
        if outcome.is_err() {
            connection = None;
        }
        answer(&mut batch, outcome);
    }
}

/// Sends each request of `batch` its answer, emptying it.
fn answer<E: std::fmt::Display>(batch: &mut Vec<Pending>, outcome: Result<Vec<Admitted>, E>) {
    match outcome {
        Ok(admitted) => {
            for (pending, admitted) in batch.drain(..).zip(admitted) {
                let _ = pending.reply.send(Ok(admitted));
            }
        }
        Err(error) => {
            let message = error.to_string();
            for pending in batch.drain(..) {
                let _ = pending.reply.send(Err(message.clone()));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::store::tests::file_store;

    /// A request by `signer` of event `id` at `now`.
    pub(crate) fn ticket(id: u8, signer: u8, now: i64) -> Ticket {
        Ticket {
            event_id: [id; 32],
            forget_after: now + 60,
            signer: [signer; 32],
            now,
        }
    }

    #[tokio::test]
    async fn a_failed_batch_fails_its_requests_and_the_next_one_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (store, file) = file_store(dir.path()).await;
        let admission = Admission::start(store.clone(), KeyLimit { per_window: 30 }).unwrap();
        assert!(admission.admit(ticket(1, 7, 100)).await.unwrap().fresh);

        // With the replay table out of the way no batch can be written.
        let other = rusqlite::Connection::open(&file).unwrap();
        other
            .execute_batch("ALTER TABLE seen_events RENAME TO set_aside")
            .unwrap();
        let failed = admission.admit(ticket(2, 7, 101)).await;
        assert!(
            matches!(&failed, Err(AdmissionError::Store(message)) if message.contains("seen_events")),
            "{failed:?}"
        );

        other
            .execute_batch("ALTER TABLE set_aside RENAME TO seen_events")
            .unwrap();
        let admitted = admission.admit(ticket(2, 7, 101)).await.unwrap();
        assert!(admitted.fresh);
        assert_eq!(admitted.key_requests, 2, "the failed batch counted nothing");
        assert!(!admission.admit(ticket(1, 7, 102)).await.unwrap().fresh);
        store.close().await;
    }
}
