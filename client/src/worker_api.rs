//! The seam between the page and the vault worker: every command the page may send, every
//! answer and progress event the worker sends back, and the failure both show. Defined once and
//! used on both sides, so a renamed field or a new command is a compile error on the other side.
//!
//! Passwords are never in these messages: they travel beside a command as transferred byte
//! arrays, in the order [`Command::secrets`] gives, and the worker wipes them after use.

use serde::{Deserialize, Serialize};

/// The server's own answer to `request_code`, passed on as it is.
pub use sigil_shared::method::CodeSent;

pub use crate::session::{Keep, Sync};
pub use crate::transport::Progress;

/// What the page asks of the vault worker.
// Every enum here is externally tagged (serde's default): an internally tagged one buffers the
// message before it can pick the variant, which cost 12 KiB of compressed WebAssembly. Small
// answers ride in newtype and tuple variants rather than structs for the same reason: each
// struct brings a deserializer of its own (about 1.5 KiB before compression).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Reach the server, or start from this device's copy when offline.
    Connect,
    /// The email address.
    RequestCode(String),
    ResendCode,
    /// The code as typed.
    VerifyCode(String),
    /// Secrets: the new password, then its repetition.
    CreateAccount,
    /// Secret: the password.
    Unlock,
    PublishRelayList,
    Sync,
    /// Secrets: the old password, the new one, and its repetition.
    ChangePassword,
    /// Secret, when the other device's password is kept: that password.
    ResolveConflict(Keep),
    /// Secret: the password.
    ExportNcryptsec,
    /// Secret: the password.
    RevealNsec,
    DeleteAccount,
    Lock,
    /// Remove this device's copy of the vault.
    Forget,
}

/// The most password arrays any command carries.
pub const MAX_SECRETS: usize = 3;

impl Command {
    /// What the passwords beside this command are, in order.
    pub fn secrets(&self) -> &'static [&'static str] {
        match self {
            Self::CreateAccount => &["new password", "repeated password"],
            Self::Unlock | Self::ExportNcryptsec | Self::RevealNsec => &["password"],
            Self::ChangePassword => &["old password", "new password", "repeated password"],
            Self::ResolveConflict(Keep::OtherDevice) => &["other device's password"],
            _ => &[],
        }
    }

    /// Commands after which this device's copy is removed rather than saved.
    pub fn removes_local_copy(&self) -> bool {
        matches!(self, Self::DeleteAccount | Self::Forget)
    }
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
    Key(String),
    Done,
}

/// The server reached (or this device's copy of it), and what the page may show about the
/// account kept on this device. (Flat rather than with a nested struct for the account: each
/// struct brings a deserializer of its own into the WebAssembly.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub server_npub: String,
    pub online: bool,
    /// The address of the account kept on this device, if there is one.
    pub saved_email: Option<String>,
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
/// `{"reply": [7, {"ok": ...}]}`), which read with less code than structs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromWorker {
    Progress(Progress),
    /// The outcome of the command sent with this id.
    Reply(u32, Outcome),
}

/// A command's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Answer),
    Err(Failure),
}

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
        round_trip(ToWorker(7, Command::RequestCode("a@example.com".into())));
        round_trip(ToWorker(8, Command::ResolveConflict(Keep::OtherDevice)));
        round_trip(FromWorker::Reply(
            7,
            Outcome::Ok(Answer::Synced(Sync::Conflict(3), true)),
        ));
        round_trip(FromWorker::Reply(9, Outcome::Err(Failure::new("wait"))));
        round_trip(FromWorker::Progress(Progress::Mining {
            hashes: 10,
            expected: 65_536,
        }));
    }

    #[test]
    fn an_unknown_command_is_refused_when_read() {
        let error = serde_json::from_str::<Command>(r#""steal_key""#);
        assert!(error.is_err());
    }

    #[test]
    fn password_commands_name_their_secrets() {
        assert_eq!(Command::ChangePassword.secrets().len(), MAX_SECRETS);
        assert_eq!(Command::Unlock.secrets(), ["password"]);
        let keep_here = Command::ResolveConflict(Keep::ThisDevice);
        assert!(keep_here.secrets().is_empty());
        assert!(Command::Sync.secrets().is_empty());
    }
}
