//! The vault worker's side of the NIP-46 signer. The signer's code is a WebAssembly module of
//! its own (`client/signer`), which `vault-worker.js` loads the first time it is needed: at an
//! unlock on a device where it was used before, or when the vault's Apps section first asks.
//! The first screen's module stays within its budget that way.
//!
//! The signer's module runs in this same worker: the key goes to it as a copy of its 32 bytes
//! through a JavaScript array that `vault-worker.js` wipes once the module took it; it never
//! leaves the worker.

use std::cell::Cell;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::fetch::FetchTransport;
use crate::browser::storage::{self, Record};
use crate::session::Session;
use crate::wording;
use crate::worker_api::{Command, Failure, Outcome};

#[wasm_bindgen]
extern "C" {
    /// `self.sigilSigner` in `vault-worker.js`: the signer's module, loaded on first use.
    #[wasm_bindgen(js_namespace = sigilSigner, js_name = start, catch)]
    async fn start_module(secret: Uint8Array, relays: String) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = sigilSigner, js_name = stop)]
    fn stop_module();
    #[wasm_bindgen(js_namespace = sigilSigner, js_name = forget)]
    fn forget_module();
    #[wasm_bindgen(js_namespace = sigilSigner, js_name = call, catch)]
    async fn call_module(command: String) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_namespace = sigilSigner, js_name = qr, catch)]
    async fn qr_module(text: String, title: String) -> Result<JsValue, JsValue>;
}

thread_local! {
    /// The signer's module serves the open vault.
    static SERVING: Cell<bool> = const { Cell::new(false) };
}

fn not_started(error: &JsValue) -> Failure {
    let reason = error
        .as_string()
        .or_else(|| js_sys::JSON::stringify(error).ok().map(String::from))
        .unwrap_or_default();
    wording::signer_did_not_start(&reason)
}

/// Hands the open vault's key to the signer's module, which starts answering apps.
async fn start(session: &Session<FetchTransport>) -> Result<(), Failure> {
    let vault = session.vault().ok_or_else(wording::signer_locked)?;
    let bytes = Zeroizing::new(vault.secret().keys().secret_key().to_secret_bytes());
    let relays = serde_json::to_string(session.relays()).unwrap_or_default();
    start_module(Uint8Array::from(&bytes[..]), relays)
        .await
        .map_err(|e| not_started(&e))?;
    SERVING.with(|s| s.set(true));
    Ok(())
}

/// The vault just opened: the signer starts if it was used on this device (its record exists).
pub async fn opened(session: &Session<FetchTransport>) {
    if !matches!(storage::load(Record::Signer).await, Ok(Some(_))) {
        return;
    }
    if let Err(failure) = start(session).await {
        web_sys::console::warn_1(&failure.message.into());
    }
}

/// Runs one of the signer's commands in its module, starting it first if needed.
pub async fn command(session: &Session<FetchTransport>, command: &Command) -> Outcome {
    if !SERVING.with(Cell::get) {
        start(session).await?;
    }
    let json = serde_json::to_string(command).map_err(|_| wording::not_understood())?;
    let reply = call_module(json).await.map_err(|e| not_started(&e))?;
    let reply = reply.as_string().ok_or_else(wording::unexpected_answer)?;
    serde_json::from_str::<Outcome>(&reply).map_err(|_| wording::unexpected_answer())?
}

/// `text` as an SVG QR code, drawn by the signer's module (loaded if it was not yet).
pub async fn qr(text: &str, title: &str) -> Result<String, Failure> {
    let svg = qr_module(text.into(), title.into())
        .await
        .map_err(|e| not_started(&e))?;
    svg.as_string().ok_or_else(wording::unexpected_answer)
}

/// The vault locked: the signer stops answering and drops its copy of the key.
pub fn stop() {
    if SERVING.with(|s| s.replace(false)) {
        stop_module();
    }
}

/// The vault left this device: the signer forgets its apps too (storage is cleared apart).
pub fn forget() {
    SERVING.with(|s| s.set(false));
    forget_module();
}
