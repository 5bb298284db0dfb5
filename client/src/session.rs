//! One browser tab's vault session: the steps of signup, login, unlock and sync as a state
//! machine over [`crate::flow`]. The web worker holds one of these; everything secret stays inside
//! it and only public values (npub, expiry times, error codes) come out.
//!
//! Besides the secrets, a session knows this device's copy of the account ([`LocalVault`]): what
//! the web glue keeps in IndexedDB so that the vault unlocks with no network, and a password
//! change made offline waits there until the server takes it.

use serde::{Deserialize, Serialize};
use sigil_shared::email::EmailAddress;
use sigil_shared::envelope::{
    BackupEnvelope, Entropy, EnvelopeError, MAX_PASSKEY_NAME_BYTES, OpenedBackup, PasskeyInfo,
};
use sigil_shared::error::ErrorCode;
use sigil_shared::method::CodeSent;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::recovery::RecoveryCode;
use sigil_shared::secret::{AccountSecret, Password};

use crate::error::ClientError;
use crate::flow::{AfterVerify, CodeSession, StoredBackup, Unlocked, Vault};
use crate::import::{ImportError, read_key};
use crate::local_vault::LOCAL_FORMAT;
pub use crate::local_vault::LocalVault;
use crate::relay::relay_list;
use crate::server::Server;
use crate::transport::{Progress, Transport};

/// Where the user is in the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Enter an email address.
    Email,
    /// Enter the emailed code.
    Code,
    /// New account: choose a password.
    ChoosePassword,
    /// A backup is here (downloaded, or kept on this device): enter the password to open it.
    Unlock,
    /// The vault is open.
    Unlocked,
}

/// A request that does not fit the current step (a UI bug, or a double submit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this action is not possible at this step ({0:?})")]
pub struct OutOfStep(pub Step);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    OutOfStep(#[from] OutOfStep),
    #[error("the two passwords do not match")]
    PasswordsDiffer,
    #[error("choose a password of at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the key could not be exported: {0}")]
    Export(String),
    #[error("enter the password that was set on the other device")]
    PasswordNeeded,
    #[error("confirm your password before adding a passkey")]
    PasskeyNotStarted,
    #[error(transparent)]
    Import(#[from] ImportError),
}

impl SessionError {
    /// A password that does not open the backup (or a backup altered so that none would).
    pub fn is_wrong_password(&self) -> bool {
        matches!(
            self,
            Self::Client(ClientError::Envelope(
                EnvelopeError::WrongPasswordOrTampered
            ))
        )
    }
}

/// Shorter passwords fall to a GPU in days even behind Argon2id; the strength meter pushes higher.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// scrypt cost of exported `ncryptsec` keys: 2^16 (64 MiB), NIP-49's suggested level.
const NCRYPTSEC_LOG_N: u8 = 16;

fn check_new_password(password: &Password, repeated: &Password) -> Result<(), SessionError> {
    if password.as_bytes() != repeated.as_bytes() {
        return Err(SessionError::PasswordsDiffer);
    }
    if password.as_str().chars().count() < MIN_PASSWORD_CHARS {
        return Err(SessionError::PasswordTooShort);
    }
    Ok(())
}

/// What the browser's WebAuthn registration of a new passkey needs: the user handle (the
/// account's public key: one passkey per account on an authenticator), the PRF input the new
/// slot will use, and the credentials already in the backup, which an authenticator must not
/// register twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRegistration {
    pub user_id: [u8; 32],
    pub prf_salt: [u8; 32],
    pub exclude: Vec<Vec<u8>>,
}

/// A passkey's name as stored: what the user typed without control characters, trimmed, cut
/// to what the envelope holds; "Passkey" when nothing is left.
pub fn passkey_name(typed: &str) -> String {
    let clean: String = typed.chars().filter(|c| !c.is_control()).collect();
    let mut name = clean.trim();
    while name.len() > MAX_PASSKEY_NAME_BYTES {
        let mut end = MAX_PASSKEY_NAME_BYTES;
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name = name[..end].trim_end();
    }
    if name.is_empty() { "Passkey" } else { name }.to_owned()
}

/// What the user should know about the unlock that just happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnlockNotice {
    /// The backup was of an earlier envelope version; it is sealed again as the current one.
    Upgraded,
    /// The newest backup did not open with the password, this earlier version did; the key is
    /// sealed again under the password as the newest.
    Recovered(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sync {
    /// The server holds the same backup as this device.
    UpToDate,
    /// This device's password change is now on the server, at this version.
    Pushed(u64),
    /// The server's newer backup opened with the password the user just gave; this device now
    /// uses it (the other device's password).
    Adopted(u64),
    /// The server has a newer backup than this device (a password change elsewhere, or a server
    /// playing tricks). It is not used until the user gives the password that opens it; until
    /// then this device keeps its own copy. Settled like a conflict. The number is the server's
    /// version.
    ChangedElsewhere(u64),
    /// The server could not be reached; a local change stays queued.
    Offline,
    /// The password was changed here and elsewhere; the user must pick one. The number is the
    /// server's version.
    Conflict(u64),
}

/// How the user settles a [`Sync::Conflict`] (as the page asks the vault worker).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The password chosen on this device: it replaces the server's copy.
    ThisDevice,
    /// The password chosen on the other device: this device uses the server's copy.
    OtherDevice,
}

#[derive(Debug)]
enum State {
    Email,
    Code(CodeSession),
    /// A new account; `imported` is the key the user brought, if they did.
    NewAccount {
        code: CodeSession,
        entropy: Entropy,
        imported: Option<AccountSecret>,
    },
    Locked(StoredBackup),
    Unlocked(Vault),
}

#[derive(Debug)]
pub struct Session<T> {
    server: Server<T>,
    state: State,
    /// Redacted in `Debug`, like every address.
    email: Option<EmailAddress>,
    relays: Vec<String>,
    relay_list_published: bool,
    unsynced: bool,
    conflict: Option<StoredBackup>,
    /// Whether this account belongs on this device: it was created or unlocked here. A backup
    /// downloaded for a login is not kept until its password has opened it.
    keep_locally: bool,
    /// The account this device held when a new code was asked for: a login to the same account
    /// must be answered with the same KDF entropy, and with no older backup than this one.
    known: Option<(PublicKey, Entropy, BackupEnvelope)>,
    /// A login's verified code session, until the backup is open: it may read the account's
    /// earlier backups (see [`Session::unlock_from_history`]).
    login: Option<CodeSession>,
    /// What the last unlock did beyond opening, until [`Session::take_notice`].
    notice: Option<UnlockNotice>,
    /// A recovery code was made and its kit not yet confirmed saved.
    kit_unconfirmed: bool,
    /// The PRF input of a passkey being registered, once the password allowed it.
    passkey_salt: Option<[u8; 32]>,
}

impl<T: Transport> Session<T> {
    pub fn new(server: Server<T>) -> Self {
        Self {
            server,
            state: State::Email,
            email: None,
            relays: Vec::new(),
            relay_list_published: false,
            unsynced: false,
            conflict: None,
            keep_locally: false,
            known: None,
            login: None,
            notice: None,
            kit_unconfirmed: false,
            passkey_salt: None,
        }
    }

    /// Starts from this device's saved copy: the next step is unlocking it, with or without
    /// network.
    pub fn resume(server: Server<T>, local: LocalVault) -> Self {
        Self {
            server,
            state: State::Locked(local.backup),
            email: EmailAddress::parse(&local.email).ok(),
            relays: local.relays,
            relay_list_published: local.relay_list_published,
            unsynced: local.unsynced,
            conflict: local.conflict,
            keep_locally: true,
            known: None,
            login: None,
            notice: None,
            kit_unconfirmed: local.kit_unconfirmed,
            passkey_salt: None,
        }
    }

    pub fn step(&self) -> Step {
        step_of(&self.state)
    }

    fn expect_step(&self, allowed: &[Step]) -> Result<(), OutOfStep> {
        let step = self.step();
        if allowed.contains(&step) {
            Ok(())
        } else {
            Err(OutOfStep(step))
        }
    }

    fn vault_mut(&mut self) -> Result<&mut Vault, OutOfStep> {
        match &mut self.state {
            State::Unlocked(vault) => Ok(vault),
            other => Err(OutOfStep(step_of(other))),
        }
    }

    pub fn relays(&self) -> &[String] {
        &self.relays
    }

    /// The copy of the account to keep on this device, if there is one to keep.
    pub fn local(&self) -> Option<LocalVault> {
        let backup = match &self.state {
            State::Locked(backup) => backup.clone(),
            State::Unlocked(vault) => vault.backup().clone(),
            _ => return None,
        };
        if !self.keep_locally {
            return None;
        }
        Some(LocalVault {
            format: LOCAL_FORMAT,
            server: self.server.info().clone(),
            email: self.email.as_ref()?.as_str().to_owned(),
            relays: self.relays.clone(),
            relay_list_published: self.relay_list_published,
            backup,
            unsynced: self.unsynced,
            conflict: self.conflict.clone(),
            kit_unconfirmed: self.kit_unconfirmed,
        })
    }

    /// Sends a code to `email`; also used to change the address, to resend, or to log in to
    /// another account than the one kept on this device.
    pub async fn request_code(&mut self, email: &str) -> Result<CodeSent, SessionError> {
        self.expect_step(&[Step::Email, Step::Code, Step::Unlock])?;
        let code = CodeSession::request(&self.server, email).await?;
        let held = match &self.state {
            State::Locked(backup) => Some(backup),
            State::Unlocked(vault) => Some(vault.backup()),
            _ => None,
        };
        if let Some(backup) = held {
            self.known = backup
                .envelope
                .validate()
                .ok()
                .map(|key| (key, backup.entropy, backup.envelope.clone()));
        }
        let sent = code.sent.clone();
        self.email = Some(code.email.clone());
        self.unsynced = false;
        self.conflict = None;
        self.keep_locally = false;
        self.state = State::Code(code);
        Ok(sent)
    }

    /// A fresh code to the address already entered (new ephemeral key, same throttles).
    pub async fn resend_code(&mut self) -> Result<CodeSent, SessionError> {
        let State::Code(code) = &self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        let email = code.email.as_str().to_owned();
        self.request_code(&email).await
    }

    pub async fn verify_code(&mut self, code: &str) -> Result<Step, SessionError> {
        let State::Code(session) = &self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        let verified = session.verify(&self.server, code).await?;
        let State::Code(session) = std::mem::replace(&mut self.state, State::Email) else {
            return Err(OutOfStep(Step::Email).into());
        };
        self.relays = self.server.info().default_relays.clone();
        self.relay_list_published = false;
        self.state = match verified {
            AfterVerify::NewAccount { entropy } => State::NewAccount {
                code: session,
                entropy,
                imported: None,
            },
            AfterVerify::Existing(backup) => {
                let account = backup.envelope.validate().map_err(ClientError::from)?;
                if let Some((known, entropy, envelope)) = &self.known
                    && *known == account
                {
                    if *entropy != backup.entropy {
                        return Err(ClientError::EntropyChanged.into());
                    }
                    if backup.envelope.is_rollback_of(envelope) {
                        return Err(ClientError::RolledBack.into());
                    }
                }
                self.login = Some(session);
                State::Locked(backup)
            }
        };
        Ok(self.step())
    }

    /// New account: checks the two entries, then generates, seals and registers the key.
    /// Returns the recovery code for the emergency kit, which the user confirms saving with
    /// [`Session::confirm_kit`].
    pub async fn create_account(
        &mut self,
        password: &Password,
        repeated: &Password,
    ) -> Result<(PublicKey, RecoveryCode), SessionError> {
        let State::NewAccount {
            code,
            entropy,
            imported,
        } = &self.state
        else {
            return Err(OutOfStep(self.step()).into());
        };
        check_new_password(password, repeated)?;
        let generated;
        let secret = match imported {
            Some(secret) => secret,
            None => {
                generated = AccountSecret::generate();
                &generated
            }
        };
        // On failure the step stays the same, so the user can retry (e.g. after a network drop).
        let (vault, code) = code
            .create_account(&self.server, *entropy, password, secret)
            .await?;
        let pubkey = vault.public_key();
        // The ephemeral key goes with the code session: it has no further use.
        self.state = State::Unlocked(vault);
        self.keep_locally = true;
        self.kit_unconfirmed = true;
        Ok((pubkey, code))
    }

    /// Uses a key the user brought (an `nsec`, or an `ncryptsec` with `password`) for the new
    /// account instead of a new one. Returns its public key, to show before anything is sent,
    /// and whether NIP-49 says it was handled insecurely before.
    pub fn import_key(
        &mut self,
        text: &str,
        password: &Password,
    ) -> Result<(PublicKey, bool), SessionError> {
        let State::NewAccount { imported, .. } = &mut self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        let read = read_key(text, password)?;
        let pubkey = read.secret.public_key();
        *imported = Some(read.secret);
        Ok((pubkey, read.handled_insecurely))
    }

    /// Back to a new key for the new account.
    pub fn forget_imported_key(&mut self) {
        if let State::NewAccount { imported, .. } = &mut self.state {
            *imported = None;
        }
    }

    /// "Forgot password": opens the backup with its recovery code instead, sets the new
    /// password (checked like a new account's) and replaces the code, all on this device; the
    /// change is queued like a password change and [`Session::sync`] sends it. Returns the new
    /// code for a new kit.
    pub fn recover(
        &mut self,
        code: &RecoveryCode,
        new: &Password,
        repeated: &Password,
    ) -> Result<(PublicKey, RecoveryCode), SessionError> {
        let State::Locked(backup) = &self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        check_new_password(new, repeated)?;
        self.server.progress(Progress::DerivingKey);
        let (kdf, lanes) = (self.server.info().kdf, self.server.transport().lanes());
        let (vault, fresh) = Vault::recover(backup.clone(), code, new, kdf, lanes)?;
        let pubkey = vault.public_key();
        self.state = State::Unlocked(vault);
        self.unsynced = true;
        self.keep_locally = true;
        self.login = None;
        self.kit_unconfirmed = true;
        Ok((pubkey, fresh))
    }

    /// A new recovery code in place of the old one (which stops working once synced). Needs
    /// the password, as export does.
    pub fn new_recovery_code(&mut self, password: &Password) -> Result<RecoveryCode, SessionError> {
        self.confirmed_vault(password)?;
        let code = self.vault_mut()?.new_recovery_code()?;
        self.unsynced = true;
        self.kit_unconfirmed = true;
        Ok(code)
    }

    /// The user saved the emergency kit of the last recovery code.
    pub fn confirm_kit(&mut self) {
        self.kit_unconfirmed = false;
    }

    /// Whether the open vault should ask for an emergency kit: it has no recovery code, or
    /// the last one's kit was never confirmed saved.
    pub fn needs_kit(&self) -> bool {
        self.vault()
            .is_some_and(|vault| self.kit_unconfirmed || !vault.has_recovery_code())
    }

    /// Publishes the account's relay list (NIP-65, kind 10002, signed here) on those relays,
    /// once: after activation, or at a later unlock if no relay took it then. Returns how many
    /// relays took it; 0 when it was published before.
    pub async fn publish_relay_list(&mut self) -> Result<usize, SessionError> {
        let vault = self.vault().ok_or(OutOfStep(self.step()))?;
        if self.relay_list_published || self.relays.is_empty() {
            return Ok(0);
        }
        let event = relay_list(vault.secret().keys(), &self.relays, Timestamp::now())
            .map_err(ClientError::from)?;
        let accepted = self
            .server
            .transport()
            .publish_on_relays(&self.relays, &event)
            .await
            .map_err(ClientError::from)?;
        self.relay_list_published = accepted > 0;
        Ok(accepted)
    }

    /// Opens the backup locally, with no network. A wrong password can be retried.
    pub fn unlock(&mut self, password: &Password) -> Result<PublicKey, SessionError> {
        let State::Locked(backup) = &self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        self.server.progress(Progress::DerivingKey);
        let lanes = self.server.transport().lanes();
        if backup.envelope.is_outdated() {
            // Opening, then sealing again as the current version: two derivations.
            self.server.progress(Progress::DerivingKey);
        }
        let kdf = self.server.info().kdf;
        let (vault, unlocked) = Vault::unlock_upgrading(backup.clone(), password, kdf, lanes)?;
        // An upgraded backup is synced like a password change.
        if unlocked == Unlocked::Upgraded {
            self.unsynced = true;
            self.notice = Some(UnlockNotice::Upgraded);
        }
        let pubkey = vault.public_key();
        self.state = State::Unlocked(vault);
        self.keep_locally = true;
        self.login = None;
        Ok(pubkey)
    }

    /// Opens the backup with a passkey, locally like [`Session::unlock`]: `credential` is the
    /// one the authenticator used, `prf_output` its PRF output for that slot's salt.
    pub fn unlock_with_passkey(
        &mut self,
        credential: &[u8],
        prf_output: &[u8; 32],
    ) -> Result<PublicKey, SessionError> {
        let State::Locked(backup) = &self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        let vault = Vault::unlock_with_passkey(backup.clone(), credential, prf_output)?;
        let pubkey = vault.public_key();
        self.state = State::Unlocked(vault);
        self.keep_locally = true;
        self.login = None;
        Ok(pubkey)
    }

    /// The passkeys that open the backup held here, locked or open.
    pub fn passkeys(&self) -> Vec<PasskeyInfo> {
        let backup = match &self.state {
            State::Locked(backup) => backup,
            State::Unlocked(vault) => return vault.passkeys(),
            _ => return Vec::new(),
        };
        match &backup.envelope {
            BackupEnvelope::Slots(envelope) => envelope.passkeys(),
            BackupEnvelope::Password(_) => Vec::new(),
        }
    }

    /// Starts adding a passkey: a new way in needs the password, as a new password does, so an
    /// unattended open screen is not enough. Returns what the browser registers it with.
    pub fn begin_passkey(
        &mut self,
        password: &Password,
    ) -> Result<PasskeyRegistration, SessionError> {
        let vault = self.confirmed_vault(password)?;
        let registration = PasskeyRegistration {
            user_id: vault.public_key().to_bytes(),
            prf_salt: rand::random(),
            exclude: vault.passkeys().into_iter().map(|p| p.credential).collect(),
        };
        self.passkey_salt = Some(registration.prf_salt);
        Ok(registration)
    }

    /// Adds the passkey the browser just registered after [`Session::begin_passkey`], with its
    /// PRF output for the salt given then; queued and synced like a password change.
    pub fn add_passkey(
        &mut self,
        credential: Vec<u8>,
        name: &str,
        prf_output: &[u8; 32],
        now: u64,
    ) -> Result<(), SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        let prf_salt = self
            .passkey_salt
            .take()
            .ok_or(SessionError::PasskeyNotStarted)?;
        let info = PasskeyInfo {
            credential,
            name: passkey_name(name),
            created: now,
            prf_salt,
        };
        self.vault_mut()?.add_passkey(info, prf_output)?;
        self.unsynced = true;
        Ok(())
    }

    /// Removes a passkey: once synced, it opens the backup on no device.
    pub fn remove_passkey(&mut self, credential: &[u8]) -> Result<(), SessionError> {
        self.vault_mut()?.remove_passkey(credential)?;
        self.unsynced = true;
        Ok(())
    }

    /// What the last unlock did beyond opening the backup, once.
    pub fn take_notice(&mut self) -> Option<UnlockNotice> {
        self.notice.take()
    }

    /// Whether [`Session::unlock_from_history`] can run: a login whose code session may still
    /// read the account's earlier backups, and a backup not open yet.
    pub fn can_search_history(&self) -> bool {
        self.login.is_some() && matches!(self.state, State::Locked(_))
    }

    /// After the newest backup refused `password`: tries the earlier versions the server keeps,
    /// newest first. One that opens gives the key back (the newest was made wrong, by a bug or
    /// on a device with another password); the key is then sealed again under `password` on top
    /// of the newest version, queued like a password change. Returns the key and the version
    /// that opened; a password none opens is a wrong password.
    pub async fn unlock_from_history(
        &mut self,
        password: &Password,
    ) -> Result<(PublicKey, u64), SessionError> {
        let (State::Locked(newest), Some(login)) = (&self.state, &self.login) else {
            return Err(OutOfStep(self.step()).into());
        };
        let account = newest.envelope.validate().map_err(ClientError::from)?;
        let lanes = self.server.transport().lanes();
        let kept = login.list_backups(&self.server).await?;
        for earlier in kept.versions.iter().filter(|v| v.version < newest.version) {
            let backup = login.backup_version(&self.server, earlier.version).await?;
            if backup.entropy != newest.entropy {
                return Err(ClientError::EntropyChanged.into());
            }
            self.server.progress(Progress::DerivingKey);
            let secret = match backup
                .envelope
                .open_for(&account, password, &backup.entropy, lanes)
            {
                Ok(secret) => secret,
                // A version this password does not open, or one altered: try the one before.
                Err(EnvelopeError::WrongPasswordOrTampered | EnvelopeError::SlotsAltered) => {
                    continue;
                }
                Err(error) => return Err(ClientError::from(error).into()),
            };
            self.server.progress(Progress::DerivingKey);
            let kdf = self.server.info().kdf;
            let vault = Vault::recovered(&secret, newest, password, kdf, lanes)?;
            self.state = State::Unlocked(vault);
            self.unsynced = true;
            self.keep_locally = true;
            self.login = None;
            self.notice = Some(UnlockNotice::Recovered(earlier.version));
            return Ok((account, earlier.version));
        }
        Err(ClientError::from(EnvelopeError::WrongPasswordOrTampered).into())
    }

    pub fn vault(&self) -> Option<&Vault> {
        match &self.state {
            State::Unlocked(vault) => Some(vault),
            _ => None,
        }
    }

    /// Whether a password change made here still waits for the server.
    pub fn unsynced(&self) -> bool {
        self.unsynced
    }

    /// The server's version, while a conflict waits for the user.
    pub fn conflict_version(&self) -> Option<u64> {
        self.conflict.as_ref().map(|c| c.version)
    }

    /// The open vault, after checking that `password` unlocks its backup: exporting or showing
    /// the key needs the password again, so an unattended open screen is not enough.
    fn confirmed_vault(&self, password: &Password) -> Result<&Vault, SessionError> {
        let vault = self.vault().ok_or(OutOfStep(self.step()))?;
        let backup = vault.backup();
        backup
            .envelope
            .open(password, &backup.entropy, self.server.transport().lanes())
            .map_err(ClientError::from)?;
        Ok(vault)
    }

    /// NIP-49 `ncryptsec` of the key, encrypted under the same password (scrypt, log_n 16).
    pub fn export_ncryptsec(&self, password: &Password) -> Result<String, SessionError> {
        let vault = self.confirmed_vault(password)?;
        vault
            .secret()
            .export_ncryptsec(password, NCRYPTSEC_LOG_N)
            .map_err(|e| SessionError::Export(e.to_string()))
    }

    /// The raw `nsec`, for the user who explicitly asks to see it.
    pub fn reveal_nsec(&self, password: &Password) -> Result<String, SessionError> {
        use sigil_shared::nostr::nips::nip19::ToBech32;
        let vault = self.confirmed_vault(password)?;
        vault
            .secret()
            .keys()
            .secret_key()
            .to_bech32()
            .map_err(|e| SessionError::Export(e.to_string()))
    }

    /// Re-encrypts the key under a new password, on this device only; works offline. The change
    /// is queued: [`Session::sync`] sends it.
    pub fn change_password(
        &mut self,
        old: &Password,
        new: &Password,
        repeated: &Password,
    ) -> Result<(), SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        check_new_password(new, repeated)?;
        let kdf = self.server.info().kdf;
        self.server.progress(Progress::DerivingKey);
        // The fields apart: the vault changes while the transport's lanes are read.
        let State::Unlocked(vault) = &mut self.state else {
            return Err(OutOfStep(self.step()).into());
        };
        vault.change_password(old, new, kdf, self.server.transport().lanes())?;
        self.unsynced = true;
        Ok(())
    }

    /// Brings this device and the server together: sends a queued password change (compare-and-
    /// swap on the version), or finds a newer backup made elsewhere, which waits for the user's
    /// password ([`Session::resolve_conflict`]) and never replaces this device's copy by itself.
    /// Never overwrites a change it has not seen, and an unreachable server is an outcome, not an
    /// error.
    pub async fn sync(&mut self) -> Result<Sync, SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        if let Some(version) = self.conflict_version() {
            return Ok(if self.unsynced {
                Sync::Conflict(version)
            } else {
                Sync::ChangedElsewhere(version)
            });
        }
        let unsynced = self.unsynced;
        let State::Unlocked(vault) = &mut self.state else {
            return Err(OutOfStep(Step::Unlocked).into());
        };
        if unsynced {
            let backup = vault.backup().clone();
            match vault
                .push_backup(&self.server, backup.envelope, backup.version)
                .await
            {
                Ok(version) => {
                    self.unsynced = false;
                    Ok(Sync::Pushed(version))
                }
                Err(ClientError::Transport(_)) => Ok(Sync::Offline),
                Err(error) if error.server_code() == Some(ErrorCode::VersionConflict) => {
                    let theirs = match vault.fetch_backup(&self.server).await {
                        Ok(theirs) => theirs,
                        Err(ClientError::Transport(_)) => return Ok(Sync::Offline),
                        Err(error) => return Err(error.into()),
                    };
                    let version = theirs.version;
                    self.conflict = Some(theirs);
                    Ok(Sync::Conflict(version))
                }
                Err(error) => Err(error.into()),
            }
        } else {
            match vault.fetch_backup(&self.server).await {
                Ok(theirs) if theirs.version > vault.backup().version => {
                    let version = theirs.version;
                    self.conflict = Some(theirs);
                    Ok(Sync::ChangedElsewhere(version))
                }
                Ok(_) => Ok(Sync::UpToDate),
                Err(ClientError::Transport(_)) => Ok(Sync::Offline),
                Err(error) => Err(error.into()),
            }
        }
    }

    /// Settles a conflict, or a change made elsewhere. Keeping this device's password rebases
    /// this device's copy on the server's version and sends it; taking the other device's needs
    /// the password that opens it, so nobody ends up with a backup they cannot open, and a server
    /// cannot slip this device a backup (an old one, say) the user has not unlocked.
    pub async fn resolve_conflict(
        &mut self,
        keep: Keep,
        other_password: Option<&Password>,
    ) -> Result<Sync, SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        let theirs = self.conflict.clone().ok_or(OutOfStep(Step::Unlocked))?;
        match keep {
            Keep::ThisDevice => {
                self.vault_mut()?.rebase(theirs.version);
                self.conflict = None;
                self.unsynced = true;
                self.sync().await
            }
            Keep::OtherDevice => {
                let password = other_password.ok_or(SessionError::PasswordNeeded)?;
                let lanes = self.server.transport().lanes();
                let opened = theirs
                    .envelope
                    .open_with_password(password, &theirs.entropy, lanes)
                    .map_err(ClientError::from)?;
                // A sync refuses an older envelope version before it gets here.
                let OpenedBackup::Slots(opened) = opened else {
                    return Err(ClientError::RolledBack.into());
                };
                let version = theirs.version;
                self.vault_mut()?.adopt(opened, theirs)?;
                self.conflict = None;
                self.unsynced = false;
                Ok(Sync::Adopted(version))
            }
        }
    }

    /// Deletes the account on the server, then forgets it here too. Needs the password, as
    /// export does: an unattended open screen is not enough to destroy the identity.
    pub async fn delete_account(&mut self, password: &Password) -> Result<(), SessionError> {
        let vault = self.confirmed_vault(password)?;
        // On failure the vault stays open: nothing was deleted, the user may retry.
        vault.delete_account(&self.server).await?;
        self.forget();
        Ok(())
    }

    /// Forgets every secret. The backup stays, so the next step is unlocking it again.
    pub fn lock(&mut self) {
        self.login = None;
        self.passkey_salt = None;
        self.state = match std::mem::replace(&mut self.state, State::Email) {
            State::Unlocked(vault) => State::Locked(vault.backup().clone()),
            State::Locked(backup) => State::Locked(backup),
            _ => State::Email,
        };
    }

    /// Forgets the account on this device (not on the server) and returns to the first step.
    pub fn forget(&mut self) {
        self.state = State::Email;
        self.email = None;
        self.relays.clear();
        self.unsynced = false;
        self.conflict = None;
        self.keep_locally = false;
    }
}

fn step_of(state: &State) -> Step {
    match state {
        State::Email => Step::Email,
        State::Code(_) => Step::Code,
        State::NewAccount { .. } => Step::ChoosePassword,
        State::Locked(_) => Step::Unlock,
        State::Unlocked(_) => Step::Unlocked,
    }
}
