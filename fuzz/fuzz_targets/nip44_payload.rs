//! NIP-44 payloads: base64, version byte, lengths, MAC and padding, under fixed keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_fuzz::{client_keys, server_keys};
use sigil_shared::nostr::nips::nip44;

fuzz_target!(|payload: &[u8]| {
    if let Ok(payload) = std::str::from_utf8(payload) {
        let _ = nip44::decrypt(
            server_keys().secret_key(),
            &client_keys().public_key(),
            payload,
        );
    }
});
