//! The vault worker's entry point. It owns the [`Session`] and so every secret; the page sends it
//! commands and gets back only public values or an error `{code, message}`, as JSON strings.
//! After each command it saves this device's copy of the vault in IndexedDB when it changed.

use std::cell::RefCell;

use serde_json::{Value, json};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::nips::nip19::ToBech32;
use sigil_shared::secret::Password;
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use super::storage;
use crate::error::ClientError;
use crate::server::Server;
use crate::session::{Keep, LocalVault, Session, SessionError, Step, Sync};

thread_local! {
    static SESSION: RefCell<Option<Session<FetchTransport>>> = const { RefCell::new(None) };
    /// The record last written to IndexedDB, to skip writes that change nothing.
    static SAVED: RefCell<String> = const { RefCell::new(String::new()) };
}

fn failure(code: &str, message: &str) -> JsValue {
    JsValue::from_str(&json!({ "code": code, "message": message }).to_string())
}

fn session_failure(error: &SessionError) -> JsValue {
    failure(&error.code(), &error.user_message())
}

fn password(bytes: Option<Vec<u8>>) -> Result<Password, JsValue> {
    let bytes = bytes.ok_or_else(|| failure("invalid_request", "A password is needed."))?;
    Password::from_utf8(bytes)
        .map_err(|_| failure("invalid_request", "The password is not valid text."))
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::Email => "email",
        Step::Code => "code",
        Step::ChoosePassword => "choose_password",
        Step::Unlock => "unlock",
        Step::Unlocked => "unlocked",
    }
}

fn npub(pubkey: &PublicKey) -> String {
    pubkey.to_bech32().unwrap_or_default()
}

fn sync_reply(sync: Sync, unsynced: bool) -> Value {
    let (name, version) = match sync {
        Sync::UpToDate => ("up_to_date", None),
        Sync::Pushed(v) => ("pushed", Some(v)),
        Sync::Adopted(v) => ("adopted", Some(v)),
        Sync::Offline => ("offline", None),
        Sync::Conflict(v) => ("conflict", Some(v)),
    };
    json!({ "sync": name, "version": version, "unsynced": unsynced })
}

/// What the page may show about the account kept on this device.
fn account_summary(local: &LocalVault) -> Value {
    json!({
        "email": local.email,
        "npub": local.public_key().map(|k| npub(&k)),
        "unsynced": local.unsynced,
        "conflict": local.conflict.is_some(),
    })
}

/// The saved record, or none; an unreadable one is reported and left in place, not deleted.
async fn load_saved() -> Option<LocalVault> {
    let json = match storage::load().await {
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
async fn persist(session: &Session<FetchTransport>) -> Result<(), JsValue> {
    let Some(local) = session.local() else {
        return Ok(());
    };
    let json = local.to_json();
    if SAVED.with(|s| *s.borrow() == json) {
        return Ok(());
    }
    storage::save(&json).await.map_err(|e| {
        failure(
            "storage",
            &format!("This device could not save your vault: {}", e.0),
        )
    })?;
    SAVED.with(|s| *s.borrow_mut() = json);
    Ok(())
}

async fn forget_saved() -> Result<(), JsValue> {
    storage::clear().await.map_err(|e| {
        failure(
            "storage",
            &format!("This device's copy could not be removed: {}", e.0),
        )
    })?;
    SAVED.with(|s| s.borrow_mut().clear());
    Ok(())
}

/// Reaches the server, or with no network starts from the copy saved on this device.
async fn connect() -> Result<String, JsValue> {
    let saved = load_saved().await;
    let (server, online) = match Server::connect(FetchTransport).await {
        Ok(server) => (server, true),
        Err(ClientError::Transport(_) | ClientError::UnexpectedStatus(_)) if saved.is_some() => {
            let info = saved.as_ref().map(|l| l.server.clone());
            let server = info
                .ok_or_else(|| failure("local_copy", "No saved server."))
                .and_then(|info| {
                    Server::from_saved(FetchTransport, info).map_err(|e| session_failure(&e.into()))
                })?;
            (server, false)
        }
        Err(error) => return Err(session_failure(&error.into())),
    };
    let info = json!({
        "npub": server.info().npub,
        "default_relays": server.info().default_relays,
        "online": online,
        "account": saved.as_ref().map(account_summary),
    });
    let session = match saved {
        Some(local) => Session::resume(server, local),
        None => Session::new(server),
    };
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    Ok(info.to_string())
}

/// Runs one command. `first`, `second` and `third` carry password bytes (copied into this
/// module's memory, zeroized after use); the caller wipes its own copies.
#[wasm_bindgen]
pub async fn vault_call(
    op: String,
    arg: String,
    first: Option<Vec<u8>>,
    second: Option<Vec<u8>>,
    third: Option<Vec<u8>>,
) -> Result<String, JsValue> {
    if op == "connect" {
        return connect().await;
    }
    // Taken out while a command runs, so no borrow is held across an await.
    let mut session = SESSION.with(|s| s.borrow_mut().take()).ok_or_else(|| {
        failure(
            "busy",
            "Another action is still running, or the server is not connected yet.",
        )
    })?;
    let result = run(&mut session, &op, &arg, [first, second, third]).await;
    let saved = match op.as_str() {
        "delete_account" | "forget" if result.is_ok() => forget_saved().await,
        _ => persist(&session).await,
    };
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    let reply = result?;
    saved?;
    Ok(reply)
}

async fn run(
    session: &mut Session<FetchTransport>,
    op: &str,
    arg: &str,
    secrets: [Option<Vec<u8>>; 3],
) -> Result<String, JsValue> {
    let [secret, repeated, third] = secrets;
    let fail = |e: SessionError| session_failure(&e);
    let reply = match op {
        "request_code" => {
            let sent = session.request_code(arg).await.map_err(fail)?;
            json!({ "expires_in": sent.expires_in, "resend_after": sent.resend_after })
        }
        "resend_code" => {
            let sent = session.resend_code().await.map_err(fail)?;
            json!({ "expires_in": sent.expires_in, "resend_after": sent.resend_after })
        }
        "verify_code" => {
            let step = session.verify_code(arg).await.map_err(fail)?;
            json!({ "step": step_name(step) })
        }
        "create_account" => {
            let (first, second) = (password(secret)?, password(repeated)?);
            let pubkey = session
                .create_account(&first, &second)
                .await
                .map_err(fail)?;
            json!({ "npub": npub(&pubkey), "relays": session.relays() })
        }
        "unlock" => {
            let pubkey = session.unlock(&password(secret)?).map_err(fail)?;
            json!({ "npub": npub(&pubkey), "relays": session.relays() })
        }
        "publish_relay_list" => {
            let published = session.publish_relay_list().await.map_err(fail)?;
            json!({ "published": published, "relays": session.relays().len() })
        }
        "sync" => {
            let sync = session.sync().await.map_err(fail)?;
            sync_reply(sync, session.unsynced())
        }
        "change_password" => {
            let (old, new, again) = (password(secret)?, password(repeated)?, password(third)?);
            session.change_password(&old, &new, &again).map_err(fail)?;
            // Saved here before the network is tried: a closed tab must not lose the change.
            persist(session).await?;
            let sync = session.sync().await.map_err(fail)?;
            sync_reply(sync, session.unsynced())
        }
        "resolve_conflict" => {
            let keep = match arg {
                "this_device" => Keep::ThisDevice,
                "other_device" => Keep::OtherDevice,
                _ => return Err(failure("invalid_request", "Unknown choice.")),
            };
            let other = secret.map(Password::from_utf8).transpose();
            let other =
                other.map_err(|_| failure("invalid_request", "The password is not valid text."))?;
            let sync = session.resolve_conflict(keep, other.as_ref()).await;
            sync_reply(sync.map_err(fail)?, session.unsynced())
        }
        "export_ncryptsec" => {
            let exported = session.export_ncryptsec(&password(secret)?).map_err(fail)?;
            json!({ "key": exported })
        }
        "reveal_nsec" => {
            // The user asked to see the raw key: the one place a secret leaves the worker.
            let nsec = session.reveal_nsec(&password(secret)?).map_err(fail)?;
            json!({ "key": nsec })
        }
        "delete_account" => {
            session.delete_account().await.map_err(fail)?;
            json!({})
        }
        "lock" => {
            session.lock();
            json!({})
        }
        "forget" => {
            session.forget();
            json!({})
        }
        _ => return Err(failure("invalid_request", "Unknown command.")),
    };
    Ok(reply.to_string())
}
