//! The `users` table: addresses verified, accounts and their backups.

use super::{StoreError, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub email_hash: Vec<u8>,
    pub pubkey: Option<Vec<u8>>,
    pub entropy: Vec<u8>,
    pub backup: Option<String>,
    pub backup_version: i64,
    /// When the current backup was stored.
    pub updated_at: i64,
}

/// Earlier backups kept besides the current one: a client that made a backup its password cannot
/// open still finds the last ones that did.
pub const KEPT_VERSIONS: i64 = 3;

/// The account's earlier backups, newest first.
pub(super) const BACKUP_HISTORY: &str = "SELECT version, backup, stored_at FROM backup_history
     WHERE pubkey = $1 ORDER BY version DESC";

/// One earlier backup of an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub version: i64,
    pub backup: String,
    pub stored_at: i64,
}

impl Tx {
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

    /// Replaces the backup only if it is still at `base_version`; the new version, or None. The
    /// replaced backup joins the account's history, which keeps [`KEPT_VERSIONS`].
    pub async fn swap_backup(
        &mut self,
        pubkey: &[u8],
        backup: &str,
        base_version: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        // Copied only if the swap below will happen: the same condition, in the same transaction.
        sqlx::query(
            "INSERT INTO backup_history (pubkey, version, backup, stored_at)
             SELECT pubkey, backup_version, backup, updated_at FROM users
             WHERE pubkey = $1 AND backup_version = $2 AND backup IS NOT NULL",
        )
        .bind(pubkey)
        .bind(base_version)
        .execute(&mut *self.0)
        .await?;
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
        if result.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query("DELETE FROM backup_history WHERE pubkey = $1 AND version <= $2")
            .bind(pubkey)
            .bind(base_version - KEPT_VERSIONS)
            .execute(&mut *self.0)
            .await?;
        Ok(Some(base_version + 1))
    }

    /// Removes the account and any sessions of its address.
    pub async fn delete_user(&mut self, email_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM backup_history WHERE pubkey = (SELECT pubkey FROM users WHERE email_hash = $1)",
        )
        .bind(email_hash)
        .execute(&mut *self.0)
        .await?;
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

const USER_BY_EMAIL: &str = "SELECT email_hash, pubkey, entropy, backup, backup_version, updated_at
     FROM users WHERE email_hash = $1";
pub(super) const USER_BY_PUBKEY: &str =
    "SELECT email_hash, pubkey, entropy, backup, backup_version, updated_at
     FROM users WHERE pubkey = $1";

#[cfg(test)]
mod tests {
    use super::KEPT_VERSIONS;

    #[test]
    fn the_specification_gives_the_versions_kept() {
        let spec = include_str!("../../../docs/protocol.md");
        assert!(spec.contains(&format!("at least the **{KEPT_VERSIONS}**")));
    }
}
