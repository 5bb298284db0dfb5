//! Bringing an existing key at signup: a pasted `nsec`, or an `ncryptsec` (NIP-49) with its
//! password. Read in the vault worker; only its npub and a warning go back to the page.

use nostr::key::SecretKey;
use nostr::nips::nip19::FromBech32;
use nostr::nips::nip49::{EncryptedSecretKey, KeySecurity};
use sigil_shared::secret::{AccountSecret, Password};

/// The most scrypt work an `ncryptsec` may ask for: 2^18 (256 MiB), NIP-49's highest common
/// level and what a phone's browser tab can give. A hostile one could ask for gigabytes.
pub const MAX_LOG_N: u8 = EncryptedSecretKey::MAX_LOG_N;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("paste a key that starts with nsec1 or ncryptsec1")]
    NotAKey,
    #[error("that key is not valid: check that it was copied whole")]
    Damaged,
    #[error("enter the password this ncryptsec was encrypted with")]
    PasswordNeeded,
    #[error("that password does not open this ncryptsec")]
    WrongPassword,
    #[error(
        "this ncryptsec asks for more memory than a browser can give (scrypt 2^{0}; at most 2^{MAX_LOG_N})"
    )]
    TooCostly(u8),
}

/// A key read from what the user pasted.
#[derive(Debug)]
pub struct Imported {
    pub secret: AccountSecret,
    /// NIP-49's key-security byte said the key was handled insecurely before (0x00).
    pub handled_insecurely: bool,
}

/// Reads an `nsec`, or an `ncryptsec` opened with `password` (NIP-49 normalises it to NFKC).
pub fn read_key(text: &str, password: &Password) -> Result<Imported, ImportError> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    let (secret, handled_insecurely) = if lower.starts_with("nsec1") {
        let key = SecretKey::from_bech32(text).map_err(|_| ImportError::Damaged)?;
        (key, false)
    } else if lower.starts_with("ncryptsec1") {
        let encrypted = EncryptedSecretKey::from_bech32(text).map_err(|_| ImportError::Damaged)?;
        if encrypted.log_n() > MAX_LOG_N {
            return Err(ImportError::TooCostly(encrypted.log_n()));
        }
        if password.as_str().is_empty() {
            return Err(ImportError::PasswordNeeded);
        }
        let key = encrypted
            .decrypt(password.as_str())
            .map_err(|_| ImportError::WrongPassword)?;
        (key, encrypted.key_security() == KeySecurity::Weak)
    } else {
        return Err(ImportError::NotAKey);
    };
    let secret =
        AccountSecret::from_bytes(&secret.to_secret_bytes()).map_err(|_| ImportError::Damaged)?;
    Ok(Imported {
        secret,
        handled_insecurely,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use nostr::key::Keys;
    use nostr::nips::nip19::ToBech32;

    use super::*;

    fn none() -> Password {
        Password::new("")
    }

    #[test]
    fn an_nsec_is_read_as_it_is() {
        let keys = Keys::generate();
        let nsec = keys.secret_key().to_bech32().unwrap();
        let read = read_key(&format!("  {nsec}\n"), &none()).unwrap();
        assert_eq!(read.secret.public_key(), keys.public_key());
        assert!(!read.handled_insecurely);
        let mut damaged = nsec.clone();
        damaged.replace_range(10..11, if &nsec[10..11] == "q" { "p" } else { "q" });
        assert_eq!(
            read_key(&damaged, &none()).unwrap_err(),
            ImportError::Damaged
        );
        assert_eq!(
            read_key("npub1abc", &none()).unwrap_err(),
            ImportError::NotAKey
        );
        assert_eq!(read_key("", &none()).unwrap_err(), ImportError::NotAKey);
    }

    #[test]
    fn an_ncryptsec_needs_its_password_and_says_how_the_key_was_kept() {
        let keys = Keys::generate();
        for (security, insecure) in [(KeySecurity::Weak, true), (KeySecurity::Medium, false)] {
            let encrypted =
                EncryptedSecretKey::new(keys.secret_key(), "ｐａｓｓ word", 8, security).unwrap();
            let text = encrypted.to_bech32().unwrap();
            // NIP-49 normalises the password: the NFKC form opens it too.
            let read = read_key(&text, &Password::new("pass word")).unwrap();
            assert_eq!(read.secret.public_key(), keys.public_key());
            assert_eq!(read.handled_insecurely, insecure);
            assert_eq!(
                read_key(&text, &none()).unwrap_err(),
                ImportError::PasswordNeeded
            );
            assert_eq!(
                read_key(&text, &Password::new("wrong")).unwrap_err(),
                ImportError::WrongPassword
            );
        }
        let costly = EncryptedSecretKey::new(keys.secret_key(), "x", 8, KeySecurity::Unknown)
            .unwrap()
            .as_vec();
        let mut bytes = costly.clone();
        bytes[1] = 30;
        let costly = EncryptedSecretKey::from_slice(&bytes)
            .unwrap()
            .to_bech32()
            .unwrap();
        assert_eq!(
            read_key(&costly, &Password::new("x")).unwrap_err(),
            ImportError::TooCostly(30)
        );
    }
}
