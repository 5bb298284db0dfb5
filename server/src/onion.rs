//! Tor onion service tooling: the torrc lines that publish the server as an onion service, and
//! v3 client authorization, with which only holders of a key can even fetch the service's
//! descriptor, let alone reach it.
//!
//! Tor's formats: each authorized client is a file `authorized_clients/NAME.auth` in the
//! HiddenServiceDir holding `descriptor:x25519:<base32 public key>`; the client puts
//! `<onion address without .onion>:descriptor:x25519:<base32 private key>` in a file ending
//! `.auth_private` in its `ClientOnionAuthDir`. Tor reads both when it (re)loads.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use data_encoding::BASE32_NOPAD;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// The subdirectory of the HiddenServiceDir where Tor looks for client keys.
pub const CLIENTS_DIR: &str = "authorized_clients";
const AUTH_SUFFIX: &str = ".auth";
const AUTH_PREFIX: &str = "descriptor:x25519:";
/// A v3 onion address: base32 of a 32-byte key, a 2-byte checksum and the version byte 3.
const ADDRESS_LEN: usize = 56;
const MAX_NAME_LEN: usize = 64;

/// Why an onion command could not do what it was asked, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum OnionError {
    #[error("client name `{0}`: use 1 to 64 letters, digits, '-' or '_'")]
    BadName(String),
    #[error("a client named `{0}` already exists; revoke it first to give it a new key")]
    Duplicate(String),
    #[error("no client named `{0}`")]
    UnknownClient(String),
    #[error(
        "`{0}` is the last client: with none left Tor turns client authorization off, and \
         anyone who knows the address can reach the service. Add the next client first, or \
         pass --force to make the service public"
    )]
    LastClient(String),
    #[error(
        "{} would belong to uid {found}, but Tor runs as the owner of {} (uid {tor}) and could \
         not read it; run this command as that user (for example sudo -u debian-tor)",
        path.display(),
        service.display()
    )]
    NotTors {
        path: PathBuf,
        service: PathBuf,
        found: u32,
        tor: u32,
    },
    #[error(
        "{} has mode {mode:03o}: Tor refuses a directory of keys that others may open; \
         run chmod 700 {}",
        path.display(),
        path.display()
    )]
    OpenPermissions { path: PathBuf, mode: u32 },
    #[error(
        "no onion address in {} yet: add the lines of `sigil-server onion torrc` to Tor's \
         configuration and reload Tor, which creates it; then run this again",
        .0.display()
    )]
    NoAddress(PathBuf),
    #[error("{} does not hold a v3 onion address", .0.display())]
    BadAddress(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OnionError + '_ {
    move |source| OnionError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The torrc lines that publish the server listening on `listen` as the onion service kept in
/// `onion_dir` (made absolute: Tor resolves relative paths from its own working directory).
pub fn torrc(onion_dir: &Path, listen: SocketAddr) -> Result<String, OnionError> {
    let dir = std::path::absolute(onion_dir).map_err(io(onion_dir))?;
    Ok(format!(
        "# Sigil's onion service (from `sigil-server onion torrc`). Add these lines to Tor's\n\
         # configuration (/etc/tor/torrc, or a file it includes), then reload Tor.\n\
         HiddenServiceDir {}\n\
         HiddenServicePort 80 {listen}\n",
        dir.display()
    ))
}

/// A client's key pair, as Tor writes them: the `.auth` line for the service and the
/// `.auth_private` line for the client.
pub struct ClientKey {
    pub auth: String,
    pub auth_private: Zeroizing<String>,
}

impl std::fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientKey")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// A fresh x25519 key pair for the service at `address` (56 characters, no `.onion`).
    pub fn generate(address: &str) -> Self {
        let secret = StaticSecret::random();
        let public = PublicKey::from(&secret);
        let secret_bytes = Zeroizing::new(secret.to_bytes());
        Self {
            auth: format!("{AUTH_PREFIX}{}", BASE32_NOPAD.encode(public.as_bytes())),
            auth_private: Zeroizing::new(format!(
                "{address}:{AUTH_PREFIX}{}",
                Zeroizing::new(BASE32_NOPAD.encode(secret_bytes.as_slice())).as_str()
            )),
        }
    }
}

/// The public key of an `.auth` file's contents, if they are Tor's format.
pub fn parse_auth(contents: &str) -> Option<[u8; 32]> {
    let key = contents.trim_end().strip_prefix(AUTH_PREFIX)?;
    BASE32_NOPAD.decode(key.as_bytes()).ok()?.try_into().ok()
}

/// The onion address (without `.onion`) in the contents of Tor's `hostname` file.
pub fn parse_hostname(contents: &str) -> Option<&str> {
    let address = contents.trim_end().strip_suffix(".onion")?;
    let valid = address.len() == ADDRESS_LEN
        && address
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'))
        && BASE32_NOPAD
            .decode(address.to_ascii_uppercase().as_bytes())
            .is_ok_and(|bytes| bytes.last() == Some(&3));
    valid.then_some(address)
}

/// A client name: the file name Tor will see, so nothing that could leave the directory or
/// hide (no dots, no slashes).
pub fn check_name(name: &str) -> Result<(), OnionError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.starts_with('-');
    if valid {
        Ok(())
    } else {
        Err(OnionError::BadName(name.to_owned()))
    }
}

/// One entry of `authorized_clients`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub name: String,
    /// False when the file is not in Tor's format or not owned by the user Tor runs as (the
    /// service directory's owner): Tor would skip it.
    pub valid: bool,
}

/// A HiddenServiceDir and its authorized clients.
#[derive(Debug, Clone)]
pub struct OnionDir {
    path: PathBuf,
}

impl OnionDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn clients_dir(&self) -> PathBuf {
        self.path.join(CLIENTS_DIR)
    }

    fn auth_file(&self, name: &str) -> PathBuf {
        self.clients_dir().join(format!("{name}{AUTH_SUFFIX}"))
    }

    /// The service's onion address, from the `hostname` file Tor writes.
    pub fn address(&self) -> Result<String, OnionError> {
        let file = self.path.join("hostname");
        let contents = match fs::read_to_string(&file) {
            Ok(contents) => contents,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(OnionError::NoAddress(file));
            }
            Err(e) => return Err(io(&file)(e)),
        };
        parse_hostname(&contents)
            .map(str::to_owned)
            .ok_or(OnionError::BadAddress(file))
    }

    /// Issues a key to `name`: writes its `.auth` file (mode 0600, in a 0700 directory) and
    /// returns the line for the client, which is kept nowhere else.
    pub fn add(&self, name: &str) -> Result<ClientKey, OnionError> {
        check_name(name)?;
        let address = self.address()?;
        check_private(&self.path)?;
        let dir = self.clients_dir();
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_private(&dir)?,
            Err(e) => return Err(io(&dir)(e)),
        }
        self.hand_to_tor(&dir)?;
        let file = self.auth_file(name);
        if file.exists() {
            return Err(OnionError::Duplicate(name.to_owned()));
        }
        let key = ClientKey::generate(&address);
        // Written whole under a hidden name, then linked into place: Tor never reads half a
        // key, and a concurrent `add` of the same name cannot overwrite this one.
        let partial = dir.join(format!(".{name}{AUTH_SUFFIX}.partial"));
        let written = write_new(&partial, format!("{}\n", key.auth).as_bytes())
            .and_then(|()| self.hand_to_tor(&partial))
            .and_then(|()| match fs::hard_link(&partial, &file) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    Err(OnionError::Duplicate(name.to_owned()))
                }
                linked => linked.map_err(io(&file)),
            });
        let _ = fs::remove_file(&partial);
        written?;
        Ok(key)
    }

    /// Every client with a key, by name.
    pub fn list(&self) -> Result<Vec<Client>, OnionError> {
        let dir = self.clients_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir)(e)),
        };
        let tor_uid = fs::metadata(&self.path).map_err(io(&self.path))?.uid();
        let mut clients = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&dir))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(AUTH_SUFFIX)) else {
                continue;
            };
            if check_name(name).is_err() {
                continue; // not one of ours (a partial write, or placed by hand)
            }
            // Tor reads the file as the service directory's owner.
            let tors = entry.metadata().map_err(io(&dir))?.uid() == tor_uid;
            let valid = tors
                && fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|contents| parse_auth(&contents))
                    .is_some();
            clients.push(Client {
                name: name.to_owned(),
                valid,
            });
        }
        clients.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(clients)
    }

    /// Deletes `name`'s key; Tor stops accepting it once reloaded. Removing the last valid key
    /// would make the service public (Tor turns client authorization off when no key is left),
    /// so that takes `force`.
    pub fn revoke(&self, name: &str, force: bool) -> Result<PathBuf, OnionError> {
        check_name(name)?;
        let clients = self.list()?;
        if !clients.iter().any(|client| client.name == name) {
            return Err(OnionError::UnknownClient(name.to_owned()));
        }
        let others = clients
            .iter()
            .filter(|client| client.valid && client.name != name)
            .count();
        if others == 0 && !force {
            return Err(OnionError::LastClient(name.to_owned()));
        }
        let file = self.auth_file(name);
        match fs::remove_file(&file) {
            Ok(()) => Ok(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(OnionError::UnknownClient(name.to_owned()))
            }
            Err(e) => Err(io(&file)(e)),
        }
    }

    /// Gives `path` to the user Tor runs as (the owner of the service directory), so Tor can
    /// read it: an operator who runs this command as root would otherwise write a key that
    /// Tor, as its own user, silently skips.
    fn hand_to_tor(&self, path: &Path) -> Result<(), OnionError> {
        let service = fs::metadata(&self.path).map_err(io(&self.path))?;
        let found = fs::metadata(path).map_err(io(path))?.uid();
        if found == service.uid() {
            return Ok(());
        }
        std::os::unix::fs::chown(path, Some(service.uid()), Some(service.gid())).map_err(|_| {
            OnionError::NotTors {
                path: path.to_owned(),
                service: self.path.clone(),
                found,
                tor: service.uid(),
            }
        })
    }
}

/// Refuses a directory that group or others may open, as Tor does.
fn check_private(dir: &Path) -> Result<(), OnionError> {
    let mode = fs::metadata(dir).map_err(io(dir))?.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        Ok(())
    } else {
        Err(OnionError::OpenPermissions {
            path: dir.to_owned(),
            mode,
        })
    }
}

/// Creates `path` (mode 0600; it must not exist) holding `contents`, synced to disk.
fn write_new(path: &Path, contents: &[u8]) -> Result<(), OnionError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    file.write_all(contents).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRESS: &str = "2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid";

    #[test]
    fn names_are_plain_file_names() {
        for good in ["alice", "Bob-2", "ops_team", &"a".repeat(64)] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "-x", "a.b", "../x", "a/b", "é", "a b", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_two_lines_hold_one_key_pair_in_tors_format() {
        let key = ClientKey::generate(ADDRESS);
        let public = parse_auth(&key.auth).expect("auth line");
        let (address, rest) = key.auth_private.split_once(':').expect("address");
        assert_eq!(address, ADDRESS);
        let private = rest.strip_prefix(AUTH_PREFIX).expect("prefix");
        assert_eq!(private.len(), 52);
        assert_eq!(key.auth.len() - AUTH_PREFIX.len(), 52);
        let secret: [u8; 32] = BASE32_NOPAD
            .decode(private.as_bytes())
            .expect("base32")
            .try_into()
            .expect("32 bytes");
        let derived = PublicKey::from(&StaticSecret::from(secret));
        assert_eq!(derived.as_bytes(), &public);
    }

    #[test]
    fn list_names_every_client_and_flags_a_file_tor_would_skip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clients = dir.path().join(CLIENTS_DIR);
        fs::create_dir(&clients).expect("mkdir");
        let key = ClientKey::generate(ADDRESS);
        fs::write(clients.join("bob.auth"), format!("{}\n", key.auth)).expect("write");
        fs::write(clients.join("alice.auth"), "descriptor:x25519:not-base32").expect("write");
        fs::write(clients.join("notes.txt"), "not a key").expect("write");
        fs::write(clients.join(".carol.auth.partial"), &key.auth).expect("write");
        let listed = OnionDir::new(dir.path()).list().expect("list");
        let client = |name: &str, valid| Client {
            name: name.into(),
            valid,
        };
        assert_eq!(listed, [client("alice", false), client("bob", true)]);
    }

    #[test]
    fn hostnames_must_be_v3_onion_addresses() {
        assert_eq!(parse_hostname(&format!("{ADDRESS}.onion\n")), Some(ADDRESS));
        assert_eq!(parse_hostname(ADDRESS), None);
        assert_eq!(parse_hostname("example.onion"), None);
        // A v2-length address, and a 56-character one whose version byte is not 3.
        assert_eq!(parse_hostname("expyuzz4wqqyqhjn.onion"), None);
        let wrong_version = format!("{}aa.onion", &ADDRESS[..54]);
        assert_eq!(parse_hostname(&wrong_version), None);
    }

    #[test]
    fn torrc_names_an_absolute_directory_and_the_listener() {
        let text = torrc(
            Path::new("data/onion"),
            "127.0.0.1:8080".parse().expect("addr"),
        )
        .expect("torrc");
        let dir = std::env::current_dir().expect("cwd").join("data/onion");
        assert!(text.contains(&format!("\nHiddenServiceDir {}\n", dir.display())));
        assert!(text.contains("\nHiddenServicePort 80 127.0.0.1:8080\n"));
    }

    /// A service directory as Tor leaves it: mode 0700, with its hostname.
    fn service() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(dir.path().join("hostname"), format!("{ADDRESS}.onion\n")).expect("hostname");
        dir
    }

    #[test]
    fn the_last_client_is_revoked_only_with_force() {
        let dir = service();
        let onion = OnionDir::new(dir.path());
        onion.add("alice").expect("add alice");
        onion.add("bob").expect("add bob");
        onion.revoke("alice", false).expect("bob is left");
        assert!(matches!(
            onion.revoke("bob", false),
            Err(OnionError::LastClient(name)) if name == "bob"
        ));
        assert_eq!(
            onion.list().expect("list").len(),
            1,
            "bob's key is still there"
        );
        assert!(matches!(
            onion.revoke("carol", true),
            Err(OnionError::UnknownClient(_))
        ));
        onion.revoke("bob", true).expect("forced");
        assert!(onion.list().expect("list").is_empty());
    }

    /// Run as root (as an operator might), the key goes to the user Tor runs as, so Tor can
    /// read it; a key file Tor's user does not own is listed as one Tor skips.
    #[test]
    fn keys_belong_to_the_user_tor_runs_as() {
        let dir = service();
        let onion = OnionDir::new(dir.path());
        let me = fs::metadata("/proc/self").expect("proc").uid();
        let tor = if me == 0 {
            const NOBODY: u32 = 65534;
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
            NOBODY
        } else {
            me
        };
        onion.add("alice").expect("add");
        let owner = |path: &Path| fs::metadata(path).expect("metadata").uid();
        assert_eq!(owner(&dir.path().join(CLIENTS_DIR)), tor);
        assert_eq!(owner(&onion.auth_file("alice")), tor);
        assert!(onion.list().expect("list")[0].valid);
        if me == 0 {
            // A file placed by hand as root, which Tor (as nobody) could not read.
            let key = ClientKey::generate(ADDRESS);
            fs::write(onion.auth_file("bob"), format!("{}\n", key.auth)).expect("write");
            let listed = onion.list().expect("list");
            assert_eq!(
                listed[1],
                Client {
                    name: "bob".into(),
                    valid: false
                }
            );
        }
    }
}
