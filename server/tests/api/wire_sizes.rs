//! Nothing on the wire tells the methods or their outcomes apart: every request event a client
//! sends has one size, and every reply one size, whatever the method and whether it succeeded
//! or failed (and why), on HTTP and on the relay transport.

use sigil_client::{ClientError, Server};
use sigil_shared::argon2id::ThisThread;
use sigil_shared::dvm::sign_key_proof;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::ErrorCode;
use sigil_shared::method::Request;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::{HttpTransport, TestApp, WireSizes, spawn_app_with};
use crate::relay_helpers::TestRelay;
use crate::relays::relay_app;

/// What one call was expected to give: success, or the error code.
type Expected = Result<(), ErrorCode>;

/// Sends `request` signed by `signer` and checks that it got the `expected` outcome.
async fn call(
    server: &Server<HttpTransport>,
    signer: &Keys,
    request: Request,
    expected: Expected,
    seen: &mut Vec<(String, Expected)>,
) -> serde_json::Value {
    let label = format!("{} -> {expected:?}", request.method());
    let outcome = server.call::<serde_json::Value>(signer, &request).await;
    let got = match &outcome {
        Ok(_) => Ok(()),
        Err(ClientError::Server(body)) => Err(body.code),
        Err(other) => panic!("{label}: {other}"),
    };
    assert_eq!(got, expected, "{label}");
    seen.push((label, expected));
    outcome.unwrap_or_default()
}

fn backup_for(secret: &AccountSecret, entropy: &str) -> BackupEnvelope {
    BackupEnvelope::seal(
        secret,
        &Password::new("correct horse battery staple"),
        &Entropy::from_hex(entropy).expect("entropy"),
        KdfParams::FLOOR,
        &ThisThread,
    )
    .expect("seal")
}

/// Every outcome the tests can provoke, each checked; returns their labels in order.
async fn every_outcome(app: &TestApp, server: &Server<HttpTransport>) -> Vec<(String, Expected)> {
    let mut seen = Vec::new();
    let email = "sizes@example.org";
    let session = Keys::generate();
    let code_for = |email: &'static str| app.smtp.code_for(email);

    call(
        server,
        &session,
        Request::RequestCode {
            email: "not an address".into(),
        },
        Err(ErrorCode::InvalidEmail),
        &mut seen,
    )
    .await;
    call(
        server,
        &session,
        Request::VerifyCode {
            code: "123456".into(),
        },
        Err(ErrorCode::CodeExpired),
        &mut seen,
    )
    .await;
    call(
        server,
        &session,
        Request::RequestCode {
            email: email.into(),
        },
        Ok(()),
        &mut seen,
    )
    .await;
    let code = code_for(email).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    call(
        server,
        &session,
        Request::VerifyCode { code: wrong.into() },
        Err(ErrorCode::InvalidCode),
        &mut seen,
    )
    .await;

    let account = AccountSecret::generate();
    let proof = |for_session: &Keys| {
        sign_key_proof(account.keys(), &for_session.public_key(), Timestamp::now())
            .expect("proof")
            .as_json()
    };
    let unverified = Request::Activate {
        pubkey: account.public_key().to_hex(),
        backup: backup_for(&account, &"00".repeat(32)),
        proof: proof(&session),
    };
    call(
        server,
        &session,
        unverified,
        Err(ErrorCode::NotVerified),
        &mut seen,
    )
    .await;

    let verified = call(
        server,
        &session,
        Request::VerifyCode { code },
        Ok(()),
        &mut seen,
    )
    .await;
    let entropy = verified["entropy"].as_str().expect("entropy").to_owned();
    let backup = backup_for(&account, &entropy);
    let activate = |proof: String, backup: BackupEnvelope| Request::Activate {
        pubkey: account.public_key().to_hex(),
        backup,
        proof,
    };
    call(
        server,
        &session,
        activate(proof(&Keys::generate()), backup.clone()),
        Err(ErrorCode::InvalidProof),
        &mut seen,
    )
    .await;
    let foreign = backup_for(&AccountSecret::generate(), &entropy);
    call(
        server,
        &session,
        activate(proof(&session), foreign),
        Err(ErrorCode::InvalidBackup),
        &mut seen,
    )
    .await;
    call(
        server,
        &session,
        activate(proof(&session), backup.clone()),
        Ok(()),
        &mut seen,
    )
    .await;

    // The address has an account now: a new session is answered with its backup.
    let login = Keys::generate();
    call(
        server,
        &login,
        Request::RequestCode {
            email: email.into(),
        },
        Ok(()),
        &mut seen,
    )
    .await;
    let code = code_for(email).await;
    call(
        server,
        &login,
        Request::VerifyCode { code },
        Ok(()),
        &mut seen,
    )
    .await;
    let other = AccountSecret::generate();
    let other_backup = backup_for(&other, &entropy);
    let other_activate = Request::Activate {
        pubkey: other.public_key().to_hex(),
        backup: other_backup,
        proof: sign_key_proof(other.keys(), &login.public_key(), Timestamp::now())
            .expect("proof")
            .as_json(),
    };
    call(
        server,
        &login,
        other_activate,
        Err(ErrorCode::AccountExists),
        &mut seen,
    )
    .await;

    let keys = account.keys();
    call(
        server,
        keys,
        Request::GetBackup { version: None },
        Ok(()),
        &mut seen,
    )
    .await;
    call(
        server,
        &Keys::generate(),
        Request::GetBackup { version: None },
        Err(ErrorCode::UnknownAccount),
        &mut seen,
    )
    .await;
    let changed = backup_for(&account, &entropy);
    let update = |base_version| Request::UpdateBackup {
        backup: changed.clone(),
        base_version,
    };
    call(
        server,
        keys,
        update(7),
        Err(ErrorCode::VersionConflict),
        &mut seen,
    )
    .await;
    call(server, keys, update(1), Ok(()), &mut seen).await;

    // Wrong codes until the session is shut, then codes until the mailbox's gap holds them.
    let (guesser, guessed) = (Keys::generate(), "guessed@example.org");
    call(
        server,
        &guesser,
        Request::RequestCode {
            email: guessed.into(),
        },
        Ok(()),
        &mut seen,
    )
    .await;
    let code = code_for(guessed).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        call(
            server,
            &guesser,
            Request::VerifyCode { code: wrong.into() },
            Err(ErrorCode::InvalidCode),
            &mut seen,
        )
        .await;
    }
    call(
        server,
        &guesser,
        Request::VerifyCode { code: wrong.into() },
        Err(ErrorCode::TooManyAttempts),
        &mut seen,
    )
    .await;
    // Tagged variants of one mailbox wait for its gap; the second is refused.
    for (variant, outcome) in [
        ("flooded+a@example.org", Ok(())),
        ("flooded+b@example.org", Err(ErrorCode::RateLimited)),
    ] {
        call(
            server,
            &Keys::generate(),
            Request::RequestCode {
                email: variant.into(),
            },
            outcome,
            &mut seen,
        )
        .await;
    }

    // A verified session reads the account's backups; keys of the wrong kind are refused: a
    // session's for an account method, an account's for a session method. The first session
    // key's next request is one past the per-key limit.
    call(
        server,
        &login,
        Request::GetBackup { version: None },
        Ok(()),
        &mut seen,
    )
    .await;
    call(
        server,
        &login,
        Request::DeleteAccount {},
        Err(ErrorCode::WrongSigner),
        &mut seen,
    )
    .await;
    call(server, keys, Request::ListBackups {}, Ok(()), &mut seen).await;
    call(
        server,
        keys,
        Request::GetBackup { version: Some(99) },
        Err(ErrorCode::UnknownVersion),
        &mut seen,
    )
    .await;
    call(
        server,
        keys,
        Request::RequestCode {
            email: email.into(),
        },
        Err(ErrorCode::WrongSigner),
        &mut seen,
    )
    .await;
    call(
        server,
        &session,
        Request::GetBackup { version: None },
        Err(ErrorCode::KeyRateLimited),
        &mut seen,
    )
    .await;

    call(server, keys, Request::DeleteAccount {}, Ok(()), &mut seen).await;
    seen
}

/// Runs every outcome against `app` and asserts one request size and one reply size.
async fn assert_one_size_each(app: &TestApp) {
    let server = app.client().await;
    let seen = every_outcome(app, &server).await;
    let wire: Vec<WireSizes> = server.transport().wire.lock().expect("lock").clone();
    assert_eq!(wire.len(), seen.len(), "one exchange per call: {wire:?}");
    let table: Vec<String> = seen
        .iter()
        .zip(&wire)
        .map(|((label, _), sizes)| {
            format!(
                "{label}: request {}, reply {:?}",
                sizes.request, sizes.answer
            )
        })
        .collect();
    eprintln!("{}", table.join("\n"));
    let first = wire[0];
    // The sizes docs/protocol.md gives, at the test's one-digit difficulty.
    assert_eq!(
        first,
        WireSizes {
            request: 6000,
            answer: Some(6043)
        },
        "{}",
        table.join("\n")
    );
    for (sizes, line) in wire.iter().zip(&table) {
        assert_eq!(*sizes, first, "{line}\nall:\n{}", table.join("\n"));
    }
}

fn limits(options: &mut sigil_server::Options) {
    options.code_resend_gap = Some(60);
    // The first session's key makes 9 requests before its last one.
    options.requests_per_key_per_minute = Some(9);
}

#[tokio::test]
async fn every_method_and_outcome_has_one_size_over_http() {
    let app = spawn_app_with(limits).await;
    assert_one_size_each(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn every_method_and_outcome_has_one_size_over_relays() {
    let relay = TestRelay::start();
    let app = relay_app(&[&relay], None, limits).await;
    assert_one_size_each(&app).await;
    app.stop().await;
}
