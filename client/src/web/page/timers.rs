//! Timers: the auto-lock of an idle vault, the resend countdown, and retries of a queued sync.

use std::rc::Rc;

use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Event, HtmlButtonElement};

use super::Page;
use super::dom::listen;
use crate::dom_ids as id;

/// An open vault locks itself after this long without a click, key or touch.
const AUTO_LOCK_AFTER_MS: f64 = 15.0 * 60.0 * 1000.0;
const IDLE_CHECK_EVERY_MS: i32 = 15 * 1000;
/// How often a queued password change is retried, besides when the browser says it is online.
const SYNC_RETRY_EVERY_MS: i32 = 30 * 1000;

/// Timer callbacks, made once and never dropped: a timer may still fire after it is replaced.
pub(super) struct Timers {
    countdown_tick: Function,
    idle_check: Function,
    sync_retry: Function,
}

impl Timers {
    pub(super) fn new(page: &Rc<Page>) -> Self {
        let ticking = Rc::downgrade(page);
        let countdown_tick = Closure::<dyn FnMut()>::new(move || {
            if let Some(page) = ticking.upgrade() {
                page.countdown_tick();
            }
        });
        let checking = Rc::downgrade(page);
        let idle_check = Closure::<dyn FnMut()>::new(move || {
            if let Some(page) = checking.upgrade() {
                page.check_idle();
            }
        });
        let retrying = Rc::downgrade(page);
        let sync_retry = Closure::<dyn FnMut()>::new(move || {
            if let Some(page) = retrying.upgrade().filter(|page| page.unsynced.get()) {
                spawn_local(page.sync());
            }
        });
        Self {
            countdown_tick: countdown_tick.into_js_value().unchecked_into(),
            idle_check: idle_check.into_js_value().unchecked_into(),
            sync_retry: sync_retry.into_js_value().unchecked_into(),
        }
    }
}

impl Page {
    /// Activity moves the auto-lock deadline; coming back online sends a queued change at once.
    pub(super) fn wire_activity(self: &Rc<Self>) {
        if let Some(window) = web_sys::window() {
            let page = self.clone();
            let closure = Closure::<dyn FnMut(Event)>::new(move |_| {
                if page.unsynced.get() && page.idle_deadline.get().is_some() {
                    spawn_local(page.clone().sync());
                }
            });
            let _ =
                window.add_event_listener_with_callback("online", closure.as_ref().unchecked_ref());
            closure.forget();
        }
        if let Some(body) = self.document.body() {
            for event in ["pointerdown", "keydown", "input"] {
                let page = self.clone();
                listen(&body, event, move |_| page.on_activity());
            }
        }
    }

    pub(super) fn arm_sync_retry(&self) {
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

    /// Starts watching for inactivity once the vault is open.
    pub(super) fn arm_idle_lock(&self) {
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

    pub(super) fn start_countdown(&self, seconds: u64) {
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
            .element(id::RESEND)
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
}
