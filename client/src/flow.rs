//! The vault journeys: email code, new account or unlock, password change, sync.
//!
//! Every secret (password, account key, derived key) stays in zeroizing types; what reaches the
//! server is the email address, the code, public keys and the opaque backup envelope.

use sigil_shared::argon2id::FillLanes;
use sigil_shared::dvm::sign_key_proof;
use sigil_shared::email::EmailAddress;
use sigil_shared::envelope::{
    BackupEnvelope, Entropy, EnvelopeError, KdfParams, Opened, OpenedBackup, PasskeyInfo,
    SlotEnvelope, SlotKind, Unlock,
};
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, BackupVersions, CodeSent, Request, Verified,
};
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::recovery::RecoveryCode;
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

    /// Seals the account key (a new one, or one the user brought) under the password and a new
    /// recovery code, and registers it. The key never leaves this function except inside the
    /// sealed envelope and the returned [`Vault`]; the code is for the user's emergency kit. On
    /// success the caller drops this session: its ephemeral key has no further use.
    pub async fn create_account<T: Transport>(
        &self,
        server: &Server<T>,
        entropy: Entropy,
        password: &Password,
        secret: &AccountSecret,
    ) -> Result<(Vault, RecoveryCode), ClientError> {
        server.progress(Progress::DerivingKey);
        let lanes = server.transport().lanes();
        let (envelope, opened) =
            SlotEnvelope::create(secret, password, &entropy, server.info().kdf, lanes)?;
        let code = RecoveryCode::generate();
        let envelope = BackupEnvelope::Slots(envelope.with_recovery(&opened, &code)?);
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
        let vault = Vault {
            opened,
            backup: StoredBackup {
                entropy,
                envelope,
                version: stored.backup_version,
            },
        };
        Ok((vault, code))
    }
}

/// An unlocked account: the secret key and the backup's data key in memory, and the backup
/// they came from, always of the current envelope version.
#[derive(Debug)]
pub struct Vault {
    opened: Opened,
    backup: StoredBackup,
}

/// What [`Vault::unlock`] did beyond opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlocked {
    /// The backup was of the current version.
    AsIs,
    /// The backup was of an earlier envelope version and is now sealed again as the current
    /// one, under the same password; it waits to be synced like a password change.
    Upgraded,
}

impl Vault {
    /// Opens a backup of the current version locally, with `lanes` filling Argon2id's memory.
    /// No network: a wrong password is known without asking anyone.
    pub fn unlock(
        backup: StoredBackup,
        password: &Password,
        lanes: &dyn FillLanes,
    ) -> Result<Self, ClientError> {
        match backup
            .envelope
            .open_with_password(password, &backup.entropy, lanes)?
        {
            OpenedBackup::Slots(opened) => Ok(Self { opened, backup }),
            OpenedBackup::Legacy(_) => {
                Err(EnvelopeError::UnsupportedVersion(backup.envelope.version()).into())
            }
        }
    }

    /// Like [`Self::unlock`], and a backup of an earlier version is sealed again at once as
    /// the current version with `kdf`, while the password is at hand.
    pub fn unlock_upgrading(
        mut backup: StoredBackup,
        password: &Password,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<(Self, Unlocked), ClientError> {
        match backup
            .envelope
            .open_with_password(password, &backup.entropy, lanes)?
        {
            OpenedBackup::Slots(opened) => Ok((Self { opened, backup }, Unlocked::AsIs)),
            OpenedBackup::Legacy(secret) => {
                let (envelope, opened) =
                    SlotEnvelope::create(&secret, password, &backup.entropy, kdf, lanes)?;
                backup.envelope = BackupEnvelope::Slots(envelope);
                Ok((Self { opened, backup }, Unlocked::Upgraded))
            }
        }
    }

    /// Opens a backup with a passkey: `credential` is the one the authenticator used and
    /// `prf_output` its PRF output for that slot's salt. Local, like a password unlock; only a
    /// backup of the current version has passkeys.
    pub fn unlock_with_passkey(
        backup: StoredBackup,
        credential: &[u8],
        prf_output: &[u8; 32],
    ) -> Result<Self, ClientError> {
        let BackupEnvelope::Slots(envelope) = &backup.envelope else {
            return Err(EnvelopeError::NoSlot(SlotKind::Passkey).into());
        };
        let opened = envelope.open(&Unlock::Passkey {
            credential,
            prf_output,
        })?;
        Ok(Self { opened, backup })
    }

    /// Opens a backup with its recovery code, locally, and at once replaces its password with
    /// `new` and the code with a fresh one (the one typed here may have been seen): neither the
    /// old password nor the old code opens the result. Returns the new code for a new kit.
    pub fn recover(
        mut backup: StoredBackup,
        code: &RecoveryCode,
        new: &Password,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<(Self, RecoveryCode), ClientError> {
        let BackupEnvelope::Slots(envelope) = &backup.envelope else {
            return Err(EnvelopeError::NoSlot(SlotKind::Recovery).into());
        };
        let opened = envelope.open(&Unlock::Recovery(code))?;
        let changed = envelope.with_password(&opened, new, &backup.entropy, kdf, lanes)?;
        let fresh = RecoveryCode::generate();
        let changed = changed.with_recovery(&opened, &fresh)?;
        backup.envelope = BackupEnvelope::Slots(changed);
        Ok((Self { opened, backup }, fresh))
    }

    /// A vault whose key came from another backup than `newest` (an earlier version that
    /// opened when `newest` did not): the key is sealed again under `password` as a new
    /// envelope, to replace `newest` at its version.
    pub(crate) fn recovered(
        secret: &AccountSecret,
        newest: &StoredBackup,
        password: &Password,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<Self, ClientError> {
        let (envelope, opened) =
            SlotEnvelope::create(secret, password, &newest.entropy, kdf, lanes)?;
        let backup = StoredBackup {
            entropy: newest.entropy,
            envelope: BackupEnvelope::Slots(envelope),
            version: newest.version,
        };
        Ok(Self { opened, backup })
    }

    pub fn public_key(&self) -> PublicKey {
        self.opened.secret().public_key()
    }

    pub fn secret(&self) -> &AccountSecret {
        self.opened.secret()
    }

    pub fn backup(&self) -> &StoredBackup {
        &self.backup
    }

    /// The backup's slots: a vault's backup is always of the current version.
    fn slots(&self) -> Result<&SlotEnvelope, ClientError> {
        match &self.backup.envelope {
            BackupEnvelope::Slots(envelope) => Ok(envelope),
            BackupEnvelope::Password(envelope) => {
                Err(EnvelopeError::UnsupportedVersion(envelope.v).into())
            }
        }
    }

    /// Replaces the password slot locally; works offline. The old password must unlock the
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
        let changed =
            self.slots()?
                .with_password(&self.opened, new, &self.backup.entropy, kdf, lanes)?;
        self.backup.envelope = BackupEnvelope::Slots(changed);
        Ok(self.backup.envelope.clone())
    }

    /// Replaces the recovery code (or adds one to a backup that has none) locally; the old code
    /// no longer opens the result. Synced like a password change.
    pub fn new_recovery_code(&mut self) -> Result<RecoveryCode, ClientError> {
        let code = RecoveryCode::generate();
        let changed = self.slots()?.with_recovery(&self.opened, &code)?;
        self.backup.envelope = BackupEnvelope::Slots(changed);
        Ok(code)
    }

    /// The passkeys that open the backup, in the order they were added.
    pub fn passkeys(&self) -> Vec<PasskeyInfo> {
        self.slots().map(SlotEnvelope::passkeys).unwrap_or_default()
    }

    /// Adds a passkey's slot locally (at most [`sigil_shared::envelope::MAX_PASSKEYS`]); synced
    /// like a password change.
    pub fn add_passkey(
        &mut self,
        info: PasskeyInfo,
        prf_output: &[u8; 32],
    ) -> Result<(), ClientError> {
        let changed = self.slots()?.with_passkey(&self.opened, info, prf_output)?;
        self.backup.envelope = BackupEnvelope::Slots(changed);
        Ok(())
    }

    /// Removes a passkey's slot locally: once synced, that passkey opens the backup nowhere.
    pub fn remove_passkey(&mut self, credential: &[u8]) -> Result<(), ClientError> {
        let changed = self.slots()?.without_passkey(&self.opened, credential)?;
        self.backup.envelope = BackupEnvelope::Slots(changed);
        Ok(())
    }

    /// Whether the backup has a recovery code.
    pub fn has_recovery_code(&self) -> bool {
        self.slots()
            .is_ok_and(|slots| slots.has(SlotKind::Recovery))
    }

    /// Uses the server's version number for this device's backup: keeping this device's change
    /// over a conflicting one made elsewhere.
    pub fn rebase(&mut self, version: u64) {
        self.backup.version = version;
    }

    /// Uses another backup of this same key, opened here (`opened` is its data key): the
    /// server's newer copy, when the user chose it.
    pub fn adopt(&mut self, opened: Opened, backup: StoredBackup) -> Result<(), ClientError> {
        if opened.secret().public_key() != self.public_key() {
            return Err(EnvelopeError::ForeignKey.into());
        }
        self.opened = opened;
        self.backup = backup;
        Ok(())
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
                self.secret().keys(),
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
            .call(self.secret().keys(), &Request::GetBackup { version: None })
            .await?;
        let stored = StoredBackup {
            entropy: Entropy::from_hex(&record.entropy)?,
            envelope: record.backup,
            version: record.backup_version,
        };
        if stored.envelope.validate()? != self.public_key() {
            return Err(EnvelopeError::ForeignKey.into());
        }
        // The entropy is the account's for good; a server that changes it is trying something.
        if stored.entropy != self.backup.entropy {
            return Err(ClientError::EntropyChanged);
        }
        if stored.envelope.is_rollback_of(&self.backup.envelope) {
            return Err(ClientError::RolledBack);
        }
        Ok(stored)
    }

    pub async fn delete_account<T: Transport>(
        &self,
        server: &Server<T>,
    ) -> Result<(), ClientError> {
        let _: AccountDeleted = server
            .call(self.secret().keys(), &Request::DeleteAccount {})
            .await?;
        Ok(())
    }
}
