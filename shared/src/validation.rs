//! Checks on every request envelope, cheapest first, before anything is decrypted.
//!
//! Replay refusal needs state and lives in the server; everything else is here so the same rules
//! can be tested natively and reused by every transport.

use nostr::event::Event;
use nostr::key::PublicKey;
use nostr::types::Timestamp;

use crate::error::RejectCode;
use crate::kinds;
use crate::pow::{committed_target, leading_zero_bits};

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

/// Validates a request body and returns the parsed event, or why it was refused.
pub fn check_request(body: &[u8], policy: &Policy, now: Timestamp) -> Result<Event, RejectCode> {
    if body.len() > policy.max_bytes {
        return Err(RejectCode::PayloadTooLarge);
    }
    let event = Event::from_json(body).map_err(|_| RejectCode::MalformedEvent)?;
    if event.kind != kinds::request() {
        return Err(RejectCode::WrongKind);
    }
    check_addressed_to(&event, &policy.server)?;
    check_fresh(event.created_at, now, policy.window_secs)?;
    // The claimed id is checked for zero bits before it is recomputed: junk costs no hashing.
    let target = committed_target(&event.tags).ok_or(RejectCode::InsufficientPow)?;
    if target < policy.min_difficulty || leading_zero_bits(event.id.as_bytes()) < target {
        return Err(RejectCode::InsufficientPow);
    }
    if !event.verify_id() {
        return Err(RejectCode::InvalidId);
    }
    if !event.verify_signature() {
        return Err(RejectCode::InvalidSignature);
    }
    Ok(event)
}

/// Exactly one `p` tag, naming the server: a request meant for another DVM must not be answered.
fn check_addressed_to(event: &Event, server: &PublicKey) -> Result<(), RejectCode> {
    let mut recipients = event.tags.iter().filter(|tag| tag.kind() == "p");
    match (recipients.next(), recipients.next()) {
        (Some(tag), None) if tag.content() == Some(server.to_hex().as_str()) => Ok(()),
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
