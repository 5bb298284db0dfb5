//! What the fuzz targets and the seed generator share: fixed keys and a fixed clock, so seeds
//! made once stay valid inputs (right addressee, fresh enough) for every later run.

use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::Policy;

/// The moment every seed was made at and every target checks at.
pub const NOW: u64 = 1_800_000_000;

pub fn now() -> Timestamp {
    Timestamp::from_secs(NOW)
}

fn keys(hex: &str) -> Keys {
    Keys::parse(hex).expect("fixed fuzzing key")
}

/// The server the fuzzed requests are addressed to.
pub fn server_keys() -> Keys {
    keys("0000000000000000000000000000000000000000000000000000000000000001")
}

/// The client the fuzzed replies are addressed to.
pub fn client_keys() -> Keys {
    keys("0000000000000000000000000000000000000000000000000000000000000002")
}

/// The server's rules, with the proof of work at zero so that mutated events can reach the
/// signature and decryption steps behind it.
pub fn policy() -> Policy {
    Policy {
        server: server_keys().public_key(),
        min_difficulty: 0,
        window_secs: 300,
        max_bytes: 64 * 1024,
    }
}

/// A request with a fixed id (the id covers no signature), for targets that need one to wait on.
pub fn fixed_request() -> sigil_shared::nostr::event::Event {
    use sigil_shared::nostr::event::{FinalizeEvent, Tag, UnsignedEvent};
    UnsignedEvent::new(
        client_keys().public_key(),
        now(),
        sigil_shared::kinds::request(),
        vec![Tag::public_key(server_keys().public_key())],
        "fixed",
    )
    .finalize(&client_keys())
    .expect("sign the fixed request")
}
