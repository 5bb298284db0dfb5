//! Sigil's wire protocol, shared by the server and the browser client.
//!
//! Pure logic only: no I/O, no async runtime, no browser APIs, so every rule here is testable
//! natively and compiles unchanged to `wasm32-unknown-unknown`.

pub mod dvm;
pub mod email;
pub mod envelope;
pub mod error;
pub mod event_json;
pub mod info;
pub mod kinds;
pub mod method;
pub mod padding;
pub mod pow;
pub mod recovery;
pub mod relay;
pub mod secret;
mod signature;
pub mod validation;

pub use nostr;
/// Argon2id, from its own crate (the filling and the hash together), for the envelope's users.
pub use sigil_argon2::hash as argon2id;
