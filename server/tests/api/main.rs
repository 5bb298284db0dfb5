//! Integration tests: the real server, a real SMTP server, the real client.

mod codes;
mod envelope_checks;
mod helpers;
mod journeys;
mod privacy;
