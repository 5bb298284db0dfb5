//! Sigil as a NIP-46 remote signer (issue 26): the key stays in the vault worker and signs for
//! apps that connect to it. What an app may do without asking ([`policy`]), the protocol's
//! requests and responses ([`request`]) and their answers ([`answer`]), the invitations
//! ([`uri`]), the kept state and its decisions ([`session`]), the kind-24133 events ([`wire`]),
//! and the loop that serves requests on relays ([`service`]), tested natively against
//! nostr-tools' BunkerSigner (server/tests/api/signer.rs). The browser does not run it yet.

pub mod answer;
pub mod policy;
pub mod request;
pub mod service;
pub mod session;
pub mod uri;
pub mod wire;
