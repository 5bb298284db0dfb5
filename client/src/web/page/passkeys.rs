//! Passkeys (WebAuthn with the PRF extension): unlocking with one, and adding, listing and
//! removing them in the open vault. The WebAuthn calls themselves are in `www/passkeys.js`,
//! imported on first use (the browser's API is JavaScript's, and the first screen's
//! WebAssembly stays within its budget).
//!
//! WebAuthn exists only in the page, not in workers, so a passkey's PRF output arrives here, as
//! a view on a buffer the browser made. The page never reads it: the buffer goes to the vault
//! worker as a transfer, which detaches it here (see SECURITY.md).

use std::rc::Rc;

use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::dom::{confirm, on_item_click};
use super::{Form, Page};
use crate::dom_ids as id;
use crate::wording::{self, PasskeyTrouble, passkey_trouble};
use crate::worker_api::{Answer, Command, Failure, PasskeyRequest, PasskeyView};

/// What `www/passkeys.js` answers for a credential made or used.
struct Used {
    /// The credential id, base64url.
    id: String,
    /// At registration: whether the authenticator took the PRF extension, if it says.
    enabled: Option<bool>,
    /// The PRF output, if the authenticator gave one.
    prf: Option<Uint8Array>,
}

impl Page {
    pub(super) fn wire_passkeys(self: &Rc<Self>) {
        on_item_click(self, id::PASSKEY_LIST, "data-passkey", Page::remove_passkey);
    }

    /// On the unlock screen: offers the backup's passkeys, where the browser can use them.
    pub(super) async fn offer_passkey_unlock(self: Rc<Self>) {
        let listed = self.list_passkeys().await;
        if listed && !self.passkeys.borrow().is_empty() && prf_possible().await {
            self.reveal(id::PASSKEY_UNLOCK_FORM);
        } else {
            self.conceal(id::PASSKEY_UNLOCK_FORM);
        }
    }

    /// Asks the browser for an assertion by any of the backup's passkeys, each asked for its
    /// own slot's PRF output, and hands that output to the vault worker.
    pub(super) async fn on_passkey_unlock(self: Rc<Self>) -> Result<(), Failure> {
        self.busy(Form::PasskeyUnlock.id(), Some("Waiting for your passkey…"));
        let (ids, salts): (Array, Array) = self
            .passkeys
            .borrow()
            .iter()
            .map(|PasskeyView(id, _, _, salt)| (JsValue::from_str(id), JsValue::from_str(salt)))
            .unzip();
        let used = webauthn("authenticate", &[ids.into(), salts.into()]).await?;
        let output = used
            .prf
            .ok_or_else(|| passkey_trouble(PasskeyTrouble::NoPrf))?;
        self.busy(Form::PasskeyUnlock.id(), Some("Unlocking…"));
        let answer = self
            .worker
            .call(Command::UnlockWithPasskey(used.id), &[output])
            .await?;
        let Answer::Opened(opened) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.unlocked(opened);
        Ok(())
    }

    /// Lists the backup's passkeys (in the vault's Security section too); false when the
    /// worker could not say.
    pub(super) async fn list_passkeys(self: &Rc<Self>) -> bool {
        match self.worker.call(Command::Passkeys, &[]).await {
            Ok(Answer::Passkeys(list)) => {
                self.show_passkeys(list);
                true
            }
            _ => false,
        }
    }

    /// The vault's Security section: its passkeys, and the form to add one where the browser
    /// can, or why it cannot.
    pub(super) async fn offer_passkeys(self: Rc<Self>) {
        self.list_passkeys().await;
        if prf_possible().await {
            self.conceal(id::PASSKEY_UNSUPPORTED);
            self.reveal(id::PASSKEY_FORM);
        } else {
            self.reveal(id::PASSKEY_UNSUPPORTED);
            self.conceal(id::PASSKEY_FORM);
        }
    }

    fn show_passkeys(&self, list: Vec<PasskeyView>) {
        if let Some(element) = self.element(id::PASSKEY_LIST) {
            element.set_text_content(None);
            for PasskeyView(credential, name, added, _) in &list {
                let Ok(item) = self.document.create_element("li") else {
                    continue;
                };
                item.set_text_content(Some(&format!("{name}, {added} ")));
                if let Ok(button) = self.document.create_element("button") {
                    button.set_text_content(Some(&format!("Remove {name}")));
                    let _ = button.set_attribute("type", "button");
                    let _ = button.set_attribute("class", "danger");
                    let _ = button.set_attribute("data-passkey", credential);
                    let _ = item.append_child(&button);
                }
                let _ = element.append_child(&item);
            }
        }
        *self.passkeys.borrow_mut() = list;
    }

    /// Adds a passkey: the password first (the worker checks it and picks the PRF input), then
    /// the browser registers the credential and gives its PRF output, which the worker wraps
    /// the backup's data key under.
    pub(super) async fn on_add_passkey(self: Rc<Self>) -> Result<(), Failure> {
        let secrets = [self.take_password(id::PASSKEY_PASSWORD)];
        self.busy(Form::AddPasskey.id(), Some("Checking your password…"));
        let answer = self.worker.call(Command::BeginPasskey, &secrets).await?;
        let Answer::PasskeyRequest(PasskeyRequest(user, salt, exclude)) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.busy(Form::AddPasskey.id(), Some("Waiting for your passkey…"));
        let email = self.value(id::UNLOCK_USERNAME);
        let exclude: Array = exclude.iter().map(|c| JsValue::from_str(c)).collect();
        let args = [
            user.into(),
            email.into(),
            salt.clone().into(),
            exclude.into(),
        ];
        let created = webauthn("register", &args).await?;
        // Authenticators that evaluate PRF only when asserting enable it at registration and
        // give the output at a first use.
        let output = match (created.prf, created.enabled) {
            (Some(output), _) => output,
            (None, Some(false)) => return Err(passkey_trouble(PasskeyTrouble::NoPrf)),
            (None, _) => {
                let ids = Array::of1(&JsValue::from_str(&created.id));
                let salts = Array::of1(&salt.into());
                let used = webauthn("authenticate", &[ids.into(), salts.into()]).await?;
                used.prf
                    .ok_or_else(|| passkey_trouble(PasskeyTrouble::NoPrf))?
            }
        };
        let name = self.value(id::PASSKEY_NAME);
        self.busy(Form::AddPasskey.id(), Some("Adding the passkey…"));
        let answer = self
            .worker
            .call(Command::AddPasskey(created.id, name), &[output])
            .await?;
        let Answer::Passkeys(list) = answer else {
            return Err(wording::unexpected_answer());
        };
        if let Some(field) = self.input(id::PASSKEY_NAME) {
            field.set_value("");
        }
        self.show_passkeys(list);
        self.changed_slots("Your new passkey is saved on the server.");
        Ok(())
    }

    async fn remove_passkey(self: Rc<Self>, credential: String) {
        if !confirm(
            "Remove this passkey? It will no longer unlock your vault, here or on any other device.",
        ) {
            return;
        }
        match self
            .worker
            .call(Command::RemovePasskey(credential), &[])
            .await
        {
            Ok(Answer::Passkeys(list)) => {
                self.show_passkeys(list);
                self.set_text(id::PASSKEY_ERROR, "");
                self.changed_slots("The passkey is removed on the server too.");
            }
            Ok(_) => self.set_text(id::PASSKEY_ERROR, &wording::unexpected_answer().message),
            Err(failure) => self.set_text(id::PASSKEY_ERROR, &failure.message),
        }
    }

    /// The backup's slots changed here: sync it, and say `saved` once the server has it.
    fn changed_slots(self: &Rc<Self>, saved: &'static str) {
        self.unsynced.set(true);
        self.pushed.set(Some(saved));
        spawn_local(self.clone().sync());
    }
}

/// Calls `name` of `www/passkeys.js` (imported on first use through boot.js's
/// `sigilPasskeys`) with `args`, and awaits its answer.
async fn call_module(name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let import: Function = Reflect::get(&js_sys::global(), &"sigilPasskeys".into())?.dyn_into()?;
    let module = JsFuture::from(import.call0(&JsValue::NULL)?.dyn_into::<Promise>()?).await?;
    let function: Function = Reflect::get(&module, &name.into())?.dyn_into()?;
    let args: Array = args.iter().collect();
    let answer = Reflect::apply(&function, &JsValue::NULL, &args)?;
    JsFuture::from(answer.dyn_into::<Promise>()?).await
}

/// Whether this browser may unlock with a passkey here (`supported` of `www/passkeys.js`).
async fn prf_possible() -> bool {
    call_module("supported", &[])
        .await
        .is_ok_and(|yes| yes.as_bool() == Some(true))
}

/// Registers or uses a passkey through `www/passkeys.js`; a refusal in the user's words.
async fn webauthn(name: &str, args: &[JsValue]) -> Result<Used, Failure> {
    let answer = call_module(name, args).await.map_err(|error| {
        let name = Reflect::get(&error, &"name".into())
            .ok()
            .and_then(|n| n.as_string());
        passkey_trouble(match name.as_deref() {
            Some("NotAllowedError" | "AbortError") => PasskeyTrouble::Cancelled,
            Some("InvalidStateError") => PasskeyTrouble::AlreadyAdded,
            _ => PasskeyTrouble::Refused,
        })
    })?;
    let field = |key: &str| Reflect::get(&answer, &key.into()).unwrap_or(JsValue::UNDEFINED);
    Ok(Used {
        id: field("id").as_string().unwrap_or_default(),
        enabled: field("enabled").as_bool(),
        prf: field("prf").dyn_into::<Uint8Array>().ok(),
    })
}
