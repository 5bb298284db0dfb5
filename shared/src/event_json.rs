//! Events read from JSON with their ids, keys and signatures in hex, the only form Sigil's wire
//! carries. nostr's own reader also takes bech32 forms (nevent, nprofile) for them, which links
//! a URL parser and its IDNA tables into the browser's module for nothing Sigil receives.
//!
//! The reader is strict, as NIP-01 and docs/protocol.md are: the seven fields and no others,
//! each once; ids, keys and signatures in lowercase hex of their exact length. Whatever it
//! accepts serialises back to the same values, so the id checked is the id of the bytes sent.

use std::str::FromStr;

use nostr::event::{Event, EventId, Kind, Signature, Tag};
use nostr::key::PublicKey;
use nostr::types::Timestamp;
use serde::{Deserialize, Deserializer};

/// An event as it stands in JSON, every field required (NIP-01) and no other allowed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    id: String,
    pubkey: String,
    created_at: u64,
    kind: u16,
    tags: Vec<Vec<String>>,
    content: String,
    sig: String,
}

/// Why an event's JSON was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a Nostr event with lowercase hex id, key and signature and no other fields")]
pub struct EventJsonError;

/// Reads one event. Nothing is checked beyond the shape: the id and signature are the caller's
/// to verify.
pub fn parse_event(json: &str) -> Result<Event, EventJsonError> {
    parse_event_bytes(json.as_bytes())
}

/// [`parse_event`] of a body as received.
pub fn parse_event_bytes(json: &[u8]) -> Result<Event, EventJsonError> {
    let raw: RawEvent = serde_json::from_slice(json).map_err(|_| EventJsonError)?;
    event_of(raw)
}

/// Lowercase hex of exactly `bytes` bytes: what every id, key and signature must be.
pub fn is_lower_hex(text: &str, bytes: usize) -> bool {
    text.len() == 2 * bytes && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn event_of(raw: RawEvent) -> Result<Event, EventJsonError> {
    if !(is_lower_hex(&raw.id, 32) && is_lower_hex(&raw.pubkey, 32) && is_lower_hex(&raw.sig, 64)) {
        return Err(EventJsonError);
    }
    let id = EventId::from_hex(&raw.id).map_err(|_| EventJsonError)?;
    let pubkey = PublicKey::from_hex(&raw.pubkey).map_err(|_| EventJsonError)?;
    let sig = Signature::from_str(&raw.sig).map_err(|_| EventJsonError)?;
    let tags = raw
        .tags
        .into_iter()
        .map(Tag::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| EventJsonError)?;
    Ok(Event::new(
        id,
        pubkey,
        Timestamp::from(raw.created_at),
        Kind::from(raw.kind),
        tags,
        raw.content,
        sig,
    ))
}

/// `#[serde(deserialize_with)]` for a public key in hex.
pub fn hex_public_key<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PublicKey, D::Error> {
    let hex = String::deserialize(deserializer)?;
    PublicKey::from_hex(&hex).map_err(serde::de::Error::custom)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use nostr::event::{FinalizeEvent, Tag, UnsignedEvent};
    use nostr::key::Keys;

    use super::*;

    fn note(keys: &Keys, tags: Vec<Tag>, content: &str) -> Event {
        UnsignedEvent::new(
            keys.public_key(),
            Timestamp::from(1_700_000_000),
            Kind::from(1u16),
            tags,
            content,
        )
        .finalize(keys)
        .unwrap()
    }

    #[test]
    fn reads_what_nostr_writes_as_nostr_reads_it() {
        let keys = Keys::generate();
        let tags = vec![Tag::parse(["e", &"ab".repeat(32), "wss://relay.example"]).unwrap()];
        let event = note(&keys, tags, "hello");
        let json = event.as_json();
        assert_eq!(
            parse_event(&json).unwrap(),
            Event::from_json(&json).unwrap()
        );
        assert!(parse_event(&json).unwrap().verify().is_ok());
    }

    #[test]
    fn refuses_bech32_and_missing_fields() {
        let keys = Keys::generate();
        let event = note(&keys, Vec::new(), "hi");
        let json = event.as_json();
        let npub = nostr::nips::nip19::ToBech32::to_bech32(&keys.public_key()).unwrap();
        let bech32 = json.replace(&keys.public_key().to_hex(), &npub);
        assert_eq!(parse_event(&bech32), Err(EventJsonError));
        assert_eq!(parse_event(r#"{"id":"00"}"#), Err(EventJsonError));
        assert_eq!(parse_event("not json"), Err(EventJsonError));
    }

    #[test]
    fn refuses_uppercase_hex_unknown_and_repeated_fields() {
        let keys = Keys::generate();
        let event = note(&keys, Vec::new(), "hi");
        let json = event.as_json();
        for field in [
            event.id.to_hex(),
            keys.public_key().to_hex(),
            event.sig.to_string(),
        ] {
            let upper = json.replace(&field, &field.to_uppercase());
            assert_ne!(upper, json, "{field} has letters");
            assert_eq!(parse_event(&upper), Err(EventJsonError), "{field}");
        }
        let extra = json.replacen('{', r#"{"extra":1,"#, 1);
        assert_eq!(parse_event(&extra), Err(EventJsonError));
        let twice = json.replacen('{', r#"{"content":"other","#, 1);
        assert_eq!(parse_event(&twice), Err(EventJsonError));
        assert!(parse_event(&json).is_ok());
    }
}
