//! The methods: what each checks and writes. Every outcome is a [`Reply`]; store failures become
//! `internal` after the cause is logged.

use sigil_shared::dvm::verify_key_proof;
use sigil_shared::email::EmailAddress;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::{ErrorBody, ErrorCode};
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, BackupVersion, BackupVersions, CodeSent, Reply,
    Request, Verified,
};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;

use crate::codes::{self, CodeKind};
use crate::config::CodeLimits;
use crate::keys::HashKey;
use crate::mail::{CodeMail, Mailer};
use crate::store::{MaybeConflict, Store, StoreError, Tx, UserRow, retry_on_conflict};
use crate::throttle::{Plan, Refusal, Throttle};

/// Why a method did not succeed: a protocol answer for the client, or a fault of ours.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error("{0}")]
    Protocol(ErrorBody),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl From<ErrorCode> for MethodError {
    fn from(code: ErrorCode) -> Self {
        Self::Protocol(ErrorBody::new(code))
    }
}

impl From<Refusal> for MethodError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::TooManyCodes { retry_after } => {
                Self::Protocol(ErrorBody::new(ErrorCode::RateLimited).retry_after(retry_after))
            }
        }
    }
}

impl MaybeConflict for MethodError {
    fn is_conflict(&self) -> bool {
        matches!(self, Self::Store(error) if error.is_conflict())
    }
}

type MethodResult<T> = Result<T, MethodError>;

/// The methods and what they need: the store, the keyed hashes, the mailer and the code limits.
#[derive(Debug)]
pub struct Methods {
    pub store: Store,
    pub hash_key: HashKey,
    pub mailer: Mailer,
    pub limits: CodeLimits,
    /// Freshness window for key proofs, as for requests.
    pub window_secs: u64,
    /// The KDF parameters announced for new backups: uploads must be at least as strong.
    pub kdf: KdfParams,
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn version(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Methods {
    /// Runs one method for `signer` at `now` (the request's one clock reading) and turns the
    /// outcome into a reply.
    pub async fn handle(&self, signer: &PublicKey, request: &Request, now: i64) -> Reply {
        let method = request.method();
        // A SERIALIZABLE conflict on PostgreSQL rolled the transaction back and nothing was
        // sent: the method runs again.
        let outcome = retry_on_conflict(|| self.run(signer, request, now)).await;
        match outcome {
            Ok(reply) => {
                tracing::info!(method, outcome = "ok");
                reply
            }
            Err(MethodError::Protocol(body)) => {
                tracing::info!(method, outcome = ?body.code);
                Reply::Error(body)
            }
            Err(error) => {
                tracing::error!(method, %error, "method failed");
                Reply::Error(ErrorBody::new(ErrorCode::Internal))
            }
        }
    }

    async fn run(&self, signer: &PublicKey, request: &Request, now: i64) -> MethodResult<Reply> {
        match request {
            Request::RequestCode { email } => {
                self.request_code(signer, email, now).await.and_then(ok)
            }
            Request::VerifyCode { code } => self.verify_code(signer, code, now).await.and_then(ok),
            Request::Activate {
                pubkey,
                backup,
                proof,
            } => self
                .activate(signer, pubkey, backup, proof, now)
                .await
                .and_then(ok),
            Request::UpdateBackup {
                backup,
                base_version,
            } => self
                .update_backup(signer, backup, *base_version, now)
                .await
                .and_then(ok),
            Request::GetBackup { version } => {
                self.get_backup(signer, *version, now).await.and_then(ok)
            }
            Request::ListBackups {} => self.list_backups(signer, now).await.and_then(ok),
            Request::DeleteAccount {} => self.delete_account(signer).await.and_then(ok),
        }
    }

    async fn request_code(
        &self,
        session: &PublicKey,
        email: &str,
        now: i64,
    ) -> MethodResult<CodeSent> {
        let email = EmailAddress::parse(email).map_err(|_| ErrorCode::InvalidEmail)?;
        if !Mailer::can_address(&email) {
            return Err(ErrorCode::InvalidEmail.into());
        }
        let email_hash = self.hash_key.email(&email);

        // An account's key asks for a code: read before the write lock is taken.
        if self
            .store
            .user_by_pubkey(&session.to_bytes())
            .await?
            .is_some()
        {
            return Err(ErrorCode::WrongSigner.into());
        }
        let mut tx = self.store.begin().await?;
        let mut address = self.throttle(&mut tx, &email_hash, now).await?;
        // Within the gap, the code sent moments ago is in the inbox: this session shares it and
        // nothing is mailed, so an attacker asking first cannot keep the owner from a code.
        let (code_hash, kind, expires_at, resend_after, fresh) =
            match address.plan(&self.limits, now) {
                Plan::Share {
                    code_hash,
                    kind,
                    expires_at,
                    resend_after,
                } => (code_hash, kind, expires_at, resend_after, None),
                Plan::Send(kind) => {
                    // Tagged variants of one mailbox share one gap, so plus-addressing cannot
                    // multiply the mail an inbox receives; the untagged address keeps its own and
                    // cannot be starved.
                    let mailbox = email.mailbox();
                    if mailbox != email {
                        let mailbox_hash = self.hash_key.mailbox(&mailbox);
                        let mut counters = self.throttle(&mut tx, &mailbox_hash, now).await?;
                        counters.check_send(&self.limits, now)?;
                        counters.record_send(now);
                        tx.save_throttle(&mailbox_hash, &counters).await?;
                    }
                    let code = codes::generate(kind)
                        .map_err(|e| MethodError::Internal(format!("rng: {e}")))?;
                    let code_hash = self.hash_key.code(&email_hash, &code).to_vec();
                    let expires_at = now + secs(self.limits.ttl);
                    let wrong_since_success = address.wrong_since_success;
                    address.record_send(now);
                    address.record_code(&code_hash, kind, expires_at);
                    let resend_after = u64::try_from(address.gap(&self.limits, now)).unwrap_or(0);
                    tx.save_throttle(&email_hash, &address).await?;
                    (
                        code_hash,
                        kind,
                        expires_at,
                        resend_after,
                        Some((code, wrong_since_success)),
                    )
                }
            };
        tx.put_session(
            &session.to_bytes(),
            &email_hash,
            &code_hash,
            kind.flag(),
            expires_at,
        )
        .await?;
        tx.commit().await?;
        let sent = CodeSent {
            expires_in: u64::try_from(expires_at - now).unwrap_or(0),
            resend_after,
        };
        let Some((code, wrong_since_success)) = fresh else {
            return Ok(sent);
        };

        // Known and unknown addresses take exactly this path: the reply cannot tell them apart.
        let mail = CodeMail {
            code: &code,
            ttl: self.limits.ttl,
            wrong_since_success: u64::try_from(wrong_since_success).unwrap_or(0),
        };
        self.mailer
            .send_code(&email, &mail)
            .await
            .map_err(|error| {
                tracing::warn!(%error, "code email not sent");
                MethodError::Protocol(ErrorBody::new(ErrorCode::MailFailed))
            })?;
        Ok(sent)
    }

    /// An address's (or mailbox's) limits as stored, or those of one never seen.
    async fn throttle(&self, tx: &mut Tx, hash: &[u8], now: i64) -> MethodResult<Throttle> {
        Ok(tx
            .throttle(hash)
            .await?
            .unwrap_or_else(|| Throttle::fresh(&self.limits, now)))
    }

    async fn verify_code(
        &self,
        session: &PublicKey,
        code: &str,
        now: i64,
    ) -> MethodResult<Verified> {
        let key = session.to_bytes();
        let mut tx = self.store.begin().await?;
        let Some(row) = tx.session(&key).await? else {
            return Err(no_session(&mut tx, &key, ErrorCode::CodeExpired).await);
        };
        if row.expires_at < now {
            return Err(ErrorCode::CodeExpired.into());
        }
        if !row.is_verified() {
            if row.attempts >= i64::from(self.limits.attempts_per_session) {
                return Err(ErrorCode::TooManyAttempts.into());
            }
            let Some(stored) = row.code_hash.as_deref() else {
                return Err(ErrorCode::CodeExpired.into());
            };
            let kind = CodeKind::from_flag(row.code_long);
            let mut address = self.throttle(&mut tx, &row.email_hash, now).await?;
            // A 6-digit code stops working while wrong guesses have spent the address's budget;
            // the next code is 16 digits.
            if address.check_attempt(kind, &self.limits, now).is_err() {
                return Err(ErrorCode::CodeExpired.into());
            }
            let matches = codes::is_well_formed(code, kind)
                && codes::hashes_match(stored, &self.hash_key.code(&row.email_hash, code));
            if !matches {
                address.record_wrong(kind, &self.limits, now);
                tx.save_throttle(&row.email_hash, &address).await?;
                tx.count_failed_attempt(&key).await?;
                tx.commit().await?;
                return Err(ErrorCode::InvalidCode.into());
            }
            address.record_success(stored);
            tx.save_throttle(&row.email_hash, &address).await?;
            tx.retire_code(&row.email_hash, stored).await?;
            // The verified session lasts one more code lifetime: time to choose a password.
            tx.mark_verified(&key, now + secs(self.limits.ttl)).await?;
        }
        // A verified session answers again the same way, so a client whose reply was lost can retry.
        let verified = match tx.user_by_email(&row.email_hash).await? {
            Some(UserRow {
                pubkey: Some(_),
                backup: Some(backup),
                entropy,
                backup_version,
                ..
            }) => Verified::Existing {
                entropy: hex::encode(entropy),
                backup: parse_stored_backup(&backup)?,
                backup_version: version(backup_version),
            },
            Some(user) => Verified::New {
                entropy: hex::encode(user.entropy),
            },
            None => {
                let entropy = Entropy::generate();
                tx.create_pending_user(&row.email_hash, &entropy.0, now)
                    .await?;
                Verified::New {
                    entropy: entropy.to_hex(),
                }
            }
        };
        tx.commit().await?;
        Ok(verified)
    }

    async fn activate(
        &self,
        session: &PublicKey,
        pubkey: &str,
        backup: &BackupEnvelope,
        proof: &str,
        now: i64,
    ) -> MethodResult<BackupStored> {
        let pubkey = PublicKey::from_hex(pubkey).map_err(|_| ErrorCode::InvalidRequest)?;
        let timestamp = Timestamp::from_secs(u64::try_from(now).unwrap_or(0));
        if !verify_key_proof(proof, &pubkey, session, timestamp, self.window_secs) {
            return Err(ErrorCode::InvalidProof.into());
        }
        self.check_upload(backup, &pubkey)?;
        let backup_json =
            serde_json::to_string(backup).map_err(|e| MethodError::Internal(e.to_string()))?;

        let mut tx = self.store.begin().await?;
        let Some(row) = tx.session(&session.to_bytes()).await? else {
            return Err(no_session(&mut tx, &session.to_bytes(), ErrorCode::NotVerified).await);
        };
        if !row.is_verified() || row.expires_at < now {
            return Err(ErrorCode::NotVerified.into());
        }
        if let Some(user) = tx.user_by_pubkey(&pubkey.to_bytes()).await? {
            // This session's own activation again, its reply lost: the same answer.
            let same = user.email_hash == row.email_hash
                && user.backup.as_deref() == Some(backup_json.as_str());
            return if same {
                Ok(BackupStored {
                    backup_version: version(user.backup_version),
                })
            } else {
                Err(ErrorCode::AccountExists.into())
            };
        }
        if !tx
            .activate(&row.email_hash, &pubkey.to_bytes(), &backup_json, now)
            .await?
        {
            return Err(ErrorCode::AccountExists.into());
        }
        // The session stays until it expires, so that a retry is recognised above.
        tx.commit().await?;
        Ok(BackupStored { backup_version: 1 })
    }

    async fn update_backup(
        &self,
        signer: &PublicKey,
        backup: &BackupEnvelope,
        base_version: u64,
        now: i64,
    ) -> MethodResult<BackupStored> {
        self.check_upload(backup, signer)?;
        let backup_json =
            serde_json::to_string(backup).map_err(|e| MethodError::Internal(e.to_string()))?;
        let base = i64::try_from(base_version).map_err(|_| ErrorCode::InvalidRequest)?;
        let key = signer.to_bytes();
        let mut tx = self.store.begin().await?;
        let Some(user) = tx.user_by_pubkey(&key).await? else {
            return Err(no_account(&mut tx, &key).await);
        };
        match tx.swap_backup(&key, &backup_json, base, now).await? {
            Some(new_version) => {
                tx.commit().await?;
                Ok(BackupStored {
                    backup_version: version(new_version),
                })
            }
            // This very backup is stored already: the client's own write, its reply lost.
            None if user.backup.as_deref() == Some(backup_json.as_str()) => Ok(BackupStored {
                backup_version: version(user.backup_version),
            }),
            None => Err(MethodError::Protocol(
                ErrorBody::new(ErrorCode::VersionConflict)
                    .current_version(version(user.backup_version)),
            )),
        }
    }

    /// `invalid_backup`, with what is wrong, for an upload the server must not keep.
    fn check_upload(&self, backup: &BackupEnvelope, account: &PublicKey) -> MethodResult<()> {
        backup.check_upload(account, &self.kdf).map_err(|problem| {
            MethodError::Protocol(ErrorBody::new(ErrorCode::InvalidBackup).problem(problem))
        })
    }

    /// The account a reader of backups may read: the signer's own, or, for a code session
    /// verified (and not expired) for an address with an account, that account, so that a new
    /// device can reach earlier backups before any of them is open.
    async fn readable_account(&self, signer: &PublicKey, now: i64) -> MethodResult<UserRow> {
        let key = signer.to_bytes();
        if let Some(user) = self.store.user_by_pubkey(&key).await? {
            return Ok(user);
        }
        // Reads only: the common case, a key with neither account nor session, takes no lock.
        let Some(session) = self.store.session_account(&key).await? else {
            return Err(ErrorCode::UnknownAccount.into());
        };
        if !session.is_verified() || session.expires_at < now {
            return Err(ErrorCode::WrongSigner.into());
        }
        session
            .account()
            .ok_or_else(|| ErrorCode::UnknownAccount.into())
    }

    async fn get_backup(
        &self,
        signer: &PublicKey,
        version_wanted: Option<u64>,
        now: i64,
    ) -> MethodResult<BackupRecord> {
        let user = self.readable_account(signer, now).await?;
        let current = version(user.backup_version);
        let backup = match version_wanted {
            None => user.backup.clone().ok_or(ErrorCode::UnknownAccount)?,
            Some(wanted) if wanted == current => {
                user.backup.clone().ok_or(ErrorCode::UnknownAccount)?
            }
            Some(wanted) => {
                let pubkey = user.pubkey.as_deref().ok_or(ErrorCode::UnknownAccount)?;
                let history = self.store.backup_history(pubkey).await?;
                let row = history
                    .into_iter()
                    .find(|row| version(row.version) == wanted);
                row.ok_or(ErrorCode::UnknownVersion)?.backup
            }
        };
        Ok(BackupRecord {
            entropy: hex::encode(&user.entropy),
            backup: parse_stored_backup(&backup)?,
            backup_version: version_wanted.unwrap_or(current),
        })
    }

    async fn list_backups(&self, signer: &PublicKey, now: i64) -> MethodResult<BackupVersions> {
        let user = self.readable_account(signer, now).await?;
        let pubkey = user.pubkey.as_deref().ok_or(ErrorCode::UnknownAccount)?;
        let history = self.store.backup_history(pubkey).await?;
        let stored_at = |at: i64| u64::try_from(at).unwrap_or(0);
        let current = BackupVersion {
            version: version(user.backup_version),
            stored_at: stored_at(user.updated_at),
        };
        let earlier = history.iter().map(|row| BackupVersion {
            version: version(row.version),
            stored_at: stored_at(row.stored_at),
        });
        Ok(BackupVersions {
            versions: std::iter::once(current).chain(earlier).collect(),
        })
    }

    async fn delete_account(&self, signer: &PublicKey) -> MethodResult<AccountDeleted> {
        let mut tx = self.store.begin().await?;
        let Some(user) = tx.user_by_pubkey(&signer.to_bytes()).await? else {
            return Err(no_account(&mut tx, &signer.to_bytes()).await);
        };
        tx.delete_user(&user.email_hash).await?;
        tx.commit().await?;
        Ok(AccountDeleted { deleted: true })
    }
}

/// The refusal of an account method whose signer has no account: `wrong_signer` if the key is a
/// code session's (the client signed with the wrong key), `unknown_account` otherwise.
async fn no_account(tx: &mut Tx, key: &[u8]) -> MethodError {
    match tx.session(key).await {
        Ok(Some(_)) => ErrorCode::WrongSigner.into(),
        Ok(None) => ErrorCode::UnknownAccount.into(),
        Err(error) => error.into(),
    }
}

/// The refusal of a session method whose signer has no session: `wrong_signer` if the key is
/// an account's, `otherwise` if not.
async fn no_session(tx: &mut Tx, key: &[u8], otherwise: ErrorCode) -> MethodError {
    match tx.user_by_pubkey(key).await {
        Ok(Some(_)) => ErrorCode::WrongSigner.into(),
        Ok(None) => otherwise.into(),
        Err(error) => error.into(),
    }
}

fn ok<T: serde::Serialize>(result: T) -> MethodResult<Reply> {
    Reply::ok(&result).map_err(|e| MethodError::Internal(e.to_string()))
}

fn parse_stored_backup(json: &str) -> MethodResult<BackupEnvelope> {
    serde_json::from_str(json).map_err(|e| MethodError::Internal(format!("stored backup: {e}")))
}
