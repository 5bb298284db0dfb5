//! This device's copy of the vault: unlocking with no network, a password change queued offline
//! and synced later, a change made on another device used once its password is given (and a
//! hostile server's tricks refused), and a conflict settled either way without losing a backup.

use sigil_client::ClientError;
use sigil_client::local_vault::LocalCopyError;
use sigil_client::session::{Keep, LocalVault, Session, SessionError, Sync};
use sigil_client::wording::session_failure;
use sigil_shared::secret::Password;

use crate::helpers::{HttpTransport, PASSWORD, TestApp, spawn_app};

/// Signs up in a session and returns the copy the browser would keep.
async fn signed_up(app: &TestApp, email: &str) -> LocalVault {
    let mut session = app.verified_session(email).await;
    let password = Password::new(PASSWORD);
    session
        .create_account(&password, &password)
        .await
        .expect("activate");
    let local = session.local().expect("kept on this device");
    // What IndexedDB holds is JSON; read it back as the next visit would.
    LocalVault::from_json(&local.to_json()).expect("round trip")
}

fn resumed(app: &TestApp, local: &LocalVault, online: bool) -> Session<HttpTransport> {
    Session::resume(
        app.saved_client(local.server.clone(), online),
        local.clone(),
    )
}

/// Logs in on a fresh device and returns its session, unlocked.
async fn new_device(app: &TestApp, email: &str, password: &str) -> Session<HttpTransport> {
    let mut device = app.verified_session(email).await;
    device
        .unlock(&Password::new(password))
        .expect("unlocks with this password");
    device
}

#[tokio::test]
async fn the_saved_copy_unlocks_with_no_network_and_a_wrong_password_is_retried() {
    let app = spawn_app().await;
    let local = signed_up(&app, "offline@example.org").await;
    let mut session = resumed(&app, &local, false);
    assert!(session.unlock(&Password::new("wrong password!")).is_err());
    let pubkey = session
        .unlock(&Password::new(PASSWORD))
        .expect("unlocks offline");
    assert_eq!(Some(pubkey), local.public_key());
    // The address is kept for the unlock screen, but never shown by Debug (logs, panics).
    assert_eq!(local.email, "offline@example.org");
    assert!(!format!("{local:?}{session:?}").contains("offline@"));
    assert_eq!(session.sync().await.expect("sync"), Sync::Offline);
}

#[tokio::test]
async fn a_password_change_made_offline_is_sent_when_the_server_is_back() {
    let app = spawn_app().await;
    let email = "later@example.org";
    let new = Password::new("changed on a train, offline");
    let local = signed_up(&app, email).await;

    let mut offline = resumed(&app, &local, false);
    offline.unlock(&Password::new(PASSWORD)).expect("unlock");
    offline
        .change_password(&Password::new(PASSWORD), &new, &new)
        .expect("changed locally");
    assert_eq!(offline.sync().await.expect("sync"), Sync::Offline);
    let queued = offline.local().expect("kept");
    assert!(queued.unsynced, "the change waits in the saved copy");

    // Still offline after a reload: only the new password opens this device's copy.
    let mut reloaded = resumed(&app, &queued, false);
    assert!(reloaded.unlock(&Password::new(PASSWORD)).is_err());
    reloaded.unlock(&new).expect("new password");

    // Back online: the queued change goes up, and a new device needs the new password.
    let mut online = resumed(&app, &queued, true);
    online.unlock(&new).expect("unlock");
    assert_eq!(online.sync().await.expect("sync"), Sync::Pushed(2));
    assert!(!online.local().expect("kept").unsynced);
    let mut device = app.verified_session(email).await;
    assert!(device.unlock(&Password::new(PASSWORD)).is_err());
    device.unlock(&new).expect("the synced password");
}

/// Issue 25 §6: a newer backup from the server never replaces this device's working copy by
/// itself; it is used once the password that opens it is given.
#[tokio::test]
async fn a_newer_backup_from_elsewhere_waits_for_the_password_that_opens_it() {
    let app = spawn_app().await;
    let email = "elsewhere@example.org";
    let local = signed_up(&app, email).await;
    let new = Password::new("set on the other laptop");

    let mut other = new_device(&app, email, PASSWORD).await;
    other
        .change_password(&Password::new(PASSWORD), &new, &new)
        .expect("change");
    assert_eq!(other.sync().await.expect("sync"), Sync::Pushed(2));

    let mut here = resumed(&app, &local, true);
    here.unlock(&Password::new(PASSWORD))
        .expect("the old copy still opens here");
    assert_eq!(here.sync().await.expect("sync"), Sync::ChangedElsewhere(2));
    // Both copies are kept, and this device's is still the one that opens here.
    let saved = here.local().expect("kept");
    assert_eq!(saved.backup.version, 1);
    assert_eq!(saved.conflict.as_ref().map(|c| c.version), Some(2));
    let mut reloaded = resumed(&app, &saved, true);
    reloaded
        .unlock(&Password::new(PASSWORD))
        .expect("this device's own copy");
    assert_eq!(
        reloaded.sync().await.expect("sync"),
        Sync::ChangedElsewhere(2)
    );
    // This device's password does not open the new one: nothing changes.
    let refused = here
        .resolve_conflict(Keep::OtherDevice, Some(&Password::new(PASSWORD)))
        .await;
    assert!(refused.is_err());
    assert_eq!(here.conflict_version(), Some(2));
    assert_eq!(
        here.resolve_conflict(Keep::OtherDevice, Some(&new))
            .await
            .expect("the other device's password"),
        Sync::Adopted(2)
    );
    let adopted = here.local().expect("kept");
    let mut next_visit = resumed(&app, &adopted, false);
    assert!(next_visit.unlock(&Password::new(PASSWORD)).is_err());
    next_visit
        .unlock(&new)
        .expect("the other device's password");
}

/// A hostile server replays the backup sealed under the old password as the newest version,
/// to undo a password change. Its revision is lower than this device's: the sync refuses it
/// outright, and this device keeps its copy.
#[tokio::test]
async fn a_server_cannot_slip_this_device_an_older_backup() {
    let app = spawn_app().await;
    let email = "replayed@example.org";
    let local = signed_up(&app, email).await;
    let old_envelope = serde_json::to_string(&local.backup.envelope).expect("JSON");
    let new = Password::new("the password after the change");
    let mut here = resumed(&app, &local, true);
    here.unlock(&Password::new(PASSWORD)).expect("unlock");
    here.change_password(&Password::new(PASSWORD), &new, &new)
        .expect("change");
    assert_eq!(here.sync().await.expect("sync"), Sync::Pushed(2));

    app.database
        .execute(&format!(
            "UPDATE users SET backup = '{old_envelope}', backup_version = 3"
        ))
        .await;
    let refused = here.sync().await;
    assert!(
        matches!(refused, Err(SessionError::Client(ClientError::RolledBack))),
        "{refused:?}"
    );
    assert_eq!(here.conflict_version(), None, "nothing waits to be adopted");
    let saved = here.local().expect("kept");
    assert_eq!(saved.backup.version, 2);
    let mut next_visit = resumed(&app, &saved, false);
    assert!(next_visit.unlock(&Password::new(PASSWORD)).is_err());
    next_visit.unlock(&new).expect("still the new password");
}

/// A hostile server hands out the same key's backup under other entropy (a salt it chose): the
/// device refuses it outright and keeps its own copy.
#[tokio::test]
async fn a_server_that_changes_the_entropy_is_refused() {
    let app = spawn_app().await;
    let email = "resalted@example.org";
    let local = signed_up(&app, email).await;
    let mut here = resumed(&app, &local, true);
    here.unlock(&Password::new(PASSWORD)).expect("unlock");
    let other = if app.database.is_postgres() {
        format!("'\\x{}'::bytea", "07".repeat(32))
    } else {
        format!("X'{}'", "07".repeat(32))
    };
    app.database
        .execute(&format!(
            "UPDATE users SET entropy = {other}, backup_version = backup_version + 1"
        ))
        .await;
    let refused = here.sync().await.expect_err("refused");
    assert_eq!(
        refused,
        SessionError::Client(sigil_client::ClientError::EntropyChanged)
    );
    let saved = here.local().expect("kept");
    assert_eq!(saved.backup.version, 1);
    assert!(saved.conflict.is_none());
    resumed(&app, &saved, false)
        .unlock(&Password::new(PASSWORD))
        .expect("this device's copy still opens");
}

/// Deleting the account needs the password, as export does: an open, unattended screen is not
/// enough to destroy the identity.
#[tokio::test]
async fn deleting_the_account_needs_the_password() {
    let app = spawn_app().await;
    let email = "deleter@example.org";
    let local = signed_up(&app, email).await;
    let mut here = resumed(&app, &local, true);
    here.unlock(&Password::new(PASSWORD)).expect("unlock");
    assert!(
        here.delete_account(&Password::new("a guess at the password"))
            .await
            .is_err()
    );
    assert_eq!(app.database.count("users").await, 1, "nothing deleted");
    here.delete_account(&Password::new(PASSWORD))
        .await
        .expect("deleted with the password");
    assert_eq!(app.database.count("users").await, 0);
}

/// Two devices change the password while one is offline; returns the offline one, back online
/// and in conflict, with the two passwords.
async fn conflict(app: &TestApp, email: &str) -> (Session<HttpTransport>, Password, Password) {
    let local = signed_up(app, email).await;
    let here_password = Password::new("chosen on this device");
    let there_password = Password::new("chosen on the other device");

    let mut offline = resumed(app, &local, false);
    offline.unlock(&Password::new(PASSWORD)).expect("unlock");
    offline
        .change_password(&Password::new(PASSWORD), &here_password, &here_password)
        .expect("change");
    assert_eq!(offline.sync().await.expect("sync"), Sync::Offline);

    let mut other = new_device(app, email, PASSWORD).await;
    other
        .change_password(&Password::new(PASSWORD), &there_password, &there_password)
        .expect("change");
    assert_eq!(other.sync().await.expect("sync"), Sync::Pushed(2));

    let mut back = resumed(app, &offline.local().expect("kept"), true);
    back.unlock(&here_password).expect("unlock");
    assert_eq!(back.sync().await.expect("sync"), Sync::Conflict(2));
    // Both copies are kept, locally, until the user picks one; the server's is untouched.
    let saved = back.local().expect("kept");
    assert!(saved.unsynced);
    assert_eq!(saved.conflict.as_ref().map(|c| c.version), Some(2));
    assert_eq!(back.sync().await.expect("sync"), Sync::Conflict(2));
    (back, here_password, there_password)
}

#[tokio::test]
async fn a_conflict_settled_for_this_device_replaces_the_servers_copy() {
    let app = spawn_app().await;
    let email = "keep-here@example.org";
    let (mut back, here, there) = conflict(&app, email).await;
    assert_eq!(
        back.resolve_conflict(Keep::ThisDevice, None)
            .await
            .expect("resolve"),
        Sync::Pushed(3)
    );
    assert!(back.conflict_version().is_none());
    let mut device = app.verified_session(email).await;
    assert!(device.unlock(&there).is_err());
    device.unlock(&here).expect("this device's password won");
}

#[tokio::test]
async fn a_conflict_settled_for_the_other_device_needs_its_password() {
    let app = spawn_app().await;
    let (mut back, here, there) = conflict(&app, "keep-there@example.org").await;
    let missing = back.resolve_conflict(Keep::OtherDevice, None).await;
    assert_eq!(missing.err(), Some(SessionError::PasswordNeeded));
    let wrong = back.resolve_conflict(Keep::OtherDevice, Some(&here)).await;
    assert_eq!(
        wrong
            .map_err(|e| session_failure(&e).message)
            .err()
            .as_deref(),
        Some("That password does not unlock this vault. Check it and try again.")
    );
    assert_eq!(back.conflict_version(), Some(2), "a refusal keeps both");
    assert_eq!(
        back.resolve_conflict(Keep::OtherDevice, Some(&there))
            .await
            .expect("resolve"),
        Sync::Adopted(2)
    );
    let saved = back.local().expect("kept");
    assert!(!saved.unsynced && saved.conflict.is_none());
    assert_eq!(back.sync().await.expect("sync"), Sync::UpToDate);
    let mut next_visit = resumed(&app, &saved, false);
    next_visit
        .unlock(&there)
        .expect("the other device's password");
}

#[test]
fn a_saved_copy_of_another_layout_or_garbage_is_refused() {
    assert!(matches!(
        LocalVault::from_json("{}"),
        Err(LocalCopyError(_))
    ));
    assert!(matches!(
        LocalVault::from_json("not json"),
        Err(LocalCopyError(_))
    ));
}
