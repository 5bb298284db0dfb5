//! Operator commands: `sigil-server backup DIR` copies a running server's data consistently,
//! and a server started from the copy (SQLite: the directory itself; PostgreSQL: the dump loaded
//! with pg_restore into a new database) logs its users in.

use sigil_shared::argon2id::ThisThread;
use std::path::Path;
use std::process::{Command, Output};

use sigil_client::Vault;
use sigil_client::flow::AfterVerify;
use sigil_shared::envelope::KdfParams;
use sigil_shared::secret::Password;

use sigil_server::backup::{DATABASE_FILE, POSTGRES_DUMP_FILE};

use crate::database::TestDatabase;
use crate::helpers::{PASSWORD, TestApp, spawn_app, spawn_app_with};

/// Runs `sigil-server --data-dir DATA --database-url URL backup DEST` as an operator would.
fn backup(app: &TestApp, dest: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil-server"))
        .arg("--data-dir")
        .arg(app.data_dir.path())
        .args(["--database-url", app.database.url()])
        .arg("backup")
        .arg(dest)
        .output()
        .expect("run the backup command")
}

#[tokio::test]
async fn a_backup_taken_while_the_server_runs_restores_and_logs_a_user_in() {
    let app = spawn_app().await;
    let email = "restore@example.org";
    let mut vault = app.sign_up(email, PASSWORD).await;
    let pubkey = vault.public_key();

    // Outside the live data directory, which goes when the first server stops.
    let backups = tempfile::tempdir().expect("backup dir");
    let dest = backups.path().join("sigil-backup");
    let output = backup(&app, &dest);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("backed up 1 account(s)"), "{report}");
    // Backing up into a directory that exists is refused, and changes nothing.
    let again = backup(&app, &dest);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The live server carries on: a change after the backup is not in it.
    let server = app.client().await;
    let envelope = vault
        .change_password(
            &Password::new(PASSWORD),
            &Password::new("changed after the backup"),
            KdfParams::FLOOR,
            &ThisThread,
        )
        .expect("re-encrypt");
    vault.push_backup(&server, envelope, 1).await.expect("push");

    // Restoring is what the README tells operators to do.
    let (restored_url, _restored_database) = if app.database.is_postgres() {
        let database = TestDatabase::postgres().await;
        let restore = Command::new("pg_restore")
            .args(["--no-owner", "--dbname", database.url()])
            .arg(dest.join(POSTGRES_DUMP_FILE))
            .output()
            .expect("run pg_restore");
        assert!(
            restore.status.success(),
            "{}",
            String::from_utf8_lossy(&restore.stderr)
        );
        (database.url().to_owned(), Some(database))
    } else {
        (
            format!("sqlite://{}", dest.join(DATABASE_FILE).display()),
            None,
        )
    };
    app.stop().await;
    let restored = spawn_app_with(|options| {
        options.data_dir = Some(dest.clone());
        options.database_url = Some(restored_url);
    })
    .await;
    let server = restored.client().await;
    let (_, after) = restored.verify_email(&server, email).await;
    let AfterVerify::Existing(backup) = after else {
        panic!("the restored server knows the account");
    };
    assert_eq!(backup.version, 1);
    let unlocked = Vault::unlock(backup, &Password::new(PASSWORD), &ThisThread).expect("unlock");
    assert_eq!(unlocked.public_key(), pubkey);
}
