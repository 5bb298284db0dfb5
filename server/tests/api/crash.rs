//! kill -9 in the middle of a burst of writes: after a restart every acknowledged write is there,
//! no write is half done (each stored backup opens with the password of its version), and the
//! SQLite database passes its integrity check. Runs on PostgreSQL too in that pass.

use sigil_shared::argon2id::ThisThread;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_client::{ClientError, Server, Vault};
use sigil_server::store::{Backend, Store};
use sigil_shared::envelope::KdfParams;
use sigil_shared::secret::{AccountSecret, Password};

use crate::database::TestDatabase;
use crate::helpers::{HttpTransport, PASSWORD, ServerProcess, SmtpCapture};

const ACCOUNTS: usize = 4;

fn password_for(version: u64) -> String {
    if version == 1 {
        PASSWORD.into()
    } else {
        format!("password of version {version}")
    }
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
    let database = TestDatabase::new(data.path()).await;
    let mut process = ServerProcess::start(data.path(), database.url(), &smtp, &[]);
    let server = Arc::new(process.client().await);

    let mut vaults = Vec::new();
    for index in 0..ACCOUNTS {
        let email = format!("crash{index}@example.org");
        let (session, after) = verified(&server, &smtp, &email).await;
        let AfterVerify::NewAccount { entropy } = after else {
            panic!("new account expected");
        };
        let (vault, _) = session
            .create_account(
                &server,
                entropy,
                &Password::new(PASSWORD),
                &AccountSecret::generate(),
            )
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
                        &ThisThread,
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
    process.kill();
    for writer in writers {
        writer.await.expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.values().any(|v| *v > 2), "the burst wrote: {acked:?}");

    // The SQLite file as the crash left it (WAL recovery included) is sound. PostgreSQL
    // recovers from its own log; what it holds is checked through the server below.
    let store = Store::open(database.url()).await.expect("open after crash");
    if store.backend() == Backend::Sqlite {
        assert_eq!(store.integrity_check().await.expect("check"), "ok");
    }
    store.close().await;

    let restarted = ServerProcess::start(data.path(), database.url(), &smtp, &[]);
    let server = restarted.client().await;
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
        Vault::unlock(backup, &Password::new(&password_for(version)), &ThisThread)
            .unwrap_or_else(|e| panic!("{email}: version {version} does not open: {e}"));
    }
}
