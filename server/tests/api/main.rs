//! Integration tests: the real server, a real SMTP server, the real client.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod backups;
mod codes;
mod crash;
mod database;
mod envelope_checks;
mod helpers;
mod journeys;
mod operations;
mod ports;
mod privacy;
mod races;
mod relay_helpers;
mod relays;
mod retries;
mod scale_out;
mod signer;
mod sync;
mod unlock_methods;
mod web;
mod wire_sizes;
