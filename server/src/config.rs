//! Typed configuration from flags, `SIGIL_*` environment variables and an optional TOML file, in
//! that order of precedence. Everything is validated once, at start-up, with a message that names
//! the option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::SecretString;
use serde::Deserialize;
use sigil_shared::envelope::KdfParams;
use sigil_shared::info::{MAX_POW_DIFFICULTY, RequestTransport};

use crate::store::Backend;

/// Declares every option once: its type, environment variable, default and help, under the
/// group it belongs to. From this come [`Options`] (flags, environment and file, each `None`
/// when not given), the overlay of flags over the file, [`Settings`] (the declared defaults
/// filled in) and [`documented`] (what the README table and `sigil.example.toml` must say).
///
/// A default is either a value (`default(expr)`, shown as the value) or derived from other
/// options at validation (`derived("text")`, shown as the text; the setting stays optional).
macro_rules! options {
    ($(
        group $heading:literal {
            $(
                $(#[$attr:meta])*
                $field:ident: $ty:ty, env $env:literal, $kind:ident($($default:tt)*);
            )*
        }
    )*) => {
        /// Options as given; `None` means "not set here". Declared once, in [`options!`].
        #[derive(Debug, Default, Clone, Args, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub struct Options {
            $($(
                $(#[$attr])*
                #[arg(long, env = $env, help_heading = $heading)]
                pub $field: Option<$ty>,
            )*)*
        }

        /// Options with their declared defaults filled in.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $($(pub $field: setting_type!($kind, $ty),)*)*
        }

        impl Options {
            /// Takes each option `top` sets over this one's.
            fn overlay(&mut self, top: Options) {
                $($(if top.$field.is_some() { self.$field = top.$field; })*)*
            }

            fn with_defaults(self) -> Settings {
                Settings {
                    $($($field: fill_default!($kind, self.$field, $($default)*),)*)*
                }
            }
        }

        /// Every option: its file key, environment variable and default as documented.
        pub fn documented() -> Vec<OptionDoc> {
            vec![$($(OptionDoc {
                key: stringify!($field),
                env: $env,
                default: shown_default!($kind, $ty, $($default)*),
            },)*)*]
        }
    };
}

macro_rules! setting_type {
    (default, $ty:ty) => { $ty };
    (derived, $ty:ty) => { Option<$ty> };
}

macro_rules! fill_default {
    (default, $value:expr, $($default:tt)*) => { $value.unwrap_or_else(|| $($default)*) };
    (derived, $value:expr, $text:literal) => { $value };
}

macro_rules! shown_default {
    (default, $ty:ty, $($default:tt)*) => { ShowDefault::show(&{ let value: $ty = $($default)*; value }) };
    (derived, $ty:ty, $text:literal) => { String::from($text) };
}

/// One option as the README table and the example file must show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDoc {
    /// The field name; the flag and file key are it in kebab-case.
    pub key: &'static str,
    pub env: &'static str,
    pub default: String,
}

impl OptionDoc {
    /// `pow-difficulty` for `pow_difficulty`: the file key, and the flag after `--`.
    pub fn file_key(&self) -> String {
        self.key.replace('_', "-")
    }
}

/// `command` with each option's documented default at the end of its help, as the README
/// table gives it.
pub fn defaults_in_help(mut command: clap::Command) -> clap::Command {
    for doc in documented() {
        command = command.mut_arg(doc.key, |arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            arg.help(format!("{help} [default: {}]", doc.default))
        });
    }
    command
}

/// How a default reads in the docs: as it would be written in the example file, unquoted.
trait ShowDefault {
    fn show(&self) -> String;
}

macro_rules! show_by_display {
    ($($ty:ty),*) => {$(
        impl ShowDefault for $ty {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

show_by_display!(u8, u16, u32, u64, usize, String, SocketAddr);

impl ShowDefault for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl ShowDefault for Vec<String> {
    fn show(&self) -> String {
        self.join(",")
    }
}

impl ShowDefault for SmtpTls {
    fn show(&self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

impl ShowDefault for RequestTransport {
    fn show(&self) -> String {
        match self {
            RequestTransport::Http => "http",
            RequestTransport::Relays => "relays",
        }
        .into()
    }
}

const DEFAULT_RELAYS: [&str; 3] = [
    "wss://relay.damus.io",
    "wss://nos.lol",
    "wss://relay.primal.net",
];

options! {
    group "Server" {
        /// TOML file with any of these options (kebab-case keys); flags and environment win over it.
        #[serde(skip)]
        config: PathBuf, env "SIGIL_CONFIG", derived("none");
        /// Address to listen on. Keep it on loopback behind Tor or a reverse proxy.
        listen: SocketAddr, env "SIGIL_LISTEN", default(SocketAddr::from(([127, 0, 0, 1], 8080)));
        /// Directory for the server key, the email-hash key and the SQLite database.
        data_dir: PathBuf, env "SIGIL_DATA_DIR", default(PathBuf::from("./data"));
        /// Database: sqlite://PATH, or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE to run
        /// several server processes as one service.
        database_url: String, env "SIGIL_DATABASE_URL", derived("sqlite://<data-dir>/sigil.db");
        /// Tor's HiddenServiceDir for this server, where `onion client` keeps client keys.
        onion_dir: PathBuf, env "SIGIL_ONION_DIR", derived("<data-dir>/onion");
        /// Directory of the built web client (Trunk's output).
        web_dir: PathBuf, env "SIGIL_WEB_DIR", default(PathBuf::from("./dist"));
        /// Server secret key (nsec or hex).
        #[arg(hide_env_values = true)]
        server_key: SecretValue, env "SIGIL_SERVER_KEY", derived("generated in <data-dir>/server.key");
        /// 32-byte hex key for hashing emails and codes; every process of one deployment needs
        /// the same.
        #[arg(hide_env_values = true)]
        email_hash_key: SecretValue, env "SIGIL_EMAIL_HASH_KEY", derived("generated in <data-dir>/email-hash.key");
        /// Log filter (tracing's EnvFilter syntax). Even at trace, nothing logs client addresses.
        log: String, env "SIGIL_LOG", default(String::from("info"));
    }
    group "Proof of work" {
        /// Required NIP-13 proof of work of requests, in leading zero bits (at most 28).
        pow_difficulty: u8, env "SIGIL_POW_DIFFICULTY", default(16);
        /// Adaptive proof of work: under load the difficulty rises up to this many bits.
        pow_max_difficulty: u8, env "SIGIL_POW_MAX_DIFFICULTY", derived("pow-difficulty (fixed)");
        /// Adaptive proof of work: verified requests per second this process takes at the base
        /// difficulty; each doubling above it adds a bit.
        pow_calm_rate: u32, env "SIGIL_POW_CALM_RATE", default(50);
    }
    group "Request limits" {
        /// Accepted clock difference for request `created_at`, in seconds (30 to 3600).
        created_at_window: u64, env "SIGIL_CREATED_AT_WINDOW", default(300);
        /// Largest accepted request body, in bytes.
        max_event_bytes: usize, env "SIGIL_MAX_EVENT_BYTES", default(65536);
        /// Requests one signing key (ephemeral or account) may make per minute.
        requests_per_key_per_minute: u32, env "SIGIL_REQUESTS_PER_KEY_PER_MINUTE", default(30);
        /// Requests handled at once; more are refused with 503 and Retry-After instead of
        /// queueing.
        max_in_flight: usize, env "SIGIL_MAX_IN_FLIGHT", default(128);
    }
    group "Key derivation for new backups" {
        /// Argon2id memory for new backups, in KiB.
        kdf_memory_kib: u32, env "SIGIL_KDF_MEMORY_KIB", default(KdfParams::DEFAULT.m_kib);
        /// Argon2id passes for new backups.
        kdf_iterations: u32, env "SIGIL_KDF_ITERATIONS", default(KdfParams::DEFAULT.t);
        /// Argon2id lanes for new backups.
        kdf_parallelism: u32, env "SIGIL_KDF_PARALLELISM", default(KdfParams::DEFAULT.p);
    }
    group "Relays" {
        /// Relays new accounts start with, comma-separated.
        #[arg(value_delimiter = ',')]
        default_relays: Vec<String>, env "SIGIL_DEFAULT_RELAYS", default(DEFAULT_RELAYS.map(String::from).to_vec());
        /// Relays the DVM listens on and answers through, comma-separated (announced in the
        /// well-known document).
        #[arg(value_delimiter = ',')]
        dvm_relays: Vec<String>, env "SIGIL_DVM_RELAYS", derived("none");
        /// SOCKS5 proxy for the connections to the DVM relays, such as Tor's 127.0.0.1:9050; it
        /// also resolves the relays' names.
        relay_proxy: SocketAddr, env "SIGIL_RELAY_PROXY", derived("none (direct)");
        /// How the web client sends requests: http, or relays (the dvm-relays).
        client_transport: RequestTransport, env "SIGIL_CLIENT_TRANSPORT", default(RequestTransport::Http);
    }
    group "Email codes" {
        /// Lifetime of an email code, in seconds (60 to 3600).
        code_ttl: u64, env "SIGIL_CODE_TTL", default(600);
        /// Wrong codes allowed for one code.
        code_attempts_per_session: u32, env "SIGIL_CODE_ATTEMPTS_PER_SESSION", default(5);
        /// Wrong codes allowed per address per hour, across new codes.
        code_failures_per_hour: u32, env "SIGIL_CODE_FAILURES_PER_HOUR", default(6);
        /// Seconds the next try waits after an address's second wrong code, doubling with each
        /// further one (at most 300; 0 turns it off).
        code_failure_delay: u64, env "SIGIL_CODE_FAILURE_DELAY", default(2);
        /// Codes sent to one address per hour.
        codes_per_hour: u32, env "SIGIL_CODES_PER_HOUR", default(5);
        /// Minimum seconds between two codes to one address.
        code_resend_gap: u64, env "SIGIL_CODE_RESEND_GAP", default(60);
    }
    group "SMTP" {
        /// SMTP server. Without it, codes are printed on the console.
        smtp_host: String, env "SIGIL_SMTP_HOST", derived("none");
        /// SMTP port.
        smtp_port: u16, env "SIGIL_SMTP_PORT", derived("587 / 465 / 25 by smtp-tls");
        /// SMTP transport security: starttls, tls (implicit) or none.
        smtp_tls: SmtpTls, env "SIGIL_SMTP_TLS", default(SmtpTls::Starttls);
        /// SMTP user (together with the password).
        smtp_username: String, env "SIGIL_SMTP_USERNAME", derived("none");
        /// SMTP password.
        #[arg(hide_env_values = true)]
        smtp_password: SecretValue, env "SIGIL_SMTP_PASSWORD", derived("none");
        /// Sender of code emails.
        smtp_from: String, env "SIGIL_SMTP_FROM", default(String::from("Sigil <sigil@localhost>"));
    }
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

impl Options {
    /// Options from the file named by `config`, if any, overlaid with `self`, with the
    /// declared defaults filled in.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
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
        base.overlay(self);
        Ok(base.with_defaults())
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

/// Proof of work required of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowConfig {
    pub difficulty: u8,
    pub max_difficulty: u8,
    pub calm_rate: u32,
}

/// Limits on each request and on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    pub created_at_window: u64,
    pub max_event_bytes: usize,
    pub per_key_per_minute: u32,
    pub max_in_flight: usize,
}

/// The relays the server announces and listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub default_relays: Vec<String>,
    pub dvm_relays: Vec<String>,
    pub proxy: Option<SocketAddr>,
    pub client_transport: RequestTransport,
}

/// How code emails are sent: by SMTP, or printed on the console without it.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub smtp: Option<SmtpConfig>,
    pub from: String,
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
    pub pow: PowConfig,
    pub requests: RequestLimits,
    pub kdf: KdfParams,
    pub relays: RelayConfig,
    pub codes: CodeLimits,
    pub mail: MailConfig,
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
        let database_url = o
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", o.data_dir.join("sigil.db").display()));
        ensure(Backend::of(&database_url).is_some(), || {
            // The URL itself is not echoed: it may hold a password.
            "database-url: only sqlite://PATH and postgres://USER@HOST/DATABASE are supported"
                .to_owned()
        })?;
        let pow = pow_config(&o)?;
        let requests = request_limits(&o)?;
        let kdf = KdfParams::argon2id(o.kdf_memory_kib, o.kdf_iterations, o.kdf_parallelism);
        kdf.check().map_err(|_| {
            let (lo, hi) = (KdfParams::FLOOR, KdfParams::CEILING);
            ConfigError(format!(
                "kdf-*: m={} KiB, t={}, p={} must lie within m {}..={}, t {}..={}, p {}..={} (clients refuse others)",
                kdf.m_kib, kdf.t, kdf.p, lo.m_kib, hi.m_kib, lo.t, hi.t, lo.p, hi.p
            ))
        })?;
        let relays = relay_config(&o)?;
        let codes = code_limits(&o)?;
        let mail = mail_config(&o)?;
        Ok(Self {
            listen: o.listen,
            onion_dir: o.onion_dir.unwrap_or_else(|| o.data_dir.join("onion")),
            data_dir: o.data_dir,
            database_url,
            web_dir: o.web_dir,
            server_key: o.server_key.map(|s| s.0),
            email_hash_key: o.email_hash_key.map(|s| s.0),
            pow,
            requests,
            kdf,
            relays,
            codes,
            mail,
            log: o.log,
        })
    }
}

fn pow_config(o: &Settings) -> Result<PowConfig, ConfigError> {
    let difficulty = o.pow_difficulty;
    ensure(difficulty <= MAX_POW_DIFFICULTY, || {
        format!("pow-difficulty: {difficulty} is above {MAX_POW_DIFFICULTY}, which clients refuse")
    })?;
    let max_difficulty = o.pow_max_difficulty.unwrap_or(difficulty);
    ensure(
        (difficulty..=MAX_POW_DIFFICULTY).contains(&max_difficulty),
        || {
            format!(
                "pow-max-difficulty: {max_difficulty} is outside {difficulty}..={MAX_POW_DIFFICULTY} (pow-difficulty up to what clients accept)"
            )
        },
    )?;
    let calm_rate = o.pow_calm_rate;
    ensure((1..=1_000_000).contains(&calm_rate), || {
        format!("pow-calm-rate: {calm_rate} is outside 1..=1000000")
    })?;
    Ok(PowConfig {
        difficulty,
        max_difficulty,
        calm_rate,
    })
}

fn request_limits(o: &Settings) -> Result<RequestLimits, ConfigError> {
    let limits = RequestLimits {
        created_at_window: o.created_at_window,
        max_event_bytes: o.max_event_bytes,
        per_key_per_minute: o.requests_per_key_per_minute,
        max_in_flight: o.max_in_flight,
    };
    ensure((30..=3600).contains(&limits.created_at_window), || {
        format!(
            "created-at-window: {} s is outside 30..=3600",
            limits.created_at_window
        )
    })?;
    ensure(
        (4 * 1024..=1024 * 1024).contains(&limits.max_event_bytes),
        || {
            format!(
                "max-event-bytes: {} is outside 4096..=1048576",
                limits.max_event_bytes
            )
        },
    )?;
    ensure((1..=10_000).contains(&limits.per_key_per_minute), || {
        format!(
            "requests-per-key-per-minute: {} is outside 1..=10000",
            limits.per_key_per_minute
        )
    })?;
    ensure((1..=100_000).contains(&limits.max_in_flight), || {
        format!(
            "max-in-flight: {} is outside 1..=100000",
            limits.max_in_flight
        )
    })?;
    Ok(limits)
}

fn relay_config(o: &Settings) -> Result<RelayConfig, ConfigError> {
    check_relays("default-relays", &o.default_relays)?;
    let dvm_relays = o.dvm_relays.clone().unwrap_or_default();
    check_relays("dvm-relays", &dvm_relays)?;
    ensure(
        o.client_transport == RequestTransport::Http || !dvm_relays.is_empty(),
        || "client-transport: relays needs at least one dvm-relays URL".into(),
    )?;
    ensure(o.relay_proxy.is_none() || !dvm_relays.is_empty(), || {
        "relay-proxy: set, but there are no dvm-relays to connect to".into()
    })?;
    Ok(RelayConfig {
        default_relays: o.default_relays.clone(),
        dvm_relays,
        proxy: o.relay_proxy,
        client_transport: o.client_transport,
    })
}

fn code_limits(o: &Settings) -> Result<CodeLimits, ConfigError> {
    let codes = CodeLimits {
        ttl: Duration::from_secs(o.code_ttl),
        attempts_per_session: o.code_attempts_per_session,
        failures_per_hour: o.code_failures_per_hour,
        codes_per_hour: o.codes_per_hour,
        resend_gap: Duration::from_secs(o.code_resend_gap),
        failure_delay: Duration::from_secs(o.code_failure_delay),
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
    Ok(codes)
}

fn mail_config(o: &Settings) -> Result<MailConfig, ConfigError> {
    let smtp = match &o.smtp_host {
        None => {
            ensure(
                o.smtp_username.is_none() && o.smtp_password.is_none(),
                || "smtp-username/smtp-password are set but smtp-host is not".into(),
            )?;
            None
        }
        Some(host) => {
            let tls = o.smtp_tls;
            let port = o.smtp_port.unwrap_or(match tls {
                SmtpTls::Starttls => 587,
                SmtpTls::Tls => 465,
                SmtpTls::None => 25,
            });
            let credentials = match (&o.smtp_username, &o.smtp_password) {
                (Some(user), Some(password)) => Some((user.clone(), password.0.clone())),
                (None, None) => None,
                _ => {
                    return Err(ConfigError(
                        "smtp-username and smtp-password go together".into(),
                    ));
                }
            };
            Some(SmtpConfig {
                host: host.clone(),
                port,
                tls,
                credentials,
            })
        }
    };
    ensure(
        o.smtp_from.parse::<lettre::message::Mailbox>().is_ok(),
        || format!("smtp-from: `{}` is not a valid mailbox", o.smtp_from),
    )?;
    Ok(MailConfig {
        smtp,
        from: o.smtp_from.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let config = Config::from_options(Options::default()).expect("defaults");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.kdf, KdfParams::DEFAULT);
        assert!(config.mail.smtp.is_none());
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

    /// The README's configuration table: flag, environment variable and default, by flag.
    fn readme_table() -> std::collections::HashMap<String, (String, String)> {
        let readme = include_str!("../../README.md");
        readme
            .lines()
            .filter(|line| line.starts_with("| `--"))
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let unquote = |cell: &str| cell.trim_matches('`').to_owned();
                let flag = unquote(cells.get(1)?).trim_start_matches("--").to_owned();
                Some((flag, (unquote(cells.get(2)?), unquote(cells.get(3)?))))
            })
            .collect()
    }

    #[test]
    fn the_readme_lists_every_option_with_its_real_default() {
        let table = readme_table();
        for doc in documented() {
            let key = doc.file_key();
            let expected = (doc.env.to_owned(), doc.default.clone());
            assert_eq!(table.get(&key), Some(&expected), "README row for --{key}");
            assert_eq!(doc.env, format!("SIGIL_{}", doc.key.to_uppercase()));
        }
        assert_eq!(
            table.len(),
            documented().len(),
            "README rows for unknown options"
        );
    }

    #[test]
    fn the_example_file_shows_every_option_with_its_real_default() {
        let example = include_str!("../../sigil.example.toml");
        for doc in documented().into_iter().filter(|doc| doc.key != "config") {
            let key = doc.file_key();
            let line = example
                .lines()
                .find_map(|line| line.strip_prefix(&format!("# {key} = ")))
                .unwrap_or_else(|| panic!("sigil.example.toml has no `# {key} = ` line"));
            let shown: toml::Value = toml::from_str(&format!("v = {line}"))
                .map(|table: toml::Table| table["v"].clone())
                .unwrap_or_else(|_| toml::Value::String(line.to_owned()));
            let shown = match shown {
                toml::Value::String(text) => text,
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(|item| item.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            assert_eq!(shown, doc.default, "sigil.example.toml's default of {key}");
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
        assert_eq!(config.mail.smtp.as_ref().map(|s| s.port), Some(587));
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/sigil"));
        assert_eq!(config.relays.client_transport, RequestTransport::Http);
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
        assert_eq!(config.relays.client_transport, RequestTransport::Relays);
        assert_eq!(config.relays.proxy, "127.0.0.1:9050".parse().ok());
        assert_eq!(config.relays.dvm_relays, ["ws://127.0.0.1:7777"]);
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
        assert_eq!(config.pow.difficulty, 10);
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
