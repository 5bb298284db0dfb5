//! The page: screens, forms and the channel to the vault worker. It never holds a secret beyond
//! the input event that carries a password straight to the worker.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::keyboard::{self, Layer};
use crate::strength::{self, Dictionary, Estimate};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    Document, Element, Event, HtmlButtonElement, HtmlInputElement, MessageEvent, SubmitEvent,
    Worker, WorkerOptions, WorkerType,
};
use zeroize::Zeroize;

/// An error from the worker (`{code, message}`); the page shows the message.
#[derive(Debug, Clone)]
struct Failure {
    message: String,
}

impl Failure {
    fn new(message: &str) -> Self {
        Self {
            message: message.into(),
        }
    }

    fn from_js(value: &JsValue) -> Self {
        let parsed = value
            .as_string()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok());
        match parsed.as_ref().and_then(|v| v["message"].as_str()) {
            Some(message) => Self::new(message),
            None => Self::new("Something went wrong."),
        }
    }
}

type Pending = Rc<RefCell<HashMap<u32, (Function, Function)>>>;

/// Shows a progress step the vault worker sent (`{step, hashes?, expected?}` as JSON).
fn show_progress(progress: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(progress) = serde_json::from_str::<Value>(progress) else {
        return;
    };
    let bar = document.get_element_by_id("progress");
    let message = match progress["step"].as_str() {
        Some("deriving_key") => "Deriving the encryption key from your password (Argon2id)…".into(),
        Some("mining") => {
            let (hashes, expected) = (progress["hashes"].as_f64(), progress["expected"].as_f64());
            let percent = (hashes.unwrap_or(0.0) / expected.unwrap_or(1.0).max(1.0) * 100.0)
                .min(99.0)
                .floor();
            if let Some(bar) = &bar {
                let _ = bar.set_attribute("value", &percent.to_string());
                let _ = bar.remove_attribute("hidden");
            }
            let millions = |n: Option<f64>| n.unwrap_or(0.0) / 1e6;
            format!(
                "Proof of work against spam: {:.1} of about {:.1} million hashes…",
                millions(hashes),
                millions(expected)
            )
        }
        Some("sending") => "Sending to the server…".into(),
        Some("busy") => format!(
            "The server is busy; trying again in {} s…",
            progress["seconds"].as_u64().unwrap_or(1)
        ),
        Some("more_work") => format!(
            "The server is under load and asks for more proof of work ({} bits); working on it…",
            progress["difficulty"].as_u64().unwrap_or(0)
        ),
        _ => return,
    };
    if progress["step"].as_str() != Some("mining")
        && let Some(bar) = &bar
    {
        let _ = bar.set_attribute("hidden", "");
    }
    if let Some(status) = document.get_element_by_id("status") {
        status.set_text_content(Some(&message));
    }
}

/// Request/response over `postMessage` to `vault-worker.js`.
struct VaultWorker {
    worker: Worker,
    pending: Pending,
    next_id: Cell<u32>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

impl VaultWorker {
    fn spawn() -> Result<Self, JsValue> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options("/vault-worker.js", &options)?;
        let pending: Pending = Rc::default();

        let answered = pending.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(progress) = get(&data, "progress").as_string() {
                show_progress(&progress);
                return;
            }
            let Some(id) = get(&data, "id").as_f64() else {
                return;
            };
            let Some((resolve, reject)) = answered.borrow_mut().remove(&(id as u32)) else {
                return;
            };
            if get(&data, "ok").as_bool() == Some(true) {
                let _ = resolve.call1(&JsValue::NULL, &get(&data, "result"));
            } else {
                let _ = reject.call1(&JsValue::NULL, &get(&data, "error"));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        // A worker that fails to load must not leave the page waiting forever.
        let stranded = pending.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_event: Event| {
            let failure = serde_json::json!({"code": "worker", "message": "The vault could not start in this browser."}).to_string();
            for (_, (_, reject)) in stranded.borrow_mut().drain() {
                let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&failure));
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

    /// Sends a command; `secrets` are transferred, so the page keeps no copy of them.
    async fn call(&self, op: &str, arg: &str, secrets: &[Uint8Array]) -> Result<Value, Failure> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let pending = self.pending.clone();
        let promise = Promise::new(&mut |resolve, reject| {
            pending.borrow_mut().insert(id, (resolve, reject));
        });
        let message = Object::new();
        let secret_list: Array = secrets.iter().collect();
        let transfer: Array = secrets.iter().map(|s| s.buffer()).collect();
        for (key, value) in [
            ("id", JsValue::from(id)),
            ("op", op.into()),
            ("arg", arg.into()),
            ("secrets", secret_list.into()),
        ] {
            let _ = Reflect::set(&message, &JsValue::from_str(key), &value);
        }
        if self
            .worker
            .post_message_with_transfer(&message, &transfer)
            .is_err()
        {
            self.pending.borrow_mut().remove(&id);
            return Err(Failure::new("The vault is not available."));
        }
        match JsFuture::from(promise).await {
            Ok(result) => Ok(result
                .as_string()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null)),
            Err(error) => Err(Failure::from_js(&error)),
        }
    }
}

struct Ui {
    document: Document,
    worker: VaultWorker,
    /// A password change made here is waiting for the server.
    unsynced: Cell<bool>,
    syncing: Cell<bool>,
    /// Seconds until a new code may be requested, and the interval counting them down.
    countdown_left: Cell<u64>,
    countdown_handle: Cell<Option<i32>>,
    /// The on-screen keyboard's layer and the password field it types into.
    keyboard_layer: Cell<Layer>,
    keyboard_target: RefCell<Option<HtmlInputElement>>,
    /// While the vault is open: when it locks itself, and the interval that checks.
    idle_deadline: Cell<Option<f64>>,
    idle_check: Cell<Option<i32>>,
    timers: OnceCell<Timers>,
    sync_retry: Cell<Option<i32>>,
    /// The strength meter's word lists, fetched the first time a new password is typed.
    words: RefCell<Rc<Dictionary>>,
    words_requested: Cell<bool>,
}

/// New-password fields with a strength meter (`<id>-meter`, `<id>-strength`).
const NEW_PASSWORD_FIELDS: [&str; 2] = ["new-password", "change-new"];
/// Below this zxcvbn score a new password is refused: "somewhat guessable" is the least we take.
const MIN_STRENGTH_SCORE: u8 = 2;

/// Timer callbacks, made once and never dropped: a timer may still fire after it is replaced.
struct Timers {
    countdown_tick: Function,
    idle_check: Function,
    sync_retry: Function,
}

impl Timers {
    fn new(ui: &Rc<Ui>) -> Self {
        let ticking = Rc::downgrade(ui);
        let countdown_tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(ui) = ticking.upgrade() {
                ui.countdown_tick();
            }
        });
        let checking = Rc::downgrade(ui);
        let idle_check = Closure::<dyn FnMut()>::new(move || {
            if let Some(ui) = checking.upgrade() {
                ui.check_idle();
            }
        });
        let retrying = Rc::downgrade(ui);
        let sync_retry = Closure::<dyn FnMut()>::new(move || {
            if let Some(ui) = retrying.upgrade().filter(|ui| ui.unsynced.get()) {
                spawn_local(ui.sync());
            }
        });
        Self {
            countdown_tick: countdown_tick.into_js_value().unchecked_into(),
            idle_check: idle_check.into_js_value().unchecked_into(),
            sync_retry: sync_retry.into_js_value().unchecked_into(),
        }
    }
}

/// An open vault locks itself after this long without a click, key or touch.
const AUTO_LOCK_AFTER_MS: f64 = 15.0 * 60.0 * 1000.0;
const IDLE_CHECK_EVERY_MS: i32 = 15 * 1000;
/// How often a queued password change is retried, besides when the browser says it is online.
const SYNC_RETRY_EVERY_MS: i32 = 30 * 1000;

impl Ui {
    fn element(&self, id: &str) -> Option<Element> {
        self.document.get_element_by_id(id)
    }

    fn input(&self, id: &str) -> Option<HtmlInputElement> {
        self.element(id).and_then(|e| e.dyn_into().ok())
    }

    fn set_text(&self, id: &str, text: &str) {
        if let Some(element) = self.element(id) {
            element.set_text_content(Some(text));
        }
    }

    fn show(&self, screen: &str) {
        let screens = self.document.query_selector_all("section.screen");
        let Ok(screens) = screens else { return };
        for i in 0..screens.length() {
            let Some(section) = screens.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            if section.id() == screen {
                let _ = section.remove_attribute("hidden");
                // Move focus to the first field, for keyboard and screen-reader users.
                let first = section.query_selector("input:not([readonly]), button");
                if let Some(first) = first
                    .ok()
                    .flatten()
                    .and_then(|f| f.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = first.focus();
                }
            } else {
                let _ = section.set_attribute("hidden", "");
            }
        }
    }

    /// Disables a form's buttons and says what is happening while the worker runs.
    fn busy(&self, form: &str, message: Option<&str>) {
        if let Ok(buttons) = self.document.query_selector_all(&format!("#{form} button")) {
            for i in 0..buttons.length() {
                if let Some(button) = buttons
                    .item(i)
                    .and_then(|n| n.dyn_into::<HtmlButtonElement>().ok())
                {
                    button.set_disabled(message.is_some());
                }
            }
        }
        match message {
            Some(message) => self.set_text("status", message),
            // Clear only our own progress message, not a result a handler has put there since.
            None => {
                if let Some(bar) = self.element("progress") {
                    let _ = bar.set_attribute("hidden", "");
                }
                let shown = self
                    .element("status")
                    .and_then(|e| e.text_content())
                    .unwrap_or_default();
                if shown.ends_with('…') {
                    self.set_text("status", "");
                }
            }
        }
    }

    /// Words an attacker would try first for this user: the address's parts and the site's name.
    fn personal_words(&self) -> Vec<String> {
        let email = self.value("email");
        let mut words: Vec<String> = email
            .split(['@', '.', '+', '-', '_'])
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        words.extend(["sigil", "nostr", "vault"].map(String::from));
        words
    }

    /// Estimates a new-password field; the copy of its value is wiped right after.
    fn estimate_field(&self, id: &str) -> Option<Estimate> {
        let mut value = self.input(id)?.value();
        let personal = self.personal_words();
        let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
        let estimate = (!value.is_empty())
            .then(|| strength::estimate(&value, &self.words.borrow(), &personal));
        value.zeroize();
        estimate
    }

    /// Redraws the meter under a new-password field.
    fn update_meter(self: &Rc<Self>, id: &str) {
        self.load_words();
        let estimate = self.estimate_field(id);
        if let Some(meter) = self.element(&format!("{id}-meter")) {
            let value = estimate.map_or(0, |e| e.score);
            let _ = meter.set_attribute("value", &value.to_string());
        }
        let text = estimate.map(|e| match e.advice() {
            Some(advice) => format!("Strength: {}. {advice}", e.label()),
            None => format!("Strength: {}.", e.label()),
        });
        self.set_text(&format!("{id}-strength"), text.as_deref().unwrap_or(""));
    }

    /// Refuses a new password that is too easy to guess, before it goes anywhere.
    fn check_strength(&self, id: &str) -> Result<(), Failure> {
        match self.estimate_field(id) {
            Some(estimate) if estimate.score < MIN_STRENGTH_SCORE => Err(Failure::new(&format!(
                "This password is too easy to guess. {}",
                estimate.advice().unwrap_or("Add another word or two.")
            ))),
            _ => Ok(()),
        }
    }

    /// Fetches the word lists once, from this server (and so from the offline cache).
    fn load_words(self: &Rc<Self>) {
        if self.words_requested.replace(true) {
            return;
        }
        let ui = self.clone();
        spawn_local(async move {
            let Some(window) = web_sys::window() else {
                return;
            };
            let text = async {
                let response: web_sys::Response =
                    JsFuture::from(window.fetch_with_str("/strength-words.txt"))
                        .await?
                        .dyn_into()?;
                if !response.ok() {
                    return Err(JsValue::from_str("not found"));
                }
                JsFuture::from(response.text()?).await
            };
            match text.await.ok().and_then(|t| t.as_string()) {
                Some(text) => {
                    *ui.words.borrow_mut() = Rc::new(Dictionary::parse(&text));
                    for id in NEW_PASSWORD_FIELDS {
                        ui.update_meter(id);
                    }
                }
                // The meter still sees patterns; it only misses common words.
                None => ui.words_requested.set(false),
            }
        });
    }

    /// Reads a password field as bytes for the worker and clears it.
    fn take_password(&self, id: &str) -> Uint8Array {
        let Some(input) = self.input(id) else {
            return Uint8Array::new_with_length(0);
        };
        let mut value = input.value();
        input.set_value("");
        let bytes = Uint8Array::from(value.as_bytes());
        value.zeroize();
        bytes
    }

    fn value(&self, id: &str) -> String {
        self.input(id).map(|i| i.value()).unwrap_or_default()
    }

    fn show_vault(self: &Rc<Self>, result: &Value) {
        let npub = result["npub"].as_str().unwrap_or_default();
        self.set_text("npub", npub);
        if let Some(figure) = self.element("npub-qr") {
            let svg = crate::qr::svg(npub, "QR code of your npub");
            figure.set_inner_html(&svg.unwrap_or_default());
        }
        if let Some(list) = self.element("relays") {
            list.set_text_content(None);
            for relay in result["relays"].as_array().into_iter().flatten() {
                if let Ok(item) = self.document.create_element("li") {
                    item.set_text_content(relay.as_str());
                    let _ = list.append_child(&item);
                }
            }
        }
        self.show("screen-vault");
        self.arm_idle_lock();
        self.arm_sync_retry();
    }

    fn arm_sync_retry(&self) {
        let (Some(window), Some(timers)) = (web_sys::window(), self.timers.get()) else {
            return;
        };
        if self.sync_retry.get().is_none() {
            let retry = window.set_interval_with_callback_and_timeout_and_arguments_0(
                &timers.sync_retry,
                SYNC_RETRY_EVERY_MS,
            );
            self.sync_retry.set(retry.ok());
        }
    }

    /// Publishes the account's relay list (NIP-65) if no relay has it yet; relays out of reach
    /// leave it for the next unlock.
    async fn publish_relay_list(self: Rc<Self>) {
        let message = match self.worker.call("publish_relay_list", "", &[]).await {
            Ok(outcome) => match (outcome["published"].as_u64(), outcome["relays"].as_u64()) {
                (Some(0), _) => String::new(),
                (Some(published), Some(relays)) => {
                    format!("Your relay list is published on {published} of {relays} relays.")
                }
                _ => String::new(),
            },
            Err(failure) => format!("Your relay list is not published yet: {}", failure.message),
        };
        self.set_text("relays-status", &message);
    }

    /// Compares this device's backup with the server's and says what came of it. One at a time:
    /// the online event, the retry timer and an unlock may all ask at once.
    async fn sync(self: Rc<Self>) {
        if self.syncing.replace(true) {
            return;
        }
        let outcome = self.worker.call("sync", "", &[]).await;
        self.syncing.set(false);
        match outcome {
            Ok(outcome) => self.show_sync(&outcome),
            Err(failure) => self.set_text("sync-status", &failure.message),
        }
    }

    fn show_sync(&self, outcome: &Value) {
        let unsynced = outcome["unsynced"].as_bool().unwrap_or(false);
        self.unsynced.set(unsynced);
        let conflict = outcome["sync"].as_str() == Some("conflict");
        if let Some(panel) = self.element("conflict") {
            let _ = if conflict {
                panel.remove_attribute("hidden")
            } else {
                panel.set_attribute("hidden", "")
            };
        }
        let message = match outcome["sync"].as_str().unwrap_or_default() {
            "pushed" => "Your new password is saved on the server.",
            "adopted" => {
                "Your password was changed on another device. This device now uses that password."
            }
            "offline" if unsynced => {
                "You are offline. Your new password is saved on this device and will be sent to \
                 the server as soon as it can be reached."
            }
            "offline" => "You are offline: this is the copy saved on this device.",
            "conflict" => "Your password was changed here and on another device: choose below.",
            _ => "",
        };
        self.set_text("sync-status", message);
    }

    /// Starts watching for inactivity once the vault is open.
    fn arm_idle_lock(&self) {
        let (Some(window), Some(timers)) = (web_sys::window(), self.timers.get()) else {
            return;
        };
        self.idle_deadline
            .set(Some(js_sys::Date::now() + AUTO_LOCK_AFTER_MS));
        if self.idle_check.get().is_none() {
            let check = window.set_interval_with_callback_and_timeout_and_arguments_0(
                &timers.idle_check,
                IDLE_CHECK_EVERY_MS,
            );
            self.idle_check.set(check.ok());
        }
    }

    /// Any activity while the vault is open moves the deadline.
    fn on_activity(&self) {
        if self.idle_deadline.get().is_some() {
            self.idle_deadline
                .set(Some(js_sys::Date::now() + AUTO_LOCK_AFTER_MS));
        }
    }

    fn check_idle(self: Rc<Self>) {
        if self
            .idle_deadline
            .get()
            .is_some_and(|deadline| js_sys::Date::now() >= deadline)
        {
            self.idle_deadline.set(None);
            spawn_local(self.lock_and_reload());
        }
    }

    /// Wipes the worker's secrets, then reloads: a fresh page holds nothing.
    async fn lock_and_reload(self: Rc<Self>) {
        let _ = self.worker.call("lock", "", &[]).await;
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }

    /// Says when the code expires and keeps the resend button disabled until it may be used.
    fn code_sent(self: &Rc<Self>, email: &str, sent: &Value) {
        let expires_in = sent["expires_in"].as_u64().unwrap_or(600);
        let at = js_sys::Date::new(&JsValue::from_f64(
            js_sys::Date::now() + expires_in as f64 * 1000.0,
        ));
        let at = String::from(at.to_locale_time_string("default"));
        self.set_text(
            "code-sent",
            &format!(
                "We sent a 6-digit code to {email}. It expires in {} minutes, at {at}.",
                expires_in.div_ceil(60)
            ),
        );
        self.start_countdown(sent["resend_after"].as_u64().unwrap_or(60));
    }

    fn start_countdown(&self, seconds: u64) {
        let (Some(window), Some(timers)) = (web_sys::window(), self.timers.get()) else {
            return;
        };
        if let Some(handle) = self.countdown_handle.take() {
            window.clear_interval_with_handle(handle);
        }
        self.countdown_left.set(seconds);
        self.countdown_tick();
        if seconds > 0 {
            let started = window.set_interval_with_callback_and_timeout_and_arguments_0(
                &timers.countdown_tick,
                1000,
            );
            self.countdown_handle.set(started.ok());
        }
    }

    /// One second of the resend countdown.
    fn countdown_tick(&self) {
        let left = self.countdown_left.get();
        if let Some(button) = self
            .element("resend")
            .and_then(|e| e.dyn_into::<HtmlButtonElement>().ok())
        {
            button.set_disabled(left > 0);
            let label = if left > 0 {
                format!("Send a new code ({left} s)")
            } else {
                "Send a new code".into()
            };
            button.set_text_content(Some(&label));
        }
        if left == 0
            && let (Some(window), Some(handle)) = (web_sys::window(), self.countdown_handle.take())
        {
            window.clear_interval_with_handle(handle);
        }
        self.countdown_left.set(left.saturating_sub(1));
    }

    async fn on_change_password(self: Rc<Self>) -> Result<(), Failure> {
        self.check_strength("change-new")?;
        let secrets =
            ["change-old", "change-new", "change-repeat"].map(|id| self.take_password(id));
        self.busy("change-form", Some("Re-encrypting your key and saving it…"));
        let outcome = self.worker.call("change_password", "", &secrets).await?;
        self.set_text("status", "Your password was changed.");
        self.show_sync(&outcome);
        Ok(())
    }

    async fn on_conflict(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        let secrets = match action {
            "other_device" => vec![self.take_password("conflict-password")],
            _ => Vec::new(),
        };
        self.busy("conflict-form", Some("Saving your choice…"));
        let outcome = self
            .worker
            .call("resolve_conflict", action, &secrets)
            .await?;
        self.show_sync(&outcome);
        Ok(())
    }

    async fn on_export(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        self.set_text("key-output", "");
        let op = if action == "reveal" {
            if !confirm(
                "Show your secret key (nsec) on screen? Anyone who sees it controls your identity.",
            ) {
                return Ok(());
            }
            "reveal_nsec"
        } else {
            "export_ncryptsec"
        };
        let secrets = [self.take_password("export-password")];
        self.busy("export-form", Some("Checking your password…"));
        let exported = self.worker.call(op, "", &secrets).await?;
        self.set_text("key-output", exported["key"].as_str().unwrap_or_default());
        Ok(())
    }

    /// Draws the keyboard's keys in a fresh random order.
    fn render_keyboard(&self) {
        let Some(keys) = self.element("osk-keys") else {
            return;
        };
        keys.set_text_content(None);
        for key in keyboard::shuffled(self.keyboard_layer.get()) {
            if let Ok(button) = self.document.create_element("button") {
                let _ = button.set_attribute("type", "button");
                let _ = button.set_attribute("class", "secondary osk-key");
                button.set_text_content(Some(&key.to_string()));
                let _ = keys.append_child(&button);
            }
        }
    }

    fn toggle_keyboard(&self) {
        let (Some(panel), Some(toggle)) = (self.element("osk"), self.element("osk-toggle")) else {
            return;
        };
        let opening = panel.has_attribute("hidden");
        if opening {
            self.render_keyboard();
            let _ = panel.remove_attribute("hidden");
        } else {
            let _ = panel.set_attribute("hidden", "");
        }
        let _ = toggle.set_attribute("aria-pressed", if opening { "true" } else { "false" });
    }

    /// The field the keyboard types into: the last focused password field if it is on screen,
    /// else the first password field of the visible screen.
    fn keyboard_field(&self) -> Option<HtmlInputElement> {
        let visible = |input: &HtmlInputElement| {
            input
                .closest("section.screen[hidden]")
                .ok()
                .flatten()
                .is_none()
        };
        if let Some(input) = self
            .keyboard_target
            .borrow()
            .as_ref()
            .filter(|i| visible(i))
        {
            return Some(input.clone());
        }
        self.document
            .query_selector("section.screen:not([hidden]) input[type=password]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into().ok())
    }

    /// A click on the keyboard: a character, Shift, Space or Backspace. The field's value is set
    /// directly, so no key events are produced for a keylogger to see.
    fn on_keyboard_click(&self, target: &Element) {
        match target.id().as_str() {
            "osk-shift" => {
                self.keyboard_layer.set(self.keyboard_layer.get().other());
                self.render_keyboard();
                return;
            }
            "osk-space" | "osk-backspace" => {}
            _ if target.class_list().contains("osk-key") => {}
            _ => return,
        }
        let Some(field) = self.keyboard_field() else {
            return;
        };
        let mut value = field.value();
        match target.id().as_str() {
            "osk-space" => value.push(' '),
            "osk-backspace" => {
                value.pop();
            }
            _ => value.push_str(&target.text_content().unwrap_or_default()),
        }
        field.set_value(&value);
        value.zeroize();
    }

    async fn on_resend(self: Rc<Self>) {
        self.busy("code-form", Some("Sending a new code…"));
        let outcome = self.worker.call("resend_code", "", &[]).await;
        self.busy("code-form", None);
        match outcome {
            Ok(sent) => {
                let email = self.value("email");
                self.code_sent(email.trim(), &sent);
                self.set_text("code-error", "");
            }
            Err(failure) => {
                self.set_text("code-error", &failure.message);
                self.start_countdown(0);
            }
        }
    }

    async fn on_copy(self: Rc<Self>) {
        let npub = self
            .element("npub")
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        let Some(window) = web_sys::window() else {
            return;
        };
        let copied = JsFuture::from(window.navigator().clipboard().write_text(&npub)).await;
        self.set_text(
            "status",
            if copied.is_ok() {
                "Copied your npub."
            } else {
                "Copying was refused by the browser."
            },
        );
    }

    async fn on_delete(self: Rc<Self>) {
        if !confirm(
            "Delete your account on this server? Your backup there and on this device is removed; without another copy of your key (export it first) the identity is lost.",
        ) {
            return;
        }
        self.busy("screen-vault", Some("Deleting your account…"));
        let outcome = self.worker.call("delete_account", "", &[]).await;
        self.busy("screen-vault", None);
        match outcome {
            Ok(_) => {
                self.show("screen-email");
                self.set_text("status", "Your account was deleted.");
            }
            Err(failure) => self.set_text("vault-error", &failure.message),
        }
    }

    async fn submit(self: Rc<Self>, form: String, action: String) {
        let (error_id, outcome) = match form.as_str() {
            "change-form" => ("change-error", self.clone().on_change_password().await),
            "conflict-form" => ("conflict-error", self.clone().on_conflict(&action).await),
            "server-form" => ("server-error", self.clone().on_switch_server().await),
            "export-form" => ("export-error", self.clone().on_export(&action).await),
            "email-form" => ("email-error", self.clone().on_email().await),
            "code-form" => ("code-error", self.clone().on_code().await),
            "password-form" => ("password-error", self.clone().on_new_password().await),
            "unlock-form" => ("unlock-error", self.clone().on_unlock().await),
            _ => return,
        };
        self.busy(&form, None);
        self.set_text(
            error_id,
            outcome.err().map(|f| f.message).as_deref().unwrap_or(""),
        );
    }

    async fn on_email(self: Rc<Self>) -> Result<(), Failure> {
        let email = self.value("email");
        self.busy("email-form", Some("Sending a code…"));
        let sent = self.worker.call("request_code", &email, &[]).await?;
        self.code_sent(email.trim(), &sent);
        self.set_username(email.trim());
        self.show("screen-code");
        Ok(())
    }

    /// The user name password managers file the password under.
    fn set_username(&self, email: &str) {
        for field in [
            "password-username",
            "unlock-username",
            "change-username",
            "export-username",
            "conflict-username",
        ] {
            if let Some(input) = self.input(field) {
                input.set_value(email);
            }
        }
    }

    async fn on_code(self: Rc<Self>) -> Result<(), Failure> {
        let code = self.value("code");
        self.busy("code-form", Some("Checking the code…"));
        let verified = self.worker.call("verify_code", &code, &[]).await?;
        match verified["step"].as_str() {
            Some("choose_password") => self.show("screen-password"),
            Some("unlock") => self.show("screen-unlock"),
            _ => return Err(Failure::new("Unexpected answer from the vault.")),
        }
        Ok(())
    }

    async fn on_new_password(self: Rc<Self>) -> Result<(), Failure> {
        self.check_strength("new-password")?;
        let secrets = [
            self.take_password("new-password"),
            self.take_password("repeat-password"),
        ];
        self.busy(
            "password-form",
            Some("Creating and sealing your key, which takes a few seconds…"),
        );
        let created = self.worker.call("create_account", "", &secrets).await?;
        self.show_vault(&created);
        spawn_local(self.publish_relay_list());
        Ok(())
    }

    async fn on_unlock(self: Rc<Self>) -> Result<(), Failure> {
        let secrets = [self.take_password("password")];
        self.busy("unlock-form", Some("Unlocking…"));
        let unlocked = self.worker.call("unlock", "", &secrets).await?;
        self.show_vault(&unlocked);
        spawn_local(self.clone().sync());
        spawn_local(self.publish_relay_list());
        Ok(())
    }

    /// Leaves for another Sigil server's page. Its accounts, and this device's copy of a vault
    /// there, are its own: browsers keep storage per origin.
    async fn on_switch_server(self: Rc<Self>) -> Result<(), Failure> {
        let entered = self.value("server-url");
        let url = web_sys::Url::new(entered.trim())
            .map_err(|_| Failure::new("That is not a web address (http://… or https://…)."))?;
        if !matches!(url.protocol().as_str(), "http:" | "https:") {
            return Err(Failure::new(
                "Only http:// and https:// addresses can be opened.",
            ));
        }
        let window = web_sys::window().ok_or_else(|| Failure::new("No window."))?;
        if window.location().origin().ok().as_deref() == Some(url.origin().as_str()) {
            return Err(Failure::new("That is the server you are using now."));
        }
        window
            .location()
            .assign(&format!("{}/", url.origin()))
            .map_err(|_| Failure::new("The browser refused to open that address."))
    }

    /// Opens on the unlock screen for the account kept on this device.
    fn show_returning(&self, account: &Value, online: bool) {
        let email = account["email"].as_str().unwrap_or_default();
        self.set_username(email);
        self.unsynced
            .set(account["unsynced"].as_bool().unwrap_or(false));
        let mut who = format!("Welcome back, {email}. Your vault is saved on this device.");
        if !online {
            who.push_str(" You are offline: your password opens it without the server.");
        }
        self.set_text("unlock-who", &who);
        if let Some(button) = self.element("other-account") {
            let _ = button.remove_attribute("hidden");
        }
        self.show("screen-unlock");
    }

    /// Logs in to another account: back to the first step. This device's copy stays until
    /// another account is opened here.
    async fn on_other_account(self: Rc<Self>) {
        if self.unsynced.get()
            && !confirm(
                "A password change made on this device has not reached the server yet. It is sent when you unlock this account again here. Continue?",
            )
        {
            return;
        }
        self.show("screen-email");
    }

    /// Removes this device's copy of the vault (the account stays on the server), then reloads.
    async fn on_forget(self: Rc<Self>) {
        let mut question = String::from(
            "Remove your vault from this device? You can log in again with your email and password.",
        );
        if self.unsynced.get() {
            question.push_str(" Your new password has not reached the server yet and would be lost; the server keeps the previous one.");
        }
        if !confirm(&question) {
            return;
        }
        match self.worker.call("forget", "", &[]).await {
            Ok(_) => {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }
            Err(failure) => self.set_text("vault-error", &failure.message),
        }
    }
}

fn wire_keyboard(ui: &Rc<Ui>) {
    if let Some(toggle) = ui.element("osk-toggle") {
        let ui = ui.clone();
        listen(&toggle, "click", move |_| ui.toggle_keyboard());
    }
    let Some(panel) = ui.element("osk") else {
        return;
    };
    // Keep the focus in the password field while keys are pressed.
    listen(&panel, "mousedown", |event: Event| event.prevent_default());
    let clicked = ui.clone();
    listen(&panel, "click", move |event: Event| {
        if let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) {
            clicked.on_keyboard_click(&target);
        }
    });
    // Remember which password field the user was in.
    let Some(body) = ui.document.body() else {
        return;
    };
    let focused = ui.clone();
    listen(&body, "focusin", move |event: Event| {
        let field = event
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
        if let Some(field) = field.filter(|f| f.type_() == "password") {
            *focused.keyboard_target.borrow_mut() = Some(field);
        }
    });
}

/// Runs `action` on each click of the element `id`.
fn on_click<F: std::future::Future<Output = ()> + 'static>(
    ui: &Rc<Ui>,
    id: &str,
    action: fn(Rc<Ui>) -> F,
) {
    let Some(element) = ui.element(id) else {
        return;
    };
    let ui = ui.clone();
    listen(&element, "click", move |_| spawn_local(action(ui.clone())));
}

/// Asks the user a yes/no question in the browser's own dialog.
fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

fn listen(target: &Element, event: &str, handler: impl FnMut(Event) + 'static) {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    // Listeners live as long as the page.
    closure.forget();
}

pub fn start() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let status = |text: &str| {
        if let Some(el) = document.get_element_by_id("status") {
            el.set_text_content(Some(text));
        }
    };
    let worker = match VaultWorker::spawn() {
        Ok(worker) => worker,
        Err(_) => {
            status("This browser cannot start the vault (module workers are needed).");
            return;
        }
    };
    status("Connecting to the server…");
    let ui = Rc::new(Ui {
        document: document.clone(),
        worker,
        unsynced: Cell::new(false),
        syncing: Cell::new(false),
        countdown_left: Cell::new(0),
        countdown_handle: Cell::new(None),
        keyboard_layer: Cell::new(Layer::Lower),
        keyboard_target: RefCell::default(),
        idle_deadline: Cell::new(None),
        idle_check: Cell::new(None),
        timers: OnceCell::new(),
        sync_retry: Cell::new(None),
        words: RefCell::default(),
        words_requested: Cell::new(false),
    });
    let _ = ui.timers.set(Timers::new(&ui));
    wire_keyboard(&ui);

    let forms = [
        "email-form",
        "code-form",
        "password-form",
        "unlock-form",
        "change-form",
        "export-form",
        "conflict-form",
        "server-form",
    ];
    for form in forms {
        let Some(element) = ui.element(form) else {
            continue;
        };
        let ui = ui.clone();
        listen(&element, "submit", move |event: Event| {
            event.prevent_default();
            // Which submit button was pressed, for forms with more than one action.
            let action = event
                .dyn_ref::<SubmitEvent>()
                .and_then(SubmitEvent::submitter)
                .and_then(|button| button.get_attribute("value"))
                .unwrap_or_default();
            spawn_local(ui.clone().submit(form.to_owned(), action));
        });
    }
    on_click(&ui, "resend", Ui::on_resend);
    on_click(&ui, "copy-npub", Ui::on_copy);
    on_click(&ui, "delete-account", Ui::on_delete);
    on_click(&ui, "lock", Ui::lock_and_reload);
    on_click(&ui, "other-account", Ui::on_other_account);
    for id in NEW_PASSWORD_FIELDS {
        if let Some(field) = ui.element(id) {
            let ui = ui.clone();
            listen(&field, "input", move |_| ui.update_meter(id));
        }
    }
    on_click(&ui, "forget-device", Ui::on_forget);
    // Back online: send a queued password change at once.
    if let Some(window) = web_sys::window() {
        let ui = ui.clone();
        let closure = Closure::<dyn FnMut(Event)>::new(move |_| {
            if ui.unsynced.get() && ui.idle_deadline.get().is_some() {
                spawn_local(ui.clone().sync());
            }
        });
        let _ = window.add_event_listener_with_callback("online", closure.as_ref().unchecked_ref());
        closure.forget();
    }
    if let Some(body) = ui.document.body() {
        for event in ["pointerdown", "keydown", "input"] {
            let ui = ui.clone();
            listen(&body, event, move |_| ui.on_activity());
        }
    }

    spawn_local(async move {
        match ui.worker.call("connect", "", &[]).await {
            Ok(info) => {
                ui.set_text("server-npub", info["npub"].as_str().unwrap_or_default());
                ui.set_text("status", "");
                if let Some(bar) = ui.element("osk-bar") {
                    let _ = bar.remove_attribute("hidden");
                }
                let online = info["online"].as_bool().unwrap_or(true);
                match info.get("account").filter(|a| a.is_object()) {
                    Some(account) => ui.show_returning(account, online),
                    None => ui.show("screen-email"),
                }
            }
            Err(failure) => {
                ui.set_text("status", &format!("Could not connect: {}", failure.message))
            }
        }
    });
}
