//! The backup envelope: the only form in which an account key leaves the browser.
//!
//! Version 2 (every new backup):
//! salt       = SHA-256("sigil/kdf-salt/v2" || server entropy || pubkey)
//! key        = Argon2id(NFKC(password), salt)
//! ciphertext = XChaCha20-Poly1305(key, nonce, secret key bytes, aad)
//! aad        = "sigil/backup/v2" || pubkey || m_kib || t || p   (integers little-endian u32)
//!
//! Version 1 (still opened, and sealed again as version 2 at the next unlock) salted with the
//! server's entropy alone, SHA-256("sigil/kdf-salt/v1" || entropy), and used the domain
//! "sigil/backup/v1": a server that gave every account the same entropy could test one password
//! guess against every backup at once. Mixing in the account's key makes each salt its own.
//!
//! The envelope names its own KDF parameters so old backups stay readable when defaults rise, and
//! binds them and the pubkey into the AEAD so neither can be swapped without detection.

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

/// The version new backups are sealed with.
pub const ENVELOPE_VERSION: u8 = 2;
const NONCE_LEN: usize = 24;
const CIPHERTEXT_LEN: usize = 32 + 16;

/// The envelope versions this code opens, and what differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Version {
    fn of(v: u8) -> Result<Self, EnvelopeError> {
        match v {
            1 => Ok(Self::V1),
            2 => Ok(Self::V2),
            other => Err(EnvelopeError::UnsupportedVersion(other)),
        }
    }

    fn salt(self, entropy: &Entropy, pubkey: &PublicKey) -> [u8; 32] {
        let hash = Sha256::new();
        let hash = match self {
            Self::V1 => hash
                .chain_update(b"sigil/kdf-salt/v1")
                .chain_update(entropy.0),
            Self::V2 => hash
                .chain_update(b"sigil/kdf-salt/v2")
                .chain_update(entropy.0)
                .chain_update(pubkey.to_bytes()),
        };
        hash.finalize().into()
    }

    fn aad(self, pubkey: &PublicKey, kdf: &KdfParams) -> Vec<u8> {
        let domain: &[u8] = match self {
            Self::V1 => b"sigil/backup/v1",
            Self::V2 => b"sigil/backup/v2",
        };
        let mut aad = Vec::with_capacity(domain.len() + 32 + 12);
        aad.extend_from_slice(domain);
        aad.extend_from_slice(&pubkey.to_bytes());
        for n in [kdf.m_kib, kdf.t, kdf.p] {
            aad.extend_from_slice(&n.to_le_bytes());
        }
        aad
    }
}

/// The KDF salt of an envelope of version `v` for the account `pubkey`, as the envelope's
/// specification defines it (for known-answer tests and other implementations).
pub fn kdf_salt(v: u8, entropy: &Entropy, pubkey: &PublicKey) -> Result<[u8; 32], EnvelopeError> {
    Ok(Version::of(v)?.salt(entropy, pubkey))
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

/// The backup as stored by the server and kept in the browser: opaque without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupEnvelope {
    pub v: u8,
    /// Hex x-only public key of the account; bound into the AEAD.
    pub pubkey: String,
    pub kdf: KdfParams,
    /// Hex, 24 bytes.
    pub nonce: String,
    /// Hex, 32-byte secret key plus 16-byte tag.
    pub ciphertext: String,
}

/// Fields of an envelope after structural checks; what both server and client validate.
struct Parsed {
    version: Version,
    pubkey: PublicKey,
    nonce: [u8; NONCE_LEN],
    ciphertext: [u8; CIPHERTEXT_LEN],
}

impl BackupEnvelope {
    /// Encrypts `secret` as an envelope of [`ENVELOPE_VERSION`] under a key derived from
    /// `password`, `entropy` and its public key, with a fresh nonce; `lanes` fill Argon2id's
    /// memory.
    pub fn seal(
        secret: &AccountSecret,
        password: &Password,
        entropy: &Entropy,
        kdf: KdfParams,
        lanes: &dyn FillLanes,
    ) -> Result<Self, EnvelopeError> {
        Self::seal_with_nonce(secret, password, entropy, kdf, rand::random(), lanes)
    }

    /// Deterministic sealing, for known-answer tests. Never reuse a nonce with the same key.
    pub fn seal_with_nonce(
        secret: &AccountSecret,
        password: &Password,
        entropy: &Entropy,
        kdf: KdfParams,
        nonce: [u8; NONCE_LEN],
        lanes: &dyn FillLanes,
    ) -> Result<Self, EnvelopeError> {
        kdf.check()?;
        let pubkey = secret.public_key();
        let version = Version::V2;
        let key = derive_key(password, &version.salt(entropy, &pubkey), &kdf, lanes)?;
        let cipher = XChaCha20Poly1305::new(key.as_slice().into());
        let plaintext = secret.expose();
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_slice(),
                    aad: &version.aad(&pubkey, &kdf),
                },
            )
            .map_err(|_| EnvelopeError::Kdf("encryption failed".into()))?;
        Ok(Self {
            v: ENVELOPE_VERSION,
            pubkey: pubkey.to_hex(),
            kdf,
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Structural validation without the password: a known version, parameters within the
    /// floor and ceiling, lowercase hex of the exact lengths. Returns the account key.
    pub fn validate(&self) -> Result<PublicKey, EnvelopeError> {
        self.parse().map(|parsed| parsed.pubkey)
    }

    /// What a server checks before it stores an upload for `account`: a valid envelope of the
    /// current version, holding `account`'s key, with memory and passes at least `announced`
    /// (the floor is only for reading old backups).
    pub fn check_upload(
        &self,
        account: &PublicKey,
        announced: &KdfParams,
    ) -> Result<(), BackupProblem> {
        let pubkey = self.validate().map_err(|_| BackupProblem::Malformed)?;
        if self.is_outdated() {
            return Err(BackupProblem::OutdatedVersion);
        }
        if self.kdf.m_kib < announced.m_kib || self.kdf.t < announced.t {
            return Err(BackupProblem::WeakKdf);
        }
        if pubkey != *account {
            return Err(BackupProblem::ForeignKey);
        }
        Ok(())
    }

    /// Whether this envelope is of an earlier version, to be sealed again at the next unlock.
    pub fn is_outdated(&self) -> bool {
        self.v < ENVELOPE_VERSION
    }

    fn parse(&self) -> Result<Parsed, EnvelopeError> {
        let version = Version::of(self.v)?;
        self.kdf.check()?;
        for (field, hex, bytes) in [
            ("pubkey", &self.pubkey, 32),
            ("nonce", &self.nonce, NONCE_LEN),
            ("ciphertext", &self.ciphertext, CIPHERTEXT_LEN),
        ] {
            if !is_lower_hex(hex, bytes) {
                return Err(EnvelopeError::Malformed(field));
            }
        }
        let pubkey =
            PublicKey::from_hex(&self.pubkey).map_err(|_| EnvelopeError::Malformed("pubkey"))?;
        let mut nonce = [0u8; NONCE_LEN];
        hex::decode_to_slice(&self.nonce, &mut nonce)
            .map_err(|_| EnvelopeError::Malformed("nonce"))?;
        let mut ciphertext = [0u8; CIPHERTEXT_LEN];
        hex::decode_to_slice(&self.ciphertext, &mut ciphertext)
            .map_err(|_| EnvelopeError::Malformed("ciphertext"))?;
        Ok(Parsed {
            version,
            pubkey,
            nonce,
            ciphertext,
        })
    }

    /// Decrypts the account key. Fails with a typed error on a wrong password, any altered byte,
    /// parameters outside the floor and ceiling, or a key that does not match the envelope.
    pub fn open(
        &self,
        password: &Password,
        entropy: &Entropy,
        lanes: &dyn FillLanes,
    ) -> Result<AccountSecret, EnvelopeError> {
        let parsed = self.parse()?;
        let salt = parsed.version.salt(entropy, &parsed.pubkey);
        let key = derive_key(password, &salt, &self.kdf, lanes)?;
        let cipher = XChaCha20Poly1305::new(key.as_slice().into());
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&parsed.nonce),
                    Payload {
                        msg: &parsed.ciphertext,
                        aad: &parsed.version.aad(&parsed.pubkey, &self.kdf),
                    },
                )
                .map_err(|_| EnvelopeError::WrongPasswordOrTampered)?,
        );
        let bytes: &[u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| EnvelopeError::Malformed("ciphertext"))?;
        let secret = AccountSecret::from_bytes(bytes).map_err(|_| EnvelopeError::ForeignKey)?;
        if secret.public_key() != parsed.pubkey {
            return Err(EnvelopeError::ForeignKey);
        }
        Ok(secret)
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
