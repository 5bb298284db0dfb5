//! The page's end of the channel to `vault-worker.js`: typed commands out, typed replies and
//! progress back (see [`crate::worker_api`]).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, MessageEvent, Worker, WorkerOptions, WorkerType};

use super::{apps, progress};
use crate::wording;
use crate::worker_api::{Answer, Command, Failure, FromWorker, Outcome, ToWorker};

/// A call waiting for its reply: where the reply goes, and the resolve function of the promise
/// the call awaits.
struct Waiting {
    outcome: Rc<Cell<Option<Outcome>>>,
    resolve: Function,
}

/// Calls awaiting their reply, by request id.
type Pending = Rc<RefCell<HashMap<u32, Waiting>>>;

/// Request/response over `postMessage` to `vault-worker.js`.
pub(super) struct VaultWorker {
    worker: Worker,
    pending: Pending,
    next_id: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

/// Hands a reply to the call waiting for it.
fn deliver(pending: &Pending, id: u32, outcome: Outcome) {
    let waiting = pending.borrow_mut().remove(&id);
    if let Some(waiting) = waiting {
        waiting.outcome.set(Some(outcome));
        let _ = waiting.resolve.call0(&JsValue::NULL);
    }
}

impl VaultWorker {
    pub(super) fn spawn() -> Result<Self, JsValue> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        // Relative: the page's <base> points into this build's directory (scripts/version-assets.mjs).
        let worker = Worker::new_with_options("vault-worker.js", &options)?;
        let pending: Pending = Rc::default();

        let answered = pending.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else {
                return;
            };
            match serde_json::from_str::<FromWorker>(&text) {
                Ok(FromWorker::Progress(step)) => progress::show(step),
                Ok(FromWorker::Reply(id, outcome)) => deliver(&answered, id, outcome),
                Ok(FromWorker::Prompt(prompt)) => apps::show_prompt(prompt.as_ref()),
                Ok(FromWorker::Signer(view)) => apps::show_signer(&view),
                Err(_) => {}
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        // A worker that fails to load must not leave the page waiting forever.
        let stranded = pending.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
            let ids: Vec<u32> = stranded.borrow().keys().copied().collect();
            for id in ids {
                deliver(&stranded, id, Err(wording::vault_did_not_start()));
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Ok(Self {
            worker,
            pending,
            next_id: Cell::new(1),
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends a command with the passwords it takes; they are transferred, so the page keeps no
    /// copy of them.
    pub(super) async fn call(
        &self,
        command: Command,
        secrets: &[Uint8Array],
    ) -> Result<Answer, Failure> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let message = serde_json::to_string(&ToWorker(id, command))
            .map_err(|_| wording::vault_unavailable())?;
        let outcome = Rc::new(Cell::new(None));
        let pending = self.pending.clone();
        let promise = Promise::new(&mut |resolve, _reject| {
            let outcome = outcome.clone();
            pending
                .borrow_mut()
                .insert(id, Waiting { outcome, resolve });
        });
        let envelope = Object::new();
        let secret_list: Array = secrets.iter().collect();
        let transfer: Array = secrets.iter().map(|s| s.buffer()).collect();
        for (key, value) in [
            ("id", JsValue::from(id)),
            ("message", message.into()),
            ("secrets", secret_list.into()),
        ] {
            let _ = Reflect::set(&envelope, &JsValue::from_str(key), &value);
        }
        if self
            .worker
            .post_message_with_transfer(&envelope, &transfer)
            .is_err()
        {
            self.pending.borrow_mut().remove(&id);
            return Err(wording::vault_unavailable());
        }
        let _ = JsFuture::from(promise).await;
        outcome
            .take()
            .unwrap_or_else(|| Err(wording::unexpected_answer()))
    }
}
