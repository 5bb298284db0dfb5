//! The well-known document (`GET /.well-known/sigil.json`) and the client's checks on it.

use nostr::key::PublicKey;
use nostr::nips::nip19::ToBech32;
use serde::{Deserialize, Serialize};

use crate::envelope::{EnvelopeError, KdfParams};

/// Version 2 pads every request and reply to one size (see [`crate::padding`]).
pub const PROTOCOL_VERSION: u32 = 3;
pub const WELL_KNOWN_PATH: &str = "/.well-known/sigil.json";
pub const EVENTS_PATH: &str = "/api/v1/events";
/// The most work a client will do for one request: 2^28 hashes is minutes in a browser. More
/// than this would let a hostile server stall its users.
pub const MAX_POW_DIFFICULTY: u8 = 28;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub protocol_version: u32,
    /// Hex x-only public key the server signs replies with and decrypts requests for.
    pub pubkey: String,
    /// Same key, NIP-19.
    pub npub: String,
    /// Required NIP-13 difficulty of request events.
    pub pow_difficulty: u8,
    /// Accepted distance of `created_at` from the server clock, seconds.
    pub created_at_window: u64,
    /// Largest accepted request event, bytes.
    pub max_event_bytes: usize,
    /// Parameters for new backups.
    pub kdf: KdfParams,
    /// Relays a new account starts with (published as its NIP-65 list).
    pub default_relays: Vec<String>,
    /// Relays the DVM listens on, for the relay transport.
    pub dvm_relays: Vec<String>,
    /// How clients should send requests. Absent in documents saved by older clients: HTTP.
    #[serde(default)]
    pub transport: RequestTransport,
}

/// How a client sends its request events to the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestTransport {
    /// `POST` to [`EVENTS_PATH`]; the reply is the response body.
    #[default]
    Http,
    /// Published on the `dvm_relays`; the reply comes back there.
    Relays,
}

impl std::str::FromStr for RequestTransport {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "http" => Ok(Self::Http),
            "relays" => Ok(Self::Relays),
            other => Err(format!("`{other}` is not http or relays")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("the server speaks protocol version {0}; this client speaks {PROTOCOL_VERSION}")]
    UnsupportedProtocol(u32),
    #[error("the server's public key is invalid")]
    BadPubkey,
    #[error("the server's npub does not match its public key")]
    NpubMismatch,
    #[error(
        "the server asks for {0} bits of proof of work; at most {MAX_POW_DIFFICULTY} is accepted"
    )]
    PowTooHigh(u8),
    #[error("the server asks for its relays but names none")]
    NoRelays,
    #[error(transparent)]
    Kdf(#[from] EnvelopeError),
}

impl ServerInfo {
    pub fn new(
        pubkey: &PublicKey,
        pow_difficulty: u8,
        created_at_window: u64,
        max_event_bytes: usize,
        kdf: KdfParams,
    ) -> Self {
        Self {
            protocol_version: PROTOCOL_VERSION,
            pubkey: pubkey.to_hex(),
            npub: pubkey.to_bech32().unwrap_or_default(),
            pow_difficulty,
            created_at_window,
            max_event_bytes,
            kdf,
            default_relays: Vec::new(),
            dvm_relays: Vec::new(),
            transport: RequestTransport::Http,
        }
    }

    /// What a client checks before trusting a server's announcement; returns the server key.
    pub fn validate(&self) -> Result<PublicKey, InfoError> {
        if self.protocol_version != PROTOCOL_VERSION {
            return Err(InfoError::UnsupportedProtocol(self.protocol_version));
        }
        self.validate_saved()
    }

    /// As [`Self::validate`], for a document this device saved: one of an earlier version (an
    /// upgrade of the app since) still starts the app offline, to unlock locally; the next
    /// contact with the server fetches the current document.
    pub fn validate_saved(&self) -> Result<PublicKey, InfoError> {
        if !(1..=PROTOCOL_VERSION).contains(&self.protocol_version) {
            return Err(InfoError::UnsupportedProtocol(self.protocol_version));
        }
        let pubkey = PublicKey::from_hex(&self.pubkey).map_err(|_| InfoError::BadPubkey)?;
        if pubkey.to_bech32().ok().as_deref() != Some(self.npub.as_str()) {
            return Err(InfoError::NpubMismatch);
        }
        if self.pow_difficulty > MAX_POW_DIFFICULTY {
            return Err(InfoError::PowTooHigh(self.pow_difficulty));
        }
        if self.transport == RequestTransport::Relays && self.dvm_relays.is_empty() {
            return Err(InfoError::NoRelays);
        }
        self.kdf.check()?;
        Ok(pubkey)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use nostr::key::Keys;

    use super::*;

    fn info() -> ServerInfo {
        ServerInfo::new(
            &Keys::generate().public_key(),
            16,
            300,
            65536,
            KdfParams::DEFAULT,
        )
    }

    #[test]
    fn documents_saved_before_the_relay_transport_read_as_http() {
        let mut json: serde_json::Value = serde_json::to_value(info()).unwrap();
        json.as_object_mut().unwrap().remove("transport");
        let read: ServerInfo = serde_json::from_value(json).unwrap();
        assert_eq!(read.transport, RequestTransport::Http);
        assert!(read.validate().is_ok());
    }

    #[test]
    fn the_relay_transport_needs_relays() {
        let mut announced = info();
        announced.transport = RequestTransport::Relays;
        assert_eq!(announced.validate(), Err(InfoError::NoRelays));
        announced.dvm_relays = vec!["wss://r.example".into()];
        assert!(announced.validate().is_ok());
        assert_eq!(
            serde_json::to_value(&announced).unwrap()["transport"],
            "relays"
        );
    }

    /// A server cannot stall its clients with proof of work no device can do: above 2^28
    /// (`MAX_POW_DIFFICULTY`) the announcement is refused, whether first seen or fetched again
    /// for a raised level.
    #[test]
    fn proof_of_work_above_the_ceiling_is_refused() {
        let mut announced = info();
        announced.pow_difficulty = MAX_POW_DIFFICULTY;
        assert!(announced.validate().is_ok());
        announced.pow_difficulty = MAX_POW_DIFFICULTY + 1;
        assert!(announced.validate().is_err());
        assert!(announced.validate_saved().is_err());
    }
}
