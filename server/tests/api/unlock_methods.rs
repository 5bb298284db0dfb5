//! Every way to open a backup, through the real server between two devices: a passkey added on
//! one device opens the backup on another until it is removed, and a recovery code replaces a
//! forgotten password so that neither the old password nor the old code opens it anywhere; and a
//! key brought at signup instead of a new one.

use sigil_client::ClientError;
use sigil_client::session::{Session, SessionError, Sync};
use sigil_shared::envelope::{EnvelopeError, SlotKind};
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::nips::nip19::ToBech32;
use sigil_shared::recovery::RecoveryCode;
use sigil_shared::secret::Password;

use crate::helpers::{HttpTransport, PASSWORD, TestApp, spawn_app};

const CREDENTIAL: &[u8] = b"a credential id from an authenticator";
const PRF: [u8; 32] = [0x5a; 32];

async fn signed_up(app: &TestApp, email: &str) -> (Session<HttpTransport>, RecoveryCode) {
    let mut session = app.verified_session(email).await;
    let password = Password::new(PASSWORD);
    let (_, code) = session
        .create_account(&password, &password)
        .await
        .expect("activate");
    (session, code)
}

fn envelope_error(error: SessionError) -> Option<EnvelopeError> {
    match error {
        SessionError::Client(ClientError::Envelope(error)) => Some(error),
        _ => None,
    }
}

#[tokio::test]
async fn a_passkey_opens_the_backup_on_another_device_until_it_is_removed() {
    let app = spawn_app().await;
    let email = "passkey@example.org";
    let (mut device, _) = signed_up(&app, email).await;
    let pubkey = device.vault().expect("open").public_key();

    // A new way in needs the password, and a passkey comes only after that check.
    assert!(
        device
            .add_passkey(CREDENTIAL.to_vec(), "Laptop", &PRF, 1_764_950_400)
            .is_err_and(|e| e == SessionError::PasskeyNotStarted)
    );
    let wrong = device.begin_passkey(&Password::new("not the password"));
    assert!(wrong.is_err_and(|e| e.is_wrong_password()));
    let registration = device
        .begin_passkey(&Password::new(PASSWORD))
        .expect("password accepted");
    assert_eq!(registration.user_id, pubkey.to_bytes());
    assert!(registration.exclude.is_empty());
    device
        .add_passkey(CREDENTIAL.to_vec(), "  Laptop\u{7}  ", &PRF, 1_764_950_400)
        .expect("added");
    // The registration is used up.
    assert!(
        device
            .add_passkey(b"another".to_vec(), "Phone", &PRF, 1_764_950_400)
            .is_err_and(|e| e == SessionError::PasskeyNotStarted)
    );
    let listed = device.passkeys();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].created),
        ("Laptop", 1_764_950_400)
    );
    let again = device
        .begin_passkey(&Password::new(PASSWORD))
        .expect("again");
    assert_eq!(again.exclude, vec![CREDENTIAL.to_vec()]);
    assert_ne!(again.prf_salt, registration.prf_salt);
    assert!(matches!(
        device.sync().await.expect("sync"),
        Sync::Pushed(_)
    ));

    // Another device, after the email code: the passkey alone opens it; a wrong PRF output
    // or another credential does not.
    let mut other = app.verified_session(email).await;
    assert_eq!(other.passkeys(), listed);
    let refused = other
        .unlock_with_passkey(CREDENTIAL, &[0x5b; 32])
        .unwrap_err();
    assert_eq!(envelope_error(refused), Some(EnvelopeError::PasskeyRefused));
    let unknown = other.unlock_with_passkey(b"unknown", &PRF).unwrap_err();
    assert_eq!(
        envelope_error(unknown),
        Some(EnvelopeError::NoSlot(SlotKind::Passkey))
    );
    assert_eq!(
        other.unlock_with_passkey(CREDENTIAL, &PRF).expect("opens"),
        pubkey
    );

    // Removed on the first device and synced: it opens the backup nowhere.
    device.remove_passkey(CREDENTIAL).expect("removed");
    assert!(device.passkeys().is_empty());
    assert!(matches!(
        device.sync().await.expect("sync"),
        Sync::Pushed(_)
    ));
    let mut third = app.verified_session(email).await;
    let gone = third.unlock_with_passkey(CREDENTIAL, &PRF).unwrap_err();
    assert_eq!(
        envelope_error(gone),
        Some(EnvelopeError::NoSlot(SlotKind::Passkey))
    );
    third
        .unlock(&Password::new(PASSWORD))
        .expect("the password still opens it");
}

#[tokio::test]
async fn a_recovery_replaces_the_password_and_the_code_everywhere() {
    let app = spawn_app().await;
    let email = "forgot@example.org";
    let (device, code) = signed_up(&app, email).await;
    let pubkey = device.vault().expect("open").public_key();

    let mut other = app.verified_session(email).await;
    let new = Password::new("a brand new passphrase");
    let typo = other.recover(&code, &new, &Password::new("something else entirely"));
    assert!(typo.is_err_and(|e| e == SessionError::PasswordsDiffer));
    let (opened, fresh) = other.recover(&code, &new, &new).expect("recovered");
    assert_eq!(opened, pubkey);
    assert_ne!(fresh.display().to_string(), code.display().to_string());
    assert!(other.needs_kit());
    other.confirm_kit();
    assert!(!other.needs_kit());
    assert!(matches!(other.sync().await.expect("sync"), Sync::Pushed(_)));

    let mut third = app.verified_session(email).await;
    let old = third.unlock(&Password::new(PASSWORD)).unwrap_err();
    assert!(old.is_wrong_password());
    let again = third.recover(&code, &new, &new).unwrap_err();
    assert_eq!(
        envelope_error(again),
        Some(EnvelopeError::WrongRecoveryCode)
    );
    assert_eq!(third.unlock(&new).expect("the new password"), pubkey);
    let mut fourth = app.verified_session(email).await;
    assert!(
        fourth.recover(&fresh, &new, &new).is_ok(),
        "the new code opens it"
    );
}

#[tokio::test]
async fn a_key_brought_at_signup_is_sealed_like_a_new_one_and_only_once() {
    let app = spawn_app().await;
    let keys = Keys::generate();
    let nsec = keys.secret_key().to_bech32().expect("nsec");
    let none = Password::new("");

    let mut session = app.verified_session("brought@example.org").await;
    let (pubkey, insecure) = session.import_key(&nsec, &none).expect("read");
    assert_eq!((pubkey, insecure), (keys.public_key(), false));
    let password = Password::new(PASSWORD);
    let (opened, _) = session
        .create_account(&password, &password)
        .await
        .expect("activate");
    assert_eq!(opened, keys.public_key());
    let mut other_device = app.verified_session("brought@example.org").await;
    assert_eq!(
        other_device.unlock(&password).expect("unlocks"),
        keys.public_key()
    );

    // Another address cannot register the same key; "a new key instead" works there.
    let mut second = app.verified_session("second@example.org").await;
    second.import_key(&nsec, &none).expect("read");
    let taken = second.create_account(&password, &password).await;
    assert!(
        matches!(taken, Err(SessionError::Client(ClientError::Server(_)))),
        "{taken:?}"
    );
    second.forget_imported_key();
    let (fresh, _) = second
        .create_account(&password, &password)
        .await
        .expect("a new key");
    assert_ne!(fresh, keys.public_key());
    // Only at signup: an open vault takes no other key.
    assert!(matches!(
        second.import_key(&nsec, &none),
        Err(SessionError::OutOfStep(_))
    ));
}
