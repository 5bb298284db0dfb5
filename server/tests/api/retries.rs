//! A client whose reply was lost sends the same intent again and gets the same answer: a new
//! `activate` or `update_backup` event for a write already made, or the very same event again.

use sigil_client::ClientError;
use sigil_shared::argon2id::ThisThread;
use sigil_shared::dvm::sign_key_proof;
use sigil_shared::envelope::{BackupEnvelope, Entropy, KdfParams};
use sigil_shared::error::ErrorCode;
use sigil_shared::method::{BackupStored, CodeSent, Request, Verified};
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::secret::{AccountSecret, Password};

use crate::helpers::PASSWORD;
use crate::relay_helpers::{Via, app_via, over_both_transports};

fn seal(secret: &AccountSecret, entropy: &Entropy) -> BackupEnvelope {
    BackupEnvelope::seal(
        secret,
        &Password::new(PASSWORD),
        entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .expect("seal")
}

async fn activate_sent_again_after_it_succeeded_gets_the_stored_version(via: Via) {
    let app = app_via(via, |_| {}).await;
    let server = app.client().await;
    let email = "again@example.org";
    let ephemeral = &Keys::generate();
    let _: CodeSent = server
        .call(
            ephemeral,
            &Request::RequestCode {
                email: email.into(),
            },
        )
        .await
        .expect("code");
    let code = app.smtp.code_for(email).await;
    let Verified::New { entropy } = server
        .call(ephemeral, &Request::VerifyCode { code })
        .await
        .expect("verify")
    else {
        panic!("new address");
    };
    let entropy = Entropy::from_hex(&entropy).expect("entropy");
    let account = AccountSecret::generate();
    let backup = seal(&account, &entropy);
    let activate = |backup: BackupEnvelope| Request::Activate {
        pubkey: account.public_key().to_hex(),
        backup,
        proof: sign_key_proof(account.keys(), &ephemeral.public_key(), Timestamp::now())
            .expect("proof")
            .as_json(),
    };
    // The first reply is dropped: the client only knows it sent the request.
    let _lost: BackupStored = server
        .call(ephemeral, &activate(backup.clone()))
        .await
        .expect("activate");
    let again: BackupStored = server
        .call(ephemeral, &activate(backup.clone()))
        .await
        .expect("the same activation again");
    assert_eq!(again.backup_version, 1);

    // Another backup for the key is another intent: refused.
    let other = seal(&account, &entropy);
    let refused = server
        .call::<BackupStored>(ephemeral, &activate(other))
        .await
        .expect_err("a different backup");
    assert_eq!(refused.server_code(), Some(ErrorCode::AccountExists));
    app.stop().await;
}

async fn update_backup_sent_again_after_it_succeeded_gets_the_stored_version(via: Via) {
    let app = app_via(via, |_| {}).await;
    let vault = app.sign_up("update-again@example.org", PASSWORD).await;
    let server = app.client().await;
    let entropy = vault.backup().entropy;
    let new_backup = seal(vault.secret(), &entropy);
    let update = |backup: &BackupEnvelope, base_version| Request::UpdateBackup {
        backup: backup.clone(),
        base_version,
    };
    let keys = vault.secret().keys();
    let _lost: BackupStored = server
        .call(keys, &update(&new_backup, 1))
        .await
        .expect("update");
    let again: BackupStored = server
        .call(keys, &update(&new_backup, 1))
        .await
        .expect("the same update again");
    assert_eq!(again.backup_version, 2);

    // A different backup on the old base is a real conflict.
    let conflict = server
        .call::<BackupStored>(keys, &update(&seal(vault.secret(), &entropy), 1))
        .await
        .expect_err("conflict");
    let ClientError::Server(body) = conflict else {
        panic!("{conflict}");
    };
    assert_eq!(body.code, ErrorCode::VersionConflict);
    assert_eq!(body.current_version, Some(2));
    app.stop().await;
}

over_both_transports!(
    activate_sent_again_after_it_succeeded_gets_the_stored_version,
    update_backup_sent_again_after_it_succeeded_gets_the_stored_version
);
