//! The server's front door: a request body through every envelope check, then decryption and
//! the method's parameters, as `POST /api/v1/events` runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_fuzz::{now, policy, server_keys};
use sigil_shared::dvm::Exchange;
use sigil_shared::validation::check_request;

fuzz_target!(|body: &[u8]| {
    if let Ok(event) = check_request(body, &policy(), now()) {
        let keys = server_keys();
        if let Ok(exchange) = Exchange::new(&keys, &event) {
            let _ = exchange.open();
        }
    }
});
