//! Sealing and opening request and reply events (NIP-44 v2 content, NIP-13 work, Schnorr
//! signatures). Pure functions: transports only move the JSON.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use nostr::event::{Event, EventId, FinalizeEvent, Tag, Tags, UnsignedEvent};
use nostr::key::{Keys, PublicKey};
use nostr::nips::nip44;
use nostr::nips::nip44::v2::ConversationKey;
use nostr::types::Timestamp;
use secp256k1::XOnlyPublicKey;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::event_json::{hex_public_key, parse_event};
use crate::kinds;
use crate::method::{Reply, Request};
use crate::padding::{REPLY_LEN, REQUEST_LEN, TooLong, pad};
use crate::pow::{Miner, nonce_at, nonce_tag};
use crate::signature::{SECP256K1, signature_holds};
use crate::validation::{CheckedRequest, check_fresh};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("could not encrypt the content: {0}")]
    Encrypt(String),
    #[error("could not sign the event: {0}")]
    Sign(String),
    #[error("no nonce in the searched range meets the target")]
    NonceNotFound,
    #[error("could not serialise the content: {0}")]
    Serialise(String),
    #[error(transparent)]
    TooLong(#[from] TooLong),
}

/// Why a received request could not be turned into a method call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenRequestError {
    /// Not NIP-44 v2 for this server: a plain 4xx, there is no one to encrypt an answer to.
    #[error("content is not NIP-44 encrypted to this server")]
    Undecryptable,
    /// Decrypted, but not a known method with valid params: an encrypted `invalid_request`.
    #[error("content is not a valid Sigil request")]
    InvalidRequest,
}

/// Why a client refuses a reply. Each is what a malicious server or relay could try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the reply is not a valid Nostr event")]
    Malformed,
    #[error("the reply is not a Sigil reply event")]
    WrongKind,
    #[error("the reply was not signed by the server")]
    NotFromServer,
    #[error("the reply signature or id is invalid")]
    BadSignature,
    #[error("the reply is addressed to someone else")]
    NotForUs,
    #[error("the reply answers a different request")]
    WrongRequest,
    #[error("the reply could not be decrypted")]
    Undecryptable,
    #[error("the reply content is not valid")]
    InvalidContent,
}

/// Unsigned template for a request: NIP-44 content and the `p` tag, ready for mining. It holds
/// nothing secret, so it can be handed to mining workers as JSON.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RequestDraft {
    #[serde(deserialize_with = "hex_public_key")]
    pub pubkey: PublicKey,
    pub created_at: Timestamp,
    pub tags: Tags,
    pub content: String,
    pub difficulty: u8,
}

impl RequestDraft {
    pub fn new(
        signer: &Keys,
        server: &PublicKey,
        request: &Request,
        difficulty: u8,
        created_at: Timestamp,
    ) -> Result<Self, SealError> {
        let json =
            serde_json::to_string(request).map_err(|e| SealError::Serialise(e.to_string()))?;
        let plaintext = pad(json, REQUEST_LEN)?;
        let content = nip44::encrypt(signer.secret_key(), server, plaintext, nip44::Version::V2)
            .map_err(|e| SealError::Encrypt(e.to_string()))?;
        Ok(Self {
            pubkey: signer.public_key(),
            created_at,
            tags: Tags::from_list(vec![Tag::public_key(*server)]),
            content,
            difficulty,
        })
    }

    pub fn miner(&self) -> Result<Miner, SealError> {
        Miner::new(
            &self.pubkey,
            self.created_at,
            kinds::request(),
            &self.tags,
            &self.content,
            self.difficulty,
        )
        .map_err(|e| SealError::Serialise(e.to_string()))
    }

    /// Searches the whole nonce space on the calling thread.
    pub fn mine_here(&self) -> Result<u64, SealError> {
        self.miner()?
            .search(0, u64::MAX)
            .map(|(offset, _)| nonce_at(offset))
            .ok_or(SealError::NonceNotFound)
    }

    /// Adds the found nonce and signs. The signer must be the key the draft was made for.
    pub fn finish(self, signer: &Keys, nonce: u64) -> Result<Event, SealError> {
        let mut tags = self.tags.to_vec();
        tags.push(nonce_tag(nonce, self.difficulty));
        UnsignedEvent::new(
            self.pubkey,
            self.created_at,
            kinds::request(),
            tags,
            self.content,
        )
        .finalize(signer)
        .map_err(|e| SealError::Sign(e.to_string()))
    }
}

/// Encrypts, mines and signs a request in one go, on the calling thread.
pub fn seal_request(
    signer: &Keys,
    server: &PublicKey,
    request: &Request,
    difficulty: u8,
    created_at: Timestamp,
) -> Result<Event, SealError> {
    let draft = RequestDraft::new(signer, server, request, difficulty, created_at)?;
    let nonce = draft.mine_here()?;
    draft.finish(signer, nonce)
}

/// The server's keys, with its x-only key kept as a curve point for the check of each reply
/// signature (nostr would lift it from its 32 bytes again for every reply).
#[derive(Debug, Clone)]
pub struct ServerKeys {
    keys: Keys,
    x_only: XOnlyPublicKey,
}

impl ServerKeys {
    pub fn new(keys: Keys) -> Self {
        let mut keypair = secp256k1::Keypair::from_secret_key(&SECP256K1, keys.secret_key());
        let (x_only, _) = keypair.x_only_public_key();
        keypair.non_secure_erase();
        Self { keys, x_only }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn public_key(&self) -> PublicKey {
        self.keys.public_key()
    }
}

/// The server's side of one request that passed [`crate::validation::check_request`]: the
/// NIP-44 conversation key with its sender, derived once (one ECDH, the costliest step after
/// the signature check) to open the request and to seal the reply.
pub struct Exchange<'a> {
    server: &'a ServerKeys,
    request: &'a Event,
    conversation: ConversationKey,
}

impl std::fmt::Debug for Exchange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("request", &self.request.id)
            .finish_non_exhaustive()
    }
}

impl<'a> Exchange<'a> {
    /// NIP-44 v2's conversation key, `ConversationKey::derive` with the sender's point as
    /// checked: HKDF-extract (salt "nip44-v2") of the x coordinate of the shared point.
    pub fn new(server: &'a ServerKeys, request: &'a CheckedRequest) -> Self {
        let shared = Zeroizing::new(secp256k1::ecdh::shared_secret_point(
            request.sender(),
            server.keys.secret_key(),
        ));
        let mut extract = <Hmac<Sha256> as KeyInit>::new_from_slice(b"nip44-v2")
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        extract.update(&shared[..32]);
        let key = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
        Self {
            server,
            request: request.event(),
            conversation: ConversationKey::new(*key),
        }
    }

    /// Decrypts and parses the request, which must be padded to [`REQUEST_LEN`].
    pub fn open(&self) -> Result<Request, OpenRequestError> {
        let plaintext = nip44_decrypt(&self.conversation, &self.request.content)
            .ok_or(OpenRequestError::Undecryptable)?;
        if plaintext.len() != REQUEST_LEN {
            return Err(OpenRequestError::InvalidRequest);
        }
        serde_json::from_slice(&plaintext).map_err(|_| OpenRequestError::InvalidRequest)
    }

    /// Encrypts `reply`, padded to [`REPLY_LEN`], to the sender of the request and signs it,
    /// bound to the request by an `e` tag.
    pub fn seal(&self, reply: &Reply) -> Result<Event, SealError> {
        let json = serde_json::to_string(reply).map_err(|e| SealError::Serialise(e.to_string()))?;
        let plaintext = pad(json, REPLY_LEN)?;
        let content = nip44_encrypt(&self.conversation, plaintext.as_bytes())?;
        let tags = Tags::from_list(vec![
            Tag::public_key(self.request.pubkey),
            Tag::event(self.request.id),
        ]);
        let (pubkey, created_at, kind) =
            (self.server.public_key(), Timestamp::now(), kinds::reply());
        let id = EventId::compute(&pubkey, &created_at, &kind, &tags, &content);
        // BIP-340's fresh auxiliary randomness, from the thread's CSPRNG: nostr's own signing
        // asks the system for it, a system call per reply.
        let sig =
            self.server
                .keys
                .sign_schnorr_with_aux_rand(&SECP256K1, id.as_bytes(), &rand::random());
        // BIP-340's check against faults: a wrong signature could leak the server's key.
        if !signature_holds(&sig, &id, &self.server.x_only) {
            return Err(SealError::Sign("the new signature does not verify".into()));
        }
        Ok(Event::new(id, pubkey, created_at, kind, tags, content, sig))
    }
}

/// NIP-44 v2 with a known conversation key: base64 of the payload nostr builds.
fn nip44_encrypt(conversation: &ConversationKey, plaintext: &[u8]) -> Result<String, SealError> {
    let payload = nip44::v2::encrypt_to_bytes_with_nonce(conversation, plaintext, rand::random())
        .map_err(|e| SealError::Encrypt(e.to_string()))?;
    Ok(BASE64.encode(payload))
}

/// The plaintext of a NIP-44 v2 payload, or None for anything else (another version, bad
/// base64, a failed MAC).
fn nip44_decrypt(conversation: &ConversationKey, payload: &str) -> Option<Vec<u8>> {
    // A leading '#' marks a payload of a version this code does not know.
    if payload.starts_with('#') {
        return None;
    }
    let payload = BASE64.decode(payload).ok()?;
    if payload.first() != Some(&nip44::Version::V2.as_u8()) {
        return None;
    }
    nip44::v2::decrypt_to_bytes(conversation, &payload).ok()
}

/// Checks that a reply comes from `server`, is for `me`, answers `request_id`, and decrypts it.
///
/// The `e` tag binding means a recorded reply cannot be replayed against a later request.
pub fn open_reply(
    me: &Keys,
    server: &PublicKey,
    request_id: &EventId,
    reply_json: &str,
) -> Result<Reply, ReplyError> {
    let event = parse_event(reply_json).map_err(|_| ReplyError::Malformed)?;
    if event.kind != kinds::reply() {
        return Err(ReplyError::WrongKind);
    }
    if event.pubkey != *server {
        return Err(ReplyError::NotFromServer);
    }
    if !event.verify_id() || !event.verify_signature() {
        return Err(ReplyError::BadSignature);
    }
    if !single_tag_is(&event, "p", &me.public_key().to_hex()) {
        return Err(ReplyError::NotForUs);
    }
    if !single_tag_is(&event, "e", &request_id.to_hex()) {
        return Err(ReplyError::WrongRequest);
    }
    let plaintext = nip44::decrypt(me.secret_key(), server, &event.content)
        .map_err(|_| ReplyError::Undecryptable)?;
    if plaintext.len() != REPLY_LEN {
        return Err(ReplyError::InvalidContent);
    }
    serde_json::from_str(&plaintext).map_err(|_| ReplyError::InvalidContent)
}

fn single_tag_is(event: &Event, kind: &str, value: &str) -> bool {
    let mut matching = event.tags.iter().filter(|tag| tag.kind() == kind);
    matches!((matching.next(), matching.next()), (Some(tag), None) if tag.content() == Some(value))
}

/// Proof that the holder of `account` controls it, made for the ephemeral session key.
pub fn sign_key_proof(
    account: &Keys,
    ephemeral: &PublicKey,
    created_at: Timestamp,
) -> Result<Event, SealError> {
    UnsignedEvent::new(
        account.public_key(),
        created_at,
        kinds::key_proof(),
        vec![Tag::public_key(*ephemeral)],
        "",
    )
    .finalize(account)
    .map_err(|e| SealError::Sign(e.to_string()))
}

/// Checks a key proof: signed by `account`, naming `ephemeral`, fresh.
pub fn verify_key_proof(
    proof_json: &str,
    account: &PublicKey,
    ephemeral: &PublicKey,
    now: Timestamp,
    window_secs: u64,
) -> bool {
    let Ok(proof) = parse_event(proof_json) else {
        return false;
    };
    proof.kind == kinds::key_proof()
        && proof.pubkey == *account
        && single_tag_is(&proof, "p", &ephemeral.to_hex())
        && check_fresh(proof.created_at, now, window_secs).is_ok()
        && proof.verify_id()
        && proof.verify_signature()
}
