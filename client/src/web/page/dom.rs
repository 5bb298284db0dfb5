//! Element helpers: look-ups by id, text, screens, busy forms, listeners.

use std::rc::Rc;

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Element, Event, HtmlButtonElement, HtmlInputElement};
use zeroize::Zeroize;

use super::Page;
use crate::dom_ids as id;

impl Page {
    pub(super) fn element(&self, id: &str) -> Option<Element> {
        self.document.get_element_by_id(id)
    }

    pub(super) fn input(&self, id: &str) -> Option<HtmlInputElement> {
        self.element(id).and_then(|e| e.dyn_into().ok())
    }

    pub(super) fn value(&self, id: &str) -> String {
        self.input(id).map(|i| i.value()).unwrap_or_default()
    }

    pub(super) fn set_text(&self, id: &str, text: &str) {
        if let Some(element) = self.element(id) {
            element.set_text_content(Some(text));
        }
    }

    pub(super) fn reveal(&self, id: &str) {
        if let Some(element) = self.element(id) {
            let _ = element.remove_attribute("hidden");
        }
    }

    pub(super) fn conceal(&self, id: &str) {
        if let Some(element) = self.element(id) {
            let _ = element.set_attribute("hidden", "");
        }
    }

    /// Shows one screen (a `section.screen`) and hides the others.
    pub(super) fn show(&self, screen: &str) {
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
    pub(super) fn busy(&self, form: &str, message: Option<&str>) {
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
            Some(message) => self.set_text(id::STATUS, message),
            // Clear only our own progress message, not a result a handler has put there since.
            None => {
                self.conceal(id::PROGRESS);
                let shown = self
                    .element(id::STATUS)
                    .and_then(|e| e.text_content())
                    .unwrap_or_default();
                if shown.ends_with('…') {
                    self.set_text(id::STATUS, "");
                }
            }
        }
    }

    /// Reads a password field as bytes for the worker and clears it.
    pub(super) fn take_password(&self, id: &str) -> Uint8Array {
        let Some(input) = self.input(id) else {
            return Uint8Array::new_with_length(0);
        };
        let mut value = input.value();
        input.set_value("");
        let bytes = Uint8Array::from(value.as_bytes());
        value.zeroize();
        bytes
    }
}

/// Runs `action` on each click of the element `id`.
pub(super) fn on_click<F: std::future::Future<Output = ()> + 'static>(
    page: &Rc<Page>,
    id: &str,
    action: fn(Rc<Page>) -> F,
) {
    let Some(element) = page.element(id) else {
        return;
    };
    let page = page.clone();
    listen(&element, "click", move |_| {
        spawn_local(action(page.clone()))
    });
}

/// Runs `action` with the `attribute` of the element clicked inside the element `id`: the
/// buttons a list makes for its items (revoke an app, remove a passkey) name their item so.
pub(super) fn on_item_click<F: std::future::Future<Output = ()> + 'static>(
    page: &Rc<Page>,
    id: &str,
    attribute: &'static str,
    action: fn(Rc<Page>, String) -> F,
) {
    let Some(list) = page.element(id) else {
        return;
    };
    let page = page.clone();
    listen(&list, "click", move |event: Event| {
        let item = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|e| e.get_attribute(attribute));
        if let Some(item) = item {
            spawn_local(action(page.clone(), item));
        }
    });
}

/// Asks the user a yes/no question in the browser's own dialog.
pub(super) fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

pub(super) fn listen(target: &Element, event: &str, handler: impl FnMut(Event) + 'static) {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    // Listeners live as long as the page.
    closure.forget();
}
