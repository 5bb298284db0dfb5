//! A validated connection to one Sigil server: discovery, then sealed request/reply calls.

use serde::de::DeserializeOwned;
use sigil_shared::dvm::{self};
use sigil_shared::error::RejectBody;
use sigil_shared::info::{EVENTS_PATH, ServerInfo, WELL_KNOWN_PATH};
use sigil_shared::method::Request;
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;

use crate::error::ClientError;
use crate::transport::{Progress, Transport};

#[derive(Debug)]
pub struct Server<T> {
    transport: T,
    info: ServerInfo,
    pubkey: PublicKey,
}

impl<T: Transport> Server<T> {
    /// Fetches and checks the well-known document. A server that announces weak KDF parameters,
    /// unbounded proof of work or another protocol version is refused here.
    pub async fn connect(transport: T) -> Result<Self, ClientError> {
        let response = transport.get(WELL_KNOWN_PATH).await?;
        if response.status != 200 {
            return Err(ClientError::UnexpectedStatus(response.status));
        }
        let info: ServerInfo =
            serde_json::from_str(&response.body).map_err(|_| ClientError::UnexpectedReply)?;
        Self::from_saved(transport, info)
    }

    /// A server known from an earlier visit, for working offline: the saved well-known document
    /// is checked again, as if it had just been fetched.
    pub fn from_saved(transport: T, info: ServerInfo) -> Result<Self, ClientError> {
        let pubkey = info.validate()?;
        Ok(Self {
            transport,
            info,
            pubkey,
        })
    }

    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// Passes a progress step to whoever shows it.
    pub fn progress(&self, progress: Progress) {
        self.transport.progress(progress);
    }

    pub fn pubkey(&self) -> &PublicKey {
        &self.pubkey
    }

    /// Seals `request` with `signer`, sends it and opens the reply as `R`.
    pub async fn call<R: DeserializeOwned>(
        &self,
        signer: &Keys,
        request: &Request,
    ) -> Result<R, ClientError> {
        let draft = dvm::RequestDraft::new(
            signer,
            &self.pubkey,
            request,
            self.info.pow_difficulty,
            Timestamp::now(),
        )?;
        let nonce = self.transport.mine(&draft).await?;
        let event = draft.finish(signer, nonce)?;
        self.transport.progress(Progress::Sending);
        let response = self
            .transport
            .post_json(EVENTS_PATH, event.as_json())
            .await?;
        match response.status {
            200 => {
                let reply = dvm::open_reply(signer, &self.pubkey, &event.id, &response.body)?;
                reply
                    .into_result::<R>()
                    .map_err(|_| ClientError::UnexpectedReply)?
                    .map_err(ClientError::Server)
            }
            status => match serde_json::from_str::<RejectBody>(&response.body) {
                Ok(reject) => Err(ClientError::Rejected(reject.error)),
                Err(_) => Err(ClientError::UnexpectedStatus(status)),
            },
        }
    }
}
