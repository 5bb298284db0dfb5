//! Unlocking the vault kept on this device, or the one just downloaded on a new device.

use std::rc::Rc;

use wasm_bindgen_futures::spawn_local;

use super::dom::confirm;
use super::{Form, Page};
use crate::dom_ids as id;
use crate::wording;
use crate::worker_api::{Answer, Command, Failure, Opened};

impl Page {
    /// Unlocks with the password; `action` is `earlier` when the user asks, at a login, to try
    /// the earlier backups the server keeps because the newest refused the password.
    pub(super) async fn on_unlock(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        let (command, busy) = match action {
            "earlier" => (Command::UnlockFromEarlier, "Trying earlier backups…"),
            _ => (Command::Unlock, "Unlocking…"),
        };
        let secrets = [self.take_password(id::PASSWORD)];
        self.busy(Form::Unlock.id(), Some(busy));
        let answer = self.worker.call(command, &secrets).await;
        if answer.is_err() && self.at_login.get() {
            self.reveal(id::TRY_EARLIER);
        }
        let Answer::Opened(opened) = answer? else {
            return Err(wording::unexpected_answer());
        };
        self.unlocked(opened);
        Ok(())
    }

    /// The backup opened (by password or passkey): into the vault, then sync.
    pub(super) fn unlocked(self: Rc<Self>, opened: Opened) {
        self.at_login.set(false);
        self.conceal(id::TRY_EARLIER);
        let notice = opened.notice;
        self.enter_vault(opened);
        if let Some(notice) = notice {
            let words = wording::unlock_notice(notice);
            self.set_text(id::SYNC_STATUS, &words);
            *self.unlock_notice.borrow_mut() = Some(words);
        }
        spawn_local(self.clone().sync());
        spawn_local(self.publish_relay_list());
    }

    /// Shows the unlock screen, with the passkey button when the backup has passkeys.
    pub(super) fn show_unlock(self: &Rc<Self>) {
        self.show(id::SCREEN_UNLOCK);
        spawn_local(self.clone().offer_passkey_unlock());
    }

    /// Opens on the unlock screen for the account kept on this device.
    pub(super) fn show_returning(self: &Rc<Self>, email: &str, unsynced: bool, online: bool) {
        self.set_username(email);
        self.unsynced.set(unsynced);
        let mut who = format!("Welcome back, {email}. Your vault is saved on this device.");
        if !online {
            who.push_str(" You are offline: your password opens it without the server.");
        }
        self.set_text(id::UNLOCK_WHO, &who);
        self.reveal(id::OTHER_ACCOUNT);
        self.show_unlock();
    }

    /// Logs in to another account: back to the first step. This device's copy stays until
    /// another account is opened here.
    pub(super) async fn on_other_account(self: Rc<Self>) {
        if self.unsynced.get()
            && !confirm(
                "A password change made on this device has not reached the server yet. It is sent when you unlock this account again here. Continue?",
            )
        {
            return;
        }
        self.show(id::SCREEN_EMAIL);
    }
}
