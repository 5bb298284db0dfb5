//! The backup envelope: the only form in which an account key leaves the browser.
//!
//! Version 3 ([`SlotEnvelope`], every new backup) seals the key once under a random data key and
//! wraps that data key in one slot per way to unlock: the password, a recovery code, passkeys.
//! Versions 1 and 2 ([`PasswordEnvelope`]) sealed the key under the password alone; they are
//! still opened, and sealed again as version 3 at the next unlock. `docs/protocol.md` specifies
//! every version byte by byte.

mod password;
mod slots;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use nostr::key::PublicKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::argon2id::FillLanes;
use crate::error::BackupProblem;
use crate::event_json::is_lower_hex;
use crate::secret::{AccountSecret, Password};

pub use password::PasswordEnvelope;
pub use slots::{
    DataKey, MAX_CREDENTIAL_BYTES, MAX_PASSKEY_NAME_BYTES, MAX_PASSKEYS, NewSlot, Opened,
    PasskeyInfo, Slot, SlotEnvelope, SlotKind, SlotSecret, Unlock,
};

/// The version new backups are sealed with.
pub const ENVELOPE_VERSION: u8 = 3;

/// A backup envelope of any version, as the server stores it and the browser keeps it: opaque
/// without one of its secrets. Serialised as the JSON object of its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, try_from = "AnyEnvelope")]
pub enum BackupEnvelope {
    /// Versions 1 and 2 (and, until [`Self::validate`] refuses it, any unknown version).
    Password(PasswordEnvelope),
    /// Version 3.
    Slots(SlotEnvelope),
}

/// Every member any version has: parsed once (so a repeated or unknown member is refused), then
/// sorted by `v` into the version's own type.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnyEnvelope {
    v: u8,
    pubkey: String,
    kdf: Option<KdfParams>,
    id: Option<String>,
    rev: Option<u64>,
    nonce: String,
    ciphertext: String,
    slots: Option<Vec<Slot>>,
}

impl TryFrom<AnyEnvelope> for BackupEnvelope {
    type Error = &'static str;

    fn try_from(any: AnyEnvelope) -> Result<Self, Self::Error> {
        let AnyEnvelope {
            v,
            pubkey,
            kdf,
            id,
            rev,
            nonce,
            ciphertext,
            slots,
        } = any;
        if v == slots::VERSION {
            match (kdf, id, rev, slots) {
                (None, Some(id), Some(rev), Some(slots)) => Ok(Self::Slots(SlotEnvelope {
                    v,
                    pubkey,
                    id,
                    rev,
                    nonce,
                    ciphertext,
                    slots,
                })),
                _ => Err("an envelope of version 3 has `id`, `rev` and `slots`, and no `kdf`"),
            }
        } else {
            match (kdf, id, rev, slots) {
                (Some(kdf), None, None, None) => Ok(Self::Password(PasswordEnvelope {
                    v,
                    pubkey,
                    kdf,
                    nonce,
                    ciphertext,
                })),
                _ => Err("an envelope of version 1 or 2 has `kdf`, and no `id`, `rev` or `slots`"),
            }
        }
    }
}

impl BackupEnvelope {
    /// A new version-3 envelope for `secret` with one slot, the password's (see
    /// [`SlotEnvelope::create`], which also gives the data key to add slots with).
    pub fn seal(
        secret: &AccountSecret,
        password: &Password,
        entropy: &Entropy,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<Self, EnvelopeError> {
        SlotEnvelope::create(secret, password, entropy, kdf, lanes).map(|(e, _)| Self::Slots(e))
    }

    pub fn version(&self) -> u8 {
        match self {
            Self::Password(e) => e.v,
            Self::Slots(e) => e.v,
        }
    }

    /// Structural validation without any secret: a known version, parameters within the floor
    /// and ceiling, lowercase hex of the exact lengths, slots as the version allows. Returns the
    /// account key.
    pub fn validate(&self) -> Result<PublicKey, EnvelopeError> {
        match self {
            Self::Password(e) => e.validate(),
            Self::Slots(e) => e.validate(),
        }
    }

    /// What a server checks before it stores an upload for `account`: a valid envelope of the
    /// current version, holding `account`'s key, with the password slot's memory and passes at
    /// least `announced` (the floor is only for reading old backups).
    pub fn check_upload(
        &self,
        account: &PublicKey,
        announced: &KdfParams,
    ) -> Result<(), BackupProblem> {
        let pubkey = self.validate().map_err(|_| BackupProblem::Malformed)?;
        let Self::Slots(envelope) = self else {
            return Err(BackupProblem::OutdatedVersion);
        };
        let kdf = envelope.password_kdf().ok_or(BackupProblem::Malformed)?;
        if kdf.m_kib < announced.m_kib || kdf.t < announced.t {
            return Err(BackupProblem::WeakKdf);
        }
        if pubkey != *account {
            return Err(BackupProblem::ForeignKey);
        }
        Ok(())
    }

    /// Whether this envelope is of an earlier version, to be sealed again at the next unlock.
    pub fn is_outdated(&self) -> bool {
        self.version() < ENVELOPE_VERSION
    }

    /// Opens with the password, whatever the version.
    pub fn open_with_password(
        &self,
        password: &Password,
        entropy: &Entropy,
        lanes: &dyn FillLanes,
    ) -> Result<OpenedBackup, EnvelopeError> {
        match self {
            Self::Password(e) => e.open(password, entropy, lanes).map(OpenedBackup::Legacy),
            Self::Slots(e) => e
                .open(&Unlock::Password(password, entropy, lanes))
                .map(OpenedBackup::Slots),
        }
    }

    /// The account key, opened with the password, whatever the version.
    pub fn open(
        &self,
        password: &Password,
        entropy: &Entropy,
        lanes: &dyn FillLanes,
    ) -> Result<AccountSecret, EnvelopeError> {
        self.open_with_password(password, entropy, lanes)
            .map(OpenedBackup::into_secret)
    }

    /// Like [`Self::open`], but also refuses a backup that belongs to another account: what a
    /// client uses when a server hands it a backup for a key it already knows.
    pub fn open_for(
        &self,
        expected: &PublicKey,
        password: &Password,
        entropy: &Entropy,
        lanes: &dyn FillLanes,
    ) -> Result<AccountSecret, EnvelopeError> {
        if self.validate()? != *expected {
            return Err(EnvelopeError::ForeignKey);
        }
        self.open(password, entropy, lanes)
    }

    /// Whether `self`, offered by a server, is older than `known`, a backup of the same account
    /// this device has held: an envelope of an earlier version, or the same version-3 envelope
    /// at an earlier revision. Only a hostile or broken server hands one back.
    pub fn is_rollback_of(&self, known: &Self) -> bool {
        match (self, known) {
            (Self::Slots(offered), Self::Slots(known)) => {
                offered.id == known.id && offered.rev < known.rev
            }
            _ => self.version() < known.version(),
        }
    }
}

/// What the password opened: an older envelope gives the key alone; a version-3 envelope also
/// its data key, to change its slots.
#[derive(Debug)]
pub enum OpenedBackup {
    Legacy(AccountSecret),
    Slots(Opened),
}

impl OpenedBackup {
    pub fn secret(&self) -> &AccountSecret {
        match self {
            Self::Legacy(secret) => secret,
            Self::Slots(opened) => opened.secret(),
        }
    }

    pub fn into_secret(self) -> AccountSecret {
        match self {
            Self::Legacy(secret) => secret,
            Self::Slots(opened) => opened.into_secret(),
        }
    }
}

/// The KDF salt of the password in an envelope of version `v` for the account `pubkey`, as the
/// envelope's specification defines it (for known-answer tests and other implementations).
pub fn kdf_salt(v: u8, entropy: &Entropy, pubkey: &PublicKey) -> Result<[u8; 32], EnvelopeError> {
    let (domain, with_pubkey): (&[u8], bool) = match v {
        1 => (b"sigil/kdf-salt/v1", false),
        2 => (b"sigil/kdf-salt/v2", true),
        3 => (b"sigil/kdf-salt/v3", true),
        other => return Err(EnvelopeError::UnsupportedVersion(other)),
    };
    let mut hash = Sha256::new().chain_update(domain).chain_update(entropy.0);
    if with_pubkey {
        hash.update(pubkey.to_bytes());
    }
    Ok(hash.finalize().into())
}

/// XChaCha20-Poly1305 of a 32-byte secret (an account key or a data key) under `key`.
fn seal_32(key: &[u8; 32], nonce: &[u8; 24], secret: &[u8; 32], aad: &[u8]) -> [u8; 48] {
    let mut out = [0u8; 48];
    // Encryption fails only on messages beyond 256 GiB.
    if let Ok(sealed) = XChaCha20Poly1305::new(key.into())
        .encrypt(XNonce::from_slice(nonce), Payload { msg: secret, aad })
    {
        out.copy_from_slice(&sealed);
    }
    out
}

/// The 32-byte secret [`seal_32`] sealed, or `None` if the tag does not verify.
fn open_32(
    key: &[u8; 32],
    nonce: &[u8; 24],
    sealed: &[u8; 48],
    aad: &[u8],
) -> Option<Zeroizing<[u8; 32]>> {
    let plain = Zeroizing::new(
        XChaCha20Poly1305::new(key.into())
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad })
            .ok()?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(plain.get(..32)?);
    Some(out)
}

/// Server-issued per-account randomness that salts the password KDF. Serialised as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entropy(pub [u8; 32]);

impl Serialize for Entropy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Entropy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = String::deserialize(deserializer)?;
        Self::from_hex(&hex).map_err(serde::de::Error::custom)
    }
}

impl Entropy {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    pub fn from_hex(hex: &str) -> Result<Self, EnvelopeError> {
        if !is_lower_hex(hex, 32) {
            return Err(EnvelopeError::Malformed("entropy"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex, &mut bytes).map_err(|_| EnvelopeError::Malformed("entropy"))?;
        Ok(Self(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KdfAlgorithm {
    Argon2id,
}

/// Argon2id cost parameters, as carried in an envelope and announced by a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    pub alg: KdfAlgorithm,
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// RFC 9106 section 4, second recommended option; Bitwarden's default.
    pub const DEFAULT: Self = Self::argon2id(64 * 1024, 3, 4);
    /// OWASP Password Storage Cheat Sheet minimum for Argon2id (19 MiB, t=2, p=1). Below this a
    /// stolen backup is too cheap to brute-force, so a client refuses to seal or open with less.
    pub const FLOOR: Self = Self::argon2id(19 * 1024, 2, 1);
    /// Above this a phone browser runs out of memory or the user gives up waiting: a malicious
    /// server must not be able to stall a client by announcing huge costs.
    pub const CEILING: Self = Self::argon2id(256 * 1024, 10, 16);

    pub const fn argon2id(m_kib: u32, t: u32, p: u32) -> Self {
        Self {
            alg: KdfAlgorithm::Argon2id,
            m_kib,
            t,
            p,
        }
    }

    /// Within [`Self::FLOOR`] and [`Self::CEILING`], and acceptable to Argon2 itself.
    pub fn check(&self) -> Result<(), EnvelopeError> {
        let (lo, hi) = (Self::FLOOR, Self::CEILING);
        let in_range = (lo.m_kib..=hi.m_kib).contains(&self.m_kib)
            && (lo.t..=hi.t).contains(&self.t)
            && (lo.p..=hi.p).contains(&self.p)
            // Argon2 needs at least 8 KiB per lane.
            && self.m_kib >= 8 * self.p;
        if in_range {
            Ok(())
        } else {
            Err(EnvelopeError::KdfParamsOutOfRange(*self))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("wrong password, or the backup was altered")]
    WrongPasswordOrTampered,
    #[error("wrong recovery code, or the backup was altered")]
    WrongRecoveryCode,
    #[error("this passkey does not open the backup")]
    PasskeyRefused,
    #[error("this backup has no {0}")]
    NoSlot(SlotKind),
    #[error("the backup's list of ways to unlock was changed by someone without the key")]
    SlotsAltered,
    #[error("this unlocked key belongs to another backup")]
    OtherEnvelope,
    #[error("a backup has at most {MAX_PASSKEYS} passkeys")]
    TooManyPasskeys,
    #[error("backup envelope version {0} is not supported by this client")]
    UnsupportedVersion(u8),
    #[error("key derivation parameters {0:?} are outside the accepted range")]
    KdfParamsOutOfRange(KdfParams),
    #[error("backup envelope field `{0}` is malformed")]
    Malformed(&'static str),
    #[error("the backup holds a key for a different account")]
    ForeignKey,
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// Argon2id over the NFKC password and `salt` (see [`kdf_salt`]), its memory filled by
/// `lanes`; the slow step (hundreds of milliseconds by design).
pub fn derive_key(
    password: &Password,
    salt: &[u8; 32],
    kdf: &KdfParams,
    lanes: &dyn FillLanes,
) -> Result<Zeroizing<[u8; 32]>, EnvelopeError> {
    kdf.check()?;
    let mut key = Zeroizing::new([0u8; 32]);
    crate::argon2id::hash(
        password.as_bytes(),
        salt,
        kdf.m_kib,
        kdf.t,
        kdf.p,
        key.as_mut_slice(),
        lanes,
    )
    .map_err(|e| EnvelopeError::Kdf(e.to_string()))?;
    Ok(key)
}
