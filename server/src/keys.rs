//! The server's long-lived secrets: its Nostr key and the key that hashes emails and codes.
//! Each is taken from configuration or generated once into the data directory with mode 0600.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use sigil_shared::email::EmailAddress;
use sigil_shared::nostr::key::Keys;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is readable by other users; run `chmod 600 {0}`")]
    TooOpen(String),
    #[error("{0} does not hold a valid key")]
    Invalid(String),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads `path`, or creates it with `generate()` if it does not exist. Refuses a file that group
/// or others can read.
fn load_or_create(
    path: &Path,
    generate: impl FnOnce() -> Zeroizing<String>,
) -> Result<Zeroizing<String>, KeyError> {
    match fs::metadata(path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(KeyError::TooOpen(path.display().to_string()));
            }
            let text = Zeroizing::new(fs::read_to_string(path).map_err(io_error(path))?);
            Ok(Zeroizing::new(text.trim().to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io_error(dir))?;
            }
            let value = generate();
            // create_new: two processes starting at once must not overwrite each other's key.
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io_error(path))?;
            file.write_all(value.as_bytes()).map_err(io_error(path))?;
            file.write_all(b"\n").map_err(io_error(path))?;
            file.sync_all().map_err(io_error(path))?;
            Ok(value)
        }
        Err(e) => Err(io_error(path)(e)),
    }
}

/// Key files in the data directory, when the keys are not given by configuration.
pub const SERVER_KEY_FILE: &str = "server.key";
pub const EMAIL_HASH_KEY_FILE: &str = "email-hash.key";

/// The server's Nostr identity.
pub fn server_keys(configured: Option<&SecretString>, data_dir: &Path) -> Result<Keys, KeyError> {
    let path = data_dir.join(SERVER_KEY_FILE);
    let text = match configured {
        Some(secret) => Zeroizing::new(secret.expose_secret().to_owned()),
        None => load_or_create(&path, || {
            Zeroizing::new(Keys::generate().secret_key().to_secret_hex())
        })?,
    };
    Keys::parse(&text).map_err(|_| {
        KeyError::Invalid(match configured {
            Some(_) => "server-key".into(),
            None => path.display().to_string(),
        })
    })
}

/// HMAC key for emails and codes. A database thief without it cannot test whether a known address
/// has an account, nor brute-force a stored code hash.
pub struct HashKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for HashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HashKey(<redacted>)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl HashKey {
    pub fn load(configured: Option<&SecretString>, data_dir: &Path) -> Result<Self, KeyError> {
        let path = data_dir.join(EMAIL_HASH_KEY_FILE);
        let text = match configured {
            Some(secret) => Zeroizing::new(secret.expose_secret().to_owned()),
            None => load_or_create(&path, || {
                Zeroizing::new(hex::encode(rand::random::<[u8; 32]>()))
            })?,
        };
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.as_bytes(), key.as_mut_slice()).map_err(|_| {
            KeyError::Invalid(match configured {
                Some(_) => "email-hash-key (64 hex characters)".into(),
                None => path.display().to_string(),
            })
        })?;
        Ok(Self(key))
    }

    #[cfg(test)]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.0.as_slice())
            .unwrap_or_else(|_| unreachable!());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    pub fn email(&self, email: &EmailAddress) -> [u8; 32] {
        self.mac(&[b"sigil/email/v1", email.as_str().as_bytes()])
    }

    /// The sending limits' key for a mailbox (an address without its `+tag`): another label, so
    /// a mailbox's row never meets an address's.
    pub fn mailbox(&self, mailbox: &EmailAddress) -> [u8; 32] {
        self.mac(&[b"sigil/mailbox/v1", mailbox.as_str().as_bytes()])
    }

    /// Bound to the address (its hash), so a code opens sessions for that address only; the
    /// sessions that share one code are those that asked for that address within the gap.
    pub fn code(&self, email_hash: &[u8], code: &str) -> [u8; 32] {
        self.mac(&[b"sigil/code/v2", email_hash, code.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_persist_with_private_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = server_keys(None, dir.path()).expect("create");
        let again = server_keys(None, dir.path()).expect("load");
        assert_eq!(first.public_key(), again.public_key());
        let mode = fs::metadata(dir.path().join("server.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);

        fs::set_permissions(
            dir.path().join("server.key"),
            fs::Permissions::from_mode(0o644),
        )
        .expect("chmod");
        assert!(matches!(
            server_keys(None, dir.path()),
            Err(KeyError::TooOpen(_))
        ));
    }

    #[test]
    fn configured_keys_win_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = Keys::generate();
        let configured = SecretString::from(keys.secret_key().to_secret_hex());
        assert_eq!(
            server_keys(Some(&configured), dir.path())
                .expect("key")
                .public_key(),
            keys.public_key()
        );
        assert!(!dir.path().join("server.key").exists());
        let bad = SecretString::from("nope".to_owned());
        assert!(
            matches!(HashKey::load(Some(&bad), dir.path()), Err(KeyError::Invalid(m)) if m.contains("email-hash-key"))
        );
    }

    #[test]
    fn hashes_are_keyed_and_domain_separated() {
        let a = HashKey::from_bytes([1; 32]);
        let b = HashKey::from_bytes([2; 32]);
        let email = EmailAddress::parse("alice@example.org").expect("email");
        assert_ne!(a.email(&email), b.email(&email));
        let other = EmailAddress::parse("bob@example.org").expect("email");
        assert_ne!(
            a.code(&a.email(&email), "123456"),
            a.code(&a.email(&other), "123456")
        );
        // A mailbox's row and the same string's address row never meet.
        assert_ne!(a.email(&email), a.mailbox(&email));
    }
}
