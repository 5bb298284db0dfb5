//! Event kinds of the vault protocol.
//!
//! All three sit in the ephemeral range (20000..30000): relays forward them without storing,
//! which is what a request/response exchange wants.

use nostr::event::Kind;

/// A request from a client to the server; content is NIP-44 v2 of a [`crate::method::Request`].
pub const REQUEST: u16 = 25910;
/// The server's reply to one request; content is NIP-44 v2 of a [`crate::method::Reply`].
pub const REPLY: u16 = 25911;
/// Proof of possession: signed by a new account key, p-tags the ephemeral session key.
pub const KEY_PROOF: u16 = 25912;

pub fn request() -> Kind {
    Kind::from(REQUEST)
}

pub fn reply() -> Kind {
    Kind::from(REPLY)
}

pub fn key_proof() -> Kind {
    Kind::from(KEY_PROOF)
}
