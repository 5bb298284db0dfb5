//! This device's saved copy of an account ([`LocalVault`]), as the vault worker keeps it in
//! IndexedDB: enough to unlock offline, and nothing secret beyond the sealed backup.

use serde::{Deserialize, Serialize};
use sigil_shared::email::EmailAddress;
use sigil_shared::info::ServerInfo;
use sigil_shared::nostr::key::PublicKey;

use crate::flow::StoredBackup;

/// Version of the [`LocalVault`] layout; a record of another version is not read.
pub(crate) const LOCAL_FORMAT: u32 = 1;

/// Why a saved record is not read (it is left in place, not deleted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this device's saved vault cannot be read: {0}")]
pub struct LocalCopyError(pub String);

/// This device's copy of an account: everything needed to unlock it offline, and nothing secret
/// beyond the sealed backup. Its `Debug` leaves the address out.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalVault {
    pub format: u32,
    /// The server's well-known document as last seen, so the app starts offline.
    pub server: ServerInfo,
    /// Shown on the unlock screen and handed to password managers as the user name.
    pub email: String,
    /// The user's relays: the server's defaults when the account was created or first opened here.
    pub relays: Vec<String>,
    /// Whether a relay took the account's NIP-65 list of `relays`. Absent in older records.
    #[serde(default)]
    pub relay_list_published: bool,
    /// The backup that unlocks here. `backup.version` is the server version it is based on.
    pub backup: StoredBackup,
    /// `backup` holds a password change the server has not stored yet.
    pub unsynced: bool,
    /// The server's newer copy, found by a sync (a change made elsewhere, possibly colliding
    /// with one made here). Both copies are kept until the user picks one; the server's is used
    /// only once its password opens it.
    pub conflict: Option<StoredBackup>,
    /// A recovery code was made here and the user has not yet confirmed saving its kit (the tab
    /// closed first): the vault asks for a new kit. Absent in older records.
    #[serde(default)]
    pub kit_unconfirmed: bool,
}

impl std::fmt::Debug for LocalVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalVault")
            .field("format", &self.format)
            .field("email", &"<redacted>")
            .field("backup_version", &self.backup.version)
            .field("unsynced", &self.unsynced)
            .field("conflict", &self.conflict.as_ref().map(|c| c.version))
            .finish_non_exhaustive()
    }
}

impl LocalVault {
    /// Reads a saved record, refusing one of another layout or with a malformed backup.
    pub fn from_json(json: &str) -> Result<Self, LocalCopyError> {
        let local: Self = serde_json::from_str(json).map_err(|e| LocalCopyError(e.to_string()))?;
        if local.format != LOCAL_FORMAT {
            return Err(LocalCopyError(format!(
                "layout {} is not supported",
                local.format
            )));
        }
        local
            .backup
            .envelope
            .validate()
            .map_err(|e| LocalCopyError(e.to_string()))?;
        EmailAddress::parse(&local.email).map_err(|e| LocalCopyError(e.to_string()))?;
        Ok(local)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn public_key(&self) -> Option<PublicKey> {
        self.backup.envelope.validate().ok()
    }
}
