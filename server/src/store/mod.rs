//! Persistence: the database, its transactions and the queries, by what they are about
//! ([`accounts`], [`sessions`], [`throttles`]). The rules that decide what to write live in
//! `methods`; the batched writes of admission live in `admission`.
//!
//! One set of queries runs on SQLite (the embedded default) and on PostgreSQL (several server
//! processes sharing one database) through sqlx's `Any` driver. Where the two dialects differ,
//! the SQL is written in their common subset: `$n` parameters, `ON CONFLICT`, `RETURNING`, and
//! flags as 0/1 integers. Only the schema differs, in `migrations/sqlite` and
//! `migrations/postgres`, which keep the same numbering.

pub mod accounts;
mod local_reads;
pub mod sessions;
pub(crate) mod sqlite;
pub mod throttles;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use accounts::UserRow;
use accounts::{BACKUP_HISTORY, HistoryRow, USER_BY_PUBKEY};
use local_reads::LocalReads;
use sessions::{SESSION_ACCOUNT, SessionAccount};
use sqlite::{sqlite_pool, sqlite_readers, with_query};

pub type StoreError = sqlx::Error;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend of `url`, or None for a scheme Sigil does not support.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// PostgreSQL connections per server process; SQLite always has one writer.
const POSTGRES_CONNECTIONS: u32 = 16;

#[derive(Debug, Clone)]
pub struct Store {
    /// SQLite: one connection, for the methods' transactions (IMMEDIATE, see [`Store::begin`]);
    /// admission batches on a file have a connection of their own on the writer's thread.
    /// PostgreSQL: a pool, with every transaction SERIALIZABLE (see [`Store::begin`]).
    pool: AnyPool,
    /// Single-statement reads that need no transaction. SQLite: read-only connections to the
    /// same file (the writer itself for an in-memory database). PostgreSQL: the same pool.
    reads: AnyPool,
    /// SQLite files: the same lookups on the calling thread, with `reads` as the fallback.
    local_reads: Option<LocalReads>,
    backend: Backend,
}

/// Runs of one transaction before a serialization conflict is given up on.
const MAX_ATTEMPTS: u32 = 8;

/// The longest pause before the first re-run; each later one may wait twice as long.
const FIRST_PAUSE_MS: u64 = 2;

/// An error that may be a serialization conflict: PostgreSQL found that a concurrent transaction
/// (perhaps in another server process) would have made the outcome differ from running them one
/// after the other. A fresh attempt of the same transaction can get past it.
pub trait MaybeConflict {
    fn is_conflict(&self) -> bool;
}

impl MaybeConflict for StoreError {
    fn is_conflict(&self) -> bool {
        matches!(self, sqlx::Error::Database(e)
            if matches!(e.code().as_deref(), Some("40001" | "40P01")))
    }
}

/// Runs `attempt` again while it fails with a serialization conflict, up to [`MAX_ATTEMPTS`]
/// runs in all; a conflict on the last is returned. Each attempt rolled back whole, so running
/// it again is as if the request had come a moment later. Between runs it waits a random pause
/// that doubles in range each time (at most about a quarter of a second in all): transactions
/// that collided at once would otherwise collide again, and on a loaded machine use up their
/// runs together.
///
/// `attempt` makes a fresh future for each run. (An async closure would read better, but its
/// future is not `Send` across the borrow, which `tokio::spawn` needs.)
pub async fn retry_on_conflict<T, E: MaybeConflict, F>(
    mut attempt: impl FnMut() -> F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
{
    let mut outcome = attempt().await;
    for retry in 0..MAX_ATTEMPTS - 1 {
        match &outcome {
            Err(error) if error.is_conflict() => {
                tracing::debug!("serialization conflict, retrying");
                let pause = rand::random_range(0..=FIRST_PAUSE_MS << retry);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                outcome = attempt().await;
            }
            _ => break,
        }
    }
    outcome
}

impl Store {
    /// Opens (creating an SQLite file if needed) the database and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| {
            sqlx::Error::Configuration(
                "unsupported database URL scheme: use sqlite: or postgres:".into(),
            )
        })?;
        let mut local_reads = None;
        let (pool, reads) = match backend {
            Backend::Sqlite => {
                // Create the file if missing, unless the operator chose a mode.
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else {
                    with_query(url, "mode=rwc")
                };
                let options = url.parse::<AnyConnectOptions>()?;
                let pool = sqlite_pool(1, false).connect_with(options.clone()).await?;
                sqlx::migrate!("../migrations/sqlite").run(&pool).await?;
                // Each connection to ":memory:" is a database of its own.
                let reads = if url.contains(":memory:") || url.contains("mode=memory") {
                    pool.clone()
                } else {
                    let file = url.parse::<sqlx::sqlite::SqliteConnectOptions>()?;
                    local_reads = Some(LocalReads::new(file.get_filename()));
                    sqlite_pool(sqlite_readers(), true)
                        .connect_with(options)
                        .await?
                };
                (pool, reads)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?;
                sqlx::migrate!("../migrations/postgres").run(&pool).await?;
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            pool,
            reads,
            local_reads,
            backend,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database file, if the store is one (not PostgreSQL, not in memory).
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.local_reads.as_ref().map(LocalReads::path)
    }

    /// Writes a consistent copy of the whole database to `path` (one read transaction).
    pub async fn copy_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        sqlx::query("VACUUM INTO $1")
            .bind(path.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// SQLite's own check of every page and index: "ok", or what is wrong.
    pub async fn integrity_check(&self) -> Result<String, StoreError> {
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await
    }

    /// Activated accounts.
    pub async fn account_count(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE pubkey IS NOT NULL")
            .fetch_one(&self.pool)
            .await
    }

    /// A write transaction, whose read-then-write steps (counters, attempts, compare-and-swap)
    /// hold against every other writer. On SQLite it is IMMEDIATE: it takes the write lock
    /// before its first read, waiting for the admission writer's if need be, so no commit can
    /// come between its reads and its writes. On PostgreSQL it is SERIALIZABLE, which holds
    /// across server processes; a conflict fails with an error that [`retry_on_conflict`] runs
    /// again.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        match self.backend {
            Backend::Sqlite => Ok(Tx(self.pool.begin_with("BEGIN IMMEDIATE").await?)),
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                tx.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                    .await?;
                Ok(Tx(tx))
            }
        }
    }

    /// The connection that writes (SQLite) or the pool (PostgreSQL), for admission's batches.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Drops what has expired: seen ids past the window, old sessions, idle counters, and
    /// verified-but-never-activated addresses after a day.
    pub async fn prune(&self, now: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM seen_events WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM key_throttles WHERE window_start < $1 - 3600")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM throttles WHERE window_start < $1 AND failure_window_start < $1")
            .bind(now - 3600)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE pubkey IS NULL AND created_at < $1")
            .bind(now - 86_400)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// The account whose key is `pubkey`, as of the last commit.
    pub async fn user_by_pubkey(&self, pubkey: &[u8]) -> Result<Option<UserRow>, StoreError> {
        if let Some(local) = &self.local_reads {
            match local.user_by_pubkey(pubkey) {
                Ok(user) => return Ok(user),
                Err(error) => {
                    tracing::debug!(%error, "lookup on this thread failed; using the pool")
                }
            }
        }
        sqlx::query_as(USER_BY_PUBKEY)
            .bind(pubkey)
            .fetch_optional(&self.reads)
            .await
    }

    /// The session of an ephemeral key with its address's account, as of the last commit: one
    /// read that takes no lock.
    pub async fn session_account(
        &self,
        ephemeral: &[u8],
    ) -> Result<Option<SessionAccount>, StoreError> {
        if let Some(local) = &self.local_reads {
            match local.session_account(ephemeral) {
                Ok(found) => return Ok(found),
                Err(error) => {
                    tracing::debug!(%error, "lookup on this thread failed; using the pool")
                }
            }
        }
        sqlx::query_as(SESSION_ACCOUNT)
            .bind(ephemeral)
            .fetch_optional(&self.reads)
            .await
    }

    /// The account's earlier backups, newest first, as of the last commit.
    pub async fn backup_history(&self, pubkey: &[u8]) -> Result<Vec<HistoryRow>, StoreError> {
        sqlx::query_as(BACKUP_HISTORY)
            .bind(pubkey)
            .fetch_all(&self.reads)
            .await
    }

    pub async fn close(&self) {
        self.reads.close().await;
        self.pool.close().await;
    }
}

/// A write transaction; dropped without `commit`, nothing is written.
#[derive(Debug)]
pub struct Tx(Transaction<'static, Any>);

impl Tx {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.0.commit().await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A store on a new SQLite file `sigil.db` in `dir`, and the file's path.
    #[allow(clippy::unwrap_used)]
    pub(crate) async fn file_store(dir: &std::path::Path) -> (Store, std::path::PathBuf) {
        let file = dir.join("sigil.db");
        let store = Store::open(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        (store, file)
    }

    /// A transaction's outcome as the retry loop sees it.
    #[derive(Debug, Clone, PartialEq)]
    enum Outcome {
        Conflict,
        Other,
    }

    impl MaybeConflict for Outcome {
        fn is_conflict(&self) -> bool {
            *self == Self::Conflict
        }
    }

    /// How many runs `retry_on_conflict` makes of a transaction that conflicts `conflicts`
    /// times, then ends with `last`, and what it returns.
    async fn runs(conflicts: u32, last: Result<(), Outcome>) -> (u32, Result<(), Outcome>) {
        let count = std::cell::Cell::new(0);
        let outcome = retry_on_conflict(|| {
            count.set(count.get() + 1);
            let result = if count.get() <= conflicts {
                Err(Outcome::Conflict)
            } else {
                last.clone()
            };
            async move { result }
        })
        .await;
        (count.get(), outcome)
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_is_run_again_after_a_growing_pause_up_to_a_limit() {
        let started = tokio::time::Instant::now();
        assert_eq!(runs(MAX_ATTEMPTS - 1, Ok(())).await, (MAX_ATTEMPTS, Ok(())));
        let most = (0..MAX_ATTEMPTS - 1)
            .map(|retry| FIRST_PAUSE_MS << retry)
            .sum();
        assert!(started.elapsed() <= std::time::Duration::from_millis(most));
        assert_eq!(
            runs(u32::MAX, Ok(())).await,
            (MAX_ATTEMPTS, Err(Outcome::Conflict)),
            "given up on, with the conflict"
        );
        assert_eq!(
            runs(0, Err(Outcome::Other)).await,
            (1, Err(Outcome::Other)),
            "any other failure is not run again"
        );
    }
}
