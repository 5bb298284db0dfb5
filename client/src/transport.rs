//! How the client reaches a server: HTTP in the browser (fetch) and in tests (reqwest), and,
//! when the server asks for it, its relays (WebSockets; see [`crate::relay`]).

use sigil_shared::argon2id::{FillLanes, ThisThread};
use sigil_shared::dvm::{RequestDraft, SealError};

use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::PublicKey;

pub use crate::error::TransportError;

/// Status and body of an HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// A long step of a call, for a progress display (sent from the vault worker to the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// Argon2id is deriving a key from the password (about a second, no finer steps).
    DerivingKey,
    /// Proof of work: `hashes` tried so far, about `expected` needed on average.
    Mining { hashes: u64, expected: u64 },
    /// The request is on its way to the server.
    Sending,
    /// The server is busy (503); the request goes again in this many seconds.
    ServerBusy(u64),
    /// The server raised its proof of work under load, to this many bits; the request is mined
    /// again.
    MoreWorkRequired(u8),
}

/// Moves bytes and knows nothing of the protocol; also decides where the proof of work is done,
/// who fills Argon2id's memory and where progress is shown, since these depend on the
/// environment (threads, a page, lane workers).
/// Futures need not be `Send`: browser futures are not.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn get(&self, path: &str) -> Result<HttpResponse, TransportError>;
    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError>;

    /// Publishes `request` on `relays` and returns the JSON of `server`'s reply event (see
    /// [`crate::relay::call_over_relays`]). By default there are no relays here.
    async fn call_on_relays(
        &self,
        _relays: &[String],
        _server: &PublicKey,
        _request: &Event,
    ) -> Result<String, TransportError> {
        Err(TransportError(
            "the server asks for its relays, which cannot be reached from here".into(),
        ))
    }

    /// Publishes one of the user's own events (the NIP-65 relay list) on `relays`; returns
    /// how many took it. By default there are no relays here.
    async fn publish_on_relays(
        &self,
        _relays: &[String],
        _event: &Event,
    ) -> Result<usize, TransportError> {
        Err(TransportError("relays cannot be reached from here".into()))
    }

    /// Finds a nonce that gives `draft` its required proof of work. By default here, on the
    /// calling thread.
    async fn mine(&self, draft: &RequestDraft) -> Result<u64, SealError> {
        draft.mine_here()
    }

    /// Who fills Argon2id's memory for the vault's keys. By default this thread; the browser's
    /// vault hands it to the lane module instead.
    fn lanes(&self) -> &dyn FillLanes {
        &ThisThread
    }

    /// Shows `progress` to the user. By default nowhere.
    fn progress(&self, _progress: Progress) {}

    /// Waits `duration` without blocking the environment's event loop.
    async fn sleep(&self, duration: std::time::Duration);
}
