//! Timers that work the same from the page (a window) and from a worker.

use wasm_bindgen::JsCast;

/// Calls `callback` after `millis`, from a window or a worker.
pub fn set_timeout(callback: &js_sys::Function, millis: i32) {
    let global = js_sys::global();
    let _ = match global.dyn_ref::<web_sys::Window>() {
        Some(window) => {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback, millis)
        }
        None => global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .set_timeout_with_callback_and_timeout_and_arguments_0(callback, millis),
    };
}
