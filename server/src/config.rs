//! Typed configuration from flags, `SIGIL_*` environment variables and an optional TOML file, in
//! that order of precedence. Everything is validated once, at start-up, with a message that names
//! the option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use serde::Deserialize;
use sigil_shared::envelope::KdfParams;
use sigil_shared::info::{MAX_POW_DIFFICULTY, RequestTransport};

use crate::store::Backend;

/// Options as given; `None` means "not set here". See README for the table of options.
#[derive(Debug, Default, Clone, Args, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// TOML file with any of these options (kebab-case keys); flags and environment win over it.
    #[arg(long, env = "SIGIL_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Address to listen on. Keep it on loopback behind Tor or a reverse proxy. [default: 127.0.0.1:8080]
    #[arg(long, env = "SIGIL_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the server key, the email-hash key and the SQLite database. [default: ./data]
    #[arg(long, env = "SIGIL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL. [default: sqlite://<data-dir>/sigil.db]
    #[arg(long, env = "SIGIL_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Tor's HiddenServiceDir for this server, where `onion client` keeps client keys.
    /// [default: <data-dir>/onion]
    #[arg(long, env = "SIGIL_ONION_DIR")]
    pub onion_dir: Option<PathBuf>,
    /// Directory of the built web client (Trunk's output). [default: ./dist]
    #[arg(long, env = "SIGIL_WEB_DIR")]
    pub web_dir: Option<PathBuf>,
    /// Server secret key (nsec or hex). [default: generated into <data-dir>/server.key]
    #[arg(long, env = "SIGIL_SERVER_KEY", hide_env_values = true)]
    pub server_key: Option<SecretValue>,
    /// 32-byte hex key for hashing emails and codes; every process of one deployment needs the
    /// same. [default: generated into <data-dir>/email-hash.key]
    #[arg(long, env = "SIGIL_EMAIL_HASH_KEY", hide_env_values = true)]
    pub email_hash_key: Option<SecretValue>,
    /// Required NIP-13 proof of work of requests, in leading zero bits. [default: 16]
    #[arg(long, env = "SIGIL_POW_DIFFICULTY")]
    pub pow_difficulty: Option<u8>,
    /// Adaptive proof of work: under load the difficulty rises up to this many bits.
    /// [default: pow-difficulty, which keeps it fixed]
    #[arg(long, env = "SIGIL_POW_MAX_DIFFICULTY")]
    pub pow_max_difficulty: Option<u8>,
    /// Adaptive proof of work: verified requests per second this process takes at the base
    /// difficulty; each doubling above it adds a bit. [default: 50]
    #[arg(long, env = "SIGIL_POW_CALM_RATE")]
    pub pow_calm_rate: Option<u32>,
    /// Accepted clock difference for request `created_at`, in seconds. [default: 300]
    #[arg(long, env = "SIGIL_CREATED_AT_WINDOW")]
    pub created_at_window: Option<u64>,
    /// Largest accepted request body, in bytes. [default: 65536]
    #[arg(long, env = "SIGIL_MAX_EVENT_BYTES")]
    pub max_event_bytes: Option<usize>,
    /// Requests one signing key (ephemeral or account) may make per minute. [default: 30]
    #[arg(long, env = "SIGIL_REQUESTS_PER_KEY_PER_MINUTE")]
    pub requests_per_key_per_minute: Option<u32>,
    /// Requests handled at once; more are refused with 503 and Retry-After instead of
    /// queueing. [default: 128]
    #[arg(long, env = "SIGIL_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// Argon2id memory for new backups, in KiB. [default: 65536]
    #[arg(long, env = "SIGIL_KDF_MEMORY_KIB")]
    pub kdf_memory_kib: Option<u32>,
    /// Argon2id passes for new backups. [default: 3]
    #[arg(long, env = "SIGIL_KDF_ITERATIONS")]
    pub kdf_iterations: Option<u32>,
    /// Argon2id lanes for new backups. [default: 4]
    #[arg(long, env = "SIGIL_KDF_PARALLELISM")]
    pub kdf_parallelism: Option<u32>,
    /// Relays new accounts start with, comma-separated.
    /// [default: wss://relay.damus.io,wss://nos.lol,wss://relay.primal.net]
    #[arg(long, env = "SIGIL_DEFAULT_RELAYS", value_delimiter = ',')]
    pub default_relays: Option<Vec<String>>,
    /// Relays the DVM listens on, comma-separated (announced in the well-known document). [default: none]
    #[arg(long, env = "SIGIL_DVM_RELAYS", value_delimiter = ',')]
    pub dvm_relays: Option<Vec<String>>,
    /// SOCKS5 proxy for connections to the DVM relays, such as Tor's SocksPort
    /// (127.0.0.1:9050); relay host names are resolved by the proxy. [default: none, direct]
    #[arg(long, env = "SIGIL_RELAY_PROXY")]
    pub relay_proxy: Option<SocketAddr>,
    /// How the web client sends requests: http, or relays (the dvm-relays). [default: http]
    #[arg(long, env = "SIGIL_CLIENT_TRANSPORT")]
    pub client_transport: Option<RequestTransport>,
    /// Lifetime of an email code, in seconds. [default: 600]
    #[arg(long, env = "SIGIL_CODE_TTL")]
    pub code_ttl: Option<u64>,
    /// Wrong codes allowed per code session. [default: 5]
    #[arg(long, env = "SIGIL_CODE_ATTEMPTS_PER_SESSION")]
    pub code_attempts_per_session: Option<u32>,
    /// Wrong codes allowed per address per hour, across new codes. [default: 6]
    #[arg(long, env = "SIGIL_CODE_FAILURES_PER_HOUR")]
    pub code_failures_per_hour: Option<u32>,
    /// Wait after the second wrong code for an address, in seconds; it doubles with each further
    /// one (up to 300). 0 turns the delay off. [default: 2]
    #[arg(long, env = "SIGIL_CODE_FAILURE_DELAY")]
    pub code_failure_delay: Option<u64>,
    /// Codes sent per address per hour. [default: 5]
    #[arg(long, env = "SIGIL_CODES_PER_HOUR")]
    pub codes_per_hour: Option<u32>,
    /// Minimum gap between two codes to one address, in seconds. [default: 60]
    #[arg(long, env = "SIGIL_CODE_RESEND_GAP")]
    pub code_resend_gap: Option<u64>,
    /// SMTP server host. Without it, codes are printed to the console (development only).
    #[arg(long, env = "SIGIL_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port. [default: 587 for starttls, 465 for tls, 25 for none]
    #[arg(long, env = "SIGIL_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP transport security: starttls, tls (implicit) or none. [default: starttls]
    #[arg(long, env = "SIGIL_SMTP_TLS")]
    pub smtp_tls: Option<SmtpTls>,
    /// SMTP user name.
    #[arg(long, env = "SIGIL_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    /// SMTP password.
    #[arg(long, env = "SIGIL_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<SecretValue>,
    /// Sender address of code emails. [default: Sigil <sigil@localhost>]
    #[arg(long, env = "SIGIL_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Log filter (tracing's EnvFilter syntax). [default: info]
    #[arg(long, env = "SIGIL_LOG")]
    pub log: Option<String>,
}

/// A secret option value: redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct SecretValue(SecretString);

impl std::str::FromStr for SecretValue {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(SecretString::from(s.to_owned())))
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self(SecretString::from(s)))
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

macro_rules! overlay {
    ($base:ident, $top:ident, $($field:ident),+) => {
        $( if $top.$field.is_some() { $base.$field = $top.$field; } )+
    };
}

impl Options {
    /// Options from the file named by `config`, if any, overlaid with `self`.
    pub fn resolve(self) -> Result<Options, ConfigError> {
        let mut base = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file {}: {e}", path.display()))
                })?;
                toml::from_str::<Options>(&text)
                    .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?
            }
            None => Options::default(),
        };
        let top = self;
        overlay!(
            base,
            top,
            config,
            listen,
            data_dir,
            database_url,
            onion_dir,
            web_dir,
            server_key,
            email_hash_key,
            pow_difficulty,
            pow_max_difficulty,
            pow_calm_rate,
            created_at_window,
            max_event_bytes,
            max_in_flight,
            requests_per_key_per_minute,
            kdf_memory_kib,
            kdf_iterations,
            kdf_parallelism,
            default_relays,
            dvm_relays,
            relay_proxy,
            client_transport,
            code_ttl,
            code_attempts_per_session,
            code_failures_per_hour,
            code_failure_delay,
            codes_per_hour,
            code_resend_gap,
            smtp_host,
            smtp_port,
            smtp_tls,
            smtp_username,
            smtp_password,
            smtp_from,
            log
        );
        Ok(base)
    }
}

/// A configuration problem, worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Limits on email codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLimits {
    pub ttl: Duration,
    pub attempts_per_session: u32,
    pub failures_per_hour: u32,
    pub codes_per_hour: u32,
    pub resend_gap: Duration,
    pub failure_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, SecretString)>,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub onion_dir: PathBuf,
    pub web_dir: PathBuf,
    pub server_key: Option<SecretString>,
    pub email_hash_key: Option<SecretString>,
    pub pow_difficulty: u8,
    pub pow_max_difficulty: u8,
    pub pow_calm_rate: u32,
    pub created_at_window: u64,
    pub max_event_bytes: usize,
    pub max_in_flight: usize,
    pub requests_per_key: u32,
    pub kdf: KdfParams,
    pub default_relays: Vec<String>,
    pub dvm_relays: Vec<String>,
    pub relay_proxy: Option<SocketAddr>,
    pub client_transport: RequestTransport,
    pub codes: CodeLimits,
    pub smtp: Option<SmtpConfig>,
    pub mail_from: String,
    pub log: String,
}

fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError(message()))
    }
}

/// Relay URLs go into the page's content security policy, so nothing but a plain ws:// or
/// wss:// URL is let through.
fn check_relays(option: &str, relays: &[String]) -> Result<(), ConfigError> {
    for relay in relays {
        let parsed = url::Url::parse(relay).ok();
        ensure(
            parsed.is_some_and(|url| {
                matches!(url.scheme(), "ws" | "wss") && url.host_str().is_some()
            }) && !relay.contains([';', ',', ' ', '\'', '"']),
            || format!("{option}: `{relay}` is not a ws:// or wss:// relay URL"),
        )?;
    }
    Ok(())
}

impl Config {
    pub fn from_options(options: Options) -> Result<Self, ConfigError> {
        let o = options.resolve()?;
        let data_dir = o.data_dir.unwrap_or_else(|| PathBuf::from("data"));
        let database_url = o
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("sigil.db").display()));
        ensure(Backend::of(&database_url).is_some(), || {
            // The URL itself is not echoed: it may hold a password.
            "database-url: only sqlite://PATH and postgres://USER@HOST/DATABASE are supported"
                .to_owned()
        })?;

        let pow_difficulty = o.pow_difficulty.unwrap_or(16);
        ensure(pow_difficulty <= MAX_POW_DIFFICULTY, || {
            format!(
                "pow-difficulty: {pow_difficulty} is above {MAX_POW_DIFFICULTY}, which clients refuse"
            )
        })?;
        let pow_max_difficulty = o.pow_max_difficulty.unwrap_or(pow_difficulty);
        ensure(
            (pow_difficulty..=MAX_POW_DIFFICULTY).contains(&pow_max_difficulty),
            || {
                format!(
                    "pow-max-difficulty: {pow_max_difficulty} is outside {pow_difficulty}..={MAX_POW_DIFFICULTY} (pow-difficulty up to what clients accept)"
                )
            },
        )?;
        let pow_calm_rate = o.pow_calm_rate.unwrap_or(50);
        ensure((1..=1_000_000).contains(&pow_calm_rate), || {
            format!("pow-calm-rate: {pow_calm_rate} is outside 1..=1000000")
        })?;
        let created_at_window = o.created_at_window.unwrap_or(300);
        ensure((30..=3600).contains(&created_at_window), || {
            format!("created-at-window: {created_at_window} s is outside 30..=3600")
        })?;
        let max_event_bytes = o.max_event_bytes.unwrap_or(64 * 1024);
        ensure((4 * 1024..=1024 * 1024).contains(&max_event_bytes), || {
            format!("max-event-bytes: {max_event_bytes} is outside 4096..=1048576")
        })?;
        let requests_per_key = o.requests_per_key_per_minute.unwrap_or(30);
        ensure((1..=10_000).contains(&requests_per_key), || {
            format!("requests-per-key-per-minute: {requests_per_key} is outside 1..=10000")
        })?;
        let max_in_flight = o.max_in_flight.unwrap_or(128);
        ensure((1..=100_000).contains(&max_in_flight), || {
            format!("max-in-flight: {max_in_flight} is outside 1..=100000")
        })?;
        let kdf = KdfParams::argon2id(
            o.kdf_memory_kib.unwrap_or(KdfParams::DEFAULT.m_kib),
            o.kdf_iterations.unwrap_or(KdfParams::DEFAULT.t),
            o.kdf_parallelism.unwrap_or(KdfParams::DEFAULT.p),
        );
        kdf.check().map_err(|_| {
            let (lo, hi) = (KdfParams::FLOOR, KdfParams::CEILING);
            ConfigError(format!(
                "kdf-*: m={} KiB, t={}, p={} must lie within m {}..={}, t {}..={}, p {}..={} (clients refuse others)",
                kdf.m_kib, kdf.t, kdf.p, lo.m_kib, hi.m_kib, lo.t, hi.t, lo.p, hi.p
            ))
        })?;

        let default_relays = o.default_relays.unwrap_or_else(|| {
            [
                "wss://relay.damus.io",
                "wss://nos.lol",
                "wss://relay.primal.net",
            ]
            .map(String::from)
            .to_vec()
        });
        check_relays("default-relays", &default_relays)?;
        let dvm_relays = o.dvm_relays.unwrap_or_default();
        check_relays("dvm-relays", &dvm_relays)?;
        let client_transport = o.client_transport.unwrap_or_default();
        ensure(
            client_transport == RequestTransport::Http || !dvm_relays.is_empty(),
            || "client-transport: relays needs at least one dvm-relays URL".into(),
        )?;
        ensure(o.relay_proxy.is_none() || !dvm_relays.is_empty(), || {
            "relay-proxy: set, but there are no dvm-relays to connect to".into()
        })?;

        let codes = CodeLimits {
            ttl: Duration::from_secs(o.code_ttl.unwrap_or(600)),
            attempts_per_session: o.code_attempts_per_session.unwrap_or(5),
            failures_per_hour: o.code_failures_per_hour.unwrap_or(6),
            codes_per_hour: o.codes_per_hour.unwrap_or(5),
            resend_gap: Duration::from_secs(o.code_resend_gap.unwrap_or(60)),
            failure_delay: Duration::from_secs(o.code_failure_delay.unwrap_or(2)),
        };
        ensure(codes.failure_delay.as_secs() <= 60, || {
            "code-failure-delay: must be 0..=60 seconds".into()
        })?;
        ensure((60..=3600).contains(&codes.ttl.as_secs()), || {
            "code-ttl: must be 60..=3600 seconds".into()
        })?;
        ensure(codes.attempts_per_session >= 1, || {
            "code-attempts-per-session: must be at least 1".into()
        })?;
        ensure(codes.failures_per_hour >= 1, || {
            "code-failures-per-hour: must be at least 1".into()
        })?;
        ensure(codes.codes_per_hour >= 1, || {
            "codes-per-hour: must be at least 1".into()
        })?;

        let smtp = match o.smtp_host {
            None => {
                ensure(
                    o.smtp_username.is_none() && o.smtp_password.is_none(),
                    || "smtp-username/smtp-password are set but smtp-host is not".into(),
                )?;
                None
            }
            Some(host) => {
                let tls = o.smtp_tls.unwrap_or(SmtpTls::Starttls);
                let port = o.smtp_port.unwrap_or(match tls {
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                });
                let credentials = match (o.smtp_username, o.smtp_password) {
                    (Some(user), Some(password)) => Some((user, password.0)),
                    (None, None) => None,
                    _ => {
                        return Err(ConfigError(
                            "smtp-username and smtp-password go together".into(),
                        ));
                    }
                };
                Some(SmtpConfig {
                    host,
                    port,
                    tls,
                    credentials,
                })
            }
        };
        let mail_from = o
            .smtp_from
            .unwrap_or_else(|| "Sigil <sigil@localhost>".into());
        ensure(
            mail_from.parse::<lettre::message::Mailbox>().is_ok(),
            || format!("smtp-from: `{mail_from}` is not a valid mailbox"),
        )?;

        Ok(Self {
            listen: o
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            onion_dir: o.onion_dir.unwrap_or_else(|| data_dir.join("onion")),
            data_dir,
            database_url,
            web_dir: o.web_dir.unwrap_or_else(|| PathBuf::from("dist")),
            server_key: o.server_key.map(|s| s.0),
            email_hash_key: o.email_hash_key.map(|s| s.0),
            pow_difficulty,
            pow_max_difficulty,
            pow_calm_rate,
            created_at_window,
            max_event_bytes,
            max_in_flight,
            requests_per_key,
            kdf,
            default_relays,
            dvm_relays,
            relay_proxy: o.relay_proxy,
            client_transport,
            codes,
            smtp,
            mail_from,
            log: o.log.unwrap_or_else(|| "info".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_options(Options::default()).expect("defaults");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.kdf, KdfParams::DEFAULT);
        assert!(config.smtp.is_none());
    }

    #[test]
    fn bad_values_name_their_option() {
        let cases: Vec<(Options, &str)> = vec![
            (
                Options {
                    pow_difficulty: Some(40),
                    ..Default::default()
                },
                "pow-difficulty",
            ),
            (
                Options {
                    kdf_memory_kib: Some(1024),
                    ..Default::default()
                },
                "kdf-*",
            ),
            (
                Options {
                    pow_difficulty: Some(16),
                    pow_max_difficulty: Some(12),
                    ..Default::default()
                },
                "pow-max-difficulty",
            ),
            (
                Options {
                    pow_calm_rate: Some(0),
                    ..Default::default()
                },
                "pow-calm-rate",
            ),
            (
                Options {
                    created_at_window: Some(5),
                    ..Default::default()
                },
                "created-at-window",
            ),
            (
                Options {
                    database_url: Some("mysql://x".into()),
                    ..Default::default()
                },
                "database-url",
            ),
            (
                Options {
                    default_relays: Some(vec!["http://x".into()]),
                    ..Default::default()
                },
                "default-relays",
            ),
            (
                Options {
                    // Would smuggle a directive into the page's content security policy.
                    dvm_relays: Some(vec!["wss://r.example; script-src *".into()]),
                    ..Default::default()
                },
                "dvm-relays",
            ),
            (
                Options {
                    client_transport: Some(RequestTransport::Relays),
                    ..Default::default()
                },
                "client-transport",
            ),
            (
                Options {
                    relay_proxy: Some("127.0.0.1:9050".parse().expect("addr")),
                    ..Default::default()
                },
                "relay-proxy",
            ),
            (
                Options {
                    smtp_username: Some("u".into()),
                    ..Default::default()
                },
                "smtp-host",
            ),
            (
                Options {
                    smtp_from: Some("not a mailbox".into()),
                    ..Default::default()
                },
                "smtp-from",
            ),
        ];
        for (options, needle) in cases {
            let error = Config::from_options(options).expect_err(needle);
            assert!(error.0.contains(needle), "{needle}: {error}");
        }
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sigil.example.toml");
        let config = Config::from_options(Options {
            config: Some(path),
            ..Default::default()
        })
        .expect("example config");
        assert_eq!(config.smtp.as_ref().map(|s| s.port), Some(587));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/sigil"));
        assert_eq!(config.client_transport, RequestTransport::Http);
    }

    #[test]
    fn the_relay_transport_is_read_from_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sigil.toml");
        let file = "dvm-relays = [\"ws://127.0.0.1:7777\"]\nclient-transport = \"relays\"\n\
                    relay-proxy = \"127.0.0.1:9050\"\n";
        std::fs::write(&path, file).expect("write");
        let config = Config::from_options(Options {
            config: Some(path),
            ..Default::default()
        })
        .expect("config");
        assert_eq!(config.client_transport, RequestTransport::Relays);
        assert_eq!(config.relay_proxy, "127.0.0.1:9050".parse().ok());
        assert_eq!(config.dvm_relays, ["ws://127.0.0.1:7777"]);
    }

    #[test]
    fn file_values_are_overridden_by_flags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sigil.toml");
        std::fs::write(&path, "pow-difficulty = 12\ncode-ttl = 120\n").expect("write");
        let options = Options {
            config: Some(path.clone()),
            pow_difficulty: Some(10),
            ..Default::default()
        };
        let config = Config::from_options(options).expect("config");
        assert_eq!(config.pow_difficulty, 10);
        assert_eq!(config.codes.ttl, Duration::from_secs(120));

        std::fs::write(&path, "no-such-option = 1\n").expect("write");
        let error = Config::from_options(Options {
            config: Some(path),
            ..Default::default()
        })
        .expect_err("unknown key");
        assert!(error.0.contains("no-such-option"), "{error}");
    }
}
