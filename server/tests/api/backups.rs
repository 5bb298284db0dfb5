//! What the server keeps: only backups of the current envelope version, for their own account,
//! at least as strong as it announces; and a backup of the previous version, made by the last
//! release, is opened and sealed again as the current version at the next unlock.

use serde::Deserialize;
use sigil_client::ClientError;
use sigil_client::session::{Sync, UnlockNotice};
use sigil_shared::argon2id::ThisThread;
use sigil_shared::envelope::{BackupEnvelope, ENVELOPE_VERSION, KdfParams};
use sigil_shared::error::{BackupProblem, ErrorCode};
use sigil_shared::method::{
    AccountDeleted, BackupRecord, BackupStored, BackupVersions, CodeSent, Request, Verified,
};
use sigil_shared::nostr::key::Keys;
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::{PASSWORD, TestApp};
use crate::relay_helpers::{Via, app_via, over_both_transports};

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

async fn uploads_the_server_must_not_keep_are_refused_with_the_reason(via: Via) {
    // The server announces more memory than the floor, which old backups may still use.
    let announced = KdfParams::argon2id(KdfParams::FLOOR.m_kib + 1024, 2, 1);
    let app = app_via(via, |options| {
        options.kdf_memory_kib = Some(announced.m_kib)
    })
    .await;
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

    let BackupEnvelope::Slots(mut upper) = seal(secret, announced) else {
        panic!("a new backup has slots");
    };
    upper.nonce = upper.nonce.to_uppercase();
    assert_eq!(
        problem(upload(&app, secret, BackupEnvelope::Slots(upper)).await),
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
async fn a_version_1_backup_is_opened_and_upgraded_at_the_next_unlock(via: Via) {
    let app = app_via(via, |_| {}).await;
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
        .call(account.keys(), &Request::GetBackup { version: None })
        .await
        .expect("get");
    assert_eq!(record.backup.version(), ENVELOPE_VERSION);
    assert_eq!(record.entropy, v1.entropy);
    let entropy = sigil_shared::envelope::Entropy::from_hex(&record.entropy).expect("entropy");
    let reopened = record
        .backup
        .open(&Password::new(&v1.password), &entropy, &ThisThread)
        .expect("the upgraded backup opens with the same password");
    assert_eq!(reopened.public_key().to_hex(), v1.pubkey);
    app.stop().await;
}

async fn update(app: &TestApp, account: &AccountSecret, backup: BackupEnvelope, base: u64) -> u64 {
    let request = Request::UpdateBackup {
        backup,
        base_version: base,
    };
    let stored: BackupStored = app
        .client()
        .await
        .call(account.keys(), &request)
        .await
        .expect("update");
    stored.backup_version
}

/// The server keeps the three versions before the current one, lists them newest first, and
/// gives any of them to the account key or to a code session verified for the address.
async fn earlier_backups_are_kept_listed_and_read(via: Via) {
    let app = app_via(via, |_| {}).await;
    let email = "history@example.org";
    let vault = app.sign_up(email, PASSWORD).await;
    let (secret, entropy) = (vault.secret(), vault.backup().entropy);
    let seal = || {
        BackupEnvelope::seal(
            secret,
            &Password::new(PASSWORD),
            &entropy,
            KdfParams::FLOOR,
            &ThisThread,
        )
        .expect("seal")
    };
    let mut sealed = vec![vault.backup().envelope.clone()];
    for base in 1..=4 {
        let backup = seal();
        sealed.push(backup.clone());
        assert_eq!(update(&app, secret, backup, base).await, base + 1);
    }

    let server = app.client().await;
    let listed: BackupVersions = server
        .call(secret.keys(), &Request::ListBackups {})
        .await
        .expect("list");
    let versions: Vec<u64> = listed.versions.iter().map(|v| v.version).collect();
    assert_eq!(
        versions,
        [5, 4, 3, 2],
        "the current one and the three before it"
    );
    let get = |version| Request::GetBackup {
        version: Some(version),
    };
    let third: BackupRecord = server.call(secret.keys(), &get(3)).await.expect("v3");
    assert_eq!((third.backup_version, &third.backup), (3, &sealed[2]));
    let gone = server
        .call::<BackupRecord>(secret.keys(), &get(1))
        .await
        .expect_err("version 1 is no longer kept");
    assert_eq!(gone.server_code(), Some(ErrorCode::UnknownVersion));

    // A new device's verified code session may read them; an unverified one may not.
    let login = Keys::generate();
    let _: CodeSent = server
        .call(
            &login,
            &Request::RequestCode {
                email: email.into(),
            },
        )
        .await
        .expect("code");
    let early = server
        .call::<BackupVersions>(&login, &Request::ListBackups {})
        .await
        .expect_err("not verified yet");
    assert_eq!(early.server_code(), Some(ErrorCode::WrongSigner));
    let code = app.smtp.code_for(email).await;
    let _: Verified = server
        .call(&login, &Request::VerifyCode { code })
        .await
        .expect("verify");
    let second: BackupRecord = server.call(&login, &get(2)).await.expect("v2");
    assert_eq!(second.backup, sealed[1]);

    // Deleting the account deletes its history.
    let _: AccountDeleted = server
        .call(secret.keys(), &Request::DeleteAccount {})
        .await
        .expect("delete");
    assert_eq!(app.database.count("backup_history").await, 0);
    app.stop().await;
}

/// A client bug uploads a backup the server accepts but the password cannot open. A new device
/// logs in with the password: the newest refuses it, an earlier version opens, the key is sealed
/// again under the password and synced, and the next device opens the newest directly.
async fn a_backup_the_password_cannot_open_does_not_lose_the_key(via: Via) {
    let app = app_via(via, |_| {}).await;
    let email = "bug@example.org";
    let vault = app.sign_up(email, PASSWORD).await;
    let broken = BackupEnvelope::seal(
        vault.secret(),
        &Password::new("a password nobody typed"),
        &vault.backup().entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .expect("seal");
    assert_eq!(update(&app, vault.secret(), broken, 1).await, 2);

    let mut device = app.verified_session(email).await;
    let password = Password::new(PASSWORD);
    let refused = device
        .unlock(&password)
        .expect_err("the newest does not open");
    assert!(refused.is_wrong_password());
    assert!(device.can_search_history());
    let (opened, from) = device
        .unlock_from_history(&password)
        .await
        .expect("an earlier backup opens");
    assert_eq!((opened, from), (vault.public_key(), 1));
    assert_eq!(device.take_notice(), Some(UnlockNotice::Recovered(1)));
    assert_eq!(device.sync().await.expect("sync"), Sync::Pushed(3));

    let mut next = app.verified_session(email).await;
    assert_eq!(
        next.unlock(&password).expect("the repaired newest opens"),
        vault.public_key()
    );

    // A wrong password opens nothing, newest or earlier.
    let mut guesser = app.verified_session(email).await;
    let wrong = Password::new("not the password at all");
    assert!(guesser.unlock(&wrong).is_err());
    let none = guesser
        .unlock_from_history(&wrong)
        .await
        .expect_err("wrong");
    assert!(none.is_wrong_password());
    app.stop().await;
}

over_both_transports!(
    uploads_the_server_must_not_keep_are_refused_with_the_reason,
    a_version_1_backup_is_opened_and_upgraded_at_the_next_unlock,
    earlier_backups_are_kept_listed_and_read,
    a_backup_the_password_cannot_open_does_not_lose_the_key
);
