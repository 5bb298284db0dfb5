//! Browser glue, compiled only for wasm32. The page (`page`) and the vault worker (`worker`) load the
//! same module; secrets live only in the worker's instance.

mod bench;
mod clock;
mod fetch;
mod lanes;
mod page;
mod pow;
mod signer;
mod worker;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    // In the worker, vault-worker.js drives the module through `vault_call` instead.
    if js_sys::global().dyn_into::<web_sys::Window>().is_ok() {
        page::start();
    }
}
