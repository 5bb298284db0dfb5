//! SQLite lookups on the calling thread. sqlx runs each SQLite connection on a thread of its
//! own, so every statement costs two thread switches; a lookup by key in WAL mode takes a few
//! microseconds and never waits for the writer, so the switches cost more than the read. Each
//! runtime thread keeps its own read-only connection per database file.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::accounts::{USER_BY_PUBKEY, UserRow};
use super::sessions::{SESSION_ACCOUNT, SessionAccount};

/// How long a lookup may wait on a lock (only a checkpoint's brief one, in WAL mode) before the
/// caller reads another way instead of holding up its thread.
const BUSY_TIMEOUT: Duration = Duration::from_millis(20);

thread_local! {
    static CONNECTIONS: RefCell<HashMap<PathBuf, Connection>> = RefCell::new(HashMap::new());
}

/// Read-only lookups in the SQLite database at `path`.
#[derive(Debug, Clone)]
pub struct LocalReads {
    path: PathBuf,
}

impl LocalReads {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn user_by_pubkey(&self, pubkey: &[u8]) -> rusqlite::Result<Option<UserRow>> {
        self.with_connection(|connection| {
            connection
                .prepare_cached(USER_BY_PUBKEY)?
                .query_row([pubkey], |row| {
                    Ok(UserRow {
                        email_hash: row.get(0)?,
                        pubkey: row.get(1)?,
                        entropy: row.get(2)?,
                        backup: row.get(3)?,
                        backup_version: row.get(4)?,
                        updated_at: row.get(5)?,
                    })
                })
                .optional()
        })
    }

    pub fn session_account(&self, ephemeral: &[u8]) -> rusqlite::Result<Option<SessionAccount>> {
        self.with_connection(|connection| {
            connection
                .prepare_cached(SESSION_ACCOUNT)?
                .query_row([ephemeral], |row| {
                    Ok(SessionAccount {
                        verified: row.get(0)?,
                        expires_at: row.get(1)?,
                        email_hash: row.get(2)?,
                        pubkey: row.get(3)?,
                        entropy: row.get(4)?,
                        backup: row.get(5)?,
                        backup_version: row.get(6)?,
                        updated_at: row.get(7)?,
                    })
                })
                .optional()
        })
    }

    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        CONNECTIONS.with(|connections| {
            let mut connections = connections.borrow_mut();
            if !connections.contains_key(&self.path) {
                connections.insert(self.path.clone(), open(&self.path)?);
            }
            match connections.get(&self.path) {
                Some(connection) => read(connection),
                None => Err(rusqlite::Error::InvalidQuery),
            }
        })
    }
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::tests::file_store;

    #[tokio::test]
    async fn lookups_see_the_last_commit_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let (store, file) = file_store(dir.path()).await;
        let reads = LocalReads::new(&file);
        assert!(reads.user_by_pubkey(&[7; 32]).unwrap().is_none());

        let mut tx = store.begin().await.unwrap();
        tx.create_pending_user(b"hash", &[1; 32], 10).await.unwrap();
        assert!(tx.activate(b"hash", &[7; 32], "{}", 11).await.unwrap());
        tx.commit().await.unwrap();

        let user = reads.user_by_pubkey(&[7; 32]).unwrap().unwrap();
        assert_eq!(user.email_hash, b"hash");
        assert_eq!(user.entropy, [1; 32]);
        assert_eq!(user.backup.as_deref(), Some("{}"));
        assert_eq!(user.backup_version, 1);
        // The same answer through the store, whichever way it reads.
        let through_store = store.user_by_pubkey(&[7; 32]).await.unwrap().unwrap();
        assert_eq!(through_store.backup_version, 1);

        let refused = reads.with_connection(|c| c.execute("DELETE FROM users", []));
        assert!(refused.is_err(), "a lookup connection must not write");
        store.close().await;
    }
}
