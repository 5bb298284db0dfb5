//! The client's one error type: everything a flow can fail with, each with a message for people.

use sigil_shared::dvm::{ReplyError, SealError};
use sigil_shared::email::EmailError;
use sigil_shared::envelope::EnvelopeError;
use sigil_shared::error::{ErrorBody, RejectCode};
use sigil_shared::info::InfoError;

/// A network failure: the request may or may not have reached the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server could not be reached: {0}")]
pub struct TransportError(pub String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The server refused the request envelope before reading it.
    #[error("the server refused the request: {0}")]
    Rejected(RejectCode),
    /// The method failed on the server; the body says why.
    #[error("{0}")]
    Server(ErrorBody),
    #[error("the server's reply was refused: {0}")]
    Reply(#[from] ReplyError),
    #[error("the server's reply did not have the expected shape")]
    UnexpectedReply,
    #[error("the server answered with HTTP status {0}")]
    UnexpectedStatus(u16),
    #[error("this server cannot be used: {0}")]
    Info(#[from] InfoError),
    /// The announcement fetched again names another key than the one this client trusts.
    #[error("the server's key changed; it is not the server this device knows")]
    ServerKeyChanged,
    /// The server answered with other KDF entropy for an account this device knows: a server
    /// that could change it could make every account's salt the same.
    #[error("the server changed this account's key-derivation entropy")]
    EntropyChanged,
    /// The server handed back an older backup than one this device has held (an earlier
    /// revision, or an earlier envelope version): it would bring back a removed password,
    /// recovery code or passkey.
    #[error("the server sent an older backup than the one this device has")]
    RolledBack,
    #[error(transparent)]
    Email(#[from] EmailError),
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("could not prepare the request: {0}")]
    Seal(#[from] SealError),
}

impl ClientError {
    /// The server's error code, when the method itself failed.
    pub fn server_code(&self) -> Option<sigil_shared::error::ErrorCode> {
        match self {
            Self::Server(body) => Some(body.code),
            _ => None,
        }
    }
}
