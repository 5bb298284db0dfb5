//! The client against a server that lies. An in-process adversary built from the protocol crate
//! answers with weak KDF parameters, a backup for another key, replies signed by the wrong key,
//! a reply recorded for an earlier request, or other KDF entropy for an account the client knows;
//! the client logic refuses each with a clear error. It also tampers with the backup's unlock
//! slots (one removed, two swapped) and hands a device an older backup than the one it holds (an
//! earlier revision, or an envelope of an earlier version), which the client notices.
//! It also plays a busy server (503), where the client backs off and tries again, and a server
//! that raises its proof of work and then names another key, which the client refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
use sigil_shared::argon2id::ThisThread;
use std::cell::{Cell, RefCell};
use std::time::Duration;

use sigil_client::flow::CodeSession;
use sigil_client::session::{Session, SessionError};
use sigil_client::transport::{Progress, TransportError};
use sigil_client::{ClientError, HttpResponse, Server, Transport};
use sigil_shared::dvm::{Exchange, ReplyError, ServerKeys};
use sigil_shared::envelope::{
    BackupEnvelope, Entropy, EnvelopeError, KdfParams, PasskeyInfo, Slot, SlotEnvelope, SlotKind,
};
use sigil_shared::error::{RejectBody, RejectCode};
use sigil_shared::info::{EVENTS_PATH, InfoError, ServerInfo};
use sigil_shared::method::{BackupRecord, CodeSent, Reply, Request, Verified};
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::Keys;
use sigil_shared::recovery::RecoveryCode;
use sigil_shared::secret::{AccountSecret, Password};
use sigil_shared::validation::CheckedRequest;

const PASSWORD: &str = "correct horse battery staple";

/// How the hostile server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lie {
    /// Announces Argon2id parameters below the floor in its well-known document.
    WeakKdfAnnounced,
    /// Hands out a backup whose KDF parameters are below the floor.
    WeakKdfBackup,
    /// Answers `get_backup` with a backup of another key.
    ForeignBackup,
    /// Signs its replies with a key other than the announced one.
    WrongSigner,
    /// Answers with the reply it gave to the first request.
    ReplayedReply,
    /// Answers the first login with the account's entropy, and everything after it (another
    /// login, `get_backup`) with other entropy, as a server out to make salts collide would.
    ChangedEntropy,
    /// Not a lie: answers the first two posts with 503, as a server shedding load does.
    Busy,
    /// Refuses the first post for too little work, then announces a higher difficulty under
    /// another key.
    KeyChangesWithDifficulty,
    /// Hands out the backup with its recovery slot removed (to keep the user from recovering).
    RemovedSlot,
    /// Hands out the backup with its password and recovery slots swapped.
    ReorderedSlots,
    /// Hands out the backup without its passkey (to keep the user to the password).
    RemovedPasskey,
    /// Gives the first login the newest backup, and everything after it the revision before,
    /// whose recovery code the user has since replaced.
    EarlierRevision,
    /// Gives the first login a version-3 backup, and everything after it the same account's
    /// version-2 backup.
    EarlierVersion,
}

struct HostileServer {
    lie: Lie,
    keys: ServerKeys,
    impostor: ServerKeys,
    /// The account the lies are about: its backup, sealed at the floor parameters.
    account: AccountSecret,
    entropy: Entropy,
    /// For the lies about slots and history: the account's newest backup, and an older one.
    history: Option<(BackupEnvelope, BackupEnvelope)>,
    first_reply: RefCell<Option<String>>,
    gets: Cell<u32>,
    posts: Cell<u32>,
    verifies: Cell<u32>,
    /// What the client showed and how long it waited, in order.
    progress: RefCell<Vec<Progress>>,
    slept: RefCell<Vec<Duration>>,
}

impl HostileServer {
    fn new(lie: Lie) -> Self {
        let (account, entropy, history) = match lie {
            Lie::RemovedSlot | Lie::ReorderedSlots | Lie::RemovedPasskey | Lie::EarlierRevision => {
                let (account, entropy) = (AccountSecret::generate(), Entropy::generate());
                let history = revisions(&account, &entropy);
                (account, entropy, Some(history))
            }
            Lie::EarlierVersion => version_2_account(),
            _ => (AccountSecret::generate(), Entropy::generate(), None),
        };
        Self {
            lie,
            keys: ServerKeys::new(Keys::generate()),
            impostor: ServerKeys::new(Keys::generate()),
            account,
            entropy,
            history,
            first_reply: RefCell::default(),
            gets: Cell::new(0),
            posts: Cell::new(0),
            verifies: Cell::new(0),
            progress: RefCell::default(),
            slept: RefCell::default(),
        }
    }

    fn backup_of(&self, secret: &AccountSecret) -> BackupEnvelope {
        BackupEnvelope::seal(
            secret,
            &Password::new(PASSWORD),
            &self.entropy,
            KdfParams::FLOOR,
            &ThisThread,
        )
        .expect("seal")
    }

    /// The account's backup as this lie hands it out.
    fn account_backup(&self, request: &Request) -> BackupEnvelope {
        let Some((newest, older)) = &self.history else {
            return self.backup_of(&self.account);
        };
        let after_login = matches!(request, Request::GetBackup { .. }) || self.verifies.get() > 1;
        let mut backup = match self.lie {
            Lie::EarlierRevision | Lie::EarlierVersion if after_login => older.clone(),
            _ => newest.clone(),
        };
        if let BackupEnvelope::Slots(envelope) = &mut backup {
            match self.lie {
                Lie::RemovedSlot => envelope
                    .slots
                    .retain(|s| !matches!(s, Slot::Recovery { .. })),
                Lie::ReorderedSlots => envelope.slots.swap(0, 1),
                Lie::RemovedPasskey => envelope
                    .slots
                    .retain(|s| !matches!(s, Slot::Passkey { .. })),
                _ => {}
            }
        }
        backup
    }

    /// The entropy this answer carries: another after the first login, if that is the lie.
    fn entropy_now(&self, request: &Request) -> Entropy {
        let after_login =
            matches!(request, Request::GetBackup { version: None }) || self.verifies.get() > 1;
        if self.lie == Lie::ChangedEntropy && after_login {
            Entropy([7; 32])
        } else {
            self.entropy
        }
    }

    fn answer(&self, request: &Request) -> Reply {
        if matches!(request, Request::VerifyCode { .. }) {
            self.verifies.set(self.verifies.get() + 1);
        }
        let result = match request {
            Request::RequestCode { .. } => serde_json::to_value(CodeSent {
                expires_in: 600,
                resend_after: 60,
            }),
            Request::VerifyCode { .. } => {
                let mut backup = self.account_backup(request);
                if self.lie == Lie::WeakKdfBackup
                    && let BackupEnvelope::Slots(envelope) = &mut backup
                    && let Some(Slot::Password { kdf, .. }) = envelope.slots.first_mut()
                {
                    kdf.m_kib = 8;
                    kdf.t = 1;
                }
                serde_json::to_value(Verified::Existing {
                    entropy: self.entropy_now(request).to_hex(),
                    backup,
                    backup_version: 1,
                })
            }
            Request::GetBackup { .. } => serde_json::to_value(BackupRecord {
                entropy: self.entropy_now(request).to_hex(),
                backup: match self.lie {
                    Lie::ForeignBackup => self.backup_of(&AccountSecret::generate()),
                    _ => self.account_backup(request),
                },
                backup_version: 2,
            }),
            _ => serde_json::to_value(serde_json::json!({})),
        };
        Reply::ok(&result.expect("json")).expect("json")
    }
}

impl Transport for HostileServer {
    async fn get(&self, _path: &str) -> Result<HttpResponse, TransportError> {
        let mut kdf = KdfParams::FLOOR;
        if self.lie == Lie::WeakKdfAnnounced {
            kdf.m_kib = 1024;
        }
        self.gets.set(self.gets.get() + 1);
        let info = if self.lie == Lie::KeyChangesWithDifficulty && self.gets.get() > 1 {
            ServerInfo::new(&self.impostor.public_key(), 10, 300, 65_536, kdf)
        } else {
            ServerInfo::new(&self.keys.public_key(), 8, 300, 65_536, kdf)
        };
        Ok(HttpResponse {
            status: 200,
            body: serde_json::to_string(&info).expect("json"),
        })
    }

    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError> {
        assert_eq!(path, EVENTS_PATH);
        self.posts.set(self.posts.get() + 1);
        let refusal = match self.lie {
            Lie::Busy if self.posts.get() <= 2 => Some((503, RejectCode::Unavailable)),
            Lie::KeyChangesWithDifficulty => Some((400, RejectCode::InsufficientPow)),
            _ => None,
        };
        if let Some((status, error)) = refusal {
            return Ok(HttpResponse {
                status,
                body: serde_json::to_string(&RejectBody { error }).expect("json"),
            });
        }
        let event = Event::from_json(&body).expect("request event");
        let checked = CheckedRequest::verify(event).expect("signed request");
        let request = Exchange::new(&self.keys, &checked)
            .open()
            .expect("request opens");
        let signer = match self.lie {
            Lie::WrongSigner => &self.impostor,
            _ => &self.keys,
        };
        let reply = Exchange::new(signer, &checked)
            .seal(&self.answer(&request))
            .expect("seal")
            .as_json();
        let mut first = self.first_reply.borrow_mut();
        let reply = match (self.lie, first.as_ref()) {
            (Lie::ReplayedReply, Some(recorded)) => recorded.clone(),
            _ => reply,
        };
        first.get_or_insert(reply.clone());
        Ok(HttpResponse {
            status: 200,
            body: reply,
        })
    }

    fn progress(&self, progress: Progress) {
        self.progress.borrow_mut().push(progress);
    }

    /// Recorded, not waited: the test checks the schedule without spending it.
    async fn sleep(&self, duration: Duration) {
        self.slept.borrow_mut().push(duration);
    }
}

/// The passkey of the newest revision, and its PRF output.
const CREDENTIAL: &[u8] = b"the victim's passkey";
const PRF: [u8; 32] = [0x42; 32];

/// Two revisions of one envelope with a recovery slot: the newer one replaced the code and
/// added a passkey.
fn revisions(account: &AccountSecret, entropy: &Entropy) -> (BackupEnvelope, BackupEnvelope) {
    let password = Password::new(PASSWORD);
    let (created, opened) =
        SlotEnvelope::create(account, &password, entropy, KdfParams::FLOOR, &ThisThread).unwrap();
    let older = created
        .with_recovery(&opened, &RecoveryCode::generate())
        .unwrap();
    let passkey = PasskeyInfo {
        credential: CREDENTIAL.to_vec(),
        name: "Phone".into(),
        created: 1_764_950_400,
        prf_salt: [0x24; 32],
    };
    let newest = older
        .with_recovery(&opened, &RecoveryCode::generate())
        .and_then(|newer| newer.with_passkey(&opened, passkey, &PRF))
        .unwrap();
    (BackupEnvelope::Slots(newest), BackupEnvelope::Slots(older))
}

/// The account of the first version-2 known answer (whose password is [`PASSWORD`]), with its
/// version-2 envelope as the older backup and a version-3 one as the newest.
fn version_2_account() -> (
    AccountSecret,
    Entropy,
    Option<(BackupEnvelope, BackupEnvelope)>,
) {
    #[derive(serde::Deserialize)]
    struct Vector {
        password: String,
        entropy: String,
        secret_key: String,
        envelope: BackupEnvelope,
    }
    let vectors: Vec<Vector> =
        serde_json::from_str(include_str!("../../shared/tests/vectors/backup-v2.json")).unwrap();
    let v = vectors.into_iter().next().unwrap();
    assert_eq!(v.password, PASSWORD);
    let mut key = [0u8; 32];
    hex::decode_to_slice(&v.secret_key, &mut key).unwrap();
    let account = AccountSecret::from_bytes(&key).unwrap();
    let entropy = Entropy::from_hex(&v.entropy).unwrap();
    let (newest, _) = SlotEnvelope::create(
        &account,
        &Password::new(PASSWORD),
        &entropy,
        KdfParams::FLOOR,
        &ThisThread,
    )
    .unwrap();
    let history = (BackupEnvelope::Slots(newest), v.envelope);
    (account, entropy, Some(history))
}

async fn session(lie: Lie) -> Session<HostileServer> {
    let server = Server::connect(HostileServer::new(lie))
        .await
        .expect("the announcement itself is fine");
    Session::new(server)
}

/// Logs in as far as the unlock step, then unlocks with the right password.
async fn log_in(session: &mut Session<HostileServer>) -> Result<(), SessionError> {
    session.request_code("victim@example.org").await?;
    session.verify_code("123456").await?;
    session.unlock(&Password::new(PASSWORD))?;
    Ok(())
}

#[tokio::test]
async fn weak_kdf_parameters_in_the_announcement_are_refused() {
    let refused = Server::connect(HostileServer::new(Lie::WeakKdfAnnounced)).await;
    assert!(matches!(
        refused.err(),
        Some(ClientError::Info(InfoError::Kdf(
            EnvelopeError::KdfParamsOutOfRange(_)
        )))
    ));
}

#[tokio::test]
async fn a_backup_with_weak_kdf_parameters_is_refused_before_any_guess() {
    let mut session = session(Lie::WeakKdfBackup).await;
    session
        .request_code("victim@example.org")
        .await
        .expect("code");
    // Refused as it arrives, before a password is even asked for.
    let refused = session.verify_code("123456").await;
    assert!(
        matches!(
            refused,
            Err(SessionError::Client(ClientError::Envelope(
                EnvelopeError::KdfParamsOutOfRange(_)
            )))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_backup_of_another_key_is_refused() {
    let mut session = session(Lie::ForeignBackup).await;
    log_in(&mut session)
        .await
        .expect("the login itself is honest");
    let refused = session.sync().await;
    assert!(
        matches!(
            refused,
            Err(SessionError::Client(ClientError::Envelope(
                EnvelopeError::ForeignKey
            )))
        ),
        "{refused:?}"
    );
    let kept = session.local().expect("kept");
    assert_eq!(kept.backup.version, 1, "the foreign backup was not taken");
}

/// The entropy salts the account's KDF; a server that could change it could give every account
/// the same salt. Once the client knows an account's entropy, another is refused, in a sync and
/// in a new login to the same account.
#[tokio::test]
async fn changed_entropy_for_a_known_account_is_refused() {
    let mut session = session(Lie::ChangedEntropy).await;
    log_in(&mut session)
        .await
        .expect("the first login is honest");
    let refused = session.sync().await;
    assert!(
        matches!(
            refused,
            Err(SessionError::Client(ClientError::EntropyChanged))
        ),
        "{refused:?}"
    );
    session.lock();
    session
        .request_code("victim@example.org")
        .await
        .expect("code");
    let refused = session.verify_code("123456").await;
    assert!(
        matches!(
            refused,
            Err(SessionError::Client(ClientError::EntropyChanged))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_reply_signed_by_another_key_is_refused() {
    let mut session = session(Lie::WrongSigner).await;
    let refused = session.request_code("victim@example.org").await;
    assert_eq!(
        refused.err(),
        Some(SessionError::Client(ClientError::Reply(
            ReplyError::NotFromServer
        )))
    );
}

#[tokio::test]
async fn a_replayed_reply_is_refused() {
    let mut session = session(Lie::ReplayedReply).await;
    session
        .request_code("victim@example.org")
        .await
        .expect("first reply");
    let refused = session.verify_code("123456").await;
    assert_eq!(
        refused.err(),
        Some(SessionError::Client(ClientError::Reply(
            ReplyError::WrongRequest
        )))
    );
}

#[tokio::test]
async fn a_busy_server_is_asked_again_after_a_pause() {
    let server = Server::connect(HostileServer::new(Lie::Busy))
        .await
        .expect("announcement");
    CodeSession::request(&server, "patient@example.org")
        .await
        .expect("the third try goes through");
    let transport = server.transport();
    assert_eq!(transport.posts.get(), 3);
    assert_eq!(
        *transport.slept.borrow(),
        [Duration::from_secs(1), Duration::from_secs(2)]
    );
    let busy: Vec<_> = transport
        .progress
        .borrow()
        .iter()
        .filter(|p| matches!(p, Progress::ServerBusy(_)))
        .copied()
        .collect();
    assert_eq!(busy, [Progress::ServerBusy(1), Progress::ServerBusy(2)]);
}

#[tokio::test]
async fn a_raised_difficulty_under_another_key_is_refused() {
    let server = Server::connect(HostileServer::new(Lie::KeyChangesWithDifficulty))
        .await
        .expect("announcement");
    let refused = CodeSession::request(&server, "victim@example.org").await;
    assert_eq!(refused.err(), Some(ClientError::ServerKeyChanged));
    assert_eq!(
        server.transport().posts.get(),
        1,
        "nothing sent to the impostor"
    );
}

/// A server that drops the recovery slot (so the user cannot recover), or reorders the slots,
/// cannot do it quietly: the password still opens its slot, but the vault's associated data
/// covers every slot, so the unlock says the backup was altered (not "wrong password").
#[tokio::test]
async fn removed_or_reordered_slots_are_noticed_at_unlock() {
    for lie in [Lie::RemovedSlot, Lie::ReorderedSlots] {
        let mut session = session(lie).await;
        let refused = log_in(&mut session).await;
        assert!(
            matches!(
                refused,
                Err(SessionError::Client(ClientError::Envelope(
                    EnvelopeError::SlotsAltered
                )))
            ),
            "{lie:?}: {refused:?}"
        );
        assert!(session.vault().is_none(), "{lie:?}: nothing was unlocked");
    }
}

/// The same lies, met by a passkey unlock: the passkey's slot still opens, the vault does not;
/// and a backup whose passkey was dropped is said to be altered, whichever way is tried.
#[tokio::test]
async fn a_passkey_unlock_notices_removed_or_reordered_slots_too() {
    for lie in [Lie::RemovedSlot, Lie::ReorderedSlots, Lie::RemovedPasskey] {
        let mut session = session(lie).await;
        session
            .request_code("victim@example.org")
            .await
            .expect("code");
        session.verify_code("123456").await.expect("verified");
        let by_passkey = session.unlock_with_passkey(CREDENTIAL, &PRF);
        let expected = match lie {
            // Its slot is gone: nothing to open with it.
            Lie::RemovedPasskey => EnvelopeError::NoSlot(SlotKind::Passkey),
            _ => EnvelopeError::SlotsAltered,
        };
        assert!(
            matches!(&by_passkey, Err(SessionError::Client(ClientError::Envelope(e))) if *e == expected),
            "{lie:?}: {by_passkey:?}"
        );
        let by_password = session.unlock(&Password::new(PASSWORD));
        assert!(
            matches!(
                by_password,
                Err(SessionError::Client(ClientError::Envelope(
                    EnvelopeError::SlotsAltered
                )))
            ),
            "{lie:?}: {by_password:?}"
        );
        assert!(session.vault().is_none(), "{lie:?}: nothing was unlocked");
    }
}

/// A device that has held a backup refuses an older one from the server (it would bring back a
/// replaced recovery code or a removed passkey, or a password-only envelope), in a sync and in
/// a new login to the same account.
#[tokio::test]
async fn an_older_backup_is_refused_by_a_device_that_held_a_newer_one() {
    for lie in [Lie::EarlierRevision, Lie::EarlierVersion] {
        let mut session = session(lie).await;
        log_in(&mut session)
            .await
            .expect("the first login is honest");
        let refused = session.sync().await;
        assert!(
            matches!(refused, Err(SessionError::Client(ClientError::RolledBack))),
            "{lie:?}: {refused:?}"
        );
        session.lock();
        session
            .request_code("victim@example.org")
            .await
            .expect("code");
        let refused = session.verify_code("123456").await;
        assert!(
            matches!(refused, Err(SessionError::Client(ClientError::RolledBack))),
            "{lie:?}: {refused:?}"
        );
    }
}
