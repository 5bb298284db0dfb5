//! Secret material: zeroized on drop, redacted in `Debug`, never serialisable.

use nostr::key::{Keys, PublicKey, SecretKey};
use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

/// `Debug` that names the type and never its content, for every type holding a secret.
macro_rules! redacted_debug {
    ($($secret:ty),+ $(,)?) => {$(
        impl std::fmt::Debug for $secret {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(<redacted>)", stringify!($secret))
            }
        }
    )+};
}
pub(crate) use redacted_debug;

/// A password, NFKC-normalised so the same characters typed on different keyboards or platforms
/// derive the same key.
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(raw: &str) -> Self {
        Self(Zeroizing::new(raw.nfkc().collect()))
    }

    /// Takes the bytes the browser handed over and wipes them once normalised.
    pub fn from_utf8(mut raw: Vec<u8>) -> Result<Self, PasswordError> {
        let password = std::str::from_utf8(&raw)
            .map(Self::new)
            .map_err(|_| PasswordError::NotUtf8);
        raw.zeroize();
        password
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// NIP-49 export takes the password as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

redacted_debug!(Password, AccountSecret);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is not valid UTF-8")]
    NotUtf8,
}

/// A Nostr account key. nostr's `SecretKey` erases itself on drop; copies of the raw bytes are
/// handed out only inside `Zeroizing`.
pub struct AccountSecret(Keys);

impl AccountSecret {
    pub fn generate() -> Self {
        Self(Keys::generate())
    }

    /// Rejects the few byte strings that are not valid secp256k1 scalars.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, nostr::error::Error> {
        SecretKey::from_slice(bytes).map(|key| Self(Keys::new(key)))
    }

    /// Raw bytes for the envelope cipher, the only place that needs them.
    pub(crate) fn expose(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.secret_key().to_secret_bytes())
    }

    pub fn keys(&self) -> &Keys {
        &self.0
    }

    pub fn public_key(&self) -> PublicKey {
        self.0.public_key()
    }

    /// NIP-49 `ncryptsec`, for other Nostr apps. `log_n` is scrypt's cost (16 = 64 MiB).
    pub fn export_ncryptsec(
        &self,
        password: &Password,
        log_n: u8,
    ) -> Result<String, nostr::error::Error> {
        use nostr::nips::nip19::ToBech32;
        use nostr::nips::nip49::{EncryptedSecretKey, KeySecurity};
        let encrypted = EncryptedSecretKey::new(
            self.0.secret_key(),
            password.as_str(),
            log_n,
            KeySecurity::Medium,
        )?;
        encrypted.to_bech32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let password = Password::new("correct horse battery staple");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        let secret = AccountSecret::generate();
        assert_eq!(format!("{secret:?}"), "AccountSecret(<redacted>)");
    }

    #[test]
    fn passwords_are_nfkc_normalised() {
        // "ﬁ" (U+FB01) folds to "fi"; Å as one code point or as A + ring compose to the same.
        assert_eq!(Password::new("\u{FB01}").as_bytes(), b"fi");
        assert_eq!(
            Password::new("A\u{30A}").as_bytes(),
            Password::new("\u{C5}").as_bytes()
        );
    }

    #[test]
    fn rejects_invalid_scalars() {
        assert!(AccountSecret::from_bytes(&[0; 32]).is_err());
        assert!(AccountSecret::from_bytes(&[0xff; 32]).is_err());
    }

    #[test]
    fn ncryptsec_round_trips() {
        let secret = AccountSecret::generate();
        let password = Password::new("hunter2 but longer");
        let exported = secret.export_ncryptsec(&password, 8).unwrap();
        assert!(exported.starts_with("ncryptsec1"));
        use nostr::nips::nip19::FromBech32;
        let decrypted = nostr::nips::nip49::EncryptedSecretKey::from_bech32(&exported)
            .unwrap()
            .decrypt(password.as_str())
            .unwrap();
        assert_eq!(decrypted.to_secret_bytes(), *secret.expose());
    }
}
