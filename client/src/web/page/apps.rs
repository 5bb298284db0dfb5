//! The vault's sections (tabs, moved between by click or arrow keys) and the NIP-46 signer's
//! screens: connecting an app by either link, the prompt, the connected apps and the activity.
//! Everything an app wrote (its name, address, event content) goes in as text, never as markup.

use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Document, Element, Event, HtmlElement};

use super::dom::{confirm, listen, on_item_click};
use super::{Form, Page};
use crate::dom_ids as id;
use crate::wording;
use crate::worker_api::{
    Answer, AppView, Choice, Command, Failure, Invitation, Private, SignerPrompt, SignerView,
};

impl Page {
    pub(super) fn wire_sections(self: &Rc<Self>) {
        for (index, (tab, _)) in id::SECTIONS.iter().enumerate() {
            if let Some(element) = self.element(tab) {
                let page = self.clone();
                listen(&element, "click", move |_| {
                    page.select_section(index, false)
                });
            }
        }
        if let Some(list) = self.element(id::TABLIST) {
            let page = self.clone();
            listen(&list, "keydown", move |event: Event| {
                let key = js_sys::Reflect::get(&event, &"key".into())
                    .ok()
                    .and_then(|k| k.as_string())
                    .unwrap_or_default();
                let count = id::SECTIONS.len();
                let now = page.selected_section();
                let next = match key.as_str() {
                    "ArrowRight" => (now + 1) % count,
                    "ArrowLeft" => (now + count - 1) % count,
                    "Home" => 0,
                    "End" => count - 1,
                    _ => return,
                };
                event.prevent_default();
                page.select_section(next, true);
            });
        }
        let choices = [
            (id::PROMPT_ONCE, Choice::Once),
            (id::PROMPT_ALWAYS, Choice::Always),
            (id::PROMPT_DENY, Choice::Deny),
            (id::PROMPT_NEVER, Choice::Never),
        ];
        for (button, choice) in choices {
            if let Some(element) = self.element(button) {
                let page = self.clone();
                listen(&element, "click", move |_| {
                    spawn_local(page.clone().answer_prompt(choice));
                });
            }
        }
        on_item_click(self, id::APPS, "data-revoke", Page::revoke);
    }

    fn selected_section(&self) -> usize {
        id::SECTIONS
            .iter()
            .position(|(tab, _)| {
                self.element(tab)
                    .and_then(|t| t.get_attribute("aria-selected"))
                    .as_deref()
                    == Some("true")
            })
            .unwrap_or(0)
    }

    /// Shows one section of the vault; `focus` moves the keyboard focus to its tab.
    pub(super) fn select_section(self: &Rc<Self>, index: usize, focus: bool) {
        for (i, (tab, panel)) in id::SECTIONS.iter().enumerate() {
            let selected = i == index;
            if let Some(tab) = self.element(tab) {
                let _ = tab.set_attribute("aria-selected", if selected { "true" } else { "false" });
                let _ = tab.set_attribute("tabindex", if selected { "0" } else { "-1" });
                if selected && focus {
                    let _ = tab.unchecked_ref::<HtmlElement>().focus();
                }
            }
            if selected {
                self.reveal(panel);
            } else {
                self.conceal(panel);
            }
        }
        if id::SECTIONS[index].0 == id::TAB_APPS {
            spawn_local(self.clone().refresh_signer());
        }
    }

    async fn refresh_signer(self: Rc<Self>) {
        if let Ok(Answer::Signer(view)) = self.worker.call(Command::SignerState, &[]).await {
            show_signer(&view);
        }
    }

    /// Reads a pasted `nostrconnect://` link and shows what the app asks; approving connects it.
    pub(super) async fn on_connect_app(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        let link = Private(self.value(id::CONNECT_LINK));
        if action == "approve" {
            self.busy(Form::ConnectApp.id(), Some("Connecting the app…"));
            let Answer::Signer(view) = self
                .worker
                .call(Command::AcceptInvitation(link), &[])
                .await?
            else {
                return Err(wording::unexpected_answer());
            };
            if let Some(input) = self.input(id::CONNECT_LINK) {
                input.set_value("");
            }
            self.conceal(id::INVITATION);
            show_signer(&view);
            self.set_text(id::STATUS, "The app is connected.");
            return Ok(());
        }
        self.conceal(id::INVITATION);
        let Answer::Invitation(Invitation(about, asks)) =
            self.worker.call(Command::ReadInvitation(link), &[]).await?
        else {
            return Err(wording::unexpected_answer());
        };
        let name = about.first().map_or("", String::as_str);
        self.set_text(id::INVITATION_NAME, name);
        fill_list(
            &self.document,
            id::INVITATION_ABOUT,
            about.get(1..).unwrap_or_default(),
        );
        fill_list(&self.document, id::INVITATION_ASKS, &asks);
        self.reveal(id::INVITATION);
        Ok(())
    }

    /// Makes a `bunker://` link for an app, shown as text and as a QR code.
    pub(super) async fn on_bunker_link(self: Rc<Self>) -> Result<(), Failure> {
        let answer = self.worker.call(Command::NewBunkerLink, &[]).await?;
        let Answer::BunkerLink(link, qr) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.set_text(id::BUNKER_LINK, &link);
        if let Some(figure) = self.element(id::BUNKER_QR) {
            figure.set_inner_html(&qr);
        }
        Ok(())
    }

    async fn answer_prompt(self: Rc<Self>, choice: Choice) {
        let Some(prompt) = self
            .element(id::SIGNER_PROMPT)
            .and_then(|p| p.get_attribute("data-prompt"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            return;
        };
        show_prompt(None);
        if let Err(failure) = self
            .worker
            .call(Command::AnswerPrompt(prompt, choice), &[])
            .await
        {
            self.set_text(id::STATUS, &failure.message);
        }
    }

    async fn revoke(self: Rc<Self>, app: String) {
        if !confirm("Revoke this app? Its requests will be refused from now on.") {
            return;
        }
        match self.worker.call(Command::RevokeApp(app), &[]).await {
            Ok(Answer::Signer(view)) => show_signer(&view),
            Ok(_) => self.set_text(id::VAULT_ERROR, &wording::unexpected_answer().message),
            Err(failure) => self.set_text(id::VAULT_ERROR, &failure.message),
        }
    }
}

fn document() -> Option<Document> {
    web_sys::window().and_then(|w| w.document())
}

fn create(document: &Document, tag: &str, text: &str) -> Option<Element> {
    let element = document.create_element(tag).ok()?;
    element.set_text_content(Some(text));
    Some(element)
}

/// Replaces the items of list `id` with `items`, as text.
fn fill_list(document: &Document, id: &str, items: &[String]) {
    let Some(list) = document.get_element_by_id(id) else {
        return;
    };
    list.set_text_content(None);
    for item in items {
        if let Some(li) = create(document, "li", item) {
            let _ = list.append_child(&li);
        }
    }
}

/// Shows the signer's state: whether it answers, the connected apps, the activity.
pub(super) fn show_signer(SignerView(active, apps, activity): &SignerView) {
    let Some(document) = document() else {
        return;
    };
    if let Some(status) = document.get_element_by_id(id::SIGNER_STATUS) {
        status.set_text_content(Some(if *active {
            "The signer is on: connected apps are answered while this tab stays open."
        } else {
            "The signer is off while the vault is locked."
        }));
    }
    if let Some(list) = document.get_element_by_id(id::APPS) {
        list.set_text_content(None);
        if apps.is_empty()
            && let Some(empty) = create(&document, "li", "No app is connected yet.")
        {
            let _ = list.append_child(&empty);
        }
        for AppView(key, lines, revoked) in apps {
            let Some(item) = document.create_element("li").ok() else {
                continue;
            };
            for (index, text) in lines.iter().enumerate() {
                if let Some(line) = create(&document, if index == 0 { "strong" } else { "p" }, text)
                {
                    let _ = item.append_child(&line);
                }
            }
            let name = lines.first().map_or("", String::as_str);
            if !revoked && let Some(button) = create(&document, "button", &format!("Revoke {name}"))
            {
                let _ = button.set_attribute("type", "button");
                let _ = button.set_attribute("class", "danger");
                let _ = button.set_attribute("data-revoke", key);
                let _ = item.append_child(&button);
            }
            let _ = list.append_child(&item);
        }
    }
    fill_list(&document, id::ACTIVITY, activity);
}

/// Shows the request waiting for the user, or hides the prompt when none is.
pub(super) fn show_prompt(prompt: Option<&SignerPrompt>) {
    let Some(document) = document() else {
        return;
    };
    let Some(section) = document.get_element_by_id(id::SIGNER_PROMPT) else {
        return;
    };
    let Some(SignerPrompt(prompt, asks, event)) = prompt else {
        let _ = section.set_attribute("hidden", "");
        let _ = section.remove_attribute("data-prompt");
        return;
    };
    let _ = section.set_attribute("data-prompt", &prompt.to_string());
    for (id, text) in [
        (id::SIGNER_PROMPT_ASKS, asks),
        (id::SIGNER_PROMPT_EVENT, event),
    ] {
        if let Some(element) = document.get_element_by_id(id) {
            element.set_text_content(Some(text));
        }
    }
    let _ = section.remove_attribute("hidden");
}
