//! The `throttles` table: per-address (and per-mailbox) state of codes sent and guessed (the
//! rules are in `throttle`).

use super::{StoreError, Tx};

/// One address's (or one mailbox's) row, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Throttle {
    pub last_sent_at: i64,
    /// Codes sent since the last success (or the last quiet hour): the resend gap grows with it.
    pub sends_unused: i64,
    /// When the guessing budget was (or would have been) empty; it refills from there.
    pub budget_empty_at: i64,
    /// Wrong codes since the last success, told to the owner in the next code email.
    pub wrong_since_success: i64,
    /// The latest code sent (keyed hash), shared by requests within the resend gap.
    pub code_hash: Option<Vec<u8>>,
    /// 0 for a 6-digit code, 1 for a 16-digit one (the store's flags are 0/1 integers).
    pub code_long: i64,
    pub code_expires_at: i64,
}

impl Tx {
    pub async fn throttle(&mut self, hash: &[u8]) -> Result<Option<Throttle>, StoreError> {
        sqlx::query_as(
            "SELECT last_sent_at, sends_unused, budget_empty_at, wrong_since_success, code_hash,
                    code_long, code_expires_at
             FROM throttles WHERE email_hash = $1",
        )
        .bind(hash)
        .fetch_optional(&mut *self.0)
        .await
    }

    pub async fn save_throttle(&mut self, hash: &[u8], t: &Throttle) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO throttles (email_hash, last_sent_at, sends_unused, budget_empty_at,
                 wrong_since_success, code_hash, code_long, code_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (email_hash) DO UPDATE SET last_sent_at = $2, sends_unused = $3,
                 budget_empty_at = $4, wrong_since_success = $5, code_hash = $6, code_long = $7,
                 code_expires_at = $8",
        )
        .bind(hash)
        .bind(t.last_sent_at)
        .bind(t.sends_unused)
        .bind(t.budget_empty_at)
        .bind(t.wrong_since_success)
        .bind(t.code_hash.as_deref())
        .bind(t.code_long)
        .bind(t.code_expires_at)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }
}
