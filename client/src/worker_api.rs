//! The seam between the page and the vault worker: every command the page may send, every
//! answer and progress event the worker sends back, and the failure both show. Defined once and
//! used on both sides, so a renamed field or a new command is a compile error on the other side.
//!
//! Passwords are never in these messages: they travel beside a command as transferred byte
//! arrays, in the order [`Command::secrets`] gives, and the worker wipes them after use.

use serde::{Deserialize, Serialize};

/// The server's own answer to `request_code`, passed on as it is.
pub use sigil_shared::method::CodeSent;

pub use crate::transport::Progress;

/// What the page asks of the vault worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Reach the server, or start from this device's copy when offline.
    Connect,
    RequestCode {
        email: String,
    },
    ResendCode,
    VerifyCode {
        code: String,
    },
    /// Secrets: the new password, then its repetition.
    CreateAccount,
    /// Secret: the password.
    Unlock,
    PublishRelayList,
    Sync,
    /// Secrets: the old password, the new one, and its repetition.
    ChangePassword,
    /// Secret, when the other device's password is kept: that password.
    ResolveConflict {
        keep: KeepChoice,
    },
    /// Secret: the password.
    ExportNcryptsec,
    /// Secret: the password.
    RevealNsec,
    DeleteAccount,
    Lock,
    /// Remove this device's copy of the vault.
    Forget,
}

/// Which password stays after a password change on two devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepChoice {
    ThisDevice,
    OtherDevice,
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
            Self::ResolveConflict {
                keep: KeepChoice::OtherDevice,
            } => &["other device's password"],
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
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Connected(Connected),
    CodeSent(CodeSent),
    Verified {
        next: NextStep,
    },
    /// The vault is open: after signup or unlock.
    Opened(Opened),
    RelayListPublished {
        published: usize,
        relays: usize,
    },
    Synced(SyncReport),
    /// An exported key (`ncryptsec`), or the raw `nsec` the user asked to see.
    Key {
        key: String,
    },
    Done,
}

/// The server reached (or this device's copy of it), and the account kept here, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    pub server_npub: String,
    pub online: bool,
    pub account: Option<AccountSummary>,
}

/// What the page may show about the account kept on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub email: String,
    pub npub: Option<String>,
    pub unsynced: bool,
    pub conflict: bool,
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

/// How this device's backup compares with the server's after a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub outcome: SyncOutcome,
    /// A password change made here is still waiting for the server.
    pub unsynced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    UpToDate,
    /// This device's change reached the server.
    Pushed,
    /// Another device's change was taken.
    Adopted,
    Offline,
    /// Both devices changed the password: the user chooses.
    Conflict,
}

/// Why a command failed: a stable code for the page's logic and the words to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: FailureCode,
    pub message: String,
}

/// What kind of failure, for the page to act on (the message is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureCode {
    /// The server answered the method with an error.
    Server,
    WrongPassword,
    Network,
    InvalidEmail,
    /// The command does not fit the vault's state, or the command itself is malformed.
    InvalidRequest,
    /// Another command is still running.
    Busy,
    /// This device's storage failed.
    Storage,
    /// The vault worker could not start or answer.
    Worker,
    Other,
}

impl Failure {
    pub fn new(code: FailureCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A message from the worker to the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWorker {
    Progress { progress: Progress },
    Reply { id: u32, outcome: Outcome },
}

/// A command's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok(Answer),
    Err(Failure),
}

/// A message from the page to the worker; the passwords travel beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToWorker {
    pub id: u32,
    pub command: Command,
}

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
        round_trip(ToWorker {
            id: 7,
            command: Command::RequestCode {
                email: "a@example.com".into(),
            },
        });
        round_trip(ToWorker {
            id: 8,
            command: Command::ResolveConflict {
                keep: KeepChoice::OtherDevice,
            },
        });
        round_trip(FromWorker::Reply {
            id: 7,
            outcome: Outcome::Ok(Answer::Synced(SyncReport {
                outcome: SyncOutcome::Conflict,
                unsynced: true,
            })),
        });
        round_trip(FromWorker::Reply {
            id: 9,
            outcome: Outcome::Err(Failure::new(FailureCode::Busy, "wait")),
        });
        round_trip(FromWorker::Progress {
            progress: Progress::Mining {
                hashes: 10,
                expected: 65_536,
            },
        });
    }

    #[test]
    fn an_unknown_command_is_refused_when_read() {
        let error = serde_json::from_str::<Command>(r#"{"op":"steal_key"}"#);
        assert!(error.is_err());
    }

    #[test]
    fn password_commands_name_their_secrets() {
        assert_eq!(Command::ChangePassword.secrets().len(), MAX_SECRETS);
        assert_eq!(Command::Unlock.secrets(), ["password"]);
        let keep_here = Command::ResolveConflict {
            keep: KeepChoice::ThisDevice,
        };
        assert!(keep_here.secrets().is_empty());
        assert!(Command::Sync.secrets().is_empty());
    }
}
