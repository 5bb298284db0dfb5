//! kill -9 in the middle of a burst of writes: after a restart every acknowledged write is there,
//! no write is half done (each stored backup opens with the password of its version), and the
//! database passes SQLite's integrity check.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_client::{ClientError, Server, Vault};
use sigil_server::store::Store;
use sigil_shared::envelope::KdfParams;
use sigil_shared::secret::Password;

use crate::helpers::{HttpTransport, PASSWORD, SmtpCapture, TEST_POW, connect, free_port};

const ACCOUNTS: usize = 4;

fn password_for(version: u64) -> String {
    if version == 1 {
        PASSWORD.into()
    } else {
        format!("password of version {version}")
    }
}

/// The real binary, as an operator runs it.
fn start(data_dir: &Path, port: u16, smtp: &SmtpCapture) -> Child {
    let floor = KdfParams::FLOOR;
    Command::new(env!("CARGO_BIN_EXE_sigil-server"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--web-dir")
        .arg(data_dir.join("no-web"))
        .args(["--pow-difficulty", &TEST_POW.to_string()])
        .args(["--kdf-memory-kib", &floor.m_kib.to_string()])
        .args(["--kdf-iterations", &floor.t.to_string()])
        .args(["--kdf-parallelism", &floor.p.to_string()])
        .args(["--code-resend-gap", "0", "--codes-per-hour", "100"])
        .args(["--requests-per-key-per-minute", "10000"])
        .args([
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &smtp.port.to_string(),
        ])
        .args(["--smtp-tls", "none", "--log", "warn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sigil-server")
}

async fn connected(base: &str) -> Server<HttpTransport> {
    for _ in 0..200 {
        if let Ok(server) = connect(base).await {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sigil-server did not come up at {base}");
}

async fn verified(
    server: &Server<HttpTransport>,
    smtp: &SmtpCapture,
    email: &str,
) -> (CodeSession, AfterVerify) {
    let session = CodeSession::request(server, email).await.expect("code");
    let code = smtp.code_for(email).await;
    let after = session.verify(server, &code).await.expect("verify");
    (session, after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_nothing_is_half_written() {
    let smtp = SmtpCapture::start();
    let data = tempfile::tempdir().expect("data dir");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(data.path(), port, &smtp);
    let server = Arc::new(connected(&base).await);

    let mut vaults = Vec::new();
    for index in 0..ACCOUNTS {
        let email = format!("crash{index}@example.org");
        let (session, after) = verified(&server, &smtp, &email).await;
        let AfterVerify::NewAccount { entropy } = after else {
            panic!("new account expected");
        };
        let vault = session
            .create_account(&server, entropy, &Password::new(PASSWORD))
            .await
            .expect("activate");
        vaults.push((email, vault));
    }

    // Each account pushes version after version until the server dies under it.
    let acked: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
    let mut writers = Vec::new();
    for (email, mut vault) in vaults {
        let (server, acked) = (server.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            let mut version = 1;
            loop {
                let next = Password::new(&password_for(version + 1));
                let envelope = vault
                    .change_password(
                        &Password::new(&password_for(version)),
                        &next,
                        KdfParams::FLOOR,
                    )
                    .expect("re-encrypt");
                match vault.push_backup(&server, envelope, version).await {
                    Ok(stored) => {
                        version = stored;
                        acked.lock().expect("lock").insert(email.clone(), version);
                    }
                    Err(ClientError::Transport(_)) => return,
                    Err(other) => panic!("unexpected failure: {other:?}"),
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("kill -9");
    let _ = child.wait();
    for writer in writers {
        writer.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.values().any(|v| *v > 2), "the burst wrote: {acked:?}");

    // The database as the crash left it (WAL recovery included) is sound.
    let database = format!("sqlite://{}", data.path().join("sigil.db").display());
    let store = Store::open(&database).await.expect("open after crash");
    assert_eq!(store.integrity_check().await.expect("check"), "ok");
    store.close().await;

    let port = free_port();
    let mut restarted = start(data.path(), port, &smtp);
    let server = connected(&format!("http://127.0.0.1:{port}")).await;
    for index in 0..ACCOUNTS {
        let email = format!("crash{index}@example.org");
        let (_, after) = verified(&server, &smtp, &email).await;
        let AfterVerify::Existing(backup) = after else {
            panic!("{email} survived");
        };
        let acknowledged = acked.get(&email).copied().unwrap_or(1);
        // The write in flight at the kill may have committed without its answer arriving.
        assert!(
            backup.version == acknowledged || backup.version == acknowledged + 1,
            "{email}: stored version {} after acknowledged {acknowledged}",
            backup.version
        );
        let version = backup.version;
        Vault::unlock(backup, &Password::new(&password_for(version)))
            .unwrap_or_else(|e| panic!("{email}: version {version} does not open: {e}"));
    }
    restarted.kill().expect("stop");
    let _ = restarted.wait();
}
