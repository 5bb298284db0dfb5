//! Persistence. All SQL lives here; the rules that decide what to write live in `vault`.
//!
//! One set of queries runs on SQLite (the embedded default) and on PostgreSQL (several server
//! processes sharing one database) through sqlx's `Any` driver. Where the two dialects differ,
//! the SQL is written in their common subset: `$n` parameters, `ON CONFLICT`, `RETURNING`, and
//! flags as 0/1 integers. Only the schema differs, in `migrations/sqlite` and
//! `migrations/postgres`, which keep the same numbering.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

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

/// PostgreSQL connections per server process; SQLite always has one.
const POSTGRES_CONNECTIONS: u32 = 16;

#[derive(Debug, Clone)]
pub struct Store {
    /// SQLite: one connection. SQLite has one writer anyway, and a single connection means a
    /// read-then-write transaction can never fail on another writer's commit.
    /// PostgreSQL: a pool, with every transaction SERIALIZABLE (see [`Store::begin`]).
    pool: AnyPool,
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
        let pool = match backend {
            Backend::Sqlite => {
                // Create the file if missing, unless the operator chose a mode.
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else {
                    with_query(url, "mode=rwc")
                };
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            // WAL lets the backup command read while the server writes; FULL: an
                            // acknowledged backup survives power loss, not just a crash.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(url.parse::<AnyConnectOptions>()?)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await?
            }
        };
        match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
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

    /// A write transaction. On PostgreSQL it is SERIALIZABLE, so the read-then-write steps of
    /// a method (counters, attempts, compare-and-swap) hold across server processes; a conflict
    /// fails with an error for which [`is_retryable`] is true, and the caller runs it again.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            tx.execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
                .await?;
        }
        Ok(Tx(tx))
    }

    /// Records a batch of checked requests in one transaction, in an order that cannot
    /// deadlock against another process's batch; one answer per ticket, in the tickets' order.
    pub async fn admit(
        &self,
        tickets: &[Ticket],
        key_window: i64,
    ) -> Result<Vec<Admitted>, StoreError> {
        let mut order: Vec<usize> = (0..tickets.len()).collect();
        order.sort_by_key(|&i| (tickets[i].signer, tickets[i].event_id));
        let mut answers = vec![Admitted::default(); tickets.len()];
        let mut tx = self.pool.begin().await?;
        for i in order {
            let ticket = &tickets[i];
            let inserted = sqlx::query(
                "INSERT INTO seen_events (id, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(ticket.event_id.as_slice())
            .bind(ticket.forget_after)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() != 1 {
                continue; // a replay: refused before anything else, and not counted
            }
            let (key_requests, key_window_start): (i64, i64) = sqlx::query_as(
                "INSERT INTO key_throttles (pubkey, window_start, requests) VALUES ($1, $2, 1)
                 ON CONFLICT (pubkey) DO UPDATE SET
                     requests = CASE WHEN key_throttles.window_start <= $2 - $3
                                     THEN 1 ELSE key_throttles.requests + 1 END,
                     window_start = CASE WHEN key_throttles.window_start <= $2 - $3
                                         THEN $2 ELSE key_throttles.window_start END
                 RETURNING requests, window_start",
            )
            .bind(ticket.signer.as_slice())
            .bind(ticket.now)
            .bind(key_window)
            .fetch_one(&mut *tx)
            .await?;
            answers[i] = Admitted {
                fresh: true,
                key_requests,
                key_window_start,
            };
        }
        tx.commit().await?;
        Ok(answers)
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

    pub async fn close(&self) {
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

    const USER_COLUMNS: &str = "email_hash, pubkey, entropy, backup, backup_version";

    pub async fn user_by_email(
        &mut self,
        email_hash: &[u8],
    ) -> Result<Option<UserRow>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {} FROM users WHERE email_hash = $1",
            Self::USER_COLUMNS
        ))
        .bind(email_hash)
        .fetch_optional(&mut *self.0)
        .await
    }

    pub async fn user_by_pubkey(&mut self, pubkey: &[u8]) -> Result<Option<UserRow>, StoreError> {
        sqlx::query_as(&format!(
            "SELECT {} FROM users WHERE pubkey = $1",
            Self::USER_COLUMNS
        ))
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

/// `url` with `param` added to its query string.
fn with_query(url: &str, param: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{param}")
}
