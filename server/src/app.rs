//! Building and running the server from a [`Config`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sigil_shared::dvm::ServerKeys;
use sigil_shared::info::ServerInfo;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::Policy;
use tokio::net::TcpListener;

use crate::admission::{Admission, KeyLimit};
use crate::config::{Config, ConfigError};
use crate::http::router;
use crate::keys::{HashKey, KeyError, server_keys};
use crate::mail::Mailer;
use crate::methods::Methods;
use crate::pow::{self, PowLevel};
use crate::relay::{self, RelayOptions};
use crate::replies::{REMEMBERED_REPLIES, RecentReplies};
use crate::requests::{AppState, SharedState};
use crate::store::{Store, StoreError};

const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Why the server could not start, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("key file: {0}")]
    Key(#[from] KeyError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start the admission writer: {0}")]
    Admission(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
    web_dir: std::path::PathBuf,
    relays: RelayOptions,
}

impl Application {
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        create_private_dir(&config.data_dir)?;
        let keys = server_keys(config.server_key.as_ref(), &config.data_dir)?;
        let hash_key = HashKey::load(config.email_hash_key.as_ref(), &config.data_dir)?;
        let store = Store::open(&config.database_url).await?;
        let mailer = Mailer::new(config.mail.smtp.as_ref(), &config.mail.from)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;

        let policy = Policy {
            server: keys.public_key(),
            min_difficulty: config.pow.difficulty,
            window_secs: config.requests.created_at_window,
            max_bytes: config.requests.max_event_bytes,
        };
        let mut info = ServerInfo::new(
            &keys.public_key(),
            config.pow.difficulty,
            config.requests.created_at_window,
            config.requests.max_event_bytes,
            config.kdf,
        );
        info.default_relays = config.relays.default_relays.clone();
        info.dvm_relays = config.relays.dvm_relays.clone();
        info.transport = config.relays.client_transport;

        tracing::info!(npub = %info.npub, mail = mailer.describe(), "server key loaded");
        let chance = config.codes.yearly_guess_chance();
        if chance > 0.01 {
            tracing::warn!(
                percent = format!("{:.1}", chance * 100.0),
                "code-guesses and code-guess-refill leave more than a 1% chance of a guessed code per address in a year of attack (SECURITY.md)"
            );
        }
        if !config.web_dir.join("index.html").exists() {
            tracing::warn!(web_dir = %config.web_dir.display(), "no web client built there; only the API is served");
        }
        let key_limit = KeyLimit {
            per_window: config.requests.per_key_per_minute,
        };
        let admission =
            Admission::start(store.clone(), key_limit).map_err(StartError::Admission)?;
        let methods = Methods {
            store,
            hash_key,
            mailer,
            limits: config.codes,
            window_secs: config.requests.created_at_window,
            kdf: config.kdf,
        };
        Ok(Self {
            listener,
            state: Arc::new(AppState {
                keys: ServerKeys::new(keys),
                policy,
                admission,
                pow: PowLevel::new(
                    config.pow.difficulty,
                    config.pow.max_difficulty,
                    config.pow.calm_rate,
                ),
                info,
                methods,
                in_flight: tokio::sync::Semaphore::new(config.requests.max_in_flight),
                replies: RecentReplies::new(REMEMBERED_REPLIES),
            }),
            web_dir: config.web_dir.clone(),
            relays: RelayOptions {
                relays: config.relays.dvm_relays.clone(),
                proxy: config.relays.proxy,
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn server_pubkey(&self) -> PublicKey {
        self.state.keys.public_key()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.methods.store.clone();
        let pruner = tokio::spawn(prune_forever(store.clone()));
        let pow_ticker = self
            .state
            .pow
            .is_adaptive()
            .then(|| tokio::spawn(tick_forever(self.state.clone())));
        let relay_tasks = relay::spawn(self.state.clone(), &self.relays);
        let app = router(self.state, &self.web_dir);
        let addr = self.listener.local_addr()?;
        tracing::info!(%addr, "listening");
        if self.web_dir.join("index.html").exists() {
            tracing::info!("open http://{addr}/ in a browser");
        }
        // Requests in flight get a moment to finish; a connection that stays open past that (a
        // browser's idle socket) does not keep the process alive.
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(());
        });
        let drain = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let served = tokio::select! {
            served = serve => served,
            () = drain => {
                tracing::warn!("connections still open {DRAIN_TIMEOUT:?} after the stop signal; stopping anyway");
                Ok(())
            }
        };
        pruner.abort();
        for task in relay_tasks {
            task.abort();
        }
        if let Some(ticker) = pow_ticker {
            ticker.abort();
        }
        store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// Recomputes the adaptive proof-of-work level from the load since the last tick.
async fn tick_forever(state: SharedState) {
    let mut interval = tokio::time::interval(pow::TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let mut last = tokio::time::Instant::now();
    loop {
        interval.tick().await;
        let now = tokio::time::Instant::now();
        state.pow.tick(now - last);
        last = now;
    }
}

/// How long a stopping server waits for open connections.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The data directory holds the server's keys and database: only its owner may enter it.
fn create_private_dir(path: &std::path::Path) -> Result<(), StartError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| StartError::DataDir {
            path: path.to_owned(),
            source,
        })
}

async fn prune_forever(store: Store) {
    let mut ticks = tokio::time::interval(PRUNE_EVERY);
    loop {
        ticks.tick().await;
        let now = i64::try_from(Timestamp::now().as_secs()).unwrap_or(i64::MAX);
        if let Err(error) = store.prune(now).await {
            tracing::warn!(%error, "pruning expired rows failed");
        }
    }
}
