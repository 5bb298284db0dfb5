//! The shuffled on-screen keyboard, for typing a password where a keylogger may listen.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{Element, Event, HtmlInputElement};
use zeroize::Zeroize;

use super::Page;
use super::dom::listen;
use crate::dom_ids as id;
use crate::keyboard;

impl Page {
    pub(super) fn wire_keyboard(self: &Rc<Self>) {
        if let Some(toggle) = self.element(id::OSK_TOGGLE) {
            let page = self.clone();
            listen(&toggle, "click", move |_| page.toggle_keyboard());
        }
        let Some(panel) = self.element(id::OSK) else {
            return;
        };
        // Keep the focus in the password field while keys are pressed.
        listen(&panel, "mousedown", |event: Event| event.prevent_default());
        let clicked = self.clone();
        listen(&panel, "click", move |event: Event| {
            if let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                clicked.on_keyboard_click(&target);
            }
        });
        // Remember which password field the user was in.
        let Some(body) = self.document.body() else {
            return;
        };
        let focused = self.clone();
        listen(&body, "focusin", move |event: Event| {
            let field = event
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
            if let Some(field) = field.filter(|f| f.type_() == "password") {
                *focused.keyboard_target.borrow_mut() = Some(field);
            }
        });
    }

    /// Draws the keyboard's keys in a fresh random order.
    fn render_keyboard(&self) {
        let Some(keys) = self.element(id::OSK_KEYS) else {
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
        let (Some(panel), Some(toggle)) = (self.element(id::OSK), self.element(id::OSK_TOGGLE))
        else {
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
        let key = target.id();
        match key.as_str() {
            id::OSK_SHIFT => {
                self.keyboard_layer.set(self.keyboard_layer.get().other());
                self.render_keyboard();
                return;
            }
            id::OSK_SPACE | id::OSK_BACKSPACE => {}
            _ if target.class_list().contains("osk-key") => {}
            _ => return,
        }
        let Some(field) = self.keyboard_field() else {
            return;
        };
        let mut value = field.value();
        match key.as_str() {
            id::OSK_SPACE => value.push(' '),
            id::OSK_BACKSPACE => {
                value.pop();
            }
            _ => value.push_str(&target.text_content().unwrap_or_default()),
        }
        field.set_value(&value);
        value.zeroize();
    }
}
