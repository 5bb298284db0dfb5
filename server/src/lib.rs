//! Sigil's DVM server: verifies email codes and keeps opaque key backups, answering only
//! NIP-44-encrypted, proof-of-work-sealed Nostr events.

pub mod admission;
pub mod app;
pub mod backup;
pub mod codes;
pub mod config;
pub mod csp;
pub mod http;
pub mod keys;
pub mod mail;
pub mod methods;
pub mod onion;
pub mod pow;
pub mod relay;
pub mod replies;
pub mod requests;
pub mod store;
pub mod throttle;

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

/// Directives added to every log filter: these targets log client socket addresses (axum's
/// "connection 127.0.0.1:50123 accepted" at trace level), which Sigil's logs never carry.
const NEVER_LOGGED: &[&str] = &["axum::serve=off"];

/// The operator's log filter (tracing's `EnvFilter` syntax; `info` if it does not parse), with
/// the targets that would log client addresses switched off whatever the level.
pub fn log_filter(spec: &str) -> tracing_subscriber::EnvFilter {
    let mut filter = tracing_subscriber::EnvFilter::try_new(spec).unwrap_or_else(|_| "info".into());
    for directive in NEVER_LOGGED {
        if let Ok(directive) = directive.parse() {
            filter = filter.add_directive(directive);
        }
    }
    filter
}
