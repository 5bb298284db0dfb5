//! Sigil's NIP-46 signer against a client someone else wrote (issue 26): nostr-tools'
//! BunkerSigner, in Node, connects by a `bunker://` URI through a real relay (nostr-rs-relay)
//! and uses every method an app would. The signer runs natively here over the same relay
//! sockets the relay transport's tests use; in the browser it will run in the vault worker.

use std::cell::RefCell;
use std::process::Stdio;

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};

use sigil_client::signer::policy::Permission;
use sigil_client::signer::request::SignerRequest;
use sigil_client::signer::service::{Serving, serve};
use sigil_client::signer::session::{Choice, Signer};
use sigil_client::signer::uri::{Bunker, NostrConnect};
use sigil_client::worker_api::Private;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::secret::AccountSecret;

use crate::relay_helpers::{NativeSockets, TestRelay};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `script` (in e2e/) against a signer serving a fresh account with a bunker:// URI, the
/// user approving every prompt but those for `denied`; returns the script's JSON outcome, the
/// account, the signer and what was asked.
async fn bunker_client(
    script: &str,
    denied: Option<Permission>,
) -> (serde_json::Value, AccountSecret, Signer, Vec<Permission>) {
    let relay = TestRelay::start();
    let account = AccountSecret::generate();
    let relays = vec![relay.url()];
    let secret = "a-one-time-secret";
    let signer = RefCell::new(Signer::default());
    signer
        .borrow_mut()
        .set_bunker_secret(Private(secret.into()));
    let uri = Bunker {
        signer: account.public_key(),
        relays: relays.clone(),
        secret: Private(secret.into()),
    }
    .to_uri();

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../e2e")
        .join(script);
    let client = tokio::process::Command::new("node")
        .arg(script)
        .arg(&uri)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node (scripts/setup.sh --test installs e2e's packages)");
    let mut asked = Vec::new();
    let mut prompt = async |_app: &PublicKey, _request: &SignerRequest, permission: Permission| {
        asked.push(permission);
        Some(if Some(permission) == denied {
            Choice::Deny
        } else {
            Choice::Always
        })
    };
    let serving = Serving {
        account: &account,
        relays: &relays,
        unix_now: &unix_now,
        greetings: &[],
        stopped: &|| false,
        changed: &|_| {},
    };
    let mut sockets = NativeSockets::new();
    let output = tokio::select! {
        output = client.wait_with_output() => output.expect("node ran"),
        () = serve(&mut sockets, &signer, &serving, &mut prompt, Duration::from_secs(60)) => {
            panic!("the client did not finish within a minute")
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome = serde_json::from_str(stdout.trim()).expect("one JSON line");
    (outcome, account, signer.into_inner(), asked)
}

/// What every client must have got: the vault's key, a verified event by it, both round trips.
fn assert_signed_and_encrypted(outcome: &serde_json::Value, account: &AccountSecret) {
    let me = account.public_key().to_hex();
    assert_eq!(
        outcome["pubkey"],
        me.as_str(),
        "get_public_key is the vault's key"
    );
    assert_eq!(outcome["verified"], true, "the signed event verifies");
    assert_eq!(outcome["event"]["pubkey"], me.as_str());
    assert_eq!(outcome["nip44"], "round trip 44");
    assert_eq!(outcome["nip04"], "round trip 04");
}

#[tokio::test]
async fn nostr_tools_bunker_signer_signs_and_encrypts_through_the_vault() {
    let (outcome, account, signer, asked) =
        bunker_client("nip46-client.mjs", Some(Permission::SignEvent(4))).await;
    assert_signed_and_encrypted(&outcome, &account);
    assert_eq!(outcome["event"]["content"], "signed through NIP-46");
    let unknown = outcome["unknown"].as_str().unwrap_or_default();
    assert!(unknown.contains("unknown method"), "{unknown}");
    for refused in ["denied", "again"] {
        let error = outcome[refused].as_str().unwrap_or_default();
        assert!(error.contains("denied"), "{refused}: {error}");
    }
    assert_eq!(
        asked,
        vec![
            Permission::SignEvent(1),
            Permission::Nip44Encrypt,
            Permission::Nip44Decrypt,
            Permission::Nip04Encrypt,
            Permission::Nip04Decrypt,
            Permission::SignEvent(4),
            Permission::SignEvent(4),
        ],
        "each new permission asked once, a denied one again"
    );
    // The activity log has each signing and encryption, the refusal last.
    let log: Vec<(&str, bool)> = signer
        .log()
        .iter()
        .map(|a| (a.method.as_str(), a.allowed))
        .collect();
    assert_eq!(
        log,
        vec![
            ("sign_event", true),
            ("nip44_encrypt", true),
            ("nip44_decrypt", true),
            ("nip04_encrypt", true),
            ("nip04_decrypt", true),
            ("sign_event", false),
            ("sign_event", false),
        ]
    );
}

/// A second, independent client library: NDK's NDKNip46Signer.
#[tokio::test]
async fn ndk_nip46_signer_signs_and_encrypts_through_the_vault() {
    let (outcome, account, _signer, asked) = bunker_client("nip46-ndk.mjs", None).await;
    assert_signed_and_encrypted(&outcome, &account);
    assert_eq!(outcome["event"]["content"], "signed through NDK");
    assert!(asked.contains(&Permission::SignEvent(1)), "{asked:?}");
}

/// The other way round: the app shows a `nostrconnect://` URI (nostr-tools'
/// createNostrConnectURI), the user pastes it into Sigil and approves what it asks, and the
/// app's BunkerSigner.fromURI finds the vault from the first answer, which carries its secret.
#[tokio::test]
async fn an_app_connects_by_its_nostrconnect_uri() {
    let relay = TestRelay::start();
    let account = AccountSecret::generate();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/nip46-nostrconnect.mjs");
    let mut client = tokio::process::Command::new("node")
        .arg(script)
        .arg(relay.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(client.stdout.take().expect("stdout")).lines();
    let uri = lines.next_line().await.expect("read").expect("the URI");
    let invitation = NostrConnect::parse(&uri).expect("Sigil reads nostr-tools' URI");
    assert_eq!(invitation.name.as_deref(), Some("Node test app"));
    assert_eq!(
        invitation.perms,
        vec![Permission::SignEvent(1), Permission::Nip44Encrypt]
    );

    let signer = RefCell::new(Signer::default());
    let first = signer
        .borrow_mut()
        .accept(&invitation, &invitation.perms, "hello", unix_now());
    let greetings = [(invitation.client, first)];
    let mut prompt = async |_: &PublicKey, _: &SignerRequest, permission: Permission| {
        panic!("granted at approval, nothing should ask: {permission:?}")
    };
    let serving = Serving {
        account: &account,
        relays: &invitation.relays,
        unix_now: &unix_now,
        greetings: &greetings,
        stopped: &|| false,
        changed: &|_| {},
    };
    let mut sockets = NativeSockets::new();
    let outcome = tokio::select! {
        line = lines.next_line() => line.expect("read").expect("the outcome"),
        () = serve(&mut sockets, &signer, &serving, &mut prompt, Duration::from_secs(60)) => {
            panic!("the app did not finish within a minute")
        }
    };
    let outcome: serde_json::Value = serde_json::from_str(&outcome).expect("JSON");
    let me = account.public_key().to_hex();
    assert_eq!(outcome["pubkey"], me.as_str());
    assert_eq!(outcome["verified"], true);
    assert_eq!(outcome["event"]["pubkey"], me.as_str());
    let signer = signer.into_inner();
    let (_, app) = signer.apps().next().expect("the app is listed");
    assert_eq!(app.name.as_deref(), Some("Node test app"));
}
