//! The `throttles` table: per-address counters of codes sent and wrong codes (the rules are in
//! `throttle`).

use super::{StoreError, Tx};

/// Counters for one email hash, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Counters {
    pub window_start: i64,
    pub codes_sent: i64,
    pub last_sent_at: i64,
    pub failures: i64,
    pub failure_window_start: i64,
    pub last_failure_at: i64,
}

impl Tx {
    pub async fn counters(&mut self, email_hash: &[u8]) -> Result<Option<Counters>, StoreError> {
        sqlx::query_as(
            "SELECT window_start, codes_sent, last_sent_at, failures, failure_window_start,
                    last_failure_at
             FROM throttles WHERE email_hash = $1",
        )
        .bind(email_hash)
        .fetch_optional(&mut *self.0)
        .await
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
}
