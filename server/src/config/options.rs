//! Every option, declared once (see [`options!`]), and how the file and the flags combine.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Deserialize;
use sigil_shared::envelope::KdfParams;
use sigil_shared::info::RequestTransport;

use secrecy::SecretString;

use super::ConfigError;

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

show_by_display!(u8, u16, u32, u64, usize, bool, String, SocketAddr);

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
        /// Tries one session gets at its code.
        code_attempts_per_session: u32, env "SIGIL_CODE_ATTEMPTS_PER_SESSION", default(5);
        /// Wrong 6-digit codes one address can take before its codes become 16 digits (the
        /// guessing budget; see SECURITY.md for the bound it gives).
        code_guesses: u32, env "SIGIL_CODE_GUESSES", default(10);
        /// Seconds for one wrong guess to come back into an address's budget.
        code_guess_refill: u64, env "SIGIL_CODE_GUESS_REFILL", default(3600);
        /// Seconds between two codes to one address; requests in between share the code just
        /// sent. Doubles with each unused code, up to code-ttl.
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
        /// SOCKS5 proxy for mail, such as Tor's 127.0.0.1:9050; it also resolves smtp-host's
        /// name. Works with smtp-tls starttls or none.
        smtp_proxy: SocketAddr, env "SIGIL_SMTP_PROXY", derived("none (direct)");
        /// The name this server gives in SMTP's EHLO, which mail servers record in the
        /// Received: header. Never the machine's own name unless set to it.
        smtp_hello_name: String, env "SIGIL_SMTP_HELLO_NAME", default(String::from("localhost"));
        /// Send mail straight to smtp-host even though this server is behind an onion service
        /// (the mail provider then sees this machine's IP address).
        smtp_direct_behind_onion: bool, env "SIGIL_SMTP_DIRECT_BEHIND_ONION", default(false);
    }
}

/// A secret option value: redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct SecretValue(pub(super) SecretString);

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
