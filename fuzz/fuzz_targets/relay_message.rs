//! What relays send: any text is parsed as a NIP-01 message and read by a client waiting for
//! its reply. Input: the message text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_client::relay::RelayExchange;
use sigil_fuzz::{fixed_request, server_keys};
use sigil_shared::relay::parse;

fuzz_target!(|input: &[u8]| {
    if let Ok(text) = std::str::from_utf8(input) {
        let _ = parse(text);
        let _ = RelayExchange::new(server_keys().public_key(), fixed_request()).hear(text);
    }
});
