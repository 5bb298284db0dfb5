//! The vault worker's entry point. It owns the [`Session`] and so every secret; the page sends it
//! [`Command`]s and gets back only public values or a [`Failure`] (see [`crate::worker_api`]).
//! After each command it saves this device's copy of the vault in IndexedDB when it changed.

use std::cell::RefCell;

use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::nips::nip19::ToBech32;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::recovery::RecoveryCode;
use sigil_shared::secret::Password;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::fetch::FetchTransport;
use super::signer;
use crate::browser::storage::{self, Record};
use crate::error::ClientError;
use crate::server::Server;
use crate::session::{Keep, LocalVault, Session, Step, Sync};
use crate::wording::{self, session_failure};
use crate::worker_api::{
    Answer, Command, Connected, Failure, FromWorker, NextStep, Opened, Outcome, PasskeyRequest,
    PasskeyView, Private, ToWorker, credential_id,
};

thread_local! {
    static SESSION: RefCell<Option<Session<FetchTransport>>> = const { RefCell::new(None) };
    /// The record last written to IndexedDB, to skip writes that change nothing.
    static SAVED: RefCell<String> = const { RefCell::new(String::new()) };
}

type Reply = Outcome;

/// One password beside a command, copied into this module's memory (zeroized after use).
fn password(bytes: Option<Vec<u8>>) -> Result<Password, Failure> {
    let bytes = bytes.ok_or_else(wording::password_missing)?;
    Password::from_utf8(bytes).map_err(|_| wording::password_not_text())
}

fn npub(pubkey: &PublicKey) -> String {
    pubkey.to_bech32().unwrap_or_default()
}

fn synced(outcome: Sync, unsynced: bool) -> Answer {
    Answer::Synced(outcome, unsynced)
}

/// The vault just opened: the signer starts answering apps with its key. `kit` is a recovery
/// code just made, to show once.
async fn opened(
    session: &mut Session<FetchTransport>,
    pubkey: &PublicKey,
    kit: Option<RecoveryCode>,
) -> Answer {
    signer::opened(session).await;
    Answer::Opened(Opened {
        npub: npub(pubkey),
        relays: session.relays().to_vec(),
        notice: session.take_notice(),
        kit: kit.map(|code| shown(&code)),
        needs_kit: session.needs_kit(),
    })
}

/// A recovery code as the user writes it down: the page must show it (see SECURITY.md).
fn shown(code: &RecoveryCode) -> Private {
    Private(code.display().to_string())
}

/// The recovery code typed beside a command, read in this module's memory and wiped.
fn recovery_code(bytes: Option<Vec<u8>>) -> Result<RecoveryCode, Failure> {
    let bytes = Zeroizing::new(bytes.ok_or_else(wording::password_missing)?);
    let text = std::str::from_utf8(&bytes).map_err(|_| wording::password_not_text())?;
    RecoveryCode::parse(text).map_err(|e| wording::recovery_code(&e))
}

/// A passkey's PRF output beside a command, in this module's memory (wiped after use).
fn prf_output(bytes: Option<Vec<u8>>) -> Result<Zeroizing<[u8; 32]>, Failure> {
    let bytes = Zeroizing::new(bytes.ok_or_else(wording::passkey_failed)?);
    let mut output = Zeroizing::new([0u8; 32]);
    if bytes.len() != output.len() {
        return Err(wording::passkey_failed());
    }
    output.copy_from_slice(&bytes);
    Ok(output)
}

/// A credential id the page names.
fn credential(text: &str) -> Result<Vec<u8>, Failure> {
    credential_id(text).ok_or_else(wording::not_understood)
}

fn passkeys(session: &Session<FetchTransport>) -> Answer {
    Answer::Passkeys(session.passkeys().iter().map(PasskeyView::of).collect())
}

/// The saved record, or none; an unreadable one is reported and left in place, not deleted.
async fn load_saved() -> Option<LocalVault> {
    let json = match storage::load(Record::Vault).await {
        Ok(json) => json?,
        Err(error) => {
            web_sys::console::warn_1(&format!("saved vault not read: {}", error.0).into());
            return None;
        }
    };
    match LocalVault::from_json(&json) {
        Ok(local) => {
            SAVED.with(|s| *s.borrow_mut() = json);
            Some(local)
        }
        Err(error) => {
            web_sys::console::warn_1(&error.to_string().into());
            None
        }
    }
}

/// Writes this device's copy if it changed since the last write.
async fn persist(session: &Session<FetchTransport>) -> Result<(), Failure> {
    let Some(local) = session.local() else {
        return Ok(());
    };
    let json = local.to_json();
    if SAVED.with(|s| *s.borrow() == json) {
        return Ok(());
    }
    storage::save(Record::Vault, &json)
        .await
        .map_err(|e| wording::not_saved(&e.0))?;
    SAVED.with(|s| *s.borrow_mut() = json);
    Ok(())
}

async fn forget_saved() -> Result<(), Failure> {
    storage::clear()
        .await
        .map_err(|e| wording::not_removed(&e.0))?;
    SAVED.with(|s| s.borrow_mut().clear());
    Ok(())
}

/// Reaches the server, or with no network starts from the copy saved on this device.
async fn connect(announcement: Option<String>) -> Reply {
    let saved = load_saved().await;
    let (server, online) = match Server::connect_with(FetchTransport::new(), announcement).await {
        Ok(server) => (server, true),
        Err(ClientError::Transport(_) | ClientError::UnexpectedStatus(_)) if saved.is_some() => {
            let info = saved
                .as_ref()
                .map(|l| l.server.clone())
                .ok_or_else(wording::no_saved_server)?;
            let server = Server::from_saved(FetchTransport::new(), info)
                .map_err(|e| session_failure(&e.into()))?;
            (server, false)
        }
        Err(error) => return Err(session_failure(&error.into())),
    };
    let connected = Connected {
        server_npub: server.info().npub.clone(),
        online,
        saved_email: saved.as_ref().map(|local| Private(local.email.clone())),
        unsynced: saved.as_ref().is_some_and(|local| local.unsynced),
    };
    let session = match saved {
        Some(local) => Session::resume(server, local),
        None => Session::new(server),
    };
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    Ok(Answer::Connected(connected))
}

/// Runs one command (`message`: a [`ToWorker`] as JSON) and returns a [`FromWorker`] reply as
/// JSON; it never throws. `first`, `second` and `third` carry password bytes (copied into this
/// module's memory, zeroized after use); the caller wipes its own copies.
#[wasm_bindgen]
pub async fn vault_call(
    message: String,
    first: Option<Vec<u8>>,
    second: Option<Vec<u8>>,
    third: Option<Vec<u8>>,
) -> String {
    let (id, outcome) = match serde_json::from_str::<ToWorker>(&message) {
        Ok(ToWorker(id, command)) => (id, execute(command, [first, second, third]).await),
        Err(_) => (0, Err(wording::not_understood())),
    };
    serde_json::to_string(&FromWorker::Reply(id, outcome)).unwrap_or_default()
}

async fn execute(command: Command, secrets: [Option<Vec<u8>>; 3]) -> Reply {
    if let Command::Connect(announcement) = command {
        signer::stop();
        return connect(announcement).await;
    }
    // Taken out while a command runs, so no borrow is held across an await.
    let mut session = SESSION
        .with(|s| s.borrow_mut().take())
        .ok_or_else(wording::busy)?;
    let removes_local_copy = command.removes_local_copy();
    let result = run(&mut session, command, secrets).await;
    let saved = if removes_local_copy && result.is_ok() {
        forget_saved().await
    } else {
        persist(&session).await
    };
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    let answer = result?;
    saved?;
    Ok(answer)
}

async fn run(
    session: &mut Session<FetchTransport>,
    command: Command,
    secrets: [Option<Vec<u8>>; 3],
) -> Reply {
    let [secret, repeated, third] = secrets;
    let fail = |e| session_failure(&e);
    let answer = match command {
        // Handled by `execute`, before a session is taken out to run a command on.
        Command::Connect(_) => return Err(wording::not_understood()),
        // The signer's own: run by its module.
        Command::SignerState
        | Command::NewBunkerLink
        | Command::ReadInvitation(_)
        | Command::AcceptInvitation(_)
        | Command::RevokeApp(_)
        | Command::AnswerPrompt(..) => return signer::command(session, &command).await,
        Command::RequestCode(email) => {
            Answer::CodeSent(session.request_code(&email).await.map_err(fail)?)
        }
        Command::ResendCode => Answer::CodeSent(session.resend_code().await.map_err(fail)?),
        Command::VerifyCode(code) => {
            let next = match session.verify_code(&code).await.map_err(fail)? {
                Step::ChoosePassword => NextStep::ChoosePassword,
                Step::Unlock => NextStep::Unlock,
                Step::Email | Step::Code | Step::Unlocked => {
                    return Err(wording::unexpected_answer());
                }
            };
            Answer::Verified(next)
        }
        Command::ImportKey => {
            let text = Zeroizing::new(secret.unwrap_or_default());
            let text = std::str::from_utf8(&text).map_err(|_| wording::password_not_text())?;
            let password = match repeated {
                Some(bytes) if !bytes.is_empty() => password(Some(bytes))?,
                _ => Password::new(""),
            };
            let (pubkey, insecure) = session.import_key(text, &password).map_err(fail)?;
            Answer::KeyImported(npub(&pubkey), insecure)
        }
        Command::ForgetImportedKey => {
            session.forget_imported_key();
            Answer::Done
        }
        Command::CreateAccount => {
            let (first, second) = (password(secret)?, password(repeated)?);
            let (pubkey, code) = session
                .create_account(&first, &second)
                .await
                .map_err(fail)?;
            opened(session, &pubkey, Some(code)).await
        }
        Command::Unlock => {
            let pubkey = session.unlock(&password(secret)?).map_err(fail)?;
            opened(session, &pubkey, None).await
        }
        Command::Recover => {
            let code = recovery_code(secret)?;
            let (new, again) = (password(repeated)?, password(third)?);
            let (pubkey, fresh) = session.recover(&code, &new, &again).map_err(fail)?;
            // Saved before the network is tried: a closed tab must not lose the new password.
            persist(session).await?;
            opened(session, &pubkey, Some(fresh)).await
        }
        Command::UnlockFromEarlier => {
            let (pubkey, _) = session
                .unlock_from_history(&password(secret)?)
                .await
                .map_err(fail)?;
            opened(session, &pubkey, None).await
        }
        Command::PublishRelayList => {
            let published = session.publish_relay_list().await.map_err(fail)?;
            Answer::RelayListPublished(published, session.relays().len())
        }
        Command::Sync => {
            let sync = session.sync().await.map_err(fail)?;
            synced(sync, session.unsynced())
        }
        Command::ChangePassword => {
            let (old, new, again) = (password(secret)?, password(repeated)?, password(third)?);
            session.change_password(&old, &new, &again).map_err(fail)?;
            // Saved here before the network is tried: a closed tab must not lose the change.
            persist(session).await?;
            let sync = session.sync().await.map_err(fail)?;
            synced(sync, session.unsynced())
        }
        Command::ResolveConflict(keep) => {
            let other = match keep {
                Keep::ThisDevice => None,
                Keep::OtherDevice => Some(password(secret)?),
            };
            let sync = session.resolve_conflict(keep, other.as_ref()).await;
            synced(sync.map_err(fail)?, session.unsynced())
        }
        Command::NewRecoveryCode => {
            let code = session
                .new_recovery_code(&password(secret)?)
                .map_err(fail)?;
            persist(session).await?;
            Answer::RecoveryKit(shown(&code))
        }
        Command::ConfirmKit => {
            session.confirm_kit();
            Answer::Done
        }
        Command::NpubQr => {
            let vault = session.vault().ok_or_else(wording::vault_locked)?;
            Answer::Qr(signer::qr(&npub(&vault.public_key()), "QR code of your npub").await?)
        }
        Command::Passkeys => passkeys(session),
        Command::BeginPasskey => {
            let registration = session.begin_passkey(&password(secret)?).map_err(fail)?;
            Answer::PasskeyRequest(PasskeyRequest::of(&registration))
        }
        Command::AddPasskey(id, name) => {
            let output = prf_output(secret)?;
            let now = Timestamp::now().as_secs();
            session
                .add_passkey(credential(&id)?, &name, &output, now)
                .map_err(fail)?;
            persist(session).await?;
            passkeys(session)
        }
        Command::RemovePasskey(id) => {
            session.remove_passkey(&credential(&id)?).map_err(fail)?;
            persist(session).await?;
            passkeys(session)
        }
        Command::UnlockWithPasskey(id) => {
            let output = prf_output(secret)?;
            let pubkey = session
                .unlock_with_passkey(&credential(&id)?, &output)
                .map_err(fail)?;
            opened(session, &pubkey, None).await
        }
        Command::ExportNcryptsec => Answer::Key(Private(
            session.export_ncryptsec(&password(secret)?).map_err(fail)?,
        )),
        // The user asked to see the raw key: the one place a secret leaves the worker.
        Command::RevealNsec => Answer::Key(Private(
            session.reveal_nsec(&password(secret)?).map_err(fail)?,
        )),
        Command::DeleteAccount => {
            session
                .delete_account(&password(secret)?)
                .await
                .map_err(fail)?;
            signer::forget();
            Answer::Done
        }
        Command::Lock => {
            signer::stop();
            session.lock();
            Answer::Done
        }
        Command::Forget => {
            signer::forget();
            session.forget();
            Answer::Done
        }
    };
    Ok(answer)
}
