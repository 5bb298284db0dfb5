//! The methods a client can call, and what each returns.
//!
//! The method name travels inside the NIP-44 ciphertext, so an observer cannot tell the steps of a
//! signup or login apart.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::envelope::BackupEnvelope;
use crate::error::ErrorBody;

/// Plaintext of a request event's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "method",
    content = "params",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Request {
    /// Signed by a fresh ephemeral key. Starts signup and login alike.
    RequestCode { email: String },
    /// Same ephemeral key as `request_code`.
    VerifyCode { code: String },
    /// Same ephemeral key, after `verify_code` answered `new`.
    Activate {
        /// Hex x-only public key of the new account.
        pubkey: String,
        backup: BackupEnvelope,
        /// JSON of a [`crate::kinds::KEY_PROOF`] event signed by `pubkey` that p-tags the
        /// ephemeral key, so nobody can register a key they do not hold.
        proof: String,
    },
    /// Signed by the account key. Compare-and-swap on `base_version`.
    UpdateBackup {
        backup: BackupEnvelope,
        base_version: u64,
    },
    /// Signed by the account key, or by a session verified for the account's address. Without
    /// `version`, the current backup; with it, that version if it is still kept.
    GetBackup {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
    },
    /// Signed as `get_backup`: the versions kept, newest (the current one) first.
    ListBackups {},
    /// Signed by the account key. Removes the account and its backup.
    DeleteAccount {},
}

impl Request {
    /// The method's name as it travels (`method` in the plaintext), for logs.
    pub fn method(&self) -> &'static str {
        match self {
            Self::RequestCode { .. } => "request_code",
            Self::VerifyCode { .. } => "verify_code",
            Self::Activate { .. } => "activate",
            Self::UpdateBackup { .. } => "update_backup",
            Self::GetBackup { .. } => "get_backup",
            Self::ListBackups {} => "list_backups",
            Self::DeleteAccount {} => "delete_account",
        }
    }

    /// Whether the method must be signed by the account's own key rather than an ephemeral one.
    pub fn needs_account_key(&self) -> bool {
        matches!(self, Self::UpdateBackup { .. } | Self::DeleteAccount {})
    }
}

/// Plaintext of a reply event's content: exactly one of `result` or `error`.
///
/// The result stays raw JSON text until [`Reply::into_result`] reads it into the method's own
/// type: read through a `serde_json::Value` instead, every result type was compiled a second
/// time to read from one, which cost the vault's WebAssembly about 10 KiB.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    Result(Box<RawValue>),
    Error(ErrorBody),
}

impl PartialEq for Reply {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Result(a), Self::Result(b)) => a.get() == b.get(),
            (Self::Error(a), Self::Error(b)) => a == b,
            _ => false,
        }
    }
}

impl Reply {
    pub fn ok<T: Serialize>(result: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::Result(serde_json::value::to_raw_value(result)?))
    }

    pub fn into_result<T: for<'de> Deserialize<'de>>(
        self,
    ) -> Result<Result<T, ErrorBody>, serde_json::Error> {
        match self {
            Self::Result(raw) => serde_json::from_str(raw.get()).map(Ok),
            Self::Error(error) => Ok(Err(error)),
        }
    }
}

/// Result of `request_code`. The same for every address, known or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSent {
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds until another code may be requested for this address.
    pub resend_after: u64,
}

/// Result of `verify_code`.
// Read through [`AnyVerified`] rather than as an internally tagged enum: serde buffers such an
// enum before it can pick the variant, and every type inside (the whole backup envelope) is
// then compiled a second time to read from that buffer, which cost the vault's WebAssembly
// several KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "account", rename_all = "snake_case", try_from = "AnyVerified")]
pub enum Verified {
    /// No account yet: the client creates a key and calls `activate`.
    New {
        /// Hex of the 32 bytes of server entropy that salt the password KDF.
        entropy: String,
    },
    /// An account exists: the client unlocks the backup locally.
    Existing {
        entropy: String,
        backup: BackupEnvelope,
        backup_version: u64,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum AccountKind {
    New,
    Existing,
}

/// Every member either answer has, sorted by `account`. Members it does not know are ignored,
/// as in every reply.
#[derive(Deserialize)]
struct AnyVerified {
    account: AccountKind,
    entropy: String,
    backup: Option<BackupEnvelope>,
    backup_version: Option<u64>,
}

impl TryFrom<AnyVerified> for Verified {
    type Error = &'static str;

    fn try_from(any: AnyVerified) -> Result<Self, Self::Error> {
        match (any.account, any.backup, any.backup_version) {
            (AccountKind::New, None, None) => Ok(Self::New {
                entropy: any.entropy,
            }),
            (AccountKind::Existing, Some(backup), Some(backup_version)) => Ok(Self::Existing {
                entropy: any.entropy,
                backup,
                backup_version,
            }),
            _ => Err("`verify_code` answers `new` with entropy, or `existing` with a backup"),
        }
    }
}

/// Result of `activate` and `update_backup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupStored {
    pub backup_version: u64,
}

/// Result of `get_backup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub entropy: String,
    pub backup: BackupEnvelope,
    pub backup_version: u64,
}

/// Result of `list_backups`: the versions the server keeps, newest (the current one) first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupVersions {
    pub versions: Vec<BackupVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupVersion {
    pub version: u64,
    /// When this version was stored.
    pub stored_at: u64,
}

/// Result of `delete_account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeleted {
    pub deleted: bool,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn unknown_params_and_fields_are_refused() {
        let read = |json: &str| serde_json::from_str::<Request>(json);
        assert!(read(r#"{"method":"get_backup","params":{}}"#).is_ok());
        assert!(read(r#"{"method":"get_backup","params":{"version":3}}"#).is_ok());
        assert!(read(r#"{"method":"get_backup","params":{"x":1}}"#).is_err());
        assert!(read(r#"{"method":"verify_code","params":{"code":"1","x":1}}"#).is_err());
        assert!(read(r#"{"method":"get_backup","params":{},"x":1}"#).is_err());
        assert!(read(r#"{"method":"get_backup"}"#).is_err());
        assert!(read(r#"{"method":"get_backup","params":[]}"#).is_err());
    }
}
