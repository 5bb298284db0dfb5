//! Stable error codes. Clients match on these strings; never rename one.

use serde::{Deserialize, Serialize};

/// Why a request envelope was refused before it reached a method.
///
/// Sent as a plain 4xx (`{"error": "<code>"}`) because the server cannot, or should not, answer
/// with an encrypted reply: it may not even know who sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    #[error("request body is larger than the server accepts")]
    PayloadTooLarge,
    #[error("request body is not a valid Nostr event")]
    MalformedEvent,
    #[error("event kind is not a Sigil request")]
    WrongKind,
    #[error("event is not addressed to this server")]
    WrongRecipient,
    #[error("event created_at is outside the accepted window")]
    StaleEvent,
    #[error("event id does not match its content")]
    InvalidId,
    #[error("event does not carry enough proof of work")]
    InsufficientPow,
    #[error("event signature is invalid")]
    InvalidSignature,
    #[error("event was already received")]
    Replayed,
    #[error("event content could not be decrypted")]
    Undecryptable,
    #[error("the server is busy; retry later")]
    Unavailable,
}

/// Body of a plain 4xx/5xx answer to a refused envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectBody {
    pub error: RejectCode,
}

/// Error outcome of a method, carried inside an encrypted reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The decrypted content is not a known method with valid params.
    InvalidRequest,
    /// The email address is not acceptable.
    InvalidEmail,
    /// Too many codes for this address; `retry_after` says when to try again.
    RateLimited,
    /// Too many requests signed by this key in a short time; `retry_after` says when to try
    /// again. (The address's limits are `rate_limited` and `too_many_attempts`.)
    KeyRateLimited,
    /// The code does not match.
    InvalidCode,
    /// The code expired, or there is no pending code for this session.
    CodeExpired,
    /// Too many failed attempts for this session or address.
    TooManyAttempts,
    /// The method needs a verified email session first.
    NotVerified,
    /// `activate` on an address that already has an account.
    AccountExists,
    /// The signing key has no account on this server.
    UnknownAccount,
    /// The proof of possession for the new key is invalid.
    InvalidProof,
    /// The backup envelope is malformed or does not belong to the key.
    InvalidBackup,
    /// Compare-and-swap failed; `current_version` names the stored version.
    VersionConflict,
    /// `get_backup` asked for a version the server does not keep.
    UnknownVersion,
    /// The method needs the account's own key and was signed by a code session's key, or
    /// needs a session key and was signed by an account's key.
    WrongSigner,
    /// The email could not be sent.
    MailFailed,
    /// Something failed on the server; nothing was changed.
    Internal,
}

impl ErrorCode {
    /// A default human message; the UI may use its own wording per code.
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidRequest => "The request was not understood.",
            Self::InvalidEmail => "That email address is not valid.",
            Self::RateLimited => "Too many codes were requested for this address. Try again later.",
            Self::KeyRateLimited => {
                "Too many requests in a short time. Wait a moment, then try again."
            }
            Self::InvalidCode => "That code is not correct.",
            Self::CodeExpired => "That code no longer works. Request a new one.",
            Self::TooManyAttempts => "Too many wrong tries with this code. Request a new one.",
            Self::NotVerified => "Verify your email address first.",
            Self::AccountExists => "This address already has an account.",
            Self::UnknownAccount => "This key has no account on this server.",
            Self::InvalidProof => "The key could not be proven.",
            Self::InvalidBackup => "The backup is not valid for this key.",
            Self::VersionConflict => "The backup was changed elsewhere in the meantime.",
            Self::UnknownVersion => "That version of the backup is not kept.",
            Self::WrongSigner => "This request was signed by the wrong key.",
            Self::MailFailed => "The email could not be sent. Try again later.",
            Self::Internal => "The server had a problem. Nothing was changed.",
        }
    }
}

/// Why an uploaded backup was refused (`invalid_backup`), for the client to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupProblem {
    /// A field is not lowercase hex of its exact length, or the version is unknown, or the
    /// parameters lie outside the floor and ceiling.
    Malformed,
    /// An envelope version that new backups no longer use.
    OutdatedVersion,
    /// Memory or passes below what the server announces for new backups.
    WeakKdf,
    /// The envelope holds another account's key.
    ForeignKey,
}

/// Error part of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds until a rate-limited request may be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The stored backup version, on `version_conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// What is wrong with the backup, on `invalid_backup`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<BackupProblem>,
}

impl ErrorBody {
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            message: code.message().to_owned(),
            retry_after: None,
            current_version: None,
            problem: None,
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn current_version(mut self, version: u64) -> Self {
        self.current_version = Some(version);
        self
    }

    pub fn problem(mut self, problem: BackupProblem) -> Self {
        self.problem = Some(problem);
        self
    }
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ErrorBody {}
