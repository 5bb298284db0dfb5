//! Persistence. All SQL lives here; the rules that decide what to write live in `vault`.
//!
//! One set of queries runs on SQLite (the embedded default) and on PostgreSQL (several server
//! processes sharing one database) through sqlx's `Any` driver. Where the two dialects differ,
//! the SQL is written in their common subset: `$n` parameters, `ON CONFLICT`, `RETURNING`, and
//! flags as 0/1 integers. Only the schema differs, in `migrations/sqlite` and
//! `migrations/postgres`, which keep the same numbering.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

use crate::local_reads::LocalReads;
use crate::throttle::Counters;

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

/// SQLite connections that only read, beside the writer: in WAL mode they read the last commit
/// while the writer works, so a lookup never queues behind a transaction and its disk sync.
/// One per core: each has its own thread, and more only add thread switches (on 2 cores, 4
/// readers served about 5% fewer requests than 2).
fn sqlite_readers() -> u32 {
    std::thread::available_parallelism()
        .map_or(2, |n| u32::try_from(n.get()).unwrap_or(2).clamp(1, 8))
}

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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub email_hash: Vec<u8>,
    pub pubkey: Option<Vec<u8>>,
    pub entropy: Vec<u8>,
    pub backup: Option<String>,
    pub backup_version: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub email_hash: Vec<u8>,
    pub code_hash: Option<Vec<u8>>,
    pub attempts: i64,
    /// 0 or 1 (see the module comment).
    verified: i64,
    pub expires_at: i64,
}

impl SessionRow {
    pub fn is_verified(&self) -> bool {
        self.verified != 0
    }
}

/// True for a failure that a fresh attempt of the same transaction can get past: PostgreSQL
/// found that a concurrent transaction (perhaps in another server process) would have made the
/// outcome differ from running them one after the other.
pub fn is_retryable(error: &StoreError) -> bool {
    matches!(error, sqlx::Error::Database(e)
        if matches!(e.code().as_deref(), Some("40001" | "40P01")))
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
    /// across server processes; a conflict fails with an error for which [`is_retryable`] is
    /// true, and the caller runs it again.
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

    /// Records a batch of checked requests in one transaction of two statements, with rows in
    /// key order so that it cannot deadlock against another process's batch; one answer per
    /// ticket, in the tickets' order.
    pub async fn admit(
        &self,
        tickets: &[Ticket],
        key_window: i64,
    ) -> Result<Vec<Admitted>, StoreError> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;

        // Replay records: the ids the database did not hold yet come back.
        let ids = distinct_ids(tickets);
        let sql = replay_sql(self.backend, ids.len());
        let mut insert = sqlx::query_scalar::<_, Vec<u8>>(&sql);
        for (id, forget_after) in &ids {
            insert = insert.bind(id.as_slice()).bind(*forget_after);
        }
        let new_ids: HashSet<Vec<u8>> = insert.fetch_all(&mut *tx).await?.into_iter().collect();
        let fresh = first_of_new(tickets, |id| new_ids.contains(id.as_slice()));

        // Key counters, one row per signer however many of its requests the batch holds.
        let signers = requests_by_signer(tickets, &fresh);
        let mut totals = HashMap::new();
        if !signers.is_empty() {
            let sql = key_counter_sql(signers.len());
            let mut upsert = sqlx::query_as::<_, (Vec<u8>, i64, i64)>(&sql).bind(key_window);
            for (signer, batch) in &signers {
                upsert = upsert
                    .bind(signer.as_slice())
                    .bind(batch.now)
                    .bind(batch.requests);
            }
            totals = upsert
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(signer, requests, start)| (signer, (requests, start)))
                .collect();
        }
        tx.commit().await?;
        Ok(number_requests(tickets, &fresh, &signers, &totals))
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

    pub async fn counters(&mut self, email_hash: &[u8]) -> Result<Option<Counters>, StoreError> {
        let row: Option<(i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT window_start, codes_sent, last_sent_at, failures, failure_window_start,
                    last_failure_at
             FROM throttles WHERE email_hash = $1",
        )
        .bind(email_hash)
        .fetch_optional(&mut *self.0)
        .await?;
        Ok(row.map(
            |(
                window_start,
                codes_sent,
                last_sent_at,
                failures,
                failure_window_start,
                last_failure_at,
            )| {
                Counters {
                    window_start,
                    codes_sent,
                    last_sent_at,
                    failures,
                    failure_window_start,
                    last_failure_at,
                }
            },
        ))
    }

    pub async fn save_counters(
        &mut self,
        email_hash: &[u8],
        c: &Counters,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO throttles (email_hash, window_start, codes_sent, last_sent_at, failures,
                 failure_window_start, last_failure_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (email_hash) DO UPDATE SET window_start = $2, codes_sent = $3,
                 last_sent_at = $4, failures = $5, failure_window_start = $6, last_failure_at = $7",
        )
        .bind(email_hash)
        .bind(c.window_start)
        .bind(c.codes_sent)
        .bind(c.last_sent_at)
        .bind(c.failures)
        .bind(c.failure_window_start)
        .bind(c.last_failure_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn session(&mut self, ephemeral: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        sqlx::query_as(
            "SELECT email_hash, code_hash, attempts, verified, expires_at FROM sessions WHERE ephemeral_pubkey = $1",
        )
        .bind(ephemeral)
        .fetch_optional(&mut *self.0)
        .await
    }

    /// Starts (or restarts) the session of an ephemeral key with a new code.
    pub async fn put_session(
        &mut self,
        ephemeral: &[u8],
        email_hash: &[u8],
        code_hash: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (ephemeral_pubkey, email_hash, code_hash, attempts, verified, expires_at)
             VALUES ($1, $2, $3, 0, 0, $4)
             ON CONFLICT (ephemeral_pubkey) DO UPDATE SET email_hash = $2, code_hash = $3,
                 attempts = 0, verified = 0, expires_at = $4",
        )
        .bind(ephemeral)
        .bind(email_hash)
        .bind(code_hash)
        .bind(expires_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    pub async fn count_failed_attempt(&mut self, ephemeral: &[u8]) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET attempts = attempts + 1 WHERE ephemeral_pubkey = $1")
            .bind(ephemeral)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    /// Consumes the code: the session is verified until `expires_at` and the code hash is gone.
    pub async fn mark_verified(
        &mut self,
        ephemeral: &[u8],
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET verified = 1, code_hash = NULL, expires_at = $2 WHERE ephemeral_pubkey = $1")
            .bind(ephemeral)
            .bind(expires_at)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&mut self, ephemeral: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE ephemeral_pubkey = $1")
            .bind(ephemeral)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    pub async fn user_by_email(
        &mut self,
        email_hash: &[u8],
    ) -> Result<Option<UserRow>, StoreError> {
        sqlx::query_as(USER_BY_EMAIL)
            .bind(email_hash)
            .fetch_optional(&mut *self.0)
            .await
    }

    pub async fn user_by_pubkey(&mut self, pubkey: &[u8]) -> Result<Option<UserRow>, StoreError> {
        sqlx::query_as(USER_BY_PUBKEY)
            .bind(pubkey)
            .fetch_optional(&mut *self.0)
            .await
    }

    /// A verified address without an account yet, with the entropy its backup will be salted by.
    pub async fn create_pending_user(
        &mut self,
        email_hash: &[u8],
        entropy: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (email_hash, entropy, created_at, updated_at) VALUES ($1, $2, $3, $3)",
        )
        .bind(email_hash)
        .bind(entropy)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    /// Turns a pending user into an account at version 1; false if it is no longer pending.
    pub async fn activate(
        &mut self,
        email_hash: &[u8],
        pubkey: &[u8],
        backup: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE users SET pubkey = $2, backup = $3, backup_version = 1, updated_at = $4
             WHERE email_hash = $1 AND pubkey IS NULL",
        )
        .bind(email_hash)
        .bind(pubkey)
        .bind(backup)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Replaces the backup only if it is still at `base_version`; the new version, or None.
    pub async fn swap_backup(
        &mut self,
        pubkey: &[u8],
        backup: &str,
        base_version: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let result = sqlx::query(
            "UPDATE users SET backup = $2, backup_version = backup_version + 1, updated_at = $4
             WHERE pubkey = $1 AND backup_version = $3",
        )
        .bind(pubkey)
        .bind(backup)
        .bind(base_version)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok((result.rows_affected() == 1).then_some(base_version + 1))
    }

    /// Removes the account and any sessions of its address.
    pub async fn delete_user(&mut self, email_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE email_hash = $1")
            .bind(email_hash)
            .execute(&mut *self.0)
            .await?;
        sqlx::query("DELETE FROM users WHERE email_hash = $1")
            .bind(email_hash)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
}

const USER_BY_EMAIL: &str =
    "SELECT email_hash, pubkey, entropy, backup, backup_version FROM users WHERE email_hash = $1";
pub(crate) const USER_BY_PUBKEY: &str =
    "SELECT email_hash, pubkey, entropy, backup, backup_version FROM users WHERE pubkey = $1";

/// `rows` groups of `columns` numbered parameters from `$first`: `($2, $3), ($4, $5)`.
fn placeholders(first: usize, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", first + row * columns + column));
        }
        sql.push(')');
    }
    sql
}

/// Each id of the batch once, with the end of its replay window, in key order.
pub(crate) fn distinct_ids(tickets: &[Ticket]) -> BTreeMap<[u8; 32], i64> {
    tickets
        .iter()
        .map(|t| (t.event_id, t.forget_after))
        .collect()
}

/// Records `rows` event ids (`$1`, `$2` for the first: id, end of window); the ids the
/// database did not hold yet come back.
///
/// On SQLite, `OR IGNORE` rather than `ON CONFLICT DO NOTHING`: a statement that cannot fail
/// halfway needs no statement journal, so SQLite does not copy each page it changes aside
/// first. A row it skipped for any reason is not new, so it is refused as a replay.
pub(crate) fn replay_sql(backend: Backend, rows: usize) -> String {
    let values = placeholders(1, rows, 2);
    match backend {
        Backend::Sqlite => {
            format!(
                "INSERT OR IGNORE INTO seen_events (id, expires_at) VALUES {values} RETURNING id"
            )
        }
        Backend::Postgres => format!(
            "INSERT INTO seen_events (id, expires_at) VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
        ),
    }
}

/// Adds `rows` signers' requests to their counters (`$1`: the window in seconds; from `$2`,
/// three per signer: key, clock, requests). A window that has ended starts again at this
/// batch's requests. Returns each signer's total and window start.
pub(crate) fn key_counter_sql(rows: usize) -> String {
    format!(
        "INSERT INTO key_throttles (pubkey, window_start, requests) VALUES {}
         ON CONFLICT (pubkey) DO UPDATE SET
             requests = CASE WHEN key_throttles.window_start <= excluded.window_start - $1
                             THEN excluded.requests
                             ELSE key_throttles.requests + excluded.requests END,
             window_start = CASE WHEN key_throttles.window_start <= excluded.window_start - $1
                                 THEN excluded.window_start
                                 ELSE key_throttles.window_start END
         RETURNING pubkey, requests, window_start",
        placeholders(2, rows, 3)
    )
}

/// Which tickets are fresh: those whose id `is_new` to the database, each id counted once
/// (a second copy in the same batch is a replay of the first).
pub(crate) fn first_of_new(tickets: &[Ticket], is_new: impl Fn(&[u8; 32]) -> bool) -> Vec<bool> {
    let mut claimed = HashSet::new();
    tickets
        .iter()
        .map(|t| is_new(&t.event_id) && claimed.insert(t.event_id))
        .collect()
}

/// A signer's fresh requests in one batch, and the latest of their clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignerBatch {
    pub requests: i64,
    pub now: i64,
}

pub(crate) fn requests_by_signer(
    tickets: &[Ticket],
    fresh: &[bool],
) -> BTreeMap<[u8; 32], SignerBatch> {
    let mut signers = BTreeMap::new();
    for (ticket, _) in tickets.iter().zip(fresh).filter(|(_, fresh)| **fresh) {
        let batch = signers.entry(ticket.signer).or_insert(SignerBatch {
            requests: 0,
            now: ticket.now,
        });
        batch.requests += 1;
        batch.now = batch.now.max(ticket.now);
    }
    signers
}

/// Gives each fresh ticket its place in its signer's window, in the order the tickets came:
/// a signer's `n` requests in a batch that brought its count to `total` are `total - n + 1`
/// up to `total`.
pub(crate) fn number_requests(
    tickets: &[Ticket],
    fresh: &[bool],
    signers: &BTreeMap<[u8; 32], SignerBatch>,
    totals: &HashMap<Vec<u8>, (i64, i64)>,
) -> Vec<Admitted> {
    let mut answers = vec![Admitted::default(); tickets.len()];
    let mut numbered: HashMap<[u8; 32], i64> = HashMap::new();
    for (i, ticket) in tickets.iter().enumerate() {
        let (Some(batch), Some(&(total, window_start))) = (
            signers.get(&ticket.signer),
            totals.get(ticket.signer.as_slice()),
        ) else {
            continue;
        };
        if !fresh[i] {
            continue;
        }
        let before = numbered.entry(ticket.signer).or_default();
        *before += 1;
        answers[i] = Admitted {
            fresh: true,
            key_requests: total - batch.requests + *before,
            key_window_start: window_start,
        };
    }
    answers
}

/// Every SQLite connection that may write. WAL lets readers (and the backup command) read while
/// the server writes; FULL: an acknowledged write survives power loss, not just a crash. Two
/// connections write (the admission writer and the pool's one), so each waits for the other's
/// lock rather than failing. The WAL is copied back into the database every 8,000 pages (32 MiB,
/// the file's size from then on) rather than SQLite's 1,000: replay records and key counters land
/// on random pages, so a longer stretch writes each page back once for more of its changes
/// (about 5% more requests per second at 64 connections, BENCHMARKS.md).
pub(crate) const SQLITE_SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
     PRAGMA wal_autocheckpoint = 8000; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;";

/// SQLite connections with Sigil's settings; `read_only` ones refuse to write.
fn sqlite_pool(connections: u32, read_only: bool) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                conn.execute(SQLITE_SETTINGS).await?;
                if read_only {
                    conn.execute("PRAGMA query_only = ON").await?;
                }
                Ok(())
            })
        })
}

/// `url` with `param` added to its query string.
fn with_query(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
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

    /// A request by `signer` of event `id` at `now`.
    pub(crate) fn ticket(id: u8, signer: u8, now: i64) -> Ticket {
        Ticket {
            event_id: [id; 32],
            forget_after: now + 60,
            signer: [signer; 32],
            now,
        }
    }

    #[test]
    fn placeholders_number_every_column_of_every_row() {
        assert_eq!(placeholders(1, 1, 1), "($1)");
        assert_eq!(placeholders(2, 2, 3), "($2, $3, $4), ($5, $6, $7)");
    }

    #[test]
    fn a_second_copy_of_an_id_in_one_batch_is_a_replay() {
        let tickets = [
            ticket(1, 9, 0),
            ticket(2, 9, 0),
            ticket(1, 9, 0),
            ticket(3, 9, 0),
        ];
        let fresh = first_of_new(&tickets, |id| id[0] != 3);
        assert_eq!(fresh, [true, true, false, false]);
    }

    #[test]
    fn a_signers_requests_are_numbered_in_arrival_order_up_to_its_total() {
        let tickets = [
            ticket(1, 7, 10),
            ticket(2, 8, 11),
            ticket(3, 7, 12),
            ticket(4, 7, 9),
        ];
        let fresh = [true, true, false, true];
        let signers = requests_by_signer(&tickets, &fresh);
        assert_eq!(
            signers[&[7; 32]],
            SignerBatch {
                requests: 2,
                now: 10
            }
        );
        assert_eq!(
            signers[&[8; 32]],
            SignerBatch {
                requests: 1,
                now: 11
            }
        );
        // The database had 5 requests of signer 7 in its window before this batch.
        let totals = HashMap::from([(vec![7; 32], (7, 3)), (vec![8; 32], (1, 11))]);
        let answers = number_requests(&tickets, &fresh, &signers, &totals);
        let counts: Vec<(bool, i64)> = answers.iter().map(|a| (a.fresh, a.key_requests)).collect();
        assert_eq!(counts, [(true, 6), (true, 1), (false, 0), (true, 7)]);
        assert_eq!(answers[0].key_window_start, 3);
    }
}
