//! Envelope version 3: the key sealed once under a random data key, and the data key wrapped in
//! one slot per way to unlock.
//!
//! ```text
//! vault      = XChaCha20-Poly1305(data key, nonce, secret key,
//!                                 "sigil/vault/v3" || pubkey || id || LE64(rev) || digest)
//! digest     = SHA-256("sigil/slots/v3" || for each slot: kind || LE16(|header|) || header
//!                                                          || nonce || wrapped)
//! wrapped    = XChaCha20-Poly1305(slot key, slot nonce, data key,
//!                                 "sigil/slot/v3" || pubkey || id || kind || header)
//! ```
//!
//! Each slot's associated data names the account and the envelope (`id`), so a slot cannot be
//! moved to another account or another envelope; the digest of every slot, in order, is bound
//! into the vault, so nobody without the data key can add, remove, reorder or alter a slot
//! without every unlock noticing; `rev` rises with every change, so a device that has seen a
//! revision can tell when a server hands back an older one.

use nostr::key::PublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Entropy, EnvelopeError, KdfParams, derive_key, kdf_salt, open_32, seal_32};
use crate::argon2id::FillLanes;
use crate::event_json::is_lower_hex;
use crate::recovery::RecoveryCode;
use crate::secret::{AccountSecret, Password};

pub(super) const VERSION: u8 = 3;
/// Passkeys one backup holds: with the password and recovery slots, the widest envelope still
/// fits a padded request (`shared/tests/sizes.rs`).
pub const MAX_PASSKEYS: usize = 4;
/// WebAuthn allows 1,023 bytes; authenticators in use make 16 to 64.
pub const MAX_CREDENTIAL_BYTES: usize = 128;
pub const MAX_PASSKEY_NAME_BYTES: usize = 48;
const ID_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const SEALED_LEN: usize = 32 + 16;

/// One way to unlock, as stored: what it is, and the data key wrapped under its secret.
// Read through [`AnySlot`] rather than as an internally tagged enum: serde buffers such an enum
// before it can pick the variant, which cost the vault's WebAssembly about 12 KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", try_from = "AnySlot")]
pub enum Slot {
    Password {
        kdf: KdfParams,
        nonce: String,
        wrapped: String,
    },
    Recovery {
        nonce: String,
        wrapped: String,
    },
    Passkey {
        /// The WebAuthn credential id, hex.
        credential: String,
        /// The user's label for it (UTF-8, no control characters).
        name: String,
        /// When it was added, seconds since the epoch.
        created: u64,
        /// The PRF extension's input for this credential, hex, 32 bytes.
        prf_salt: String,
        nonce: String,
        wrapped: String,
    },
}

/// Every member any slot has: parsed once (so a repeated or unknown member is refused), then
/// sorted by `kind`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnySlot {
    kind: SlotKind,
    kdf: Option<KdfParams>,
    credential: Option<String>,
    name: Option<String>,
    created: Option<u64>,
    prf_salt: Option<String>,
    nonce: String,
    wrapped: String,
}

impl TryFrom<AnySlot> for Slot {
    type Error = &'static str;

    fn try_from(any: AnySlot) -> Result<Self, Self::Error> {
        let AnySlot {
            kind,
            kdf,
            credential,
            name,
            created,
            prf_salt,
            nonce,
            wrapped,
        } = any;
        let passkey = (credential, name, created, prf_salt);
        match (kind, kdf, passkey) {
            (SlotKind::Password, Some(kdf), (None, None, None, None)) => Ok(Self::Password {
                kdf,
                nonce,
                wrapped,
            }),
            (SlotKind::Recovery, None, (None, None, None, None)) => {
                Ok(Self::Recovery { nonce, wrapped })
            }
            (
                SlotKind::Passkey,
                None,
                (Some(credential), Some(name), Some(created), Some(prf_salt)),
            ) => Ok(Self::Passkey {
                credential,
                name,
                created,
                prf_salt,
                nonce,
                wrapped,
            }),
            _ => Err("a slot has the members of its kind and no others"),
        }
    }
}

/// The kinds of slot, for counting and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotKind {
    Password,
    Recovery,
    Passkey,
}

impl std::fmt::Display for SlotKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Password => "password",
            Self::Recovery => "recovery code",
            Self::Passkey => "such passkey",
        })
    }
}

/// A passkey slot's public part: what the vault lists and what WebAuthn is asked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyInfo {
    pub credential: Vec<u8>,
    pub name: String,
    pub created: u64,
    pub prf_salt: [u8; 32],
}

impl PasskeyInfo {
    /// What the envelope's format allows: a credential of 1 to [`MAX_CREDENTIAL_BYTES`] bytes,
    /// a name of at most [`MAX_PASSKEY_NAME_BYTES`] without control characters.
    fn check(&self) -> Result<(), EnvelopeError> {
        if !(1..=MAX_CREDENTIAL_BYTES).contains(&self.credential.len()) {
            return Err(EnvelopeError::Malformed("credential"));
        }
        if self.name.len() > MAX_PASSKEY_NAME_BYTES || self.name.chars().any(char::is_control) {
            return Err(EnvelopeError::Malformed("name"));
        }
        Ok(())
    }
}

/// A slot's header: everything but its nonce and wrapped key, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Header {
    Password(KdfParams),
    Recovery,
    Passkey(PasskeyInfo),
}

impl Header {
    fn kind(&self) -> SlotKind {
        match self {
            Self::Password(_) => SlotKind::Password,
            Self::Recovery => SlotKind::Recovery,
            Self::Passkey(_) => SlotKind::Passkey,
        }
    }

    fn kind_byte(&self) -> u8 {
        match self {
            Self::Password(_) => 1,
            Self::Recovery => 2,
            Self::Passkey(_) => 3,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Password(kdf) => [kdf.m_kib, kdf.t, kdf.p]
                .iter()
                .flat_map(|n| n.to_le_bytes())
                .collect(),
            Self::Recovery => Vec::new(),
            Self::Passkey(info) => {
                let mut out =
                    Vec::with_capacity(32 + 8 + 2 + info.credential.len() + info.name.len());
                out.extend_from_slice(&info.prf_salt);
                out.extend_from_slice(&info.created.to_le_bytes());
                // Both lengths are checked against their maxima (under 256) before this.
                out.push(info.credential.len() as u8);
                out.extend_from_slice(&info.credential);
                out.push(info.name.len() as u8);
                out.extend_from_slice(info.name.as_bytes());
                out
            }
        }
    }
}

/// A slot after structural checks.
#[derive(Debug, Clone)]
struct Parsed {
    header: Header,
    nonce: [u8; NONCE_LEN],
    wrapped: [u8; SEALED_LEN],
}

impl Parsed {
    fn to_slot(&self) -> Slot {
        let (nonce, wrapped) = (hex::encode(self.nonce), hex::encode(self.wrapped));
        match &self.header {
            Header::Password(kdf) => Slot::Password {
                kdf: *kdf,
                nonce,
                wrapped,
            },
            Header::Recovery => Slot::Recovery { nonce, wrapped },
            Header::Passkey(info) => Slot::Passkey {
                credential: hex::encode(&info.credential),
                name: info.name.clone(),
                created: info.created,
                prf_salt: hex::encode(info.prf_salt),
                nonce,
                wrapped,
            },
        }
    }
}

impl Slot {
    fn kind(&self) -> SlotKind {
        match self {
            Self::Password { .. } => SlotKind::Password,
            Self::Recovery { .. } => SlotKind::Recovery,
            Self::Passkey { .. } => SlotKind::Passkey,
        }
    }

    fn parse(&self) -> Result<Parsed, EnvelopeError> {
        let (header, nonce, wrapped) = match self {
            Self::Password {
                kdf,
                nonce,
                wrapped,
            } => {
                kdf.check()?;
                (Header::Password(*kdf), nonce, wrapped)
            }
            Self::Recovery { nonce, wrapped } => (Header::Recovery, nonce, wrapped),
            Self::Passkey {
                credential,
                name,
                created,
                prf_salt,
                nonce,
                wrapped,
            } => {
                let credential = decode_hex_up_to(credential, MAX_CREDENTIAL_BYTES)
                    .ok_or(EnvelopeError::Malformed("credential"))?;
                let info = PasskeyInfo {
                    credential,
                    name: name.clone(),
                    created: *created,
                    prf_salt: decode_hex(prf_salt, "prf_salt")?,
                };
                info.check()?;
                (Header::Passkey(info), nonce, wrapped)
            }
        };
        Ok(Parsed {
            header,
            nonce: decode_hex(nonce, "nonce")?,
            wrapped: decode_hex(wrapped, "wrapped")?,
        })
    }
}

fn decode_hex<const N: usize>(hex: &str, field: &'static str) -> Result<[u8; N], EnvelopeError> {
    let mut bytes = [0u8; N];
    if !is_lower_hex(hex, N) || hex::decode_to_slice(hex, &mut bytes).is_err() {
        return Err(EnvelopeError::Malformed(field));
    }
    Ok(bytes)
}

fn decode_hex_up_to(hex: &str, max: usize) -> Option<Vec<u8>> {
    let len = hex.len() / 2;
    if !(1..=max).contains(&len) || !is_lower_hex(hex, len) {
        return None;
    }
    hex::decode(hex).ok()
}

/// The random key the account key is sealed under. Zeroized on drop, redacted in `Debug`.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    /// A fixed key, for known-answer tests.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }
}

crate::secret::redacted_debug!(DataKey, SlotSecret);

/// A slot's key: what the unlock method's secret derives, and what wraps the data key.
pub struct SlotSecret(Zeroizing<[u8; 32]>);

impl SlotSecret {
    /// Argon2id over the password, salted with the server's entropy and the account key; the
    /// slow step.
    pub fn password(
        password: &Password,
        entropy: &Entropy,
        pubkey: &PublicKey,
        kdf: &KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<Self, EnvelopeError> {
        let salt = kdf_salt(VERSION, entropy, pubkey)?;
        derive_key(password, &salt, kdf, lanes).map(Self)
    }

    /// The recovery code is 128 random bits: a hash is enough. The account key in it makes a
    /// guess good for one account only.
    pub fn recovery(pubkey: &PublicKey, code: &RecoveryCode) -> Self {
        Self::hashed(b"sigil/recovery-key/v3", pubkey, code.as_bytes())
    }

    /// From a passkey's WebAuthn PRF output for the slot's `prf_salt`.
    pub fn passkey(pubkey: &PublicKey, prf_output: &[u8; 32]) -> Self {
        Self::hashed(b"sigil/passkey-key/v3", pubkey, prf_output)
    }

    fn hashed(domain: &[u8], pubkey: &PublicKey, secret: &[u8]) -> Self {
        let digest = Sha256::new()
            .chain_update(domain)
            .chain_update(pubkey.to_bytes())
            .chain_update(secret)
            .finalize();
        Self(Zeroizing::new(digest.into()))
    }
}

/// How the user opens the backup.
pub enum Unlock<'a> {
    Password(&'a Password, &'a Entropy, &'a dyn FillLanes),
    Recovery(&'a RecoveryCode),
    /// The credential the browser used, and its PRF output for that slot's `prf_salt`.
    Passkey {
        credential: &'a [u8],
        prf_output: &'a [u8; 32],
    },
}

impl std::fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Password(..) => "Unlock::Password(<redacted>)",
            Self::Recovery(_) => "Unlock::Recovery(<redacted>)",
            Self::Passkey { .. } => "Unlock::Passkey(<redacted>)",
        })
    }
}

/// An opened version-3 envelope: the account key, and the data key that adds and removes slots.
#[derive(Debug)]
pub struct Opened {
    secret: AccountSecret,
    data_key: DataKey,
    id: [u8; ID_LEN],
}

impl Opened {
    pub fn secret(&self) -> &AccountSecret {
        &self.secret
    }

    pub fn into_secret(self) -> AccountSecret {
        self.secret
    }
}

/// The backup as stored by the server and kept in the browser (version 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotEnvelope {
    pub v: u8,
    /// Hex x-only public key of the account.
    pub pubkey: String,
    /// Hex, 16 random bytes naming this envelope; slots are bound to it.
    pub id: String,
    /// Revision, from 1, raised by every change.
    pub rev: u64,
    /// Hex, 24 bytes: the vault's nonce.
    pub nonce: String,
    /// Hex, the 32-byte secret key sealed under the data key, and the 16-byte tag.
    pub ciphertext: String,
    pub slots: Vec<Slot>,
}

/// An envelope after structural checks.
struct ParsedEnvelope {
    pubkey: PublicKey,
    id: [u8; ID_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: [u8; SEALED_LEN],
    slots: Vec<Parsed>,
}

fn slot_aad(pubkey: &PublicKey, id: &[u8; ID_LEN], header: &Header) -> Vec<u8> {
    let mut aad = b"sigil/slot/v3".to_vec();
    aad.extend_from_slice(&pubkey.to_bytes());
    aad.extend_from_slice(id);
    aad.push(header.kind_byte());
    aad.extend_from_slice(&header.bytes());
    aad
}

fn slots_digest(slots: &[Parsed]) -> [u8; 32] {
    let mut hash = Sha256::new().chain_update(b"sigil/slots/v3");
    for slot in slots {
        let header = slot.header.bytes();
        // Headers are at most 32 + 8 + 2 + 128 + 64 bytes.
        let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
        hash.update([slot.header.kind_byte()]);
        hash.update(len.to_le_bytes());
        hash.update(&header);
        hash.update(slot.nonce);
        hash.update(slot.wrapped);
    }
    hash.finalize().into()
}

fn vault_aad(pubkey: &PublicKey, id: &[u8; ID_LEN], rev: u64, slots: &[Parsed]) -> Vec<u8> {
    let mut aad = b"sigil/vault/v3".to_vec();
    aad.extend_from_slice(&pubkey.to_bytes());
    aad.extend_from_slice(id);
    aad.extend_from_slice(&rev.to_le_bytes());
    aad.extend_from_slice(&slots_digest(slots));
    aad
}

/// A new slot of `header` wrapping `data_key` under `secret`, for the envelope `id` of `pubkey`.
fn wrap(
    header: Header,
    secret: &SlotSecret,
    nonce: [u8; NONCE_LEN],
    pubkey: &PublicKey,
    id: &[u8; ID_LEN],
    data_key: &DataKey,
) -> Parsed {
    let wrapped = seal_32(
        &secret.0,
        &nonce,
        &data_key.0,
        &slot_aad(pubkey, id, &header),
    );
    Parsed {
        header,
        nonce,
        wrapped,
    }
}

/// What a new slot is: the public part of its header.
#[derive(Debug)]
pub enum NewSlot {
    Password(KdfParams),
    Recovery,
    Passkey(PasskeyInfo),
}

impl SlotEnvelope {
    /// A new envelope for `secret` with one slot, the password's, under a fresh data key and id.
    pub fn create(
        secret: &AccountSecret,
        password: &Password,
        entropy: &Entropy,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<(Self, Opened), EnvelopeError> {
        kdf.check()?;
        let pubkey = secret.public_key();
        let slot_secret = SlotSecret::password(password, entropy, &pubkey, &kdf, lanes)?;
        let data_key = DataKey::generate();
        let id: [u8; ID_LEN] = rand::random();
        let envelope = Self::assemble(
            secret,
            &data_key,
            id,
            1,
            rand::random(),
            &[(NewSlot::Password(kdf), &slot_secret, rand::random())],
        )?;
        let secret =
            AccountSecret::from_bytes(&secret.expose()).map_err(|_| EnvelopeError::ForeignKey)?;
        Ok((
            envelope,
            Opened {
                secret,
                data_key,
                id,
            },
        ))
    }

    /// Deterministic sealing from every input, for known-answer tests: never reuse a nonce
    /// with the same key.
    pub fn assemble(
        secret: &AccountSecret,
        data_key: &DataKey,
        id: [u8; ID_LEN],
        rev: u64,
        nonce: [u8; NONCE_LEN],
        slots: &[(NewSlot, &SlotSecret, [u8; NONCE_LEN])],
    ) -> Result<Self, EnvelopeError> {
        let pubkey = secret.public_key();
        let mut wrapped = Vec::with_capacity(slots.len());
        for (new, slot_secret, slot_nonce) in slots {
            let header = match new {
                NewSlot::Password(kdf) => Header::Password(*kdf),
                NewSlot::Recovery => Header::Recovery,
                NewSlot::Passkey(info) => {
                    info.check()?;
                    Header::Passkey(info.clone())
                }
            };
            wrapped.push(wrap(
                header,
                slot_secret,
                *slot_nonce,
                &pubkey,
                &id,
                data_key,
            ));
        }
        Self::seal_vault(secret, data_key, id, rev, nonce, wrapped)
    }

    fn seal_vault(
        secret: &AccountSecret,
        data_key: &DataKey,
        id: [u8; ID_LEN],
        rev: u64,
        nonce: [u8; NONCE_LEN],
        slots: Vec<Parsed>,
    ) -> Result<Self, EnvelopeError> {
        let pubkey = secret.public_key();
        check_slot_counts(slots.iter().map(|s| &s.header))?;
        let aad = vault_aad(&pubkey, &id, rev, &slots);
        let ciphertext = seal_32(&data_key.0, &nonce, &secret.expose(), &aad);
        Ok(Self {
            v: VERSION,
            pubkey: pubkey.to_hex(),
            id: hex::encode(id),
            rev,
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
            slots: slots.iter().map(Parsed::to_slot).collect(),
        })
    }

    fn parse(&self) -> Result<ParsedEnvelope, EnvelopeError> {
        if self.v != VERSION {
            return Err(EnvelopeError::UnsupportedVersion(self.v));
        }
        if !is_lower_hex(&self.pubkey, 32) {
            return Err(EnvelopeError::Malformed("pubkey"));
        }
        let pubkey =
            PublicKey::from_hex(&self.pubkey).map_err(|_| EnvelopeError::Malformed("pubkey"))?;
        if self.rev == 0 {
            return Err(EnvelopeError::Malformed("rev"));
        }
        let mut slots = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            slots.push(slot.parse()?);
        }
        check_slot_counts(slots.iter().map(|s| &s.header))?;
        Ok(ParsedEnvelope {
            pubkey,
            id: decode_hex(&self.id, "id")?,
            nonce: decode_hex(&self.nonce, "nonce")?,
            ciphertext: decode_hex(&self.ciphertext, "ciphertext")?,
            slots,
        })
    }

    /// Structural validation without any secret; returns the account key.
    pub fn validate(&self) -> Result<PublicKey, EnvelopeError> {
        self.parse().map(|parsed| parsed.pubkey)
    }

    /// The password slot's Argon2id parameters.
    pub fn password_kdf(&self) -> Option<KdfParams> {
        self.slots.iter().find_map(|slot| match slot {
            Slot::Password { kdf, .. } => Some(*kdf),
            _ => None,
        })
    }

    pub fn has(&self, kind: SlotKind) -> bool {
        self.slots.iter().any(|slot| slot.kind() == kind)
    }

    /// The passkeys that open this envelope, in order.
    pub fn passkeys(&self) -> Vec<PasskeyInfo> {
        let Ok(parsed) = self.parse() else {
            return Vec::new();
        };
        parsed
            .slots
            .into_iter()
            .filter_map(|slot| match slot.header {
                Header::Passkey(info) => Some(info),
                _ => None,
            })
            .collect()
    }

    /// Opens the envelope with one of its secrets. A secret its slot refuses is a wrong one (or
    /// the slot was altered); a slot that opens but a vault that does not means the list of slots
    /// was changed by someone without the data key.
    pub fn open(&self, unlock: &Unlock<'_>) -> Result<Opened, EnvelopeError> {
        let parsed = self.parse()?;
        let pubkey = parsed.pubkey;
        let found = |wanted: &dyn Fn(&Header) -> bool, kind| {
            parsed
                .slots
                .iter()
                .find(|slot| wanted(&slot.header))
                .ok_or(EnvelopeError::NoSlot(kind))
        };
        let (slot, slot_secret, refused) = match unlock {
            Unlock::Password(password, entropy, lanes) => {
                let slot = found(&|h| matches!(h, Header::Password(_)), SlotKind::Password)?;
                let Header::Password(kdf) = &slot.header else {
                    return Err(EnvelopeError::NoSlot(SlotKind::Password));
                };
                let secret = SlotSecret::password(password, entropy, &pubkey, kdf, *lanes)?;
                (slot, secret, EnvelopeError::WrongPasswordOrTampered)
            }
            Unlock::Recovery(code) => {
                let slot = found(&|h| matches!(h, Header::Recovery), SlotKind::Recovery)?;
                let secret = SlotSecret::recovery(&pubkey, code);
                (slot, secret, EnvelopeError::WrongRecoveryCode)
            }
            Unlock::Passkey {
                credential,
                prf_output,
            } => {
                let is_this =
                    |h: &Header| matches!(h, Header::Passkey(i) if i.credential == *credential);
                let slot = found(&is_this, SlotKind::Passkey)?;
                let secret = SlotSecret::passkey(&pubkey, prf_output);
                (slot, secret, EnvelopeError::PasskeyRefused)
            }
        };
        let aad = slot_aad(&pubkey, &parsed.id, &slot.header);
        let data_key = open_32(&slot_secret.0, &slot.nonce, &slot.wrapped, &aad).ok_or(refused)?;
        let data_key = DataKey(data_key);
        let aad = vault_aad(&pubkey, &parsed.id, self.rev, &parsed.slots);
        let key = open_32(&data_key.0, &parsed.nonce, &parsed.ciphertext, &aad)
            .ok_or(EnvelopeError::SlotsAltered)?;
        let secret = AccountSecret::from_bytes(&key).map_err(|_| EnvelopeError::ForeignKey)?;
        if secret.public_key() != pubkey {
            return Err(EnvelopeError::ForeignKey);
        }
        Ok(Opened {
            secret,
            data_key,
            id: parsed.id,
        })
    }

    /// This envelope with the password slot replaced: the old password no longer opens it.
    pub fn with_password(
        &self,
        opened: &Opened,
        password: &Password,
        entropy: &Entropy,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<Self, EnvelopeError> {
        kdf.check()?;
        let pubkey = opened.secret.public_key();
        let secret = SlotSecret::password(password, entropy, &pubkey, &kdf, lanes)?;
        self.rewrite(opened, |slots, new| {
            let slot = new(Header::Password(kdf), &secret);
            match slots
                .iter()
                .position(|s| s.header.kind() == SlotKind::Password)
            {
                Some(i) => slots[i] = slot,
                None => slots.insert(0, slot),
            }
            Ok(())
        })
    }

    /// This envelope with `code` as its recovery code, in place of any earlier one.
    pub fn with_recovery(
        &self,
        opened: &Opened,
        code: &RecoveryCode,
    ) -> Result<Self, EnvelopeError> {
        let secret = SlotSecret::recovery(&opened.secret.public_key(), code);
        self.rewrite(opened, |slots, new| {
            let slot = new(Header::Recovery, &secret);
            match slots
                .iter()
                .position(|s| s.header.kind() == SlotKind::Recovery)
            {
                Some(i) => slots[i] = slot,
                None => slots.push(slot),
            }
            Ok(())
        })
    }

    /// This envelope with one more passkey (or the same credential's slot replaced).
    pub fn with_passkey(
        &self,
        opened: &Opened,
        info: PasskeyInfo,
        prf_output: &[u8; 32],
    ) -> Result<Self, EnvelopeError> {
        info.check()?;
        let secret = SlotSecret::passkey(&opened.secret.public_key(), prf_output);
        self.rewrite(opened, |slots, new| {
            slots.retain(
                |s| !matches!(&s.header, Header::Passkey(i) if i.credential == info.credential),
            );
            slots.push(new(Header::Passkey(info), &secret));
            Ok(())
        })
    }

    /// This envelope without the passkey `credential`: it no longer opens it.
    pub fn without_passkey(
        &self,
        opened: &Opened,
        credential: &[u8],
    ) -> Result<Self, EnvelopeError> {
        self.rewrite(opened, |slots, _| {
            let before = slots.len();
            slots
                .retain(|s| !matches!(&s.header, Header::Passkey(i) if i.credential == credential));
            if slots.len() == before {
                return Err(EnvelopeError::NoSlot(SlotKind::Passkey));
            }
            Ok(())
        })
    }

    /// The next revision: `edit` changes the slot list (making new slots with the function it is
    /// handed), and the vault is sealed again over it under a fresh nonce.
    fn rewrite(
        &self,
        opened: &Opened,
        edit: impl FnOnce(
            &mut Vec<Parsed>,
            &dyn Fn(Header, &SlotSecret) -> Parsed,
        ) -> Result<(), EnvelopeError>,
    ) -> Result<Self, EnvelopeError> {
        let parsed = self.parse()?;
        let pubkey = opened.secret.public_key();
        if parsed.id != opened.id || parsed.pubkey != pubkey {
            return Err(EnvelopeError::OtherEnvelope);
        }
        let mut slots = parsed.slots;
        let new = |header: Header, secret: &SlotSecret| {
            wrap(
                header,
                secret,
                rand::random(),
                &pubkey,
                &opened.id,
                &opened.data_key,
            )
        };
        edit(&mut slots, &new)?;
        let rev = self
            .rev
            .checked_add(1)
            .ok_or(EnvelopeError::Malformed("rev"))?;
        Self::seal_vault(
            &opened.secret,
            &opened.data_key,
            opened.id,
            rev,
            rand::random(),
            slots,
        )
    }
}

/// One password slot, at most one recovery code, at most [`MAX_PASSKEYS`] passkeys with
/// distinct credentials.
fn check_slot_counts<'a>(headers: impl Iterator<Item = &'a Header>) -> Result<(), EnvelopeError> {
    let (mut passwords, mut recoveries) = (0, 0);
    let mut credentials: Vec<&[u8]> = Vec::new();
    for header in headers {
        match header {
            Header::Password(_) => passwords += 1,
            Header::Recovery => recoveries += 1,
            Header::Passkey(info) => {
                if credentials.contains(&info.credential.as_slice()) {
                    return Err(EnvelopeError::Malformed("slots"));
                }
                credentials.push(&info.credential);
            }
        }
    }
    if credentials.len() > MAX_PASSKEYS {
        return Err(EnvelopeError::TooManyPasskeys);
    }
    if passwords != 1 || recoveries > 1 {
        return Err(EnvelopeError::Malformed("slots"));
    }
    Ok(())
}
