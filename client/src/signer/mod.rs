//! Sigil as a NIP-46 remote signer (issue 26): the key stays in the vault worker and signs for
//! apps that connect to it. What an app may do without asking ([`policy`]), the protocol's
//! requests and responses ([`request`]) and their answers ([`answer`]), the invitations
//! ([`uri`]), the kept state and its decisions ([`session`]), the kind-24133 events ([`wire`]),
//! the loop that serves requests on relays ([`service`]), and what the page shows ([`view`]).
//! Tested natively against nostr-tools' BunkerSigner and NDK (server/tests/api/signer.rs); in
//! the browser it runs in a module of its own (`client/signer`), loaded by the vault worker on
//! first use, and is tested in Chromium (e2e/tests/signer.spec.mjs).

pub mod answer;
pub mod policy;
pub mod request;
pub mod service;
pub mod session;
pub mod uri;
pub mod view;
pub mod wire;
