//! Wall-clock time for nostr's `Timestamp::now()` in the browser: `universal-time` has no clock
//! of its own on wasm32-unknown-unknown and links against the one defined here.

use std::time::Duration;

use universal_time::{Instant, MonotonicClock, SystemTime, WallClock};

struct BrowserClock;

fn now() -> Duration {
    Duration::from_secs_f64(js_sys::Date::now().max(0.0) / 1000.0)
}

impl WallClock for BrowserClock {
    fn system_time(&self) -> SystemTime {
        SystemTime::from_unix_duration(now())
    }
}

impl MonotonicClock for BrowserClock {
    fn instant(&self) -> Instant {
        Instant::from_ticks(now())
    }
}

// The macro exports a symbol under a fixed name, which the unsafe_code lint counts as unsafe;
// that name is the crate's documented linking contract.
#[allow(unsafe_code)]
mod provider {
    universal_time::define_time_provider!(super::BrowserClock);
}
