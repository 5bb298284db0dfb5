//! The open vault: the identity, sync with the server, password change, export, and leaving
//! (lock, remove from this device, delete the account, another server).

use std::rc::Rc;

use wasm_bindgen_futures::{JsFuture, spawn_local};

use super::dom::confirm;
use super::{Form, Page};
use crate::dom_ids as id;
use crate::wording;
use crate::worker_api::{Answer, Command, Failure, Keep, Opened, Sync};

impl Page {
    pub(super) fn show_vault(self: &Rc<Self>, opened: &Opened) {
        self.set_text(id::NPUB, &opened.npub);
        if let Some(figure) = self.element(id::NPUB_QR) {
            figure.set_inner_html("");
        }
        self.reveal(id::SHOW_NPUB_QR);
        if let Some(list) = self.element(id::RELAYS) {
            list.set_text_content(None);
            for relay in &opened.relays {
                if let Ok(item) = self.document.create_element("li") {
                    item.set_text_content(Some(relay));
                    let _ = list.append_child(&item);
                }
            }
        }
        if opened.needs_kit {
            self.reveal(id::KIT_MISSING);
        } else {
            self.conceal(id::KIT_MISSING);
        }
        self.show(id::SCREEN_VAULT);
        spawn_local(self.clone().offer_passkeys());
        self.select_section(0, false);
        self.arm_idle_lock();
        self.arm_sync_retry();
    }

    /// Draws the npub's QR code on request: the encoder is in the signer's module, which the
    /// vault worker loads on first use.
    pub(super) async fn on_show_qr(self: Rc<Self>) {
        match self.worker.call(Command::NpubQr, &[]).await {
            Ok(Answer::Qr(svg)) => {
                if let Some(figure) = self.element(id::NPUB_QR) {
                    figure.set_inner_html(&svg);
                }
                self.conceal(id::SHOW_NPUB_QR);
            }
            Ok(_) => self.set_text(id::STATUS, &wording::unexpected_answer().message),
            Err(failure) => self.set_text(id::STATUS, &failure.message),
        }
    }

    /// Publishes the account's relay list (NIP-65) if no relay has it yet; relays out of reach
    /// leave it for the next unlock.
    pub(super) async fn publish_relay_list(self: Rc<Self>) {
        let message = match self.worker.call(Command::PublishRelayList, &[]).await {
            Ok(Answer::RelayListPublished(0, _)) => String::new(),
            Ok(Answer::RelayListPublished(published, relays)) => {
                format!("Your relay list is published on {published} of {relays} relays.")
            }
            Ok(_) => String::new(),
            Err(failure) => format!("Your relay list is not published yet: {}", failure.message),
        };
        self.set_text(id::RELAYS_STATUS, &message);
    }

    /// Compares this device's backup with the server's and says what came of it. One at a time:
    /// the online event, the retry timer and an unlock may all ask at once.
    pub(super) async fn sync(self: Rc<Self>) {
        if self.syncing.replace(true) {
            return;
        }
        let outcome = self.worker.call(Command::Sync, &[]).await;
        self.syncing.set(false);
        match outcome {
            Ok(Answer::Synced(outcome, unsynced)) => self.show_sync(outcome, unsynced),
            Ok(_) => self.set_text(id::SYNC_STATUS, &wording::unexpected_answer().message),
            Err(failure) => self.set_text(id::SYNC_STATUS, &failure.message),
        }
    }

    fn show_sync(&self, outcome: Sync, unsynced: bool) {
        self.unsynced.set(unsynced);
        match outcome {
            Sync::Conflict(_) => {
                self.set_text(
                    id::CONFLICT_TITLE,
                    "Your password was changed on two devices",
                );
                self.set_text(
                    id::CONFLICT_TEXT,
                    "This device and another one each set a new password. Both backups are kept \
                     until you choose which password stays; your key is the same in both.",
                );
                self.reveal(id::CONFLICT);
            }
            Sync::ChangedElsewhere(_) => {
                self.set_text(
                    id::CONFLICT_TITLE,
                    "Your password was changed on another device",
                );
                self.set_text(
                    id::CONFLICT_TEXT,
                    "The server has a newer backup, sealed under another password. This device \
                     keeps using its own copy until that password opens the new one; your key \
                     is the same in both.",
                );
                self.reveal(id::CONFLICT);
            }
            _ => self.conceal(id::CONFLICT),
        }
        // A backup sealed again at unlock: the notice, with where the new backup is.
        let notice = self.unlock_notice.borrow().clone();
        if let Some(notice) = notice {
            let message = match outcome {
                Sync::Pushed(_) => Some(format!("{notice} It is saved on the server.")),
                Sync::Offline if unsynced => Some(format!(
                    "{notice} It will be sent to the server as soon as it can be reached."
                )),
                _ => None,
            };
            if let Some(message) = message {
                if matches!(outcome, Sync::Pushed(_)) {
                    self.unlock_notice.take();
                }
                self.set_text(id::SYNC_STATUS, &message);
                return;
            }
        }
        let message = match outcome {
            Sync::UpToDate => "",
            Sync::Pushed(_) => self
                .pushed
                .take()
                .unwrap_or("Your new password is saved on the server."),
            Sync::Adopted(_) => {
                "The backup from the other device opened with that password. This device now uses it."
            }
            Sync::ChangedElsewhere(_) => {
                "Your password was changed on another device. This device keeps its own copy until \
                 you enter that password below (or keep this device's password)."
            }
            Sync::Offline if unsynced => {
                "You are offline. Your new password is saved on this device and will be sent to \
                 the server as soon as it can be reached."
            }
            Sync::Offline => "You are offline: this is the copy saved on this device.",
            Sync::Conflict(_) => {
                "Your password was changed here and on another device: choose below."
            }
        };
        self.set_text(id::SYNC_STATUS, message);
    }

    /// The answer to a command that syncs, shown.
    fn synced(&self, answer: Answer) -> Result<(), Failure> {
        let Answer::Synced(outcome, unsynced) = answer else {
            return Err(wording::unexpected_answer());
        };
        self.show_sync(outcome, unsynced);
        Ok(())
    }

    pub(super) async fn on_change_password(self: Rc<Self>) -> Result<(), Failure> {
        self.check_strength(id::CHANGE_NEW)?;
        let secrets = [id::CHANGE_OLD, id::CHANGE_NEW, id::CHANGE_REPEAT]
            .map(|field| self.take_password(field));
        self.busy(
            Form::ChangePassword.id(),
            Some("Re-encrypting your key and saving it…"),
        );
        let answer = self.worker.call(Command::ChangePassword, &secrets).await?;
        self.set_text(id::STATUS, "Your password was changed.");
        self.synced(answer)
    }

    pub(super) async fn on_conflict(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        let (keep, secrets) = match action {
            "other_device" => (
                Keep::OtherDevice,
                vec![self.take_password(id::CONFLICT_PASSWORD)],
            ),
            _ => (Keep::ThisDevice, Vec::new()),
        };
        self.busy(Form::Conflict.id(), Some("Saving your choice…"));
        let answer = self
            .worker
            .call(Command::ResolveConflict(keep), &secrets)
            .await?;
        self.synced(answer)
    }

    pub(super) async fn on_export(self: Rc<Self>, action: &str) -> Result<(), Failure> {
        self.set_text(id::KEY_OUTPUT, "");
        let command = if action == "reveal" {
            if !confirm(
                "Show your secret key (nsec) on screen? Anyone who sees it controls your identity.",
            ) {
                return Ok(());
            }
            Command::RevealNsec
        } else {
            Command::ExportNcryptsec
        };
        let secrets = [self.take_password(id::EXPORT_PASSWORD)];
        self.busy(Form::Export.id(), Some("Checking your password…"));
        let Answer::Key(key) = self.worker.call(command, &secrets).await? else {
            return Err(wording::unexpected_answer());
        };
        self.set_text(id::KEY_OUTPUT, &key);
        Ok(())
    }

    pub(super) async fn on_copy(self: Rc<Self>) {
        let npub = self
            .element(id::NPUB)
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        let Some(window) = web_sys::window() else {
            return;
        };
        let copied = JsFuture::from(window.navigator().clipboard().write_text(&npub)).await;
        self.set_text(
            id::STATUS,
            if copied.is_ok() {
                "Copied your npub."
            } else {
                "Copying was refused by the browser."
            },
        );
    }

    /// Deleting needs the password, as export does: an unattended open screen is not enough.
    pub(super) async fn on_delete(self: Rc<Self>) -> Result<(), Failure> {
        if !confirm(
            "Delete your account on this server? Your backup there and on this device is removed; without another copy of your key (export it first) the identity is lost.",
        ) {
            return Ok(());
        }
        let secrets = [self.take_password(id::DELETE_PASSWORD)];
        self.busy(
            Form::Delete.id(),
            Some("Checking your password, then deleting…"),
        );
        self.worker.call(Command::DeleteAccount, &secrets).await?;
        self.show(id::SCREEN_EMAIL);
        self.set_text(id::STATUS, "Your account was deleted.");
        Ok(())
    }

    /// Wipes the worker's secrets, then reloads: a fresh page holds nothing.
    pub(super) async fn lock_and_reload(self: Rc<Self>) {
        let _ = self.worker.call(Command::Lock, &[]).await;
        if let Some(window) = web_sys::window() {
            let _ = window.location().reload();
        }
    }

    /// Removes this device's copy of the vault (the account stays on the server), then reloads.
    pub(super) async fn on_forget(self: Rc<Self>) {
        let mut question = String::from(
            "Remove your vault from this device? You can log in again with your email and password.",
        );
        if self.unsynced.get() {
            question.push_str(" Your new password has not reached the server yet and would be lost; the server keeps the previous one.");
        }
        if !confirm(&question) {
            return;
        }
        match self.worker.call(Command::Forget, &[]).await {
            Ok(_) => {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }
            Err(failure) => self.set_text(id::VAULT_ERROR, &failure.message),
        }
    }

    /// Leaves for another Sigil server's page. Its accounts, and this device's copy of a vault
    /// there, are its own: browsers keep storage per origin.
    pub(super) async fn on_switch_server(self: Rc<Self>) -> Result<(), Failure> {
        let entered = self.value(id::SERVER_URL);
        let url = web_sys::Url::new(entered.trim()).map_err(|_| wording::not_a_web_address())?;
        if !matches!(url.protocol().as_str(), "http:" | "https:") {
            return Err(wording::not_http());
        }
        let window = web_sys::window().ok_or_else(wording::address_refused)?;
        if window.location().origin().ok().as_deref() == Some(url.origin().as_str()) {
            return Err(wording::same_server());
        }
        window
            .location()
            .assign(&format!("{}/", url.origin()))
            .map_err(|_| wording::address_refused())
    }
}
