use sigil_client::flow::CodeSession;
use sigil_client::{ClientError, Server};
use sigil_shared::argon2id::ThisThread;
use sigil_shared::dvm;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::ErrorCode;
use sigil_shared::method::{BackupStored, CodeSent, Reply, Request, Verified};
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::{HttpTransport, TEST_POW, TestApp, spawn_app, spawn_app_with};

fn wrong(code: &str) -> String {
    format!(
        "{:06}",
        (code.parse::<u32>().expect("digits") + 1) % 1_000_000
    )
}

#[tokio::test]
async fn the_seventh_wrong_code_is_refused_even_after_a_new_code() {
    let app = spawn_app().await;
    let server = app.client().await;
    let email = "eve@example.org";

    let first = CodeSession::request(&server, email).await.expect("code");
    let code = app.smtp.code_for(email).await;
    for attempt in 1..=5 {
        let error = first
            .verify(&server, &wrong(&code))
            .await
            .expect_err("wrong code");
        assert_eq!(
            error.server_code(),
            Some(ErrorCode::InvalidCode),
            "attempt {attempt}"
        );
    }
    // Five per session: the sixth try on this session is refused without being checked.
    let error = first
        .verify(&server, &code)
        .await
        .expect_err("session exhausted");
    assert_eq!(error.server_code(), Some(ErrorCode::TooManyAttempts));

    // A new code does not reset the per-address count: one more failure makes six.
    let second = first.resend(&server).await.expect("new code");
    let code = app.smtp.code_for(email).await;
    let error = second
        .verify(&server, &wrong(&code))
        .await
        .expect_err("sixth wrong code");
    assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
    // The seventh attempt is refused even with the right code.
    let error = second.verify(&server, &code).await.expect_err("locked");
    assert_eq!(error.server_code(), Some(ErrorCode::TooManyAttempts));
    let sigil_client::ClientError::Server(body) = error else {
        unreachable!()
    };
    assert!(body.retry_after.unwrap_or(0) > 0, "says when to retry");
    // And no new code is sent while locked.
    let before = app.smtp.message_count();
    let refused = second.resend(&server).await.expect_err("locked address");
    assert_eq!(refused.server_code(), Some(ErrorCode::TooManyAttempts));
    assert_eq!(app.smtp.message_count(), before);
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let app = spawn_app().await;
    let server = app.client().await;
    let session = CodeSession::request(&server, "olga@example.org")
        .await
        .expect("code");
    assert_eq!(session.sent.expires_in, 600);
    let code = app.smtp.code_for("olga@example.org").await;
    app.expire_codes().await;
    let error = session.verify(&server, &code).await.expect_err("expired");
    assert_eq!(error.server_code(), Some(ErrorCode::CodeExpired));
}

/// A code session driven with a key the test holds, so it can retry after activation.
async fn raw_verified_session(
    app: &TestApp,
    server: &Server<HttpTransport>,
    email: &str,
) -> (Keys, String, Entropy) {
    let ephemeral = Keys::generate();
    let _: CodeSent = server
        .call(
            &ephemeral,
            &Request::RequestCode {
                email: email.into(),
            },
        )
        .await
        .expect("code");
    let code = app.smtp.code_for(email).await;
    let verified: Verified = server
        .call(&ephemeral, &Request::VerifyCode { code: code.clone() })
        .await
        .expect("verify");
    let Verified::New { entropy } = verified else {
        panic!("{email} should be new")
    };
    (
        ephemeral,
        code,
        Entropy::from_hex(&entropy).expect("entropy"),
    )
}

fn activation(
    account: &AccountSecret,
    ephemeral: &Keys,
    entropy: &Entropy,
    kdf: KdfParams,
) -> Request {
    let backup = BackupEnvelope::seal(account, &Password::new("pw"), entropy, kdf, &ThisThread)
        .expect("seal");
    let proof = dvm::sign_key_proof(account.keys(), &ephemeral.public_key(), Timestamp::now())
        .expect("proof");
    Request::Activate {
        pubkey: account.public_key().to_hex(),
        backup,
        proof: proof.as_json(),
    }
}

#[tokio::test]
async fn a_code_works_once() {
    let app = spawn_app().await;
    let server = app.client().await;
    let (ephemeral, code, entropy) = raw_verified_session(&app, &server, "frank@example.org").await;
    // A verified session answers a retry the same way: a lost reply must not strand the user.
    let again: Verified = server
        .call(&ephemeral, &Request::VerifyCode { code: code.clone() })
        .await
        .expect("retry");
    assert_eq!(
        again,
        Verified::New {
            entropy: entropy.to_hex()
        }
    );
    // Once the account is activated, the session answers as a login would (a client whose
    // activation reply was lost asks again), and the code stays used.
    let account = AccountSecret::generate();
    let _: BackupStored = server
        .call(
            &ephemeral,
            &activation(&account, &ephemeral, &entropy, server.info().kdf),
        )
        .await
        .expect("activate");
    let again = server
        .call::<Verified>(
            &ephemeral,
            &Request::VerifyCode {
                code: "000000".into(),
            },
        )
        .await
        .expect("verified session");
    let Verified::Existing { backup, .. } = again else {
        panic!("the account exists now: {again:?}");
    };
    assert_eq!(backup.pubkey, account.public_key().to_hex());
    // And the same session cannot activate a second key.
    let second = AccountSecret::generate();
    let error = server
        .call::<BackupStored>(
            &ephemeral,
            &activation(&second, &ephemeral, &entropy, server.info().kdf),
        )
        .await
        .expect_err("ended");
    assert_eq!(error.server_code(), Some(ErrorCode::AccountExists));
}

#[tokio::test]
async fn sending_is_throttled_per_address() {
    let app = spawn_app_with(|o| o.code_resend_gap = Some(60)).await;
    let server = app.client().await;
    CodeSession::request(&server, "gina@example.org")
        .await
        .expect("first code");
    let error = CodeSession::request(&server, "gina@example.org")
        .await
        .expect_err("too soon");
    assert_eq!(error.server_code(), Some(ErrorCode::RateLimited));
    // Another address is not affected.
    CodeSession::request(&server, "hank@example.org")
        .await
        .expect("other address");
}

/// Plus-addressed variants reach one inbox, so they share its sending limit; the address
/// forms that would carry other text into the mail's `To:` are refused (issue 25 §2).
#[tokio::test]
async fn variants_of_one_mailbox_share_its_limit() {
    let app = spawn_app_with(|o| o.code_resend_gap = Some(60)).await;
    let server = app.client().await;
    CodeSession::request(&server, "ivy+first@example.org")
        .await
        .expect("first code");
    for variant in [
        "ivy+second@example.org",
        "ivy@example.org",
        "IVY+x@Example.org",
    ] {
        let error = CodeSession::request(&server, variant)
            .await
            .expect_err("the same mailbox, too soon");
        assert_eq!(
            error.server_code(),
            Some(ErrorCode::RateLimited),
            "{variant}"
        );
    }
    for refused in [
        "x<ivy@example.org>",
        "<ivy@example.org>",
        "\"any\"<ivy@example.org>",
    ] {
        // Past the client's own check, straight to the server.
        let (keys, request, reply) = raw_request_code(&app, server.pubkey(), refused).await;
        let opened =
            dvm::open_reply(&keys, server.pubkey(), &request.id, &reply.as_json()).expect("open");
        assert!(
            matches!(&opened, Reply::Error(body) if body.code == ErrorCode::InvalidEmail),
            "{refused}: {opened:?}"
        );
    }
    CodeSession::request(&server, "jude+a@example.org")
        .await
        .expect("another mailbox is not affected");
    assert_eq!(app.smtp.code_for("ivy+first@example.org").await.len(), 6);
}

#[tokio::test]
async fn an_activation_needs_proof_of_the_new_key() {
    let app = spawn_app().await;
    let server = app.client().await;
    let (ephemeral, _, entropy) = raw_verified_session(&app, &server, "ivy@example.org").await;
    let kdf = server.info().kdf;
    let account = AccountSecret::generate();
    let good = activation(&account, &ephemeral, &entropy, kdf);
    let Request::Activate { pubkey, backup, .. } = good.clone() else {
        unreachable!()
    };

    // A proof signed by some other key, or naming another session, is refused.
    let forged = dvm::sign_key_proof(&Keys::generate(), &ephemeral.public_key(), Timestamp::now())
        .expect("proof");
    let misdirected = dvm::sign_key_proof(
        account.keys(),
        &Keys::generate().public_key(),
        Timestamp::now(),
    )
    .expect("proof");
    for proof in [forged, misdirected] {
        let request = Request::Activate {
            pubkey: pubkey.clone(),
            backup: backup.clone(),
            proof: proof.as_json(),
        };
        let error = server
            .call::<BackupStored>(&ephemeral, &request)
            .await
            .expect_err("refused");
        assert_eq!(error.server_code(), Some(ErrorCode::InvalidProof));
    }
    // A backup of another key is refused too.
    let Request::Activate {
        backup: foreign, ..
    } = activation(&AccountSecret::generate(), &ephemeral, &entropy, kdf)
    else {
        unreachable!()
    };
    let Request::Activate { proof, .. } = good.clone() else {
        unreachable!()
    };
    let request = Request::Activate {
        pubkey,
        backup: foreign,
        proof,
    };
    let error = server
        .call::<BackupStored>(&ephemeral, &request)
        .await
        .expect_err("refused");
    assert_eq!(error.server_code(), Some(ErrorCode::InvalidBackup));
    // Nothing was stored by the refusals: the honest activation still works.
    let stored: BackupStored = server.call(&ephemeral, &good).await.expect("activate");
    assert_eq!(stored.backup_version, 1);
}

/// Sends `request_code` for `email` from a fresh key and returns the raw reply event.
async fn raw_request_code(
    app: &crate::helpers::TestApp,
    server_key: &sigil_shared::nostr::key::PublicKey,
    email: &str,
) -> (Keys, Event, Event) {
    let keys = Keys::generate();
    let event = dvm::seal_request(
        &keys,
        server_key,
        &Request::RequestCode {
            email: email.into(),
        },
        TEST_POW,
        Timestamp::now(),
    )
    .expect("seal");
    let response = app.post_event(event.as_json()).await;
    assert_eq!(response.status(), 200);
    let reply = Event::from_json(response.text().await.expect("body")).expect("reply event");
    (keys, event, reply)
}

#[tokio::test]
async fn known_and_unknown_addresses_get_replies_of_the_same_shape() {
    let app = spawn_app().await;
    app.sign_up("known@example.org", "pw known").await;
    let server = app.client().await;
    let (known_keys, known_request, known) =
        raw_request_code(&app, server.pubkey(), "known@example.org").await;
    let (unknown_keys, unknown_request, unknown) =
        raw_request_code(&app, server.pubkey(), "unknown@example.org").await;

    assert_eq!(known.kind, unknown.kind);
    assert_eq!(
        known.content.len(),
        unknown.content.len(),
        "ciphertext lengths differ"
    );
    let tag_names = |e: &Event| {
        e.tags
            .iter()
            .map(|t| t.kind().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(tag_names(&known), tag_names(&unknown));

    let open = |keys: &Keys, request: &Event, reply: &Event| {
        dvm::open_reply(keys, server.pubkey(), &request.id, &reply.as_json()).expect("open")
    };
    assert_eq!(
        open(&known_keys, &known_request, &known),
        open(&unknown_keys, &unknown_request, &unknown)
    );
    // Both addresses were mailed.
    app.smtp.code_for("unknown@example.org").await;
}

#[tokio::test]
async fn an_unreachable_mail_server_gives_a_clear_error() {
    // Nothing listens on this port: the SMTP connection is refused.
    let app = spawn_app_with(|o| o.smtp_port = Some(crate::ports::free_port())).await;
    let server = app.client().await;
    let error = CodeSession::request(&server, "nomail@example.org")
        .await
        .expect_err("no mail server");
    assert_eq!(error.server_code(), Some(ErrorCode::MailFailed));
}

#[tokio::test]
async fn each_wrong_code_makes_the_next_try_wait_longer() {
    // Whole seconds on the server's clock: a base of 3 s keeps the checks clear of rounding.
    let app = spawn_app_with(|o| o.code_failure_delay = Some(3)).await;
    let server = app.client().await;
    let email = "slow@example.org";
    let session = CodeSession::request(&server, email).await.expect("code");
    let code = app.smtp.code_for(email).await;
    let attempt = |guess: String| {
        let (session, server) = (&session, &server);
        async move { session.verify(server, &guess).await.expect_err("refused") }
    };
    let wait_of = |error: ClientError| match error {
        ClientError::Server(body) if body.code == ErrorCode::TooManyAttempts => {
            body.retry_after.expect("retry_after")
        }
        other => panic!("expected a wait, got {other:?}"),
    };

    // A first typo costs nothing; after the second, even the right code must wait.
    assert_eq!(
        attempt(wrong(&code)).await.server_code(),
        Some(ErrorCode::InvalidCode)
    );
    assert_eq!(
        attempt(wrong(&code)).await.server_code(),
        Some(ErrorCode::InvalidCode)
    );
    let wait = wait_of(attempt(code.clone()).await);
    assert!((2..=3).contains(&wait), "{wait}");

    // The refusal was not counted; after the wait a third wrong code doubles it.
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
    assert_eq!(
        attempt(wrong(&code)).await.server_code(),
        Some(ErrorCode::InvalidCode)
    );
    let wait = wait_of(attempt(code.clone()).await);
    assert!((5..=6).contains(&wait), "{wait}");
}
