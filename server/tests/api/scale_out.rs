//! Two server processes on one PostgreSQL database behave as one service: a code requested
//! through one is verified through the other, an event seen by one is a replay to the other,
//! the per-address and per-key limits count requests to both, and compare-and-swap lets one
//! device win per version whichever process it talks to. These always run on PostgreSQL.

use sigil_shared::argon2id::ThisThread;
use std::sync::Arc;

use reqwest::Client;
use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_client::{Server, Vault};
use sigil_shared::error::{ErrorCode, RejectBody, RejectCode};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::database::TestDatabase;
use crate::envelope_checks::sealed;
use crate::helpers::{HttpTransport, PASSWORD, ServerProcess, SmtpCapture, TEST_POW};
use crate::races::race_rounds;

/// One database, one data directory (the shared keys), two processes.
struct Pair {
    smtp: SmtpCapture,
    _data: tempfile::TempDir,
    _database: TestDatabase,
    processes: [ServerProcess; 2],
    clients: [Arc<Server<HttpTransport>>; 2],
}

async fn pair(extra: &[&str]) -> Pair {
    let smtp = SmtpCapture::start();
    let data = tempfile::tempdir().expect("data dir");
    let database = TestDatabase::postgres().await;
    // The first process creates the keys and the schema; the second finds them.
    let first = ServerProcess::start(data.path(), database.url(), &smtp, extra);
    let first_client = Arc::new(first.client().await);
    let second = ServerProcess::start(data.path(), database.url(), &smtp, extra);
    let second_client = Arc::new(second.client().await);
    assert_eq!(
        first_client.pubkey(),
        second_client.pubkey(),
        "one service, one key"
    );
    Pair {
        smtp,
        _data: data,
        _database: database,
        processes: [first, second],
        clients: [first_client, second_client],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_sessions_replays_and_compare_and_swap() {
    let pair = pair(&[]).await;
    let [a, b] = &pair.clients;

    // Sign up: the code through A, verified and activated through B.
    let email = "two.processes@example.org";
    let session = CodeSession::request(a, email).await.expect("code via A");
    let code = pair.smtp.code_for(email).await;
    let AfterVerify::NewAccount { entropy } = session.verify(b, &code).await.expect("verify via B")
    else {
        panic!("a new account");
    };
    let (owner, _) = session
        .create_account(
            b,
            entropy,
            &Password::new(PASSWORD),
            &AccountSecret::generate(),
        )
        .await
        .expect("activate via B");

    // Log in through A on another device: the same key.
    let session = CodeSession::request(a, email).await.expect("code via A");
    let code = pair.smtp.code_for(email).await;
    let AfterVerify::Existing(backup) = session.verify(a, &code).await.expect("verify via A")
    else {
        panic!("an existing account");
    };
    let unlocked = Vault::unlock(backup, &Password::new(PASSWORD), &ThisThread).expect("unlock");
    assert_eq!(unlocked.public_key(), owner.public_key());

    // An event handled by A is a replay to B.
    let event = sealed(a.pubkey(), TEST_POW, Timestamp::now());
    let http = Client::new();
    let post = |process: &ServerProcess| {
        http.post(format!("{}/api/v1/events", process.base))
            .header("content-type", "application/json")
            .body(event.as_json())
            .send()
    };
    assert_eq!(post(&pair.processes[0]).await.expect("post").status(), 200);
    let replay = post(&pair.processes[1]).await.expect("post");
    assert_eq!(replay.status(), 409);
    let body: RejectBody = replay.json().await.expect("JSON");
    assert_eq!(body.error, RejectCode::Replayed);

    // Eight devices race each version, half through each process.
    race_rounds(&pair.clients, owner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_count_requests_to_both_processes() {
    let pair = pair(&[
        "--code-resend-gap",
        "60",
        "--code-guesses",
        "2",
        "--requests-per-key-per-minute",
        "4",
    ])
    .await;
    let [a, b] = &pair.clients;

    // One gap per mailbox for its tagged variants, whichever process sends the codes.
    CodeSession::request(a, "limited+x@example.org")
        .await
        .expect("the first code");
    let refused = CodeSession::request(b, "limited+y@example.org")
        .await
        .expect_err("within the mailbox's gap");
    assert_eq!(refused.server_code(), Some(ErrorCode::RateLimited));

    // One guessing budget per address: a wrong code through each process spends it, and the
    // 6-digit code stops working on both.
    let email = "budget@example.org";
    let first = CodeSession::request(a, email).await.expect("code");
    let code = pair.smtp.code_for(email).await;
    let shared = CodeSession::request(b, email)
        .await
        .expect("shares the code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (session, server) in [(&first, a), (&shared, b)] {
        let error = session.verify(server, wrong).await.expect_err("wrong");
        assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
    }
    let spent = first.verify(a, &code).await.expect_err("budget spent");
    assert_eq!(spent.server_code(), Some(ErrorCode::CodeExpired));
    let next = CodeSession::request(b, email).await.expect("a new code");
    let long = pair.smtp.code_for(email).await;
    assert_eq!(long.len(), 16, "a long code once the budget is spent");
    next.verify(a, &long).await.expect("the owner gets in");

    // Four requests a minute per key: one session's key, alternating processes.
    let session = CodeSession::request(a, "one.key@example.org")
        .await
        .expect("code");
    for server in [b, a, b] {
        let error = session
            .verify(server, "000000")
            .await
            .expect_err("wrong code");
        assert_ne!(
            error.server_code(),
            Some(ErrorCode::KeyRateLimited),
            "{error}"
        );
    }
    let limited = session
        .verify(a, "000000")
        .await
        .expect_err("the fifth request");
    assert_eq!(limited.server_code(), Some(ErrorCode::KeyRateLimited));
}
