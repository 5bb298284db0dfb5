//! What the server keeps: only backups of the current envelope version, for their own account,
//! at least as strong as it announces; and a backup of the previous version, made by the last
//! release, is opened and sealed again as the current version at the next unlock.

use serde::Deserialize;
use sigil_client::ClientError;
use sigil_client::session::Sync;
use sigil_shared::argon2id::ThisThread;
use sigil_shared::envelope::{BackupEnvelope, ENVELOPE_VERSION, KdfParams};
use sigil_shared::error::{BackupProblem, ErrorCode};
use sigil_shared::method::{BackupRecord, BackupStored, Request};
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

/// The first known answer of envelope version 1, made with argon2-cffi and PyNaCl.
#[derive(Deserialize)]
struct V1Vector {
    password: String,
    entropy: String,
    secret_key: String,
    pubkey: String,
    envelope: BackupEnvelope,
}

fn v1_vector() -> V1Vector {
    let all: Vec<V1Vector> =
        serde_json::from_str(include_str!("../../../shared/tests/vectors/backup-v1.json"))
            .expect("vectors");
    all.into_iter().next().expect("one vector")
}

async fn upload(
    app: &TestApp,
    account: &AccountSecret,
    backup: BackupEnvelope,
) -> Result<BackupStored, ClientError> {
    let server = app.client().await;
    let request = Request::UpdateBackup {
        backup,
        base_version: 1,
    };
    server.call(account.keys(), &request).await
}

fn problem(outcome: Result<BackupStored, ClientError>) -> Option<BackupProblem> {
    match outcome {
        Err(ClientError::Server(body)) if body.code == ErrorCode::InvalidBackup => body.problem,
        other => panic!("expected invalid_backup, got {other:?}"),
    }
}

#[tokio::test]
async fn uploads_the_server_must_not_keep_are_refused_with_the_reason() {
    // The server announces more memory than the floor, which old backups may still use.
    let announced = KdfParams::argon2id(KdfParams::FLOOR.m_kib + 1024, 2, 1);
    let app = spawn_app_with(|options| options.kdf_memory_kib = Some(announced.m_kib)).await;
    let vault = app.sign_up("strict@example.org", PASSWORD).await;
    let (secret, entropy) = (vault.secret(), vault.backup().entropy);
    let seal = |secret: &AccountSecret, kdf| {
        BackupEnvelope::seal(secret, &Password::new(PASSWORD), &entropy, kdf, &ThisThread)
            .expect("seal")
    };

    let weak = seal(secret, KdfParams::FLOOR);
    assert_eq!(
        problem(upload(&app, secret, weak).await),
        Some(BackupProblem::WeakKdf)
    );

    let foreign = seal(&AccountSecret::generate(), announced);
    assert_eq!(
        problem(upload(&app, secret, foreign).await),
        Some(BackupProblem::ForeignKey)
    );

    let mut upper = seal(secret, announced);
    upper.nonce = upper.nonce.to_uppercase();
    assert_eq!(
        problem(upload(&app, secret, upper).await),
        Some(BackupProblem::Malformed)
    );

    let outdated = v1_vector().envelope;
    assert_eq!(
        problem(upload(&app, secret, outdated).await),
        Some(BackupProblem::OutdatedVersion)
    );

    // Nothing was stored; a sound upload still goes through.
    let sound = seal(secret, announced);
    assert_eq!(
        upload(&app, secret, sound)
            .await
            .expect("sound")
            .backup_version,
        2
    );
    app.stop().await;
}

/// An account whose stored backup is version 1 (made by the previous release): a new device
/// logs in, the password opens it, the vault seals it again as version 2 and syncs it by
/// compare-and-swap, and the server then holds version 2, which the same password opens.
#[tokio::test]
async fn a_version_1_backup_is_opened_and_upgraded_at_the_next_unlock() {
    let app = spawn_app().await;
    let email = "old-release@example.org";
    let placeholder = app.sign_up(email, PASSWORD).await;
    let v1 = v1_vector();
    let backup_json = serde_json::to_string(&v1.envelope).expect("json");
    let bytes = |hex: &str| {
        if app.database.is_postgres() {
            format!("decode('{hex}', 'hex')")
        } else {
            format!("X'{hex}'")
        }
    };
    app.database
        .execute(&format!(
            "UPDATE users SET pubkey = {}, entropy = {}, backup = '{backup_json}' WHERE pubkey = {}",
            bytes(&v1.pubkey),
            bytes(&v1.entropy),
            bytes(&placeholder.public_key().to_hex()),
        ))
        .await;

    let mut session = app.verified_session(email).await;
    let opened = session
        .unlock(&Password::new(&v1.password))
        .expect("the old backup opens");
    assert_eq!(opened.to_hex(), v1.pubkey);
    assert!(session.unsynced(), "the upgrade waits to be synced");
    assert_eq!(session.sync().await.expect("sync"), Sync::Pushed(2));

    let server = app.client().await;
    let account = AccountSecret::from_bytes(
        &<[u8; 32]>::try_from(hex::decode(&v1.secret_key).expect("hex")).expect("32 bytes"),
    )
    .expect("key");
    let record: BackupRecord = server
        .call(account.keys(), &Request::GetBackup {})
        .await
        .expect("get");
    assert_eq!(record.backup.v, ENVELOPE_VERSION);
    assert_eq!(record.entropy, v1.entropy);
    let entropy = sigil_shared::envelope::Entropy::from_hex(&record.entropy).expect("entropy");
    let reopened = record
        .backup
        .open(&Password::new(&v1.password), &entropy, &ThisThread)
        .expect("the upgraded backup opens with the same password");
    assert_eq!(reopened.public_key().to_hex(), v1.pubkey);
    app.stop().await;
}
