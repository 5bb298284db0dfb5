//! The vault journeys: email code, new account or unlock, password change, sync.
//!
//! Every secret (password, account key, derived key) stays in zeroizing types; what reaches the
//! server is the email address, the code, public keys and the opaque backup envelope.

use sigil_shared::argon2id::FillLanes;
use sigil_shared::dvm::sign_key_proof;
use sigil_shared::email::EmailAddress;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, BackupVersions, CodeSent, Request, Verified,
};
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::error::ClientError;
use crate::server::Server;
use crate::transport::{Progress, Transport};

/// A pending email verification, tied to a throwaway key that signs its requests.
#[derive(Debug)]
pub struct CodeSession {
    ephemeral: Keys,
    pub email: EmailAddress,
    pub sent: CodeSent,
}

/// What the user may do after the code is accepted.
#[derive(Debug)]
pub enum AfterVerify {
    /// No account for this address: choose a password, then [`CodeSession::create_account`].
    NewAccount { entropy: Entropy },
    /// An account exists: the backup is here, unlock it with [`Vault::unlock`].
    Existing(StoredBackup),
}

/// The backup as the server keeps it, with what is needed to open it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredBackup {
    pub entropy: Entropy,
    pub envelope: BackupEnvelope,
    pub version: u64,
}

impl CodeSession {
    /// Asks the server to email a code. The same step for signup and login.
    pub async fn request<T: Transport>(
        server: &Server<T>,
        email: &str,
    ) -> Result<Self, ClientError> {
        let email = EmailAddress::parse(email)?;
        let ephemeral = Keys::generate();
        let sent: CodeSent = server
            .call(
                &ephemeral,
                &Request::RequestCode {
                    email: email.as_str().to_owned(),
                },
            )
            .await?;
        Ok(Self {
            ephemeral,
            email,
            sent,
        })
    }

    /// Sends a fresh code to the same address, under a new ephemeral key.
    pub async fn resend<T: Transport>(&self, server: &Server<T>) -> Result<Self, ClientError> {
        Self::request(server, self.email.as_str()).await
    }

    pub async fn verify<T: Transport>(
        &self,
        server: &Server<T>,
        code: &str,
    ) -> Result<AfterVerify, ClientError> {
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let verified: Verified = server
            .call(&self.ephemeral, &Request::VerifyCode { code })
            .await?;
        Ok(match verified {
            Verified::New { entropy } => AfterVerify::NewAccount {
                entropy: Entropy::from_hex(&entropy)?,
            },
            Verified::Existing {
                entropy,
                backup,
                backup_version,
            } => AfterVerify::Existing(StoredBackup {
                entropy: Entropy::from_hex(&entropy)?,
                envelope: backup,
                version: backup_version,
            }),
        })
    }

    /// The backups the server keeps for this verified session's account, newest first.
    pub async fn list_backups<T: Transport>(
        &self,
        server: &Server<T>,
    ) -> Result<BackupVersions, ClientError> {
        server.call(&self.ephemeral, &Request::ListBackups {}).await
    }

    /// One kept version of this verified session's account's backup.
    pub async fn backup_version<T: Transport>(
        &self,
        server: &Server<T>,
        version: u64,
    ) -> Result<StoredBackup, ClientError> {
        let record: BackupRecord = server
            .call(
                &self.ephemeral,
                &Request::GetBackup {
                    version: Some(version),
                },
            )
            .await?;
        Ok(StoredBackup {
            entropy: Entropy::from_hex(&record.entropy)?,
            envelope: record.backup,
            version: record.backup_version,
        })
    }

    /// Generates the account key, seals it under the password and registers it. The key never
    /// leaves this function except inside the sealed envelope and the returned [`Vault`]. On
    /// success the caller drops this session: its ephemeral key has no further use.
    pub async fn create_account<T: Transport>(
        &self,
        server: &Server<T>,
        entropy: Entropy,
        password: &Password,
    ) -> Result<Vault, ClientError> {
        let secret = AccountSecret::generate();
        server.progress(Progress::DerivingKey);
        let lanes = server.transport().lanes();
        let envelope = BackupEnvelope::seal(&secret, password, &entropy, server.info().kdf, lanes)?;
        let proof = sign_key_proof(
            secret.keys(),
            &self.ephemeral.public_key(),
            Timestamp::now(),
        )?;
        let stored: BackupStored = server
            .call(
                &self.ephemeral,
                &Request::Activate {
                    pubkey: secret.public_key().to_hex(),
                    backup: envelope.clone(),
                    proof: proof.as_json(),
                },
            )
            .await?;
        Ok(Vault {
            secret,
            backup: StoredBackup {
                entropy,
                envelope,
                version: stored.backup_version,
            },
        })
    }
}

/// An unlocked account: the secret key in memory, and the backup it came from.
#[derive(Debug)]
pub struct Vault {
    secret: AccountSecret,
    backup: StoredBackup,
}

impl Vault {
    /// Opens a backup locally, with `lanes` filling Argon2id's memory. No network: a wrong
    /// password is known without asking anyone.
    pub fn unlock(
        backup: StoredBackup,
        password: &Password,
        lanes: &dyn FillLanes,
    ) -> Result<Self, ClientError> {
        let secret = backup.envelope.open(password, &backup.entropy, lanes)?;
        Ok(Self { secret, backup })
    }

    /// A vault whose key came from another backup than `backup` (an earlier version that
    /// opened when `backup` did not); `backup` is then replaced by sealing the key again.
    pub(crate) fn recovered(secret: AccountSecret, backup: StoredBackup) -> Self {
        Self { secret, backup }
    }

    pub fn public_key(&self) -> PublicKey {
        self.secret.public_key()
    }

    pub fn secret(&self) -> &AccountSecret {
        &self.secret
    }

    pub fn backup(&self) -> &StoredBackup {
        &self.backup
    }

    /// Re-encrypts locally under a new password; works offline. The old password must unlock the
    /// current backup, so a walk-up attacker at an unlocked screen cannot change it. Returns the
    /// new envelope to sync with [`Vault::push_backup`]; `self` already uses it.
    pub fn change_password(
        &mut self,
        old: &Password,
        new: &Password,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<BackupEnvelope, ClientError> {
        self.backup
            .envelope
            .open(old, &self.backup.entropy, lanes)?;
        let envelope = BackupEnvelope::seal(&self.secret, new, &self.backup.entropy, kdf, lanes)?;
        self.backup.envelope = envelope.clone();
        Ok(envelope)
    }

    /// Seals a backup of an earlier envelope version again as the current version, under the
    /// same `password` (the one that just opened it) and `kdf`; true if it did. Like a password
    /// change it works offline and is synced with [`Vault::push_backup`].
    pub fn upgrade_envelope(
        &mut self,
        password: &Password,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<bool, ClientError> {
        if !self.backup.envelope.is_outdated() {
            return Ok(false);
        }
        let entropy = &self.backup.entropy;
        self.backup.envelope = BackupEnvelope::seal(&self.secret, password, entropy, kdf, lanes)?;
        Ok(true)
    }

    /// Uses another backup of this same key: one saved before [`Vault::change_password`], or the
    /// server's newer copy. The caller has checked that it belongs to this key.
    pub fn replace_backup(&mut self, backup: StoredBackup) {
        self.backup = backup;
    }

    /// Uploads `envelope` if the server still holds `base_version` (compare-and-swap). On a
    /// conflict the server's copy is untouched and the error names its version.
    pub async fn push_backup<T: Transport>(
        &mut self,
        server: &Server<T>,
        envelope: BackupEnvelope,
        base_version: u64,
    ) -> Result<u64, ClientError> {
        let stored: BackupStored = server
            .call(
                self.secret.keys(),
                &Request::UpdateBackup {
                    backup: envelope,
                    base_version,
                },
            )
            .await?;
        self.backup.version = stored.backup_version;
        Ok(stored.backup_version)
    }

    /// The server's current backup for this account. Refuses one for another key.
    pub async fn fetch_backup<T: Transport>(
        &self,
        server: &Server<T>,
    ) -> Result<StoredBackup, ClientError> {
        let record: BackupRecord = server
            .call(self.secret.keys(), &Request::GetBackup { version: None })
            .await?;
        let stored = StoredBackup {
            entropy: Entropy::from_hex(&record.entropy)?,
            envelope: record.backup,
            version: record.backup_version,
        };
        if stored.envelope.validate()? != self.public_key() {
            return Err(sigil_shared::envelope::EnvelopeError::ForeignKey.into());
        }
        // The entropy is the account's for good; a server that changes it is trying something.
        if stored.entropy != self.backup.entropy {
            return Err(ClientError::EntropyChanged);
        }
        Ok(stored)
    }

    pub async fn delete_account<T: Transport>(
        &self,
        server: &Server<T>,
    ) -> Result<(), ClientError> {
        let _: AccountDeleted = server
            .call(self.secret.keys(), &Request::DeleteAccount {})
            .await?;
        Ok(())
    }
}
