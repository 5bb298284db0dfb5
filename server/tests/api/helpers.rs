//! Test harness: the real server on port 0 with a fresh database (see `database.rs`), a real SMTP
//! server (aiosmtpd) on loopback capturing mail into a Maildir, and the real client over HTTP.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_client::relay::{RelayExchange, call_over_relays, publish_everywhere};
use sigil_client::session::Session;
use sigil_client::transport::TransportError;
use sigil_client::{HttpResponse, Server, Transport, Vault};
use sigil_server::config::SmtpTls;
use sigil_server::{Application, Config, Options};
use sigil_shared::envelope::KdfParams;
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::secret::{AccountSecret, Password};
use tokio::sync::oneshot;

use crate::database::TestDatabase;
use crate::ports::{free_port, spawn_listening};
use crate::relay_helpers::NativeSockets;

/// Difficulty the test server requires: low, so tests are quick, but not zero.
pub const TEST_POW: u8 = 8;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The password test accounts are created with.
pub const PASSWORD: &str = "correct horse battery staple";

/// aiosmtpd on loopback, delivering into a Maildir the test reads; each message also records
/// the EHLO name it came with (`X-Ehlo`, see `server/tests/smtp_capture.py`).
pub struct SmtpCapture {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
    read: Mutex<HashSet<PathBuf>>,
}

impl SmtpCapture {
    pub fn start() -> Self {
        let python = std::env::var_os("SIGIL_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join(".tools/venv/bin/python"));
        assert!(
            python.exists(),
            "{} not found: run scripts/setup.sh --test (installs aiosmtpd)",
            python.display()
        );
        let maildir = tempfile::tempdir().expect("maildir");
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(maildir.path().join(sub)).expect("maildir layout");
        }
        let (child, port) = spawn_listening("aiosmtpd", |port| {
            let mut command = Command::new(&python);
            command
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &format!("127.0.0.1:{port}"),
                    "-c",
                    "smtp_capture.EhloMailbox",
                ])
                .arg(maildir.path())
                .env("PYTHONPATH", workspace_root().join("server/tests"))
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            command
        });
        Self {
            child,
            port,
            maildir,
            read: Mutex::new(HashSet::new()),
        }
    }

    /// Every captured message not read before, oldest first.
    fn new_messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("new");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        let mut read = self.read.lock().expect("lock");
        paths
            .into_iter()
            .filter(|p| read.insert(p.clone()))
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// The code from the next unread message to `email`.
    pub async fn code_for(&self, email: &str) -> String {
        let normalised = sigil_shared::email::EmailAddress::parse(email).expect("valid email");
        let email = normalised.as_str();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for message in self.new_messages() {
                let to_line = message
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                    .unwrap_or("");
                if to_line.to_ascii_lowercase().contains(email) {
                    return code_in(&message);
                }
            }
            assert!(Instant::now() < deadline, "no mail for {email}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Every message to `email` not read yet, oldest first, marked read.
    pub fn messages_for(&self, email: &str) -> Vec<String> {
        let email = sigil_shared::email::EmailAddress::parse(email).expect("valid email");
        self.new_messages()
            .into_iter()
            .filter(|m| {
                m.lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                    .is_some_and(|l| l.to_ascii_lowercase().contains(email.as_str()))
            })
            .collect()
    }

    pub fn message_count(&self) -> usize {
        std::fs::read_dir(self.maildir.path().join("new"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for SmtpCapture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// reqwest behind the client's transport trait, and WebSockets for the relay transport.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
    /// Requests posted over HTTP so far.
    pub posts: Arc<AtomicUsize>,
    /// The size of every request event sent and of what came back, on either transport.
    pub wire: Arc<Mutex<Vec<WireSizes>>>,
}

/// Bytes of one request event and of its answer, as an observer of the transport sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireSizes {
    pub request: usize,
    /// The answer's body: a reply event, or a refusal over HTTP; None if nothing came.
    pub answer: Option<usize>,
}

impl HttpTransport {
    fn new(base: String) -> Self {
        Self {
            client: reqwest::Client::new(),
            base,
            posts: Arc::default(),
            wire: Arc::default(),
        }
    }

    fn record(&self, request: usize, answer: Option<usize>) {
        self.wire
            .lock()
            .expect("lock")
            .push(WireSizes { request, answer });
    }
}

async fn exchange(request: reqwest::RequestBuilder) -> Result<HttpResponse, TransportError> {
    let failed = |e: reqwest::Error| TransportError(e.to_string());
    let response = request.send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(failed)?;
    Ok(HttpResponse { status, body })
}

impl Transport for HttpTransport {
    async fn get(&self, path: &str) -> Result<HttpResponse, TransportError> {
        exchange(self.client.get(format!("{}{path}", self.base))).await
    }

    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError> {
        self.posts.fetch_add(1, Ordering::Relaxed);
        let sent = body.len();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        let answer = exchange(request).await;
        self.record(sent, answer.as_ref().ok().map(|a| a.body.len()));
        answer
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    async fn call_on_relays(
        &self,
        relays: &[String],
        server: &PublicKey,
        request: &Event,
    ) -> Result<String, TransportError> {
        let exchange = RelayExchange::new(*server, request.clone());
        let answer = call_over_relays(&mut NativeSockets::new(), relays, &exchange).await;
        self.record(
            request.as_json().len(),
            answer.as_ref().ok().map(String::len),
        );
        answer
    }

    async fn publish_on_relays(
        &self,
        relays: &[String],
        event: &Event,
    ) -> Result<usize, TransportError> {
        Ok(publish_everywhere(&mut NativeSockets::new(), relays, event).await)
    }
}

/// A client for a server at `base`, as a browser would make.
pub async fn connect(base: &str) -> Result<Server<HttpTransport>, sigil_client::ClientError> {
    Server::connect(HttpTransport::new(base.to_owned())).await
}

pub struct TestApp {
    pub base: String,
    pub smtp: SmtpCapture,
    pub data_dir: tempfile::TempDir,
    pub database: TestDatabase,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts a server with test defaults, adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Options)) -> TestApp {
    // Server logs go to each test's captured output (shown when it fails).
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("sigil_server=debug")
        .try_init();
    let smtp = SmtpCapture::start();
    let data_dir = tempfile::tempdir().expect("data dir");
    let database = TestDatabase::new(data_dir.path()).await;
    let mut options = Options {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        data_dir: Some(data_dir.path().to_owned()),
        database_url: Some(database.url().to_owned()),
        web_dir: Some(data_dir.path().join("no-web")),
        pow_difficulty: Some(TEST_POW),
        kdf_memory_kib: Some(KdfParams::FLOOR.m_kib),
        kdf_iterations: Some(KdfParams::FLOOR.t),
        kdf_parallelism: Some(KdfParams::FLOOR.p),
        code_resend_gap: Some(0),
        // Race and crash tests drive one key hard; the per-key limit has its own test.
        requests_per_key_per_minute: Some(10_000),
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(smtp.port),
        smtp_tls: Some(SmtpTls::None),
        smtp_from: Some("Sigil Test <sigil@test.invalid>".into()),
        ..Options::default()
    };
    adjust(&mut options);
    let config = Config::from_options(options).expect("test config");
    let app = Application::build(&config).await.expect("server starts");
    let addr = app.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        smtp,
        data_dir,
        database,
        http: reqwest::Client::new(),
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestApp {
    /// A fresh client connection, as a new browser would make.
    pub async fn client(&self) -> Server<HttpTransport> {
        connect(&self.base).await.expect("client connects")
    }

    /// A client that starts from a saved well-known document, as a returning browser does;
    /// `online: false` points it at a closed port, as a browser with no network.
    pub fn saved_client(
        &self,
        info: sigil_shared::info::ServerInfo,
        online: bool,
    ) -> Server<HttpTransport> {
        let base = if online {
            self.base.clone()
        } else {
            format!("http://127.0.0.1:{}", free_port())
        };
        Server::from_saved(HttpTransport::new(base), info).expect("saved info is valid")
    }

    pub async fn post_event(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1/events", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post")
    }

    /// A browser session that has passed the email step for `email`.
    pub async fn verified_session(&self, email: &str) -> Session<HttpTransport> {
        let mut session = Session::new(self.client().await);
        session.request_code(email).await.expect("code");
        session
            .verify_code(&self.smtp.code_for(email).await)
            .await
            .expect("verify");
        session
    }

    /// Email code step for `email`; returns the session and what verification answered.
    pub async fn verify_email(
        &self,
        server: &Server<HttpTransport>,
        email: &str,
    ) -> (CodeSession, AfterVerify) {
        let session = CodeSession::request(server, email)
            .await
            .expect("request code");
        let code = self.smtp.code_for(email).await;
        let after = session.verify(server, &code).await.expect("verify code");
        (session, after)
    }

    /// A whole signup; returns the unlocked vault.
    pub async fn sign_up(&self, email: &str, password: &str) -> Vault {
        let server = self.client().await;
        let (session, after) = self.verify_email(&server, email).await;
        let AfterVerify::NewAccount { entropy } = after else {
            panic!("{email} should be new");
        };
        session
            .create_account(
                &server,
                entropy,
                &Password::new(password),
                &AccountSecret::generate(),
            )
            .await
            .expect("activate")
            .0
    }

    /// Moves every pending code's expiry into the past, as if ten minutes had gone by.
    pub async fn expire_codes(&self) {
        self.database
            .execute("UPDATE sessions SET expires_at = 1")
            .await;
        self.database
            .execute("UPDATE throttles SET code_expires_at = 1")
            .await;
    }

    /// Moves every guessing budget's clock back by `secs`, as if that long had gone by.
    pub async fn age_budgets(&self, secs: i64) {
        self.database
            .execute(&format!(
                "UPDATE throttles SET budget_empty_at = budget_empty_at - {secs}"
            ))
            .await;
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("join").expect("clean shutdown");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A header's value in a captured message.
pub fn header<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

/// The code in a code email, digits only (long codes are shown in groups of four).
pub fn code_in(message: &str) -> String {
    let start =
        message.find("Your Sigil code is ").expect("code line") + "Your Sigil code is ".len();
    let line = message[start..].lines().next().unwrap_or("");
    line.chars().filter(char::is_ascii_digit).collect()
}

/// The real binary, as an operator runs it, with the test defaults; killed when dropped. Its
/// log (warnings and errors) is kept in a file and shown if the test fails.
pub struct ServerProcess {
    child: Child,
    pub base: String,
    log: tempfile::NamedTempFile,
}

impl ServerProcess {
    /// Starts `sigil-server` on a free port over `data_dir` and `database_url`, with `extra`
    /// arguments in place of the test defaults they name.
    pub fn start(data_dir: &Path, database_url: &str, smtp: &SmtpCapture, extra: &[&str]) -> Self {
        let floor = KdfParams::FLOOR;
        let defaults = [
            ("--pow-difficulty", TEST_POW.to_string()),
            ("--kdf-memory-kib", floor.m_kib.to_string()),
            ("--kdf-iterations", floor.t.to_string()),
            ("--kdf-parallelism", floor.p.to_string()),
            ("--code-resend-gap", "0".into()),
            ("--requests-per-key-per-minute", "10000".into()),
            ("--log", "warn".into()),
        ];
        let log = tempfile::NamedTempFile::new().expect("log file");
        let (child, port) = spawn_listening("sigil-server", |port| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_sigil-server"));
            command
                .args(["--listen", &format!("127.0.0.1:{port}")])
                .arg("--data-dir")
                .arg(data_dir)
                .args(["--database-url", database_url])
                .arg("--web-dir")
                .arg(data_dir.join("no-web"))
                .args([
                    "--smtp-host",
                    "127.0.0.1",
                    "--smtp-port",
                    &smtp.port.to_string(),
                ])
                .args(["--smtp-tls", "none"]);
            for (flag, value) in &defaults {
                if !extra.contains(flag) {
                    command.args([*flag, value.as_str()]);
                }
            }
            let stderr = log.reopen().expect("log file");
            command
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::from(stderr));
            command
        });
        Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// A client, once the server answers.
    pub async fn client(&self) -> Server<HttpTransport> {
        for _ in 0..400 {
            if let Ok(server) = connect(&self.base).await {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sigil-server did not come up at {}", self.base);
    }

    /// kill -9: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            eprintln!("sigil-server's log:\n{log}");
        }
    }
}
