//! The emergency kit (shown after signup, after a recovery, and when the user asks for a new
//! recovery code) and "forgot password", which opens the vault with the kit's code.
//!
//! The code is the one secret the page shows: a kit must be read, printed or saved. It stays in
//! the kit's text until the user confirms saving it, then the page removes it.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlElement, Url};

use super::{Form, Page};
use crate::dom_ids as id;
use crate::wording;
use crate::worker_api::{Answer, Command, Failure, Opened, Private};

impl Page {
    /// The vault just opened (signup, unlock, recovery): first the kit of a code just made.
    pub(super) fn enter_vault(self: &Rc<Self>, opened: Opened) {
        match opened.kit.clone() {
            Some(code) => self.show_kit(&code, Some(opened)),
            None => self.show_vault(&opened),
        }
    }

    /// Shows the kit of `code`; `then` is the vault to open once the user confirms saving it
    /// (none when the kit was made from the open vault).
    fn show_kit(&self, code: &Private, then: Option<Opened>) {
        let server = web_sys::window()
            .and_then(|w| w.location().origin().ok())
            .unwrap_or_default();
        self.set_text(id::KIT_SERVER, &server);
        self.set_text(id::KIT_EMAIL, &self.value(id::UNLOCK_USERNAME));
        self.set_text(id::KIT_CODE, code);
        *self.after_kit.borrow_mut() = then;
        self.show(id::SCREEN_KIT);
    }

    /// The user ticked "I have saved…" (the form submits only then).
    pub(super) async fn on_kit_saved(self: Rc<Self>) -> Result<(), Failure> {
        self.worker.call(Command::ConfirmKit, &[]).await?;
        self.set_text(id::KIT_CODE, "");
        if let Some(saved) = self.input(id::KIT_SAVED) {
            saved.set_checked(false);
        }
        let then = self.after_kit.borrow_mut().take();
        match then {
            // Saved now: the vault no longer asks for one.
            Some(opened) => self.show_vault(&Opened {
                needs_kit: false,
                ..opened
            }),
            None => self.show(id::SCREEN_VAULT),
        }
        self.conceal(id::KIT_MISSING);
        Ok(())
    }

    /// Saves the kit, as shown, as a text file.
    pub(super) async fn on_kit_download(self: Rc<Self>) {
        let Some(kit) = self
            .element(id::KIT)
            .and_then(|e| e.dyn_into::<HtmlElement>().ok())
        else {
            return;
        };
        let parts = js_sys::Array::of1(&kit.inner_text().into());
        let options = BlobPropertyBag::new();
        options.set_type("text/plain;charset=utf-8");
        let Ok(blob) = Blob::new_with_str_sequence_and_options(&parts, &options) else {
            return;
        };
        let Ok(url) = Url::create_object_url_with_blob(&blob) else {
            return;
        };
        if let Some(link) = self
            .document
            .create_element("a")
            .ok()
            .and_then(|a| a.dyn_into::<HtmlAnchorElement>().ok())
        {
            link.set_href(&url);
            link.set_download("sigil-emergency-kit.txt");
            link.click();
        }
        let _ = Url::revoke_object_url(&url);
    }

    /// Prints the kit alone (the print style sheet hides the rest of the page).
    pub(super) async fn on_kit_print(self: Rc<Self>) {
        if let Some(window) = web_sys::window() {
            let _ = window.print();
        }
    }

    /// "Forgot your password?": the recovery code and a new password, checked and applied in the
    /// vault worker; then the kit of the new code.
    pub(super) async fn on_recover(self: Rc<Self>) -> Result<(), Failure> {
        self.check_strength(id::RECOVER_NEW)?;
        let secrets = [
            self.take_password(id::RECOVERY_CODE),
            self.take_password(id::RECOVER_NEW),
            self.take_password(id::RECOVER_REPEAT),
        ];
        self.busy(
            Form::Recover.id(),
            Some(
                "Opening your vault with the recovery code and sealing it under the new password…",
            ),
        );
        let Answer::Opened(opened) = self.worker.call(Command::Recover, &secrets).await? else {
            return Err(wording::unexpected_answer());
        };
        self.unsynced.set(true);
        self.unlocked(opened);
        Ok(())
    }

    /// A new recovery code from the open vault, confirmed with the password.
    pub(super) async fn on_new_kit(self: Rc<Self>) -> Result<(), Failure> {
        let secrets = [self.take_password(id::NEW_KIT_PASSWORD)];
        self.busy(Form::NewKit.id(), Some("Making a new recovery code…"));
        let answer = self.worker.call(Command::NewRecoveryCode, &secrets).await?;
        let Answer::RecoveryKit(code) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.unsynced.set(true);
        self.pushed
            .set(Some("Your new recovery code is saved on the server."));
        self.show_kit(&code, None);
        spawn_local(self.clone().sync());
        Ok(())
    }
}
