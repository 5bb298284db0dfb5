//! The onion tooling against real Tor (Debian's `tor`), offline: Tor runs with `DisableNetwork 1`
//! on the lines `sigil-server onion torrc` prints, creates the onion address, and then loads
//! every client key the CLI issued (the service's `.auth` files and a client's `.auth_private`
//! files) without a single warning.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // a test fails loudly

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use data_encoding::BASE32_NOPAD;
use x25519_dalek::{PublicKey, StaticSecret};

const TOR_TIMEOUT: Duration = Duration::from_secs(60);

fn sigil(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sigil-server"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("SIGIL_CONFIG")
        .env_remove("SIGIL_ONION_DIR")
        .output()
        .expect("run sigil-server")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

/// A Tor process on a torrc of its own; killed when dropped.
struct Tor {
    child: Child,
    log: PathBuf,
}

impl Tor {
    fn start(torrc: &Path, log: &Path) -> Self {
        let _ = fs::remove_file(log);
        // What Tor says before its log file is open (a bad torrc, say) goes to its stdout.
        let console = fs::File::create(log.with_extension("console")).expect("console file");
        let child = Command::new("tor")
            .arg("-f")
            .arg(torrc)
            .stdout(console.try_clone().expect("console file"))
            .stderr(console)
            .spawn()
            .expect("tor is installed (scripts/setup.sh --test installs it)");
        Self {
            child,
            log: log.to_owned(),
        }
    }

    fn log(&self) -> String {
        let console = fs::read_to_string(self.log.with_extension("console")).unwrap_or_default();
        fs::read_to_string(&self.log).unwrap_or_default() + &console
    }

    /// Waits until the log has `needle`; panics with the log after the timeout.
    fn wait_for(&mut self, needle: &str) {
        let started = Instant::now();
        while !self.log().contains(needle) {
            if let Some(status) = self.child.try_wait().expect("tor status") {
                panic!("tor exited ({status}) before `{needle}`:\n{}", self.log());
            }
            assert!(
                started.elapsed() < TOR_TIMEOUT,
                "no `{needle}` in Tor's log after {TOR_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Warnings and errors in the log, less two that this set-up causes: logging at info
    /// level, and running as root (as CI does).
    fn warnings(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| line.contains("[warn]") || line.contains("[err]"))
            .filter(|line| !line.contains("you're logging more than \"notice\""))
            .filter(|line| !line.contains("running Tor as root"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Tor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tor_loads_every_issued_key_and_warns_about_none() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let onion_dir = data.join("onion");
    fs::create_dir_all(&onion_dir).expect("onion dir");
    fs::set_permissions(&onion_dir, fs::Permissions::from_mode(0o700)).expect("chmod");

    // Before Tor has run there is no address to give a client.
    let early = sigil(&data, &["onion", "client", "add", "alice"]);
    assert!(!early.status.success());
    assert!(
        stderr(&early).contains("no onion address"),
        "{}",
        stderr(&early)
    );

    let lines = sigil(&data, &["onion", "torrc"]);
    assert!(lines.status.success(), "{}", stderr(&lines));
    let lines = stdout(&lines);
    let expected_dir = format!("HiddenServiceDir {}", onion_dir.display());
    assert!(lines.lines().any(|l| l == expected_dir), "{lines}");
    assert!(
        lines
            .lines()
            .any(|l| l == "HiddenServicePort 80 127.0.0.1:8080"),
        "{lines}"
    );

    let (torrc, log) = tor_config(tmp.path(), "service", &lines);

    // First start: Tor creates the service's keys and its address.
    let mut tor = Tor::start(&torrc, &log);
    tor.wait_for("Delaying directory fetches");
    let hostname = onion_dir.join("hostname");
    let started = Instant::now();
    while !hostname.exists() {
        assert!(
            started.elapsed() < TOR_TIMEOUT,
            "Tor wrote no hostname:\n{}",
            tor.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(tor);
    let address = fs::read_to_string(&hostname).expect("hostname");
    let address = address.trim_end().strip_suffix(".onion").expect(".onion");

    // Three clients; one is revoked.
    let mut issued = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let added = sigil(&data, &["onion", "client", "add", name]);
        assert!(added.status.success(), "{}", stderr(&added));
        let line = stdout(&added).trim_end().to_owned();
        assert_eq!(line.lines().count(), 1, "only the line on stdout");
        issued.push((name, line));
    }
    let revoked = sigil(&data, &["onion", "client", "revoke", "bob"]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(stderr(&revoked).contains("Reload Tor"));
    issued.retain(|(name, _)| *name != "bob");

    let clients_dir = onion_dir.join("authorized_clients");
    let mode = |path: &Path| fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&clients_dir), 0o700);
    for (name, line) in &issued {
        // The printed line: the address, then the private key that derives the .auth file's.
        let private = line
            .strip_prefix(&format!("{address}:descriptor:x25519:"))
            .unwrap_or_else(|| panic!("line for {name}: {line}"));
        assert_eq!(private.len(), 52);
        let auth_file = clients_dir.join(format!("{name}.auth"));
        assert_eq!(mode(&auth_file), 0o600);
        let auth = fs::read_to_string(&auth_file).expect("auth file");
        let public = auth
            .trim_end()
            .strip_prefix("descriptor:x25519:")
            .expect("auth format");
        assert_eq!(public.len(), 52);
        let secret: [u8; 32] = BASE32_NOPAD
            .decode(private.as_bytes())
            .expect("base32")
            .try_into()
            .expect("32 bytes");
        let derived = PublicKey::from(&StaticSecret::from(secret));
        assert_eq!(BASE32_NOPAD.encode(derived.as_bytes()), public);
    }
    assert!(!clients_dir.join("bob.auth").exists());
    let listed = sigil(&data, &["onion", "client", "list"]);
    assert_eq!(stdout(&listed), "alice\ncarol\n");

    // Refusals: bad names, a duplicate, an unknown client, a directory others may open.
    for bad in ["", "../evil", "a.b", "-rf"] {
        let refused = sigil(&data, &["onion", "client", "add", "--", bad]);
        assert!(!refused.status.success(), "{bad:?} accepted");
        assert!(
            stderr(&refused).contains("client name"),
            "{}",
            stderr(&refused)
        );
    }
    let duplicate = sigil(&data, &["onion", "client", "add", "alice"]);
    assert!(
        stderr(&duplicate).contains("already exists"),
        "{}",
        stderr(&duplicate)
    );
    let unknown = sigil(&data, &["onion", "client", "revoke", "bob"]);
    assert!(
        stderr(&unknown).contains("no client named `bob`"),
        "{}",
        stderr(&unknown)
    );
    fs::set_permissions(&onion_dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let open = sigil(&data, &["onion", "client", "add", "dave"]);
    assert!(stderr(&open).contains("chmod 700"), "{}", stderr(&open));
    fs::set_permissions(&onion_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::set_permissions(&clients_dir, fs::Permissions::from_mode(0o750)).expect("chmod");
    let open = sigil(&data, &["onion", "client", "add", "dave"]);
    assert!(stderr(&open).contains("chmod 700"), "{}", stderr(&open));
    fs::set_permissions(&clients_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
    assert!(!clients_dir.join("dave.auth").exists());

    // Second start: Tor loads the clients' keys, and warns about nothing.
    let mut tor = Tor::start(&torrc, &log);
    tor.wait_for("Delaying directory fetches");
    for (name, _) in &issued {
        tor.wait_for(&format!(
            "Loaded a client authorization key file {name}.auth."
        ));
    }
    let log_text = tor.log();
    assert!(
        !log_text.contains("bob.auth"),
        "a revoked key was loaded:\n{log_text}"
    );
    assert_eq!(tor.warnings(), Vec::<String>::new(), "\n{log_text}");
    drop(tor);

    // Each client's line, as that client's Tor holds it (one key per address per Tor).
    for (name, line) in &issued {
        let auth_dir = tmp.path().join(format!("{name}-auth"));
        fs::create_dir(&auth_dir).expect("client auth dir");
        fs::set_permissions(&auth_dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(auth_dir.join("sigil.auth_private"), format!("{line}\n")).expect("write");
        let options = format!("ClientOnionAuthDir {}\n", auth_dir.display());
        let (torrc, log) = tor_config(tmp.path(), name, &options);
        let mut tor = Tor::start(&torrc, &log);
        tor.wait_for("Delaying directory fetches");
        tor.wait_for("Loaded a client authorization key file sigil.auth_private.");
        let log_text = tor.log();
        assert_eq!(tor.warnings(), Vec::<String>::new(), "{name}:\n{log_text}");
    }
}

/// A torrc for an offline Tor of its own (`DisableNetwork 1`) with `options`,
/// logging at info level; the paths of the torrc and the log.
fn tor_config(dir: &Path, name: &str, options: &str) -> (PathBuf, PathBuf) {
    let torrc = dir.join(format!("{name}.torrc"));
    let log = dir.join(format!("{name}.log"));
    fs::write(
        &torrc,
        format!(
            "DataDirectory {}\nDisableNetwork 1\nSocksPort 127.0.0.1:auto\nLog info file {}\n{options}",
            dir.join(format!("{name}-data")).display(),
            log.display(),
        ),
    )
    .expect("torrc");
    (torrc, log)
}
