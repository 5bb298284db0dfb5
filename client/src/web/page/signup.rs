//! The first steps: the email address, the emailed code, and a new account's password.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use super::{Form, Page};
use crate::dom_ids::{self as id, USERNAME_FIELDS};
use crate::wording;
use crate::worker_api::{Answer, CodeSent, Command, Failure, NextStep, Private};

impl Page {
    pub(super) async fn on_email(self: Rc<Self>) -> Result<(), Failure> {
        let email = self.value(id::EMAIL);
        self.busy(Form::Email.id(), Some("Sending a code…"));
        let command = Command::RequestCode(Private(email.clone()));
        let Answer::CodeSent(sent) = self.worker.call(command, &[]).await? else {
            return Err(wording::unexpected_answer());
        };
        self.code_sent(email.trim(), sent);
        self.set_username(email.trim());
        self.show(id::SCREEN_CODE);
        Ok(())
    }

    pub(super) async fn on_resend(self: Rc<Self>) {
        self.busy(Form::Code.id(), Some("Sending a new code…"));
        let outcome = self.worker.call(Command::ResendCode, &[]).await;
        self.busy(Form::Code.id(), None);
        match outcome {
            Ok(Answer::CodeSent(sent)) => {
                let email = self.value(id::EMAIL);
                self.code_sent(email.trim(), sent);
                self.set_text(id::CODE_ERROR, "");
            }
            Ok(_) => self.set_text(id::CODE_ERROR, &wording::unexpected_answer().message),
            Err(failure) => {
                self.set_text(id::CODE_ERROR, &failure.message);
                self.start_countdown(0);
            }
        }
    }

    /// Says when the code expires and keeps the resend button disabled until it may be used.
    fn code_sent(self: &Rc<Self>, email: &str, sent: CodeSent) {
        let at = js_sys::Date::new(&JsValue::from_f64(
            js_sys::Date::now() + sent.expires_in as f64 * 1000.0,
        ));
        let at = String::from(at.to_locale_time_string("default"));
        self.set_text(
            id::CODE_SENT,
            &format!(
                "We emailed a code to {email}; use the newest one. It expires in {} minutes, at {at}.",
                sent.expires_in.div_ceil(60)
            ),
        );
        self.start_countdown(sent.resend_after);
    }

    /// The user name password managers file the password under.
    pub(super) fn set_username(&self, email: &str) {
        for field in USERNAME_FIELDS {
            if let Some(input) = self.input(field) {
                input.set_value(email);
            }
        }
    }

    pub(super) async fn on_code(self: Rc<Self>) -> Result<(), Failure> {
        let code = self.value(id::CODE);
        self.busy(Form::Code.id(), Some("Checking the code…"));
        let Answer::Verified(next) = self
            .worker
            .call(Command::VerifyCode(Private(code)), &[])
            .await?
        else {
            return Err(wording::unexpected_answer());
        };
        self.at_login.set(next == NextStep::Unlock);
        self.conceal(id::TRY_EARLIER);
        match next {
            NextStep::ChoosePassword => self.show(id::SCREEN_PASSWORD),
            NextStep::Unlock => self.show_unlock(),
        }
        Ok(())
    }

    /// "I already have a Nostr key": the worker reads it and keeps it for the new account; the
    /// page shows its npub (and NIP-49's warning) before anything is sent.
    pub(super) async fn on_import_key(self: Rc<Self>) -> Result<(), Failure> {
        let secrets = [
            self.take_password(id::IMPORT_KEY),
            self.take_password(id::IMPORT_PASSWORD),
        ];
        self.set_text(id::IMPORT_RESULT, "");
        self.busy(Form::ImportKey.id(), Some("Reading the key…"));
        let answer = self.worker.call(Command::ImportKey, &secrets).await?;
        let Answer::KeyImported(npub, insecure) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.set_text(id::IMPORT_RESULT, &wording::imported_key(&npub, insecure));
        self.reveal(id::IMPORT_CANCEL);
        Ok(())
    }

    /// A new key after all.
    pub(super) async fn on_import_cancel(self: Rc<Self>) {
        if self
            .worker
            .call(Command::ForgetImportedKey, &[])
            .await
            .is_ok()
        {
            self.set_text(id::IMPORT_RESULT, "");
            self.conceal(id::IMPORT_CANCEL);
        }
    }

    pub(super) async fn on_new_password(self: Rc<Self>) -> Result<(), Failure> {
        self.check_strength(id::NEW_PASSWORD)?;
        let secrets = [
            self.take_password(id::NEW_PASSWORD),
            self.take_password(id::REPEAT_PASSWORD),
        ];
        self.busy(
            Form::NewPassword.id(),
            Some("Creating and sealing your key, which takes a few seconds…"),
        );
        let Answer::Opened(opened) = self.worker.call(Command::CreateAccount, &secrets).await?
        else {
            return Err(wording::unexpected_answer());
        };
        self.enter_vault(opened);
        spawn_local(self.publish_relay_list());
        Ok(())
    }
}
