//! The `sessions` table: one row per ephemeral key with a code sent, until it is verified and
//! used (or expires).

use super::{StoreError, Tx};

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

impl Tx {
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
}
