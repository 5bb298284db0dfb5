//! Checks on every request envelope, cheapest first, before anything is decrypted.
//!
//! Replay refusal needs state and lives in the server; everything else is here so the same rules
//! can be tested natively and reused by every transport.

use nostr::event::Event;
use nostr::key::PublicKey;
use nostr::types::Timestamp;

use crate::error::RejectCode;
use crate::event_json::parse_event_bytes;
use crate::kinds;
use crate::pow::{committed_target, leading_zero_bits};
use crate::signature::signature_holds;

/// What the server accepts; announced in its well-known document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub server: PublicKey,
    /// Minimum NIP-13 difficulty, in leading zero bits.
    pub min_difficulty: u8,
    /// Accepted distance of `created_at` from the server's clock, in seconds, either way.
    pub window_secs: u64,
    /// Largest accepted request body.
    pub max_bytes: usize,
}

/// A request event whose id and signature are checked, with its signer's key as a curve point.
///
/// Lifting a 32-byte Nostr key to its point takes a square root, about a seventh of the cost of
/// the signature check. nostr lifts it again for every use; this keeps the point, so the
/// conversation key ([`crate::dvm::Exchange`]) reuses it.
#[derive(Debug, Clone)]
pub struct CheckedRequest {
    event: Event,
    sender: secp256k1::PublicKey,
}

impl CheckedRequest {
    /// Checks the event's id and Schnorr signature, and nothing else (see [`check_request`]).
    pub fn verify(event: Event) -> Result<Self, RejectCode> {
        IdentifiedRequest::new(event)?.verify_signature()
    }

    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The signer's key with an even y, as BIP-340 defines the point of an x-only key.
    pub fn sender(&self) -> &secp256k1::PublicKey {
        &self.sender
    }
}

/// A request event whose id is the hash of what it says, its signature not checked yet. The
/// server looks the id up among the requests it has seen lately before it pays for the
/// signature check, so a replayed copy costs it a hash, not a curve operation.
#[derive(Debug, Clone)]
pub struct IdentifiedRequest {
    event: Event,
}

impl IdentifiedRequest {
    /// Recomputes the event's id and checks that it is the one the event claims.
    pub fn new(event: Event) -> Result<Self, RejectCode> {
        if event.verify_id() {
            Ok(Self { event })
        } else {
            Err(RejectCode::InvalidId)
        }
    }

    pub fn id(&self) -> &[u8; 32] {
        self.event.id.as_bytes()
    }

    /// Checks the Schnorr signature over the id.
    pub fn verify_signature(self) -> Result<CheckedRequest, RejectCode> {
        let sender = lift(&self.event.pubkey).ok_or(RejectCode::InvalidSignature)?;
        let (x_only, _) = sender.x_only_public_key();
        if !signature_holds(&self.event.sig, &self.event.id, &x_only) {
            return Err(RejectCode::InvalidSignature);
        }
        Ok(CheckedRequest {
            event: self.event,
            sender,
        })
    }
}

/// The point of an x-only key (even y), or None if `key` is not on the curve. One square root:
/// secp256k1's own conversions from an x-only key parse it again.
fn lift(key: &PublicKey) -> Option<secp256k1::PublicKey> {
    let mut compressed = [0x02; 33];
    compressed[1..].copy_from_slice(key.as_bytes());
    secp256k1::PublicKey::from_byte_array_compressed(&compressed).ok()
}

/// Validates a request body and returns the checked event, or why it was refused.
pub fn check_request(
    body: &[u8],
    policy: &Policy,
    now: Timestamp,
) -> Result<CheckedRequest, RejectCode> {
    identify_request(body, policy, now)?.verify_signature()
}

/// Every check of [`check_request`] but the signature, cheapest first.
pub fn identify_request(
    body: &[u8],
    policy: &Policy,
    now: Timestamp,
) -> Result<IdentifiedRequest, RejectCode> {
    if body.len() > policy.max_bytes {
        return Err(RejectCode::PayloadTooLarge);
    }
    let event = parse_event_bytes(body).map_err(|_| RejectCode::MalformedEvent)?;
    if event.kind != kinds::request() {
        return Err(RejectCode::WrongKind);
    }
    // A request carries its recipient and its work, nothing else.
    if event
        .tags
        .iter()
        .any(|tag| !matches!(tag.kind(), "p" | "nonce"))
    {
        return Err(RejectCode::MalformedEvent);
    }
    check_addressed_to(&event, &policy.server)?;
    check_fresh(event.created_at, now, policy.window_secs)?;
    // The claimed id is checked for zero bits before it is recomputed: junk costs no hashing.
    let target = committed_target(&event.tags).ok_or(RejectCode::InsufficientPow)?;
    if target < policy.min_difficulty || leading_zero_bits(event.id.as_bytes()) < target {
        return Err(RejectCode::InsufficientPow);
    }
    IdentifiedRequest::new(event)
}

/// Exactly one `p` tag, `["p", <server key in hex>]`: a request meant for another DVM must not
/// be answered.
fn check_addressed_to(event: &Event, server: &PublicKey) -> Result<(), RejectCode> {
    let mut recipients = event.tags.iter().filter(|tag| tag.kind() == "p");
    match (recipients.next(), recipients.next()) {
        (Some(tag), None) if tag.as_slice() == ["p".to_owned(), server.to_hex()] => Ok(()),
        _ => Err(RejectCode::WrongRecipient),
    }
}

pub fn check_fresh(
    created_at: Timestamp,
    now: Timestamp,
    window_secs: u64,
) -> Result<(), RejectCode> {
    if created_at.as_secs().abs_diff(now.as_secs()) > window_secs {
        Err(RejectCode::StaleEvent)
    } else {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use nostr::event::{EventId, FinalizeEvent, Signature, UnsignedEvent};
    use nostr::key::Keys;

    use super::*;

    fn unsigned(pubkey: PublicKey) -> UnsignedEvent {
        UnsignedEvent::new(
            pubkey,
            Timestamp::from_secs(1_800_000_000),
            kinds::request(),
            [],
            "x",
        )
    }

    #[test]
    fn the_kept_point_is_the_signers_key() {
        let keys = Keys::generate();
        let event = unsigned(keys.public_key()).finalize(&keys).expect("sign");
        let checked = CheckedRequest::verify(event.clone()).expect("valid");
        assert_eq!(checked.event(), &event);
        assert_eq!(
            checked.sender().x_only_public_key().0.serialize(),
            keys.public_key().to_bytes()
        );
    }

    #[test]
    fn a_key_off_the_curve_is_a_bad_signature_not_a_panic() {
        // Half of all x coordinates have no point; find one.
        let off_curve = (1..=u8::MAX)
            .map(|x| PublicKey::from_byte_array([x; 32]))
            .find(|key| lift(key).is_none())
            .expect("an x with no point");
        let draft = unsigned(off_curve);
        let id = EventId::compute(
            &draft.pubkey,
            &draft.created_at,
            &draft.kind,
            &draft.tags,
            &draft.content,
        );
        let event = Event::new(
            id,
            off_curve,
            draft.created_at,
            draft.kind,
            draft.tags,
            draft.content,
            Signature::from_byte_array([1; 64]),
        );
        assert_eq!(
            CheckedRequest::verify(event).err(),
            Some(RejectCode::InvalidSignature)
        );
    }
}
