//! The strength meter under new-password fields, and the check that refuses weak passwords.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use zeroize::Zeroize;

use super::Page;
use super::dom::listen;
use crate::dom_ids::{self as id, NEW_PASSWORD_FIELDS, NewPasswordField};
use crate::strength::{self, Dictionary, Estimate};
use crate::wording;
use crate::worker_api::Failure;

/// Below this zxcvbn score a new password is refused: "somewhat guessable" is the least we take.
const MIN_STRENGTH_SCORE: u8 = 2;

impl Page {
    pub(super) fn wire_strength_meters(self: &Rc<Self>) {
        for field in NEW_PASSWORD_FIELDS {
            if let Some(input) = self.element(field.input) {
                let page = self.clone();
                listen(&input, "input", move |_| page.update_meter(field));
            }
        }
    }

    /// Words an attacker would try first for this user: the address's parts and the site's name.
    fn personal_words(&self) -> Vec<String> {
        let email = self.value(id::EMAIL);
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
    fn update_meter(self: &Rc<Self>, field: NewPasswordField) {
        self.load_words();
        let estimate = self.estimate_field(field.input);
        if let Some(meter) = self.element(field.meter) {
            let value = estimate.map_or(0, |e| e.score);
            let _ = meter.set_attribute("value", &value.to_string());
        }
        let text = estimate.map(|e| match e.advice() {
            Some(advice) => format!("Strength: {}. {advice}", e.label()),
            None => format!("Strength: {}.", e.label()),
        });
        self.set_text(field.strength, text.as_deref().unwrap_or(""));
    }

    /// Refuses a new password that is too easy to guess, before it goes anywhere.
    pub(super) fn check_strength(&self, id: &str) -> Result<(), Failure> {
        match self.estimate_field(id) {
            Some(estimate) if estimate.score < MIN_STRENGTH_SCORE => {
                Err(wording::too_easy_to_guess(estimate.advice()))
            }
            _ => Ok(()),
        }
    }

    /// Fetches the word lists once, from this server (and so from the offline cache).
    fn load_words(self: &Rc<Self>) {
        if self.words_requested.replace(true) {
            return;
        }
        let page = self.clone();
        spawn_local(async move {
            let Some(window) = web_sys::window() else {
                return;
            };
            let text = async {
                let response: web_sys::Response =
                    JsFuture::from(window.fetch_with_str("strength-words.txt"))
                        .await?
                        .dyn_into()?;
                if !response.ok() {
                    return Err(JsValue::from_str("not found"));
                }
                JsFuture::from(response.text()?).await
            };
            match text.await.ok().and_then(|t| t.as_string()) {
                Some(text) => {
                    *page.words.borrow_mut() = Rc::new(Dictionary::parse(&text));
                    for field in NEW_PASSWORD_FIELDS {
                        page.update_meter(field);
                    }
                }
                // The meter still sees patterns; it only misses common words.
                None => page.words_requested.set(false),
            }
        });
    }
}
