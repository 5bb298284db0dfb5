//! The seam between the page and the vault worker: every command the page may send, every
//! answer and progress event the worker sends back, and the failure both show. Defined once and
//! used on both sides, so a renamed field or a new command is a compile error on the other side.
//!
//! Passwords are never in these messages: they travel beside a command as transferred byte
//! arrays, in the order each command's documentation gives, and the worker wipes them after use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sigil_shared::envelope::PasskeyInfo;

use crate::dates::utc;
use crate::session::PasskeyRegistration;

/// The server's own answer to `request_code`, passed on as it is.
pub use sigil_shared::method::CodeSent;

pub use crate::session::{Keep, Sync, UnlockNotice};
pub use crate::transport::Progress;

/// Text that must not reach a log: an address, a code, an exported key. It travels as plain
/// text; its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Private(pub String);

impl std::fmt::Debug for Private {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::ops::Deref for Private {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// What the page asks of the vault worker.
// Every enum here is externally tagged (serde's default): an internally tagged one buffers the
// message before it can pick the variant, which cost 12 KiB of compressed WebAssembly. Small
// answers ride in newtype and tuple variants rather than structs for the same reason: each
// struct brings a deserializer of its own (about 1.5 KiB before compression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Reach the server, or start from this device's copy when offline. With the well-known
    /// document's body if the page already fetched it (boot.js starts that beside the module,
    /// one round trip fewer over Tor).
    Connect(Option<String>),
    /// The email address.
    RequestCode(Private),
    ResendCode,
    /// The code as typed.
    VerifyCode(Private),
    /// A key the user brings for the new account. Secrets: the `nsec` or `ncryptsec` as typed,
    /// then the `ncryptsec`'s password (empty for an `nsec`).
    ImportKey,
    /// A new key for the new account after all, not the one brought.
    ForgetImportedKey,
    /// Secrets: the new password, then its repetition.
    CreateAccount,
    /// Secret: the password.
    Unlock,
    /// "Forgot password". Secrets: the recovery code, the new password, and its repetition.
    Recover,
    /// Secret: the password, which the newest backup refused at a login: try the earlier
    /// versions the server keeps (the user asks for this; a typo should not cost requests).
    UnlockFromEarlier,
    PublishRelayList,
    Sync,
    /// Secrets: the old password, the new one, and its repetition.
    ChangePassword,
    /// Secret, when the other device's password is kept: that password.
    ResolveConflict(Keep),
    /// A new recovery code in place of the old one. Secret: the password.
    NewRecoveryCode,
    /// The user saved the emergency kit just shown.
    ConfirmKit,
    /// The passkeys of the backup held here, locked or open.
    Passkeys,
    /// Starts adding a passkey. Secret: the password.
    BeginPasskey,
    /// The passkey just registered: its credential id (base64url, as WebAuthn names it) and the
    /// name the user gave it. Secret: its PRF output for the salt [`Command::BeginPasskey`] gave.
    AddPasskey(String, String),
    /// Removes the passkey with this credential id (base64url).
    RemovePasskey(String),
    /// Opens the vault with the passkey with this credential id (base64url). Secret: its PRF
    /// output.
    UnlockWithPasskey(String),
    /// Secret: the password.
    ExportNcryptsec,
    /// Secret: the password.
    RevealNsec,
    /// Secret: the password.
    DeleteAccount,
    Lock,
    /// Remove this device's copy of the vault.
    Forget,
    /// The open vault's npub as a QR code.
    NpubQr,
    /// What the NIP-46 signer shows: its state, the connected apps, the activity.
    SignerState,
    /// A new `bunker://` link for an app, with a one-time secret (the previous link's stops
    /// working).
    NewBunkerLink,
    /// A pasted `nostrconnect://` link, read to show what the app is and asks for.
    ReadInvitation(Private),
    /// The same link, approved: the app is connected with the permissions it asked for.
    AcceptInvitation(Private),
    /// Revoke the app with this key (hex): its requests get errors from now on.
    RevokeApp(String),
    /// The user's answer to the signer's prompt with this id.
    AnswerPrompt(u32, Choice),
}

impl Command {
    /// Commands after which this device's copy is removed rather than saved.
    pub fn removes_local_copy(&self) -> bool {
        matches!(self, Self::DeleteAccount | Self::Forget)
    }
}

/// The user's answer to a signer's prompt ([`Command::AnswerPrompt`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Allow this request.
    Once,
    /// Allow this request and every later one needing the same permission.
    Always,
    /// Refuse this request; the next one asks again (within the app's prompt limit).
    Deny,
    /// Refuse this request and every later one needing the same permission.
    Never,
}

/// The worker's answer to a command that succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Connected(Connected),
    CodeSent(CodeSent),
    Verified(NextStep),
    /// The vault is open: after signup or unlock.
    Opened(Opened),
    /// The relay list was taken by the first number of the second number of relays.
    RelayListPublished(usize, usize),
    /// What the sync found, and whether a password change made here is still waiting for the
    /// server.
    Synced(Sync, bool),
    /// An exported key (`ncryptsec`), or the raw `nsec` the user asked to see.
    Key(Private),
    /// A new recovery code, for the emergency kit the page shows.
    RecoveryKit(Private),
    /// The backup's passkeys, in the order they were added.
    Passkeys(Vec<PasskeyView>),
    /// What the browser registers a new passkey with.
    PasskeyRequest(PasskeyRequest),
    Signer(SignerView),
    /// A `bunker://` link (its secret connects one app), and its QR code as SVG.
    BunkerLink(Private, String),
    /// A QR code, as SVG.
    Qr(String),
    /// The npub of the key brought for the new account, and whether NIP-49 says it was handled
    /// insecurely before.
    KeyImported(String, bool),
    Invitation(Invitation),
    Done,
}

/// One passkey of the backup: its credential id, its name, when it was added (as text), and
/// its PRF input, the bytes as base64url (what WebAuthn's options take).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView(pub String, pub String, pub String, pub String);

/// A passkey registration's inputs, base64url: the user handle, the PRF input, and the
/// credentials the authenticator must not register again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRequest(pub String, pub String, pub Vec<String>);

/// Bytes as WebAuthn's JSON forms write them: base64url without padding.
pub fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A credential id the page names, back to bytes.
pub fn credential_id(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

impl PasskeyView {
    pub fn of(info: &PasskeyInfo) -> Self {
        Self(
            base64url(&info.credential),
            info.name.clone(),
            format!("added {}", utc(info.created)),
            base64url(&info.prf_salt),
        )
    }
}

impl PasskeyRequest {
    pub fn of(registration: &PasskeyRegistration) -> Self {
        Self(
            base64url(&registration.user_id),
            base64url(&registration.prf_salt),
            registration.exclude.iter().map(|c| base64url(c)).collect(),
        )
    }
}

/// The NIP-46 signer as the page shows it, already in words (`crate::signer::view` writes them;
/// the page only places them): whether it answers (the vault is open in this tab), the
/// connected apps, and the activity, newest first. Tuples rather than structs: the page's
/// module reads them with less code (see [`Command`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerView(pub bool, pub Vec<AppView>, pub Vec<String>);

/// One connected app: its key in hex (what [`Command::RevokeApp`] names), lines about it (its
/// name first), and whether it is revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppView(pub String, pub Vec<String>, pub bool);

/// What an app's `nostrconnect://` link says, before the user approves it: its name, then lines
/// about it (address, icon, relays); and what it asks to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation(pub Vec<String>, pub Vec<String>);

/// A request waiting for the user ([`Command::AnswerPrompt`] with this id): what the app asks,
/// and for `sign_event` the event (kind, the start of its content, its first tags) as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignerPrompt(pub u32, pub String, pub String);

/// The server reached (or this device's copy of it), and what the page may show about the
/// account kept on this device. (Flat rather than with a nested struct for the account: each
/// struct brings a deserializer of its own into the WebAssembly.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub server_npub: String,
    pub online: bool,
    /// The address of the account kept on this device, if there is one.
    pub saved_email: Option<Private>,
    /// A password change made here for it is still waiting for the server.
    pub unsynced: bool,
}

/// Which screen follows a verified code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    ChoosePassword,
    Unlock,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    pub npub: String,
    pub relays: Vec<String>,
    pub notice: Option<UnlockNotice>,
    /// A recovery code just made (at signup, or by a recovery), for the emergency kit the user
    /// must confirm saving. The one place the code leaves the worker: the page shows it.
    pub kit: Option<Private>,
    /// The vault has no recovery code, or its kit was never confirmed saved: the page asks the
    /// user to make one.
    pub needs_kit: bool,
}

/// Why a command failed, in the words the page shows (all of them from [`crate::wording`]).
/// The page acts on no failure but by showing it, so it carries no code: sent as the bare text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Failure {
    pub message: String,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

/// A message from the worker to the page. The two framing messages are tuples (a JSON array:
/// `{"reply": [7, {"Ok": ...}]}`), which read with less code than structs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    Progress(Progress),
    /// The outcome of the command sent with this id.
    Reply(u32, Outcome),
    /// Unasked: a connected app's request waits for the user; `None` when none waits any more
    /// (answered, expired, or the vault locked).
    Prompt(Option<SignerPrompt>),
    /// Unasked: the signer's state changed (a request was answered, an app connected).
    Signer(SignerView),
}

/// A command's outcome, as serde writes a `Result`: `{"Ok": answer}` or `{"Err": failure}`.
pub type Outcome = Result<Answer, Failure>;

/// A message from the page to the worker: an id for the reply, and the command (`[7, "sync"]`);
/// the passwords travel beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToWorker(pub u32, pub Command);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug>(
        value: T,
    ) {
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[test]
    fn every_message_reads_back_as_it_was_written() {
        round_trip(ToWorker(
            7,
            Command::RequestCode(Private("a@example.com".into())),
        ));
        round_trip(ToWorker(8, Command::ResolveConflict(Keep::OtherDevice)));
        round_trip(FromWorker::Reply(
            7,
            Ok(Answer::Synced(Sync::Conflict(3), true)),
        ));
        round_trip(FromWorker::Reply(9, Err(Failure::new("wait"))));
        round_trip(FromWorker::Progress(Progress::Mining {
            hashes: 10,
            expected: 65_536,
        }));
    }

    #[test]
    fn addresses_codes_and_keys_stay_out_of_debug_output() {
        let messages = format!(
            "{:?} {:?} {:?}",
            Command::VerifyCode(Private("123456".into())),
            Answer::Key(Private("nsec1secret".into())),
            Answer::Connected(Connected {
                server_npub: "npub1server".into(),
                online: true,
                saved_email: Some(Private("a@example.com".into())),
                unsynced: false,
            })
        );
        for private in ["123456", "nsec1secret", "a@example.com"] {
            assert!(!messages.contains(private), "{messages}");
        }
        // Still plain text on the wire.
        let json = serde_json::to_string(&Command::VerifyCode(Private("123456".into()))).unwrap();
        assert_eq!(json, r#"{"verify_code":"123456"}"#);
    }

    #[test]
    fn an_unknown_command_is_refused_when_read() {
        let error = serde_json::from_str::<Command>(r#""steal_key""#);
        assert!(error.is_err());
    }
}
