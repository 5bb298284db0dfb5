//! Sigil as a NIP-46 remote signer (issue 26): the key stays in the vault worker and signs for
//! apps that connect to it. Pure parts first: what an app may do without asking
//! ([`policy`]), and the requests and responses of the protocol ([`request`]).

pub mod answer;
pub mod policy;
pub mod request;
pub mod session;
pub mod uri;
pub mod wire;
