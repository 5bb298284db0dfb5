//! Sigil's client: the vault flows as pure, natively testable logic over a [`Transport`], plus a
//! thin browser glue module for WebAssembly.

pub mod dates;
pub mod dom_ids;
pub mod error;
pub mod flow;
pub mod import;
pub mod keyboard;
pub mod local_vault;
pub mod qr;
pub mod relay;
pub mod server;
pub mod session;
pub mod signer;
pub mod strength;
pub mod transport;
pub mod wording;
pub mod worker_api;

#[cfg(target_arch = "wasm32")]
pub mod browser;
/// The page's and the vault worker's glue, with the module's exports; left out of the signer's
/// module (`client/signer`), which brings its own.
#[cfg(all(target_arch = "wasm32", feature = "app"))]
mod web;

pub use error::ClientError;
pub use flow::{CodeSession, Vault};
pub use server::Server;
pub use transport::{HttpResponse, Transport};
