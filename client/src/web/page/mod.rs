//! The page: screens, forms and the channel to the vault worker. It never holds a secret beyond
//! the input event that carries a password straight to the worker.
//!
//! [`Page`] is the page's state; each screen or concern adds its methods in a module of its
//! own: [`signup`] (email, code, new password), [`unlock`], [`kit`] (the emergency kit and
//! "forgot password"), [`passkeys`] (WebAuthn), [`vault`] (the open vault),
//! [`apps`] (the vault's sections and the apps its signer serves),
//! [`strength_meter`], [`keyboard`] (the on-screen keyboard) and [`timers`] (auto-lock, the
//! resend countdown, sync retries). [`channel`] owns the worker, [`dom`] the element helpers.

mod apps;
mod channel;
mod dom;
mod keyboard;
mod kit;
mod passkeys;
mod progress;
mod signup;
mod strength_meter;
mod timers;
mod unlock;
mod vault;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{Document, Event, HtmlInputElement, SubmitEvent};

use crate::dom_ids as id;
use crate::keyboard::Layer;
use crate::strength::Dictionary;
use crate::worker_api::{Answer, Command, Failure};
use channel::VaultWorker;
use dom::{listen, on_click};
use timers::Timers;

pub(super) struct Page {
    document: Document,
    worker: VaultWorker,
    /// A password change made here is waiting for the server.
    unsynced: Cell<bool>,
    syncing: Cell<bool>,
    /// What the unlock did to the backup (sealed it again), shown until the server has it.
    unlock_notice: RefCell<Option<String>>,
    /// The unlock screen is a login's (a backup just downloaded), whose earlier versions the
    /// server can be asked for.
    at_login: Cell<bool>,
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
    /// What the next sync that sends a change says it saved (a new password, unless set).
    pushed: Cell<Option<&'static str>>,
    /// The vault that opens once the emergency kit on screen is confirmed saved.
    after_kit: RefCell<Option<crate::worker_api::Opened>>,
    /// The passkeys of the backup held, as last listed by the worker.
    passkeys: RefCell<Vec<crate::worker_api::PasskeyView>>,
}

/// The page's forms, each with the element that shows its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Email,
    Code,
    NewPassword,
    ImportKey,
    Unlock,
    Recover,
    PasskeyUnlock,
    Kit,
    NewKit,
    AddPasskey,
    ChangePassword,
    Export,
    Conflict,
    Delete,
    SwitchServer,
    ConnectApp,
    BunkerLink,
}

impl Form {
    const ALL: [Self; 17] = [
        Self::Email,
        Self::Code,
        Self::NewPassword,
        Self::ImportKey,
        Self::Unlock,
        Self::Recover,
        Self::PasskeyUnlock,
        Self::Kit,
        Self::NewKit,
        Self::AddPasskey,
        Self::ChangePassword,
        Self::Export,
        Self::Conflict,
        Self::Delete,
        Self::SwitchServer,
        Self::ConnectApp,
        Self::BunkerLink,
    ];

    fn id(self) -> &'static str {
        match self {
            Self::Email => id::EMAIL_FORM,
            Self::Code => id::CODE_FORM,
            Self::NewPassword => id::PASSWORD_FORM,
            Self::ImportKey => id::IMPORT_FORM,
            Self::Unlock => id::UNLOCK_FORM,
            Self::Recover => id::RECOVER_FORM,
            Self::PasskeyUnlock => id::PASSKEY_UNLOCK_FORM,
            Self::Kit => id::KIT_FORM,
            Self::NewKit => id::NEW_KIT_FORM,
            Self::AddPasskey => id::PASSKEY_FORM,
            Self::ChangePassword => id::CHANGE_FORM,
            Self::Export => id::EXPORT_FORM,
            Self::Conflict => id::CONFLICT_FORM,
            Self::Delete => id::DELETE_FORM,
            Self::SwitchServer => id::SERVER_FORM,
            Self::ConnectApp => id::CONNECT_FORM,
            Self::BunkerLink => id::BUNKER_FORM,
        }
    }

    fn error_id(self) -> &'static str {
        match self {
            Self::Email => id::EMAIL_ERROR,
            Self::Code => id::CODE_ERROR,
            Self::NewPassword => id::PASSWORD_ERROR,
            Self::ImportKey => id::IMPORT_ERROR,
            Self::Unlock => id::UNLOCK_ERROR,
            Self::Recover => id::RECOVER_ERROR,
            Self::PasskeyUnlock => id::PASSKEY_UNLOCK_ERROR,
            Self::Kit => id::KIT_ERROR,
            Self::NewKit => id::NEW_KIT_ERROR,
            Self::AddPasskey => id::PASSKEY_ERROR,
            Self::ChangePassword => id::CHANGE_ERROR,
            Self::Export => id::EXPORT_ERROR,
            Self::Conflict => id::CONFLICT_ERROR,
            Self::Delete => id::DELETE_ERROR,
            Self::SwitchServer => id::SERVER_ERROR,
            Self::ConnectApp => id::CONNECT_ERROR,
            Self::BunkerLink => id::BUNKER_ERROR,
        }
    }
}

impl Page {
    /// Runs a form's action; `action` is the value of the submit button pressed, for forms with
    /// more than one.
    async fn submit(self: Rc<Self>, form: Form, action: String) {
        let outcome = match form {
            Form::Email => self.clone().on_email().await,
            Form::Code => self.clone().on_code().await,
            Form::NewPassword => self.clone().on_new_password().await,
            Form::ImportKey => self.clone().on_import_key().await,
            Form::Unlock => self.clone().on_unlock(&action).await,
            Form::Recover => self.clone().on_recover().await,
            Form::PasskeyUnlock => self.clone().on_passkey_unlock().await,
            Form::Kit => self.clone().on_kit_saved().await,
            Form::NewKit => self.clone().on_new_kit().await,
            Form::AddPasskey => self.clone().on_add_passkey().await,
            Form::ChangePassword => self.clone().on_change_password().await,
            Form::Export => self.clone().on_export(&action).await,
            Form::Conflict => self.clone().on_conflict(&action).await,
            Form::Delete => self.clone().on_delete().await,
            Form::SwitchServer => self.clone().on_switch_server().await,
            Form::ConnectApp => self.clone().on_connect_app(&action).await,
            Form::BunkerLink => self.clone().on_bunker_link().await,
        };
        self.busy(form.id(), None);
        let error = outcome.err().map(|f: Failure| f.message);
        self.set_text(form.error_id(), error.as_deref().unwrap_or(""));
    }

    fn wire(self: &Rc<Self>) {
        for form in Form::ALL {
            let Some(element) = self.element(form.id()) else {
                continue;
            };
            let page = self.clone();
            listen(&element, "submit", move |event: Event| {
                event.prevent_default();
                // Which submit button was pressed, for forms with more than one action.
                let action = event
                    .dyn_ref::<SubmitEvent>()
                    .and_then(SubmitEvent::submitter)
                    .and_then(|button| button.get_attribute("value"))
                    .unwrap_or_default();
                spawn_local(page.clone().submit(form, action));
            });
        }
        on_click(self, id::RESEND, Page::on_resend);
        on_click(self, id::COPY_NPUB, Page::on_copy);
        on_click(self, id::SHOW_NPUB_QR, Page::on_show_qr);
        on_click(self, id::IMPORT_CANCEL, Page::on_import_cancel);
        on_click(self, id::LOCK, Page::lock_and_reload);
        on_click(self, id::OTHER_ACCOUNT, Page::on_other_account);
        on_click(self, id::FORGET_DEVICE, Page::on_forget);
        on_click(self, id::KIT_DOWNLOAD, Page::on_kit_download);
        on_click(self, id::KIT_PRINT, Page::on_kit_print);
        self.wire_strength_meters();
        self.wire_keyboard();
        self.wire_activity();
        self.wire_sections();
        self.wire_passkeys();
    }

    /// Connects to the server through the worker and opens the first screen.
    async fn open(self: Rc<Self>) {
        let announcement = prefetched_announcement().await;
        match self.worker.call(Command::Connect(announcement), &[]).await {
            Ok(Answer::Connected(connected)) => {
                self.set_text(id::SERVER_NPUB, &connected.server_npub);
                self.set_text(id::STATUS, "");
                self.reveal(id::OSK_BAR);
                match connected.saved_email {
                    Some(email) => {
                        self.show_returning(&email, connected.unsynced, connected.online)
                    }
                    None => self.show(id::SCREEN_EMAIL),
                }
            }
            Ok(_) => self.set_text(id::STATUS, "Could not connect: unexpected answer."),
            Err(failure) => self.set_text(
                id::STATUS,
                &format!("Could not connect: {}", failure.message),
            ),
        }
    }
}

pub fn start() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let status = |text: &str| {
        if let Some(el) = document.get_element_by_id(id::STATUS) {
            el.set_text_content(Some(text));
        }
    };
    let Ok(worker) = VaultWorker::spawn() else {
        status("This browser cannot start the vault (module workers are needed).");
        return;
    };
    status("Connecting to the server…");
    let page = Rc::new(Page {
        document: document.clone(),
        worker,
        unsynced: Cell::new(false),
        syncing: Cell::new(false),
        unlock_notice: RefCell::new(None),
        at_login: Cell::new(false),
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
        pushed: Cell::new(None),
        after_kit: RefCell::default(),
        passkeys: RefCell::default(),
    });
    let _ = page.timers.set(Timers::new(&page));
    page.wire();
    spawn_local(page.open());
}

/// The well-known document that boot.js started fetching beside the module, if it arrived.
async fn prefetched_announcement() -> Option<String> {
    let promise = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("sigilAnnouncement"))
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    JsFuture::from(promise).await.ok()?.as_string()
}
