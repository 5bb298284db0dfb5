//! The vault worker's entry point. It owns the [`Session`] and so every secret; the page sends it
//! commands and gets back only public values or an error `{code, message}`, as JSON strings.

use std::cell::RefCell;

use serde_json::json;
use sigil_shared::nostr::nips::nip19::ToBech32;
use sigil_shared::secret::Password;
use wasm_bindgen::prelude::*;

use super::fetch::FetchTransport;
use crate::server::Server;
use crate::session::{Session, SessionError, Step};

thread_local! {
    static SESSION: RefCell<Option<Session<FetchTransport>>> = const { RefCell::new(None) };
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

fn npub(pubkey: &sigil_shared::nostr::key::PublicKey) -> String {
    pubkey.to_bech32().unwrap_or_default()
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
        let server = Server::connect(FetchTransport)
            .await
            .map_err(|e| session_failure(&e.into()))?;
        let info =
            json!({ "npub": server.info().npub, "default_relays": server.info().default_relays });
        SESSION.with(|s| *s.borrow_mut() = Some(Session::new(server)));
        return Ok(info.to_string());
    }
    // Taken out while a command runs, so no borrow is held across an await.
    let mut session = SESSION.with(|s| s.borrow_mut().take()).ok_or_else(|| {
        failure(
            "busy",
            "Another action is still running, or the server is not connected yet.",
        )
    })?;
    let result = run(&mut session, &op, &arg, [first, second, third]).await;
    SESSION.with(|s| *s.borrow_mut() = Some(session));
    result
}

async fn run(
    session: &mut Session<FetchTransport>,
    op: &str,
    arg: &str,
    secrets: [Option<Vec<u8>>; 3],
) -> Result<String, JsValue> {
    let [secret, repeated, third] = secrets;
    let reply = match op {
        "request_code" => {
            let sent = session
                .request_code(arg)
                .await
                .map_err(|e| session_failure(&e))?;
            json!({ "expires_in": sent.expires_in, "resend_after": sent.resend_after })
        }
        "resend_code" => {
            let sent = session
                .resend_code()
                .await
                .map_err(|e| session_failure(&e))?;
            json!({ "expires_in": sent.expires_in, "resend_after": sent.resend_after })
        }
        "delete_account" => {
            session
                .delete_account()
                .await
                .map_err(|e| session_failure(&e))?;
            json!({})
        }
        "verify_code" => {
            let step = session
                .verify_code(arg)
                .await
                .map_err(|e| session_failure(&e))?;
            json!({ "step": step_name(step) })
        }
        "create_account" => {
            let (first, second) = (password(secret)?, password(repeated)?);
            let pubkey = session
                .create_account(&first, &second)
                .await
                .map_err(|e| session_failure(&e))?;
            json!({ "npub": npub(&pubkey) })
        }
        "unlock" => {
            let pubkey = session
                .unlock(&password(secret)?)
                .map_err(|e| session_failure(&e))?;
            json!({ "npub": npub(&pubkey) })
        }
        "change_password" => {
            let (old, new, again) = (password(secret)?, password(repeated)?, password(third)?);
            let version = session
                .change_password(&old, &new, &again)
                .await
                .map_err(|e| session_failure(&e))?;
            json!({ "backup_version": version })
        }
        "export_ncryptsec" => {
            let exported = session
                .export_ncryptsec(&password(secret)?)
                .map_err(|e| session_failure(&e))?;
            json!({ "key": exported })
        }
        "reveal_nsec" => {
            // The user asked to see the raw key: the one place a secret leaves the worker.
            let nsec = session
                .reveal_nsec(&password(secret)?)
                .map_err(|e| session_failure(&e))?;
            json!({ "key": nsec })
        }
        "lock" => {
            session.lock();
            json!({})
        }
        _ => return Err(failure("invalid_request", "Unknown command.")),
    };
    Ok(reply.to_string())
}
