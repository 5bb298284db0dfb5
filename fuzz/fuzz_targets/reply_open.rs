//! The client's side of the exchange: a reply event checked for its signer, its binding to the
//! request, and decrypted. Input: the request's 32-byte id, then the reply's JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_fuzz::{client_keys, server_keys};
use sigil_shared::dvm::open_reply;
use sigil_shared::nostr::event::EventId;

fuzz_target!(|input: &[u8]| {
    let Some((id, json)) = input.split_first_chunk::<32>() else {
        return;
    };
    if let Ok(json) = std::str::from_utf8(json) {
        let request = EventId::from_byte_array(*id);
        let _ = open_reply(&client_keys(), &server_keys().public_key(), &request, json);
    }
});
