//! Sigil's DVM server: verifies email codes and keeps opaque key backups, answering only
//! NIP-44-encrypted, proof-of-work-sealed Nostr events.

pub mod app;
pub mod codes;
pub mod config;
pub mod http;
pub mod keys;
pub mod mail;
pub mod store;
pub mod throttle;
pub mod vault;

pub use app::{Application, StartError};
pub use config::{Config, Options};

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
