use sigil_client::Server;
use sigil_client::flow::{AfterVerify, CodeSession};
use sigil_shared::argon2id::ThisThread;
use sigil_shared::dvm;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::ErrorCode;
use sigil_shared::method::{BackupStored, CodeSent, Reply, Request, Verified};
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::{HttpTransport, TEST_POW, TestApp, code_in, spawn_app, spawn_app_with};

fn wrong(code: &str) -> String {
    format!(
        "{:06}",
        (code.parse::<u32>().expect("digits") + 1) % 1_000_000
    )
}

/// Issue 25 §3: two code requests and six wrong codes used to lock the owner out for an hour.
/// Now an attacker who knows the address spends its guessing budget and stops there, and the
/// owner signs in during the attack, warned by the email.
#[tokio::test]
async fn an_attacker_who_knows_an_address_cannot_lock_its_owner_out() {
    let app = spawn_app_with(|o| o.code_resend_gap = Some(60)).await;
    let server = app.client().await;
    let email = "owner@example.org";

    // The attacker asks first (the mail goes to the owner) with three sessions: requests within
    // the gap share that one code, nothing more is mailed.
    let mut sessions = Vec::new();
    for _ in 0..3 {
        sessions.push(CodeSession::request(&server, email).await.expect("code"));
    }
    let first_mail = app.smtp.messages_for(email);
    assert_eq!(
        first_mail.len(),
        1,
        "one mail for all the attacker's sessions"
    );
    let short = code_in(&first_mail[0]);
    // Two sessions' tries spend the budget (10)...
    // (Ten distinct wrong guesses: the code plus 1 to 10, modulo a million.)
    let short_value: u32 = short.parse().expect("digits");
    let mut guesses = (1..=10).map(|k| format!("{:06}", (short_value + k) % 1_000_000));
    for session in &sessions[..2] {
        for guess in guesses.by_ref().take(5) {
            let error = session.verify(&server, &guess).await.expect_err("a guess");
            assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
        }
    }
    // ...and then the 6-digit code is not even compared, right or wrong, on any session.
    let dead = sessions[2]
        .verify(&server, &short)
        .await
        .expect_err("spent");
    assert_eq!(dead.server_code(), Some(ErrorCode::CodeExpired));

    // The owner asks for a code during the attack: a 16-digit one comes, with a warning, and
    // the attacker guessing at it in between changes nothing.
    let owner = CodeSession::request(&server, email)
        .await
        .expect("owner's code");
    let mail = app.smtp.messages_for(email);
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("Warning: 10 wrong codes were tried for this address"),
        "{}",
        mail[0]
    );
    let long = code_in(&mail[0]);
    assert_eq!(long.len(), 16);
    let attacker = CodeSession::request(&server, email).await.expect("shared");
    for guess in 0..4 {
        let error = attacker
            .verify(&server, &format!("{guess:016}"))
            .await
            .expect_err("a guess");
        assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
    }
    let grouped = format!(
        "{} {} {} {}",
        &long[..4],
        &long[4..8],
        &long[8..12],
        &long[12..]
    );
    let verified = owner
        .verify(&server, &grouped)
        .await
        .expect("the owner gets in");
    assert!(matches!(verified, AfterVerify::NewAccount { .. }));
    // The code worked once: the attacker's session that shared it cannot use it now.
    let used = attacker.verify(&server, &long).await.expect_err("used");
    assert_eq!(used.server_code(), Some(ErrorCode::CodeExpired));
}

/// The owner learns of guessing from the next code email, and the count starts again after a
/// success.
#[tokio::test]
async fn the_next_code_email_counts_wrong_codes_since_the_last_success() {
    let app = spawn_app().await;
    let server = app.client().await;
    let email = "counted@example.org";
    let session = CodeSession::request(&server, email).await.expect("code");
    let code = app.smtp.code_for(email).await;
    for _ in 0..3 {
        session
            .verify(&server, &wrong(&code))
            .await
            .expect_err("wrong");
    }
    let again = CodeSession::request(&server, email).await.expect("code");
    let mail = app.smtp.messages_for(email);
    assert!(
        mail[0].contains("Warning: 3 wrong codes were tried"),
        "{}",
        mail[0]
    );
    again
        .verify(&server, &code_in(&mail[0]))
        .await
        .expect("verified");
    CodeSession::request(&server, email).await.expect("code");
    let mail = app.smtp.messages_for(email);
    assert!(!mail[0].contains("Warning"), "{}", mail[0]);
    assert_eq!(code_in(&mail[0]).len(), 6, "the budget was not spent");
}

/// Guesses spread over time get no more than the budget: it refills continuously, one unit per
/// refill period after the last spend, never in a burst at the top of an hour.
#[tokio::test]
async fn the_budget_refills_one_guess_at_a_time() {
    let app = spawn_app_with(|o| o.code_guesses = Some(2)).await;
    let server = app.client().await;
    let email = "refill@example.org";
    let session = CodeSession::request(&server, email).await.expect("code");
    let code = app.smtp.code_for(email).await;
    for _ in 0..2 {
        let error = session
            .verify(&server, &wrong(&code))
            .await
            .expect_err("wrong");
        assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
    }
    let spent = session.verify(&server, &code).await.expect_err("spent");
    assert_eq!(spent.server_code(), Some(ErrorCode::CodeExpired));
    // One unit back after one refill period (an hour): one more comparison, then spent again.
    app.age_budgets(3600).await;
    let error = session
        .verify(&server, &wrong(&code))
        .await
        .expect_err("wrong");
    assert_eq!(error.server_code(), Some(ErrorCode::InvalidCode));
    let spent = session.verify(&server, &code).await.expect_err("spent");
    assert_eq!(spent.server_code(), Some(ErrorCode::CodeExpired));
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
    assert_eq!(backup.validate(), Ok(account.public_key()));
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

/// A request within the gap is not turned away (an attacker asking first must not keep the
/// owner from a code): it shares the code just sent, and nothing more is mailed.
#[tokio::test]
async fn requests_within_the_gap_share_the_code_just_sent() {
    let app = spawn_app_with(|o| o.code_resend_gap = Some(60)).await;
    let server = app.client().await;
    let first = CodeSession::request(&server, "gina@example.org")
        .await
        .expect("first code");
    let second = CodeSession::request(&server, "gina@example.org")
        .await
        .expect("shares it");
    assert!(second.sent.resend_after <= 60 && second.sent.resend_after > 0);
    assert!(second.sent.expires_in <= 600);
    let mail = app.smtp.messages_for("gina@example.org");
    assert_eq!(mail.len(), 1, "one mail");
    second
        .verify(&server, &code_in(&mail[0]))
        .await
        .expect("the shared code works");
    let used = first
        .verify(&server, &code_in(&mail[0]))
        .await
        .expect_err("once");
    assert_eq!(used.server_code(), Some(ErrorCode::CodeExpired));
    // Another address is not affected.
    CodeSession::request(&server, "hank@example.org")
        .await
        .expect("other address");
    assert_eq!(app.smtp.messages_for("hank@example.org").len(), 1);
}

/// Plus-addressed variants reach one inbox, so they share its sending gap; the untagged address
/// keeps its own, so tags cannot starve it; the address forms that would carry other text into
/// the mail's `To:` are refused (issue 25 §2).
#[tokio::test]
async fn variants_of_one_mailbox_share_its_limit() {
    let app = spawn_app_with(|o| o.code_resend_gap = Some(60)).await;
    let server = app.client().await;
    CodeSession::request(&server, "ivy+first@example.org")
        .await
        .expect("first code");
    for variant in ["ivy+second@example.org", "IVY+x@Example.org"] {
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
    CodeSession::request(&server, "ivy@example.org")
        .await
        .expect("the untagged address has its own gap");
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
