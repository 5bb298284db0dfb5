//! The server's front door: a request body through every envelope check, then decryption and
//! the method's parameters, as `POST /api/v1/events` runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_fuzz::{now, policy, server_keys};
use sigil_shared::dvm::open_request;
use sigil_shared::validation::check_request;

fuzz_target!(|body: &[u8]| {
    if let Ok(event) = check_request(body, &policy(), now()) {
        let _ = open_request(&server_keys(), &event);
    }
});
