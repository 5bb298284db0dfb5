//! The client against a server that lies. An in-process adversary built from the protocol crate
//! answers with weak KDF parameters, a backup for another key, replies signed by the wrong key,
//! or a reply recorded for an earlier request; the client logic refuses each with a clear error.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design
use std::cell::RefCell;

use sigil_client::session::{Session, SessionError};
use sigil_client::transport::TransportError;
use sigil_client::{ClientError, HttpResponse, Server, Transport};
use sigil_shared::dvm::{ReplyError, open_request, seal_reply};
use sigil_shared::envelope::{BackupEnvelope, Entropy, EnvelopeError, KdfParams};
use sigil_shared::info::{EVENTS_PATH, InfoError, ServerInfo};
use sigil_shared::method::{BackupRecord, CodeSent, Reply, Request, Verified};
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::Keys;
use sigil_shared::secret::{AccountSecret, Password};

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
}

struct HostileServer {
    lie: Lie,
    keys: Keys,
    impostor: Keys,
    /// The account the lies are about: its backup, sealed at the floor parameters.
    account: AccountSecret,
    entropy: Entropy,
    first_reply: RefCell<Option<String>>,
}

impl HostileServer {
    fn new(lie: Lie) -> Self {
        Self {
            lie,
            keys: Keys::generate(),
            impostor: Keys::generate(),
            account: AccountSecret::generate(),
            entropy: Entropy::generate(),
            first_reply: RefCell::default(),
        }
    }

    fn backup_of(&self, secret: &AccountSecret) -> BackupEnvelope {
        BackupEnvelope::seal(
            secret,
            &Password::new(PASSWORD),
            &self.entropy,
            KdfParams::FLOOR,
        )
        .expect("seal")
    }

    fn answer(&self, request: &Request) -> Reply {
        let result = match request {
            Request::RequestCode { .. } => serde_json::to_value(CodeSent {
                expires_in: 600,
                resend_after: 60,
            }),
            Request::VerifyCode { .. } => {
                let mut backup = self.backup_of(&self.account);
                if self.lie == Lie::WeakKdfBackup {
                    backup.kdf.m_kib = 8;
                    backup.kdf.t = 1;
                }
                serde_json::to_value(Verified::Existing {
                    entropy: self.entropy.to_hex(),
                    backup,
                    backup_version: 1,
                })
            }
            Request::GetBackup {} => serde_json::to_value(BackupRecord {
                entropy: self.entropy.to_hex(),
                backup: self.backup_of(&AccountSecret::generate()),
                backup_version: 2,
            }),
            _ => serde_json::to_value(serde_json::json!({})),
        };
        Reply::Result(result.expect("json"))
    }
}

impl Transport for HostileServer {
    async fn get(&self, _path: &str) -> Result<HttpResponse, TransportError> {
        let mut kdf = KdfParams::FLOOR;
        if self.lie == Lie::WeakKdfAnnounced {
            kdf.m_kib = 1024;
        }
        let info = ServerInfo::new(&self.keys.public_key(), 8, 300, 65_536, kdf);
        Ok(HttpResponse {
            status: 200,
            body: serde_json::to_string(&info).expect("json"),
        })
    }

    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError> {
        assert_eq!(path, EVENTS_PATH);
        let event = Event::from_json(&body).expect("request event");
        let request = open_request(&self.keys, &event).expect("request opens");
        let signer = match self.lie {
            Lie::WrongSigner => &self.impostor,
            _ => &self.keys,
        };
        let reply = seal_reply(signer, &event, &self.answer(&request))
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
    session.verify_code("123456").await.expect("verify");
    let refused = session.unlock(&Password::new(PASSWORD));
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
