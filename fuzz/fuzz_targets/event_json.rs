//! Nostr event JSON: parsing, id and signature checks, and a round trip of what parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_shared::nostr::event::Event;

fuzz_target!(|json: &[u8]| {
    if let Ok(event) = Event::from_json(json) {
        let _ = event.verify();
        let again = Event::from_json(event.as_json()).expect("a parsed event parses again");
        assert_eq!(again, event);
    }
});
