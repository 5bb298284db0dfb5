use sigil_client::ClientError;
use sigil_client::Vault;
use sigil_client::flow::{AfterVerify, StoredBackup};
use sigil_shared::argon2id::ThisThread;
use sigil_shared::envelope::{EnvelopeError, KdfParams};
use sigil_shared::error::ErrorCode;
use sigil_shared::secret::Password;

use crate::helpers::{PASSWORD, spawn_app};

async fn log_in_elsewhere(app: &crate::helpers::TestApp, email: &str) -> StoredBackup {
    let server = app.client().await;
    let (_session, after) = app.verify_email(&server, email).await;
    match after {
        AfterVerify::Existing(backup) => backup,
        AfterVerify::NewAccount { .. } => panic!("{email} should have an account"),
    }
}

#[tokio::test]
async fn signup_creates_an_account_whose_backup_the_server_returns() {
    let app = spawn_app().await;
    let vault = app.sign_up("alice@example.org", PASSWORD).await;
    assert_eq!(vault.backup().version, 1);

    let server = app.client().await;
    let stored = vault.fetch_backup(&server).await.expect("get_backup");
    assert_eq!(stored, *vault.backup());
    assert_eq!(stored.envelope.validate(), Ok(vault.public_key()));
    app.stop().await;
}

#[tokio::test]
async fn login_from_a_second_fresh_client_unlocks_the_same_key() {
    let app = spawn_app().await;
    let vault = app.sign_up("Alice@Example.org", PASSWORD).await;
    // Another address spelling normalises to the same account.
    let backup = log_in_elsewhere(&app, "  alice@example.ORG").await;
    let unlocked = Vault::unlock(backup, &Password::new(PASSWORD), &ThisThread).expect("unlock");
    assert_eq!(unlocked.public_key(), vault.public_key());
}

#[tokio::test]
async fn a_wrong_password_fails_locally_and_can_be_retried() {
    let app = spawn_app().await;
    app.sign_up("bob@example.org", PASSWORD).await;
    let backup = log_in_elsewhere(&app, "bob@example.org").await;
    let wrong = Vault::unlock(
        backup.clone(),
        &Password::new("correct horse battery stapler"),
        &ThisThread,
    );
    assert!(
        matches!(
            wrong,
            Err(ClientError::Envelope(
                EnvelopeError::WrongPasswordOrTampered
            ))
        ),
        "{wrong:?}"
    );
    assert!(Vault::unlock(backup, &Password::new(PASSWORD), &ThisThread).is_ok());
}

#[tokio::test]
async fn a_stale_update_is_refused_and_nothing_is_lost() {
    let app = spawn_app().await;
    let server = app.client().await;
    let mut laptop = app.sign_up("carol@example.org", PASSWORD).await;
    let mut phone = Vault::unlock(
        log_in_elsewhere(&app, "carol@example.org").await,
        &Password::new(PASSWORD),
        &ThisThread,
    )
    .expect("unlock");

    // The laptop changes the password and syncs: version 2.
    let new_password = Password::new("a brand new passphrase");
    let envelope = laptop
        .change_password(
            &Password::new(PASSWORD),
            &new_password,
            KdfParams::FLOOR,
            &ThisThread,
        )
        .expect("re-encrypt");
    assert_eq!(
        laptop
            .push_backup(&server, envelope.clone(), 1)
            .await
            .expect("push"),
        2
    );

    // The phone changed it offline from version 1; its push must not overwrite version 2.
    let stale = phone
        .change_password(
            &Password::new(PASSWORD),
            &Password::new("phone password"),
            KdfParams::FLOOR,
            &ThisThread,
        )
        .expect("re-encrypt");
    let conflict = phone
        .push_backup(&server, stale, 1)
        .await
        .expect_err("stale push");
    let ClientError::Server(body) = conflict else {
        panic!("expected a server error, got {conflict:?}")
    };
    assert_eq!(body.code, ErrorCode::VersionConflict);
    assert_eq!(body.current_version, Some(2));

    let stored = laptop.fetch_backup(&server).await.expect("get_backup");
    assert_eq!(stored.version, 2);
    assert_eq!(stored.envelope, envelope);
    // The old password no longer opens it; the new one does.
    assert!(Vault::unlock(stored.clone(), &Password::new(PASSWORD), &ThisThread).is_err());
    assert_eq!(
        Vault::unlock(stored, &new_password, &ThisThread)
            .expect("unlock")
            .public_key(),
        laptop.public_key()
    );
}

#[tokio::test]
async fn a_deleted_account_is_gone_and_the_address_can_sign_up_again() {
    let app = spawn_app().await;
    let server = app.client().await;
    let vault = app.sign_up("dave@example.org", PASSWORD).await;
    let old_key = vault.public_key();
    let probe = Vault::unlock(
        vault.backup().clone(),
        &Password::new(PASSWORD),
        &ThisThread,
    )
    .expect("unlock");
    vault.delete_account(&server).await.expect("delete");

    let gone = probe
        .fetch_backup(&server)
        .await
        .expect_err("no backup after delete");
    assert_eq!(gone.server_code(), Some(ErrorCode::UnknownAccount));
    let again = app.sign_up("dave@example.org", PASSWORD).await;
    assert_ne!(again.public_key(), old_key);
}

#[tokio::test]
async fn a_browser_session_walks_signup_then_login_on_a_second_device() {
    use sigil_client::session::{Session, SessionError, Step};

    let app = spawn_app().await;
    let email = "session@example.org";
    let password = Password::new(PASSWORD);

    let mut first = Session::new(app.client().await);
    assert_eq!(first.step(), Step::Email);
    assert!(matches!(
        first.verify_code("123456").await,
        Err(SessionError::OutOfStep(_))
    ));
    first.request_code(email).await.expect("code");
    assert_eq!(first.step(), Step::Code);
    let code = app.smtp.code_for(email).await;
    assert_eq!(
        first.verify_code(&code).await.expect("verify"),
        Step::ChoosePassword
    );
    let mismatch = first
        .create_account(&password, &Password::new("something else"))
        .await;
    assert_eq!(mismatch.err(), Some(SessionError::PasswordsDiffer));
    let short = first
        .create_account(&Password::new("short"), &Password::new("short"))
        .await;
    assert_eq!(short.err(), Some(SessionError::PasswordTooShort));
    assert_eq!(first.step(), Step::ChoosePassword, "refusals keep the step");
    let (pubkey, _) = first
        .create_account(&password, &password)
        .await
        .expect("activate");
    assert_eq!(first.step(), Step::Unlocked);

    let mut second = Session::new(app.client().await);
    second.request_code(email).await.expect("code");
    let code = app.smtp.code_for(email).await;
    assert_eq!(
        second.verify_code(&code).await.expect("verify"),
        Step::Unlock
    );
    let wrong = second.unlock(&Password::new("not the password"));
    assert!(matches!(
        wrong,
        Err(SessionError::Client(ClientError::Envelope(
            EnvelopeError::WrongPasswordOrTampered
        )))
    ));
    assert_eq!(
        second.step(),
        Step::Unlock,
        "a wrong password can be retried"
    );
    assert_eq!(second.unlock(&password).expect("unlock"), pubkey);

    second.lock();
    assert_eq!(second.step(), Step::Unlock, "locking keeps the backup here");
    assert!(second.vault().is_none());
    assert!(second.local().is_some());
}

#[tokio::test]
async fn a_session_changes_the_password_and_exports_the_key() {
    use sigil_client::session::{Session, SessionError, Step, Sync};
    use sigil_shared::nostr::nips::nip19::FromBech32;
    use sigil_shared::nostr::nips::nip49::EncryptedSecretKey;

    let app = spawn_app().await;
    let email = "grace@example.org";
    let old = Password::new(PASSWORD);
    let new = Password::new("an entirely new passphrase");

    let mut session = app.verified_session(email).await;
    let (pubkey, _) = session.create_account(&old, &old).await.expect("activate");

    // A wrong old password changes nothing, locally or on the server.
    let refused = session.change_password(&Password::new("wrong old password"), &new, &new);
    assert!(
        matches!(
            refused,
            Err(SessionError::Client(ClientError::Envelope(
                EnvelopeError::WrongPasswordOrTampered
            )))
        ),
        "{refused:?}"
    );
    assert_eq!(session.vault().map(|v| v.backup().version), Some(1));
    session.change_password(&old, &new, &new).expect("change");
    assert!(session.unsynced());
    assert_eq!(session.sync().await.expect("sync"), Sync::Pushed(2));
    assert!(!session.unsynced());

    // Export and reveal need the current password.
    assert!(matches!(
        session.reveal_nsec(&old),
        Err(SessionError::Client(_))
    ));
    let nsec = session.reveal_nsec(&new).expect("reveal");
    assert_eq!(
        sigil_shared::nostr::key::Keys::parse(&nsec)
            .expect("nsec")
            .public_key(),
        pubkey
    );
    let exported = session.export_ncryptsec(&new).expect("export");
    let decrypted = EncryptedSecretKey::from_bech32(&exported)
        .expect("ncryptsec")
        .decrypt(new.as_str())
        .expect("decrypt");
    assert_eq!(
        sigil_shared::nostr::key::Keys::new(decrypted).public_key(),
        pubkey
    );

    // A new device: the old password no longer opens the backup, the new one does.
    let mut device = Session::new(app.client().await);
    device.request_code(email).await.expect("code");
    assert_eq!(
        device
            .verify_code(&app.smtp.code_for(email).await)
            .await
            .expect("verify"),
        Step::Unlock
    );
    assert!(device.unlock(&old).is_err());
    assert_eq!(device.unlock(&new).expect("unlock"), pubkey);
}
