//! Many devices racing `update_backup` on one account: compare-and-swap lets exactly one win per
//! version, every other gets a conflict naming the new version, and the stored backup always
//! opens with the winner's password.

use sigil_shared::argon2id::ThisThread;
use std::sync::Arc;

use sigil_client::{ClientError, Server, Vault};
use sigil_shared::envelope::KdfParams;
use sigil_shared::error::ErrorCode;
use sigil_shared::secret::Password;
use tokio::task::JoinSet;

use crate::helpers::{HttpTransport, PASSWORD, spawn_app};

const CONTENDERS: usize = 8;
const ROUNDS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_updates_have_one_winner_per_version_and_nothing_is_lost() {
    let app = spawn_app().await;
    let server = Arc::new(app.client().await);
    let owner = app.sign_up("race@example.org", PASSWORD).await;
    race_rounds(&[server], owner).await;
}

/// `ROUNDS` rounds of `CONTENDERS` devices pushing a change on the same version, the devices
/// spread over `servers` in turn; checks each round as the module comment says.
pub async fn race_rounds(servers: &[Arc<Server<HttpTransport>>], owner: Vault) {
    let mut current = (Password::new(PASSWORD), owner.backup().clone());
    for round in 1..=ROUNDS {
        assert_eq!(current.1.version, round);
        // Every contender opened the same version and re-encrypted under its own password.
        let mut contenders = JoinSet::new();
        for index in 0..CONTENDERS {
            let mut vault =
                Vault::unlock(current.1.clone(), &current.0, &ThisThread).expect("unlock");
            let password = format!("round {round} contender {index} password");
            let envelope = vault
                .change_password(
                    &current.0,
                    &Password::new(&password),
                    KdfParams::FLOOR,
                    &ThisThread,
                )
                .expect("re-encrypt");
            let server = servers[index % servers.len()].clone();
            contenders.spawn(async move {
                let outcome = vault.push_backup(&server, envelope, round).await;
                (password, outcome)
            });
        }
        let mut winners = Vec::new();
        while let Some(joined) = contenders.join_next().await {
            let (password, outcome) = joined.expect("task");
            match outcome {
                Ok(version) => winners.push((password, version)),
                Err(ClientError::Server(body)) => {
                    assert_eq!(body.code, ErrorCode::VersionConflict);
                    assert_eq!(body.current_version, Some(round + 1));
                }
                Err(other) => panic!("unexpected failure: {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let (password, version) = winners.remove(0);
        assert_eq!(version, round + 1);

        // What every server holds is the winner's backup, and it opens with the winner's password.
        let password = Password::new(&password);
        for server in servers {
            let stored = owner.fetch_backup(server).await.expect("fetch");
            assert_eq!(stored.version, round + 1);
            Vault::unlock(stored.clone(), &password, &ThisThread).expect("the stored backup opens");
            current.1 = stored;
        }
        current.0 = password;
    }
}
