//! One browser tab's vault session: the steps of signup and login as a state machine over
//! [`crate::flow`]. The web worker holds one of these; everything secret stays inside it and only
//! public values (npub, expiry times, error codes) come out.

use sigil_shared::email::EmailAddress;
use sigil_shared::method::CodeSent;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::secret::Password;

use crate::error::ClientError;
use crate::flow::{AfterVerify, CodeSession, StoredBackup, Vault};
use crate::server::Server;
use crate::transport::Transport;

/// Where the user is in the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Enter an email address.
    Email,
    /// Enter the emailed code.
    Code,
    /// New account: choose a password.
    ChoosePassword,
    /// Existing account: enter the password to unlock the downloaded backup.
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
}

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

/// Shorter passwords fall to a GPU in days even behind Argon2id; the strength meter pushes higher.
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug)]
pub struct Session<T> {
    server: Server<T>,
    code: Option<CodeSession>,
    after_verify: Option<AfterVerify>,
    vault: Option<Vault>,
}

impl<T: Transport> Session<T> {
    pub fn new(server: Server<T>) -> Self {
        Self {
            server,
            code: None,
            after_verify: None,
            vault: None,
        }
    }

    pub fn step(&self) -> Step {
        match (&self.vault, &self.after_verify, &self.code) {
            (Some(_), _, _) => Step::Unlocked,
            (None, Some(AfterVerify::NewAccount { .. }), _) => Step::ChoosePassword,
            (None, Some(AfterVerify::Existing(_)), _) => Step::Unlock,
            (None, None, Some(_)) => Step::Code,
            (None, None, None) => Step::Email,
        }
    }

    fn expect_step(&self, allowed: &[Step]) -> Result<(), OutOfStep> {
        let step = self.step();
        if allowed.contains(&step) {
            Ok(())
        } else {
            Err(OutOfStep(step))
        }
    }

    /// Sends a code to `email`; also used to change the address or resend.
    pub async fn request_code(&mut self, email: &str) -> Result<CodeSent, SessionError> {
        self.expect_step(&[Step::Email, Step::Code])?;
        let code = CodeSession::request(&self.server, email).await?;
        let sent = code.sent.clone();
        self.code = Some(code);
        Ok(sent)
    }

    /// A fresh code to the address already entered (new ephemeral key, same throttles).
    pub async fn resend_code(&mut self) -> Result<CodeSent, SessionError> {
        self.expect_step(&[Step::Code])?;
        let email = self
            .email()
            .map(|e| e.as_str().to_owned())
            .ok_or(OutOfStep(Step::Email))?;
        self.request_code(&email).await
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.code.as_ref().map(|c| &c.email)
    }

    pub async fn verify_code(&mut self, code: &str) -> Result<Step, SessionError> {
        self.expect_step(&[Step::Code])?;
        let session = self.code.as_ref().ok_or(OutOfStep(Step::Email))?;
        self.after_verify = Some(session.verify(&self.server, code).await?);
        Ok(self.step())
    }

    /// New account: checks the two entries, then generates, seals and registers the key.
    pub async fn create_account(
        &mut self,
        password: &Password,
        repeated: &Password,
    ) -> Result<PublicKey, SessionError> {
        self.expect_step(&[Step::ChoosePassword])?;
        check_new_password(password, repeated)?;
        let Some(AfterVerify::NewAccount { entropy }) = self.after_verify.as_ref() else {
            return Err(OutOfStep(self.step()).into());
        };
        let code = self.code.as_ref().ok_or(OutOfStep(Step::Email))?;
        // On failure the step stays the same, so the user can retry (e.g. after a network drop).
        let vault = code
            .create_account(&self.server, *entropy, password)
            .await?;
        let pubkey = vault.public_key();
        self.code = None;
        self.after_verify = None;
        self.vault = Some(vault);
        Ok(pubkey)
    }

    /// Existing account: opens the downloaded backup locally. A wrong password can be retried.
    pub fn unlock(&mut self, password: &Password) -> Result<PublicKey, SessionError> {
        self.expect_step(&[Step::Unlock])?;
        let Some(AfterVerify::Existing(backup)) = self.after_verify.as_ref() else {
            return Err(OutOfStep(self.step()).into());
        };
        let vault = Vault::unlock(StoredBackup::clone(backup), password)?;
        let pubkey = vault.public_key();
        self.after_verify = None;
        self.code = None;
        self.vault = Some(vault);
        Ok(pubkey)
    }

    pub fn vault(&self) -> Option<&Vault> {
        self.vault.as_ref()
    }

    /// The open vault, after checking that `password` unlocks its backup: exporting or showing
    /// the key needs the password again, so an unattended open screen is not enough.
    fn confirmed_vault(&self, password: &Password) -> Result<&Vault, SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        let vault = self.vault.as_ref().ok_or(OutOfStep(Step::Email))?;
        let backup = vault.backup();
        backup
            .envelope
            .open(password, &backup.entropy)
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

    /// Re-encrypts the key under a new password and uploads it with compare-and-swap. If the
    /// upload fails the vault keeps its previous backup, so local and server copies never diverge.
    pub async fn change_password(
        &mut self,
        old: &Password,
        new: &Password,
        repeated: &Password,
    ) -> Result<u64, SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        check_new_password(new, repeated)?;
        let kdf = self.server.info().kdf;
        let vault = self.vault.as_mut().ok_or(OutOfStep(Step::Email))?;
        let previous = vault.backup().clone();
        let envelope = vault.change_password(old, new, kdf)?;
        match vault
            .push_backup(&self.server, envelope, previous.version)
            .await
        {
            Ok(version) => Ok(version),
            Err(error) => {
                vault.restore_backup(previous);
                Err(error.into())
            }
        }
    }

    /// Deletes the account on the server, then forgets everything locally.
    pub async fn delete_account(&mut self) -> Result<(), SessionError> {
        self.expect_step(&[Step::Unlocked])?;
        let vault = self.vault.as_ref().ok_or(OutOfStep(Step::Email))?;
        // On failure the vault stays open: nothing was deleted, the user may retry.
        vault.delete_account(&self.server).await?;
        self.lock();
        Ok(())
    }

    /// Forgets every secret and returns to the first step.
    pub fn lock(&mut self) {
        self.vault = None;
        self.after_verify = None;
        self.code = None;
    }
}

impl SessionError {
    /// Stable code for the UI to key on.
    pub fn code(&self) -> String {
        use sigil_shared::envelope::EnvelopeError;
        match self {
            Self::Client(ClientError::Server(body)) => serde_json::to_value(body.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            Self::Client(ClientError::Envelope(EnvelopeError::WrongPasswordOrTampered)) => {
                "wrong_password".into()
            }
            Self::Client(ClientError::Transport(_)) => "network".into(),
            Self::Client(ClientError::Email(_)) => "invalid_email".into(),
            Self::Client(_) => "client_error".into(),
            Self::OutOfStep(_) => "out_of_step".into(),
            Self::PasswordsDiffer => "passwords_differ".into(),
            Self::PasswordTooShort => "password_too_short".into(),
            Self::Export(_) => "export_failed".into(),
        }
    }

    /// What to tell the person at the keyboard.
    pub fn user_message(&self) -> String {
        use sigil_shared::envelope::EnvelopeError;
        match self {
            Self::Client(ClientError::Server(body)) => match body.retry_after {
                Some(seconds) => format!(
                    "{} (try again in {})",
                    body.message,
                    human_duration(seconds)
                ),
                None => body.message.clone(),
            },
            Self::Client(ClientError::Envelope(EnvelopeError::WrongPasswordOrTampered)) => {
                "That password does not unlock this vault. Check it and try again.".into()
            }
            Self::Client(ClientError::Transport(_)) => {
                "The server could not be reached. Check your connection and try again.".into()
            }
            other => other.to_string(),
        }
    }
}

fn human_duration(seconds: u64) -> String {
    match seconds {
        0..=90 => format!("{seconds} s"),
        _ => format!("{} min", seconds.div_ceil(60)),
    }
}
