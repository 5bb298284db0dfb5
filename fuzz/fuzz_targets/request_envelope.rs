//! The server's front door: a request body through every envelope check, then decryption and
//! the method's parameters, as `POST /api/v1/events` runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_fuzz::{now, policy, server_keys};
use sigil_shared::dvm::{Exchange, ServerKeys};
use sigil_shared::validation::check_request;

fuzz_target!(|body: &[u8]| {
    if let Ok(request) = check_request(body, &policy(), now()) {
        let keys = ServerKeys::new(server_keys());
        let _ = Exchange::new(&keys, &request).open();
    }
});
