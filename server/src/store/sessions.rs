//! The `sessions` table: one row per ephemeral key with a code sent, until it is verified and
//! used (or expires).

use super::accounts::UserRow;
use super::{StoreError, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub email_hash: Vec<u8>,
    pub code_hash: Option<Vec<u8>>,
    /// 0 for a 6-digit code, 1 for a 16-digit one.
    pub code_long: i64,
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

/// A session as a reader of its account's backups sees it (`get_backup`, `list_backups`): whether
/// it is verified, until when, and its address's account, if there is one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionAccount {
    /// 0 or 1 (see the module comment).
    pub(super) verified: i64,
    pub expires_at: i64,
    pub email_hash: Option<Vec<u8>>,
    pub pubkey: Option<Vec<u8>>,
    pub entropy: Option<Vec<u8>>,
    pub backup: Option<String>,
    pub backup_version: Option<i64>,
    pub updated_at: Option<i64>,
}

impl SessionAccount {
    pub fn is_verified(&self) -> bool {
        self.verified != 0
    }

    /// The address's account, if it has one.
    pub fn account(self) -> Option<UserRow> {
        Some(UserRow {
            email_hash: self.email_hash?,
            pubkey: Some(self.pubkey?),
            entropy: self.entropy?,
            backup: Some(self.backup?),
            backup_version: self.backup_version?,
            updated_at: self.updated_at?,
        })
    }
}

/// One read, no lock: the session of an ephemeral key with its address's account.
pub(super) const SESSION_ACCOUNT: &str = "SELECT s.verified, s.expires_at, u.email_hash, u.pubkey,
     u.entropy, u.backup, u.backup_version, u.updated_at
     FROM sessions s LEFT JOIN users u ON u.email_hash = s.email_hash AND u.pubkey IS NOT NULL
     WHERE s.ephemeral_pubkey = $1";

impl Tx {
    pub async fn session(&mut self, ephemeral: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        sqlx::query_as(
            "SELECT email_hash, code_hash, code_long, attempts, verified, expires_at
             FROM sessions WHERE ephemeral_pubkey = $1",
        )
        .bind(ephemeral)
        .fetch_optional(&mut *self.0)
        .await
    }

    /// Starts (or restarts) the session of an ephemeral key with a code (`code_long` as stored).
    pub async fn put_session(
        &mut self,
        ephemeral: &[u8],
        email_hash: &[u8],
        code_hash: &[u8],
        code_long: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (ephemeral_pubkey, email_hash, code_hash, code_long, attempts,
                 verified, expires_at)
             VALUES ($1, $2, $3, $4, 0, 0, $5)
             ON CONFLICT (ephemeral_pubkey) DO UPDATE SET email_hash = $2, code_hash = $3,
                 code_long = $4, attempts = 0, verified = 0, expires_at = $5",
        )
        .bind(ephemeral)
        .bind(email_hash)
        .bind(code_hash)
        .bind(code_long)
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

    /// A code works once: other sessions that shared it lose it too.
    pub async fn retire_code(
        &mut self,
        email_hash: &[u8],
        code_hash: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET code_hash = NULL
             WHERE email_hash = $1 AND code_hash = $2 AND verified = 0",
        )
        .bind(email_hash)
        .bind(code_hash)
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
