//! The relay side of the harness: a real relay (nostr-rs-relay, installed by
//! `scripts/setup.sh --test`) on loopback, a real SOCKS5 proxy (microsocks), and WebSockets for
//! the client's relay transport.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use sigil_client::relay::{RelaySockets, SocketEvent};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use sigil_server::Options;

use crate::helpers::{TestApp, spawn_app_with};
use crate::ports::{spawn_listening, wait_listening};

fn tool(name: &str, hint: &str) -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    let cargo_bin =
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin").join(name));
    from_path
        .or(cargo_bin.filter(|path| path.is_file()))
        .unwrap_or_else(|| panic!("{name} not found: run scripts/setup.sh --test ({hint})"))
}

/// nostr-rs-relay on a free loopback port, with its own database; stopped when dropped.
pub struct TestRelay {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl TestRelay {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("relay dir");
        let (child, port) = spawn_listening("nostr-rs-relay", |port| {
            let config = format!(
                "[info]\nrelay_url = \"ws://127.0.0.1:{port}/\"\nname = \"sigil test relay\"\n\n\
                 [database]\ndata_directory = \"{}\"\n\n\
                 [network]\naddress = \"127.0.0.1\"\nport = {port}\n",
                dir.path().display()
            );
            std::fs::write(dir.path().join("config.toml"), config).expect("relay config");
            Self::command(dir.path())
        });
        Self {
            child: Some(child),
            port,
            dir,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn command(dir: &Path) -> Command {
        let mut command = Command::new(tool("nostr-rs-relay", "cargo install nostr-rs-relay"));
        command
            .arg("--config")
            .arg(dir.join("config.toml"))
            .arg("--db")
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Stops the relay (every connection drops), then starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Self::command(self.dir.path())
            .spawn()
            .expect("start nostr-rs-relay");
        wait_listening(&mut child, self.port, "nostr-rs-relay")
            .expect("the relay's port was taken while it was down");
        self.child = Some(child);
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.stop();
    }
}

/// microsocks, a SOCKS5 proxy, on a free loopback port; its log names every connection made.
pub struct SocksProxy {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SocksProxy {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("proxy dir");
        let log = dir.path().join("microsocks.log");
        let (child, port) = spawn_listening("microsocks", |port| {
            let mut command = Command::new(tool("microsocks", "apt install microsocks"));
            command
                .args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).expect("log file"));
            command
        });
        Self {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SocksProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// tokio-tungstenite behind the client's socket trait: one task per connection.
pub struct NativeSockets {
    events: mpsc::UnboundedSender<SocketEvent>,
    incoming: mpsc::UnboundedReceiver<SocketEvent>,
    outgoing: HashMap<usize, mpsc::UnboundedSender<String>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
}

impl NativeSockets {
    pub fn new() -> Self {
        let (events, incoming) = mpsc::unbounded_channel();
        Self {
            events,
            incoming,
            outgoing: HashMap::new(),
            tasks: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl RelaySockets for NativeSockets {
    fn open(&mut self, index: usize, url: &str) {
        let (to_relay, mut pending) = mpsc::unbounded_channel::<String>();
        self.outgoing.insert(index, to_relay);
        let (events, url) = (self.events.clone(), url.to_owned());
        self.tasks.push(tokio::spawn(async move {
            if let Ok((socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await {
                let _ = events.send(SocketEvent::Opened(index));
                let (mut sink, mut stream) = socket.split();
                loop {
                    tokio::select! {
                        Some(text) = pending.recv() => {
                            if sink.send(Message::text(text)).await.is_err() {
                                break;
                            }
                        }
                        message = stream.next() => match message {
                            Some(Ok(Message::Text(text))) => {
                                let _ = events.send(SocketEvent::Message(index, text.to_string()));
                            }
                            Some(Ok(_)) => {}
                            _ => break,
                        }
                    }
                }
            }
            let _ = events.send(SocketEvent::Closed(index));
        }));
    }

    fn send(&mut self, index: usize, text: &str) {
        if let Some(to_relay) = self.outgoing.get(&index) {
            let _ = to_relay.send(text.to_owned());
        }
    }

    fn close_all(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.outgoing.clear();
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    async fn next_event(&mut self, wait: Duration) -> Option<SocketEvent> {
        tokio::time::timeout(wait, self.incoming.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Events a relay holds that match `filter` (a JSON object), read with one subscription.
pub async fn query(relay: &str, filter: serde_json::Value) -> Vec<serde_json::Value> {
    let (mut socket, _) = tokio_tungstenite::connect_async(relay)
        .await
        .expect("connect to relay");
    let request = serde_json::json!(["REQ", "q", filter]).to_string();
    socket.send(Message::text(request)).await.expect("send REQ");
    let mut events = Vec::new();
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(Duration::from_secs(10), socket.next()).await
    {
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(&text).expect("relay JSON");
        match value[0].as_str() {
            Some("EVENT") => events.push(value[2].clone()),
            Some("EOSE") => break,
            _ => {}
        }
    }
    events
}

/// Which transport a test's client sends its requests over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Http,
    Relays,
}

/// A server whose clients use `via`, with options adjusted by `adjust`; the relay, when there is
/// one, lives as long as the server.
pub struct AppVia {
    pub app: TestApp,
    _relay: Option<TestRelay>,
}

impl std::ops::Deref for AppVia {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl AppVia {
    pub async fn stop(self) {
        self.app.stop().await;
    }
}

pub async fn app_via(via: Via, adjust: impl FnOnce(&mut Options)) -> AppVia {
    match via {
        Via::Http => AppVia {
            app: spawn_app_with(adjust).await,
            _relay: None,
        },
        Via::Relays => {
            let relay = TestRelay::start();
            let app = crate::relays::relay_app(&[&relay], None, adjust).await;
            AppVia {
                app,
                _relay: Some(relay),
            }
        }
    }
}

/// For each `async fn name(via: Via)`, two tests, `name::over_http` and `name::over_relays`.
macro_rules! over_both_transports {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn over_http() {
                    super::$name(crate::relay_helpers::Via::Http).await;
                }

                #[tokio::test]
                async fn over_relays() {
                    super::$name(crate::relay_helpers::Via::Relays).await;
                }
            }
        )*
    };
}
pub(crate) use over_both_transports;
