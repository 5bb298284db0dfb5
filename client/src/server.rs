//! A validated connection to one Sigil server: discovery, then sealed request/reply calls.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use sigil_shared::dvm::{self};
use sigil_shared::error::{RejectBody, RejectCode};
use sigil_shared::info::{EVENTS_PATH, RequestTransport, ServerInfo, WELL_KNOWN_PATH};
use sigil_shared::method::Request;
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;

use crate::error::ClientError;
use crate::error::TransportError;
use crate::transport::{Progress, Transport};

/// What became of one sealed request, on either transport.
#[derive(Debug)]
enum Answer {
    /// The server's reply event, as JSON, still sealed.
    Reply(String),
    /// Refused before it was handled (HTTP only).
    Refused(RejectCode),
    /// No reply came back (relays only): lost, refused by the relays, or short of work.
    Unanswered(TransportError),
}

#[derive(Debug)]
pub struct Server<T> {
    transport: T,
    info: ServerInfo,
    pubkey: PublicKey,
    /// The proof of work required now: the announced one, or more if the server raised it
    /// under load since (see [`Server::call`]).
    difficulty: AtomicU8,
}

/// Waits before each new try of a request refused with 503, in seconds; then the 503 stands.
const BUSY_BACKOFF_SECS: [u64; 3] = [1, 2, 4];

/// Times a request is mined again after the server raised its proof of work.
const MAX_POW_RAISES: usize = 2;

impl<T: Transport> Server<T> {
    /// Fetches and checks the well-known document. A server that announces weak KDF parameters,
    /// unbounded proof of work or another protocol version is refused here.
    pub async fn connect(transport: T) -> Result<Self, ClientError> {
        Self::connect_with(transport, None).await
    }

    /// As [`Server::connect`], with the well-known document already fetched (`announcement`,
    /// its body) if the page got it while the module loaded: over Tor that saves a round trip.
    /// It is checked exactly as a fetched one.
    pub async fn connect_with(
        transport: T,
        announcement: Option<String>,
    ) -> Result<Self, ClientError> {
        let info = match announcement {
            Some(body) => parse_info(&body)?,
            None => fetch_info(&transport).await?,
        };
        let pubkey = info.validate()?;
        Ok(Self::checked(transport, info, pubkey))
    }

    /// A server known from an earlier visit, for working offline: the saved well-known document
    /// is checked again, as if it had just been fetched, but may be of an earlier protocol
    /// version (the app was upgraded since): it only opens the local copy until the next contact.
    pub fn from_saved(transport: T, info: ServerInfo) -> Result<Self, ClientError> {
        let pubkey = info.validate_saved()?;
        Ok(Self::checked(transport, info, pubkey))
    }

    fn checked(transport: T, info: ServerInfo, pubkey: PublicKey) -> Self {
        let difficulty = AtomicU8::new(info.pow_difficulty);
        Self {
            transport,
            info,
            pubkey,
            difficulty,
        }
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Passes a progress step to whoever shows it.
    pub fn progress(&self, progress: Progress) {
        self.transport.progress(progress);
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    pub fn pubkey(&self) -> &PublicKey {
        &self.pubkey
    }

    /// Seals `request` with `signer`, sends it and opens the reply as `R`.
    ///
    /// Load is handled here, so every flow gets it: a busy server (503) is asked again after
    /// 1, 2 and 4 s; a server that raised its proof of work under load (`insufficient_pow` over
    /// HTTP, silence on relays) is asked for its announcement again, and the request is mined
    /// once more at the new level.
    pub async fn call<R: DeserializeOwned>(
        &self,
        signer: &Keys,
        request: &Request,
    ) -> Result<R, ClientError> {
        let mut raises = 0;
        loop {
            let draft = dvm::RequestDraft::new(
                signer,
                &self.pubkey,
                request,
                self.difficulty.load(Ordering::Relaxed),
                Timestamp::now(),
            )?;
            let nonce = self.transport.mine(&draft).await?;
            let event = draft.finish(signer, nonce)?;
            let refusal = match self.deliver(&event).await? {
                Answer::Reply(body) => {
                    let reply = dvm::open_reply(signer, &self.pubkey, &event.id, &body)?;
                    return reply
                        .into_result::<R>()
                        .map_err(|_| ClientError::UnexpectedReply)?
                        .map_err(ClientError::Server);
                }
                Answer::Refused(code) => ClientError::Rejected(code),
                Answer::Unanswered(error) => ClientError::Transport(error),
            };
            // Both are what a request short of work gets, if the server raised its level.
            let short_of_work = matches!(
                refusal,
                ClientError::Rejected(RejectCode::InsufficientPow) | ClientError::Transport(_)
            );
            if short_of_work && raises < MAX_POW_RAISES && self.refresh_difficulty().await? {
                raises += 1;
                continue;
            }
            return Err(refusal);
        }
    }

    /// Sends a sealed request on the transport the server announced. (A function of its own,
    /// not generic over the reply type, so its code is not repeated for each method.)
    async fn deliver(&self, event: &Event) -> Result<Answer, ClientError> {
        match self.info.transport {
            RequestTransport::Http => self.post(event).await,
            RequestTransport::Relays => {
                self.transport.progress(Progress::Sending);
                let reply = self
                    .transport
                    .call_on_relays(&self.info.dvm_relays, &self.pubkey, event)
                    .await;
                // Relays carry no refusals: a request short of work goes unanswered.
                Ok(reply.map_or_else(Answer::Unanswered, Answer::Reply))
            }
        }
    }

    /// Posts `event`, again after a pause while the server answers 503.
    async fn post(&self, event: &Event) -> Result<Answer, ClientError> {
        let body = event.as_json();
        let mut waits = BUSY_BACKOFF_SECS.into_iter();
        let response = loop {
            self.transport.progress(Progress::Sending);
            let response = self.transport.post_json(EVENTS_PATH, body.clone()).await?;
            match waits.next() {
                Some(seconds) if response.status == 503 => {
                    self.transport.progress(Progress::ServerBusy(seconds));
                    self.transport.sleep(Duration::from_secs(seconds)).await;
                }
                _ => break response,
            }
        };
        if response.status == 200 {
            return Ok(Answer::Reply(response.body));
        }
        match serde_json::from_str::<RejectBody>(&response.body) {
            Ok(reject) => Ok(Answer::Refused(reject.error)),
            Err(_) => Err(ClientError::UnexpectedStatus(response.status)),
        }
    }

    /// Fetches the announcement again for its current proof of work; true if it rose. The
    /// announcement is checked as on first contact and must name the same server key.
    async fn refresh_difficulty(&self) -> Result<bool, ClientError> {
        let info = fetch_info(&self.transport).await?;
        if info.validate()? != self.pubkey {
            return Err(ClientError::ServerKeyChanged);
        }
        let before = self
            .difficulty
            .fetch_max(info.pow_difficulty, Ordering::Relaxed);
        let raised = info.pow_difficulty > before;
        if raised {
            self.transport
                .progress(Progress::MoreWorkRequired(info.pow_difficulty));
        }
        Ok(raised)
    }
}

async fn fetch_info(transport: &impl Transport) -> Result<ServerInfo, ClientError> {
    let response = transport.get(WELL_KNOWN_PATH).await?;
    if response.status != 200 {
        return Err(ClientError::UnexpectedStatus(response.status));
    }
    parse_info(&response.body)
}

fn parse_info(body: &str) -> Result<ServerInfo, ClientError> {
    serde_json::from_str(body).map_err(|_| ClientError::UnexpectedReply)
}
