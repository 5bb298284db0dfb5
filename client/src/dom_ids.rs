//! Every element id the page's code looks up in `www/index.html`, spelled once. A test checks
//! that each is in the page, so a renamed element is a failing test, not a silent no-op.

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident = $id:literal;)*) => {
        $($(#[$doc])* pub const $name: &str = $id;)*
        /// All of the above, for the test against the page.
        pub const ALL: &[&str] = &[$($id),*];
    };
}

ids! {
    /// The line under the header that says what is happening.
    STATUS = "status";
    PROGRESS = "progress";
    SERVER_NPUB = "server-npub";

    SCREEN_EMAIL = "screen-email";
    EMAIL_FORM = "email-form";
    EMAIL = "email";
    EMAIL_ERROR = "email-error";

    SCREEN_CODE = "screen-code";
    CODE_FORM = "code-form";
    CODE_SENT = "code-sent";
    CODE = "code";
    RESEND = "resend";
    CODE_ERROR = "code-error";

    SCREEN_PASSWORD = "screen-password";
    PASSWORD_FORM = "password-form";
    PASSWORD_USERNAME = "password-username";
    NEW_PASSWORD = "new-password";
    NEW_PASSWORD_METER = "new-password-meter";
    NEW_PASSWORD_STRENGTH = "new-password-strength";
    REPEAT_PASSWORD = "repeat-password";
    PASSWORD_ERROR = "password-error";
    IMPORT_FORM = "import-form";
    IMPORT_KEY = "import-key";
    IMPORT_PASSWORD = "import-password";
    IMPORT_RESULT = "import-result";
    IMPORT_CANCEL = "import-cancel";
    IMPORT_ERROR = "import-error";

    SCREEN_UNLOCK = "screen-unlock";
    UNLOCK_WHO = "unlock-who";
    UNLOCK_FORM = "unlock-form";
    UNLOCK_USERNAME = "unlock-username";
    PASSWORD = "password";
    UNLOCK_ERROR = "unlock-error";
    OTHER_ACCOUNT = "other-account";
    TRY_EARLIER = "try-earlier";
    FORGOT = "forgot";
    RECOVER_FORM = "recover-form";
    RECOVER_USERNAME = "recover-username";
    RECOVERY_CODE = "recovery-code";
    RECOVER_NEW = "recover-new";
    RECOVER_NEW_METER = "recover-new-meter";
    RECOVER_NEW_STRENGTH = "recover-new-strength";
    RECOVER_REPEAT = "recover-repeat";
    RECOVER_ERROR = "recover-error";
    PASSKEY_UNLOCK_FORM = "passkey-unlock-form";
    PASSKEY_UNLOCK_ERROR = "passkey-unlock-error";

    /// The emergency kit, after signup, a recovery or a new code.
    SCREEN_KIT = "screen-kit";
    KIT = "kit";
    KIT_SERVER = "kit-server";
    KIT_EMAIL = "kit-email";
    KIT_CODE = "kit-code";
    KIT_FORM = "kit-form";
    KIT_DOWNLOAD = "kit-download";
    KIT_SAVED = "kit-saved";
    KIT_PRINT = "kit-print";
    KIT_ERROR = "kit-error";
    KIT_MISSING = "kit-missing";
    NEW_KIT_FORM = "new-kit-form";
    NEW_KIT_USERNAME = "new-kit-username";
    NEW_KIT_PASSWORD = "new-kit-password";
    NEW_KIT_ERROR = "new-kit-error";

    /// The vault's passkeys.
    PASSKEY_LIST = "passkey-list";
    PASSKEY_UNSUPPORTED = "passkey-unsupported";
    PASSKEY_FORM = "passkey-form";
    PASSKEY_USERNAME = "passkey-username";
    PASSKEY_NAME = "passkey-name";
    PASSKEY_PASSWORD = "passkey-password";
    PASSKEY_ERROR = "passkey-error";

    SCREEN_VAULT = "screen-vault";
    SYNC_STATUS = "sync-status";
    CONFLICT = "conflict";
    CONFLICT_TITLE = "conflict-title";
    CONFLICT_TEXT = "conflict-text";
    CONFLICT_FORM = "conflict-form";
    CONFLICT_USERNAME = "conflict-username";
    CONFLICT_PASSWORD = "conflict-password";
    CONFLICT_ERROR = "conflict-error";
    NPUB = "npub";
    NPUB_QR = "npub-qr";
    SHOW_NPUB_QR = "show-npub-qr";
    COPY_NPUB = "copy-npub";
    RELAYS = "relays";
    RELAYS_STATUS = "relays-status";
    CHANGE_FORM = "change-form";
    CHANGE_USERNAME = "change-username";
    CHANGE_OLD = "change-old";
    CHANGE_NEW = "change-new";
    CHANGE_NEW_METER = "change-new-meter";
    CHANGE_NEW_STRENGTH = "change-new-strength";
    CHANGE_REPEAT = "change-repeat";
    CHANGE_ERROR = "change-error";
    EXPORT_FORM = "export-form";
    EXPORT_USERNAME = "export-username";
    EXPORT_PASSWORD = "export-password";
    KEY_OUTPUT = "key-output";
    EXPORT_ERROR = "export-error";
    LOCK = "lock";
    FORGET_DEVICE = "forget-device";
    DELETE_FORM = "delete-form";
    DELETE_USERNAME = "delete-username";
    DELETE_PASSWORD = "delete-password";
    DELETE_ERROR = "delete-error";
    VAULT_ERROR = "vault-error";

    /// The vault's sections: tabs and their panels, in order.
    TABLIST = "vault-tabs";
    TAB_IDENTITY = "tab-identity";
    TAB_APPS = "tab-apps";
    TAB_ACTIVITY = "tab-activity";
    TAB_SECURITY = "tab-security";
    PANEL_IDENTITY = "panel-identity";
    PANEL_APPS = "panel-apps";
    PANEL_ACTIVITY = "panel-activity";
    PANEL_SECURITY = "panel-security";

    /// The NIP-46 signer.
    SIGNER_STATUS = "signer-status";
    SIGNER_PROMPT = "signer-prompt";
    SIGNER_PROMPT_ASKS = "signer-prompt-asks";
    SIGNER_PROMPT_EVENT = "signer-prompt-event";
    PROMPT_ONCE = "prompt-once";
    PROMPT_ALWAYS = "prompt-always";
    PROMPT_DENY = "prompt-deny";
    PROMPT_NEVER = "prompt-never";
    CONNECT_FORM = "connect-form";
    CONNECT_LINK = "connect-link";
    CONNECT_ERROR = "connect-error";
    INVITATION = "invitation";
    INVITATION_NAME = "invitation-name";
    INVITATION_ABOUT = "invitation-about";
    INVITATION_ASKS = "invitation-asks";
    BUNKER_FORM = "bunker-form";
    BUNKER_LINK = "bunker-link";
    BUNKER_QR = "bunker-qr";
    BUNKER_ERROR = "bunker-error";
    APPS = "apps";
    ACTIVITY = "activity";
    SERVER_FORM = "server-form";
    SERVER_URL = "server-url";
    SERVER_ERROR = "server-error";

    /// The on-screen keyboard.
    OSK_BAR = "osk-bar";
    OSK_TOGGLE = "osk-toggle";
    OSK = "osk";
    OSK_KEYS = "osk-keys";
    OSK_SHIFT = "osk-shift";
    OSK_SPACE = "osk-space";
    OSK_BACKSPACE = "osk-backspace";
}

/// A new-password field and the strength meter and text under it.
#[derive(Debug, Clone, Copy)]
pub struct NewPasswordField {
    pub input: &'static str,
    pub meter: &'static str,
    pub strength: &'static str,
}

pub const NEW_PASSWORD_FIELDS: [NewPasswordField; 3] = [
    NewPasswordField {
        input: NEW_PASSWORD,
        meter: NEW_PASSWORD_METER,
        strength: NEW_PASSWORD_STRENGTH,
    },
    NewPasswordField {
        input: CHANGE_NEW,
        meter: CHANGE_NEW_METER,
        strength: CHANGE_NEW_STRENGTH,
    },
    NewPasswordField {
        input: RECOVER_NEW,
        meter: RECOVER_NEW_METER,
        strength: RECOVER_NEW_STRENGTH,
    },
];

/// The fields password managers read the account's user name from.
/// The vault's sections: each tab with its panel, in the order the arrow keys move.
pub const SECTIONS: [(&str, &str); 4] = [
    (TAB_IDENTITY, PANEL_IDENTITY),
    (TAB_APPS, PANEL_APPS),
    (TAB_ACTIVITY, PANEL_ACTIVITY),
    (TAB_SECURITY, PANEL_SECURITY),
];

pub const USERNAME_FIELDS: [&str; 9] = [
    PASSWORD_USERNAME,
    UNLOCK_USERNAME,
    RECOVER_USERNAME,
    NEW_KIT_USERNAME,
    PASSKEY_USERNAME,
    CHANGE_USERNAME,
    EXPORT_USERNAME,
    CONFLICT_USERNAME,
    DELETE_USERNAME,
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_id_the_code_uses_is_in_the_page() {
        let page = include_str!("../../www/index.html");
        let missing: Vec<&str> = super::ALL
            .iter()
            .copied()
            .filter(|id| !page.contains(&format!(" id=\"{id}\"")))
            .collect();
        assert!(missing.is_empty(), "not in www/index.html: {missing:?}");
    }
}
