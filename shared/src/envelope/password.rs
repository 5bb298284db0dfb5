//! Envelope versions 1 and 2: the key sealed directly under the password. Still opened; sealed
//! again as version 3 at the next unlock.
//!
//! Version 2:
//! salt       = SHA-256("sigil/kdf-salt/v2" || server entropy || pubkey)
//! key        = Argon2id(NFKC(password), salt)
//! ciphertext = XChaCha20-Poly1305(key, nonce, secret key bytes, aad)
//! aad        = "sigil/backup/v2" || pubkey || m_kib || t || p   (integers little-endian u32)
//!
//! Version 1 salted with the server's entropy alone, SHA-256("sigil/kdf-salt/v1" || entropy),
//! and used the domain "sigil/backup/v1": a server that gave every account the same entropy
//! could test one password guess against every backup at once.

use nostr::key::PublicKey;
use serde::{Deserialize, Serialize};

use super::{Entropy, EnvelopeError, KdfParams, derive_key, kdf_salt, open_32};
use crate::argon2id::FillLanes;
use crate::event_json::is_lower_hex;
use crate::secret::{AccountSecret, Password};

const NONCE_LEN: usize = 24;
const CIPHERTEXT_LEN: usize = 32 + 16;

/// The envelope versions sealed under the password alone.
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

    fn number(self) -> u8 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
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

/// A backup of version 1 or 2: opaque without the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordEnvelope {
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

impl PasswordEnvelope {
    /// Structural validation without the password: a known version, parameters within the
    /// floor and ceiling, lowercase hex of the exact lengths. Returns the account key.
    pub fn validate(&self) -> Result<PublicKey, EnvelopeError> {
        self.parse().map(|parsed| parsed.pubkey)
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
        let salt = kdf_salt(parsed.version.number(), entropy, &parsed.pubkey)?;
        let key = derive_key(password, &salt, &self.kdf, lanes)?;
        let aad = parsed.version.aad(&parsed.pubkey, &self.kdf);
        let bytes = open_32(&key, &parsed.nonce, &parsed.ciphertext, &aad)
            .ok_or(EnvelopeError::WrongPasswordOrTampered)?;
        let secret = AccountSecret::from_bytes(&bytes).map_err(|_| EnvelopeError::ForeignKey)?;
        if secret.public_key() != parsed.pubkey {
            return Err(EnvelopeError::ForeignKey);
        }
        Ok(secret)
    }
}
