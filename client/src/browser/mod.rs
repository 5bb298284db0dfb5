//! Browser pieces shared by the vault's module and the signer's module (`client/signer`), which
//! the worker loads when the signer is first used: relay sockets, IndexedDB, timers, and
//! messages to the page. No `#[wasm_bindgen]` exports here: each module has its own.

pub mod relays;
pub mod storage;
pub mod timer;

use wasm_bindgen::prelude::*;

use crate::worker_api::FromWorker;

/// Sends the page a message it did not ask for (progress, a prompt), when running in the vault
/// worker.
pub fn post(message: &FromWorker) {
    let Ok(scope) = js_sys::global().dyn_into::<web_sys::DedicatedWorkerGlobalScope>() else {
        return;
    };
    if let Ok(message) = serde_json::to_string(message) {
        let _ = scope.post_message(&JsValue::from_str(&message));
    }
}
