//! Typed configuration from flags, `SIGIL_*` environment variables and an optional TOML file, in
//! that order of precedence. Everything is validated once, at start-up, with a message that names
//! the option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use sigil_shared::envelope::KdfParams;
use sigil_shared::info::{MAX_POW_DIFFICULTY, RequestTransport};

use crate::store::Backend;

mod options;
#[cfg(test)]
mod tests;

pub use options::{
    OptionDoc, Options, SecretValue, Settings, SmtpTls, defaults_in_help, documented,
};

/// A configuration problem, worded for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Limits on email codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeLimits {
    pub ttl: Duration,
    pub attempts_per_session: u32,
    /// The base gap between codes to one address; it doubles with each unused code.
    pub resend_gap: Duration,
    /// Wrong 6-digit codes one address can take before its codes become 16 digits.
    pub guesses: u32,
    /// Time for one wrong guess to come back into the budget.
    pub guess_refill: Duration,
}

/// Guesses a second at 16 digits taken as the attacker's ceiling in SECURITY.md's bound (15
/// times the server's measured peak).
const CEILING_GUESSES_PER_SEC: f64 = 100_000.0;

impl CodeLimits {
    /// The chance these limits leave an attacker of guessing one address's code in a year of
    /// continuous guessing at the best rate (SECURITY.md shows the arithmetic for the defaults):
    /// the budget plus a year's refills of 6-digit guesses, plus 16-digit guesses at the ceiling.
    pub fn yearly_guess_chance(&self) -> f64 {
        const YEAR: f64 = 365.0 * 24.0 * 3600.0;
        let refill = self.guess_refill.as_secs().max(1) as f64;
        let short = (f64::from(self.guesses) + YEAR / refill) / 1e6;
        let long = CEILING_GUESSES_PER_SEC * YEAR / 1e16;
        short + long
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, SecretString)>,
    /// SOCKS5 proxy the connection goes through; it resolves `host` itself.
    pub proxy: Option<SocketAddr>,
    /// The EHLO name: a fixed one, so mail does not name the machine.
    pub hello_name: String,
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
        resend_gap: Duration::from_secs(o.code_resend_gap),
        guesses: o.code_guesses,
        guess_refill: Duration::from_secs(o.code_guess_refill),
    };
    ensure((60..=3600).contains(&codes.ttl.as_secs()), || {
        "code-ttl: must be 60..=3600 seconds".into()
    })?;
    ensure(codes.attempts_per_session >= 1, || {
        "code-attempts-per-session: must be at least 1".into()
    })?;
    ensure(codes.guesses >= 1, || {
        "code-guesses: must be at least 1".into()
    })?;
    ensure(codes.guess_refill.as_secs() >= 1, || {
        "code-guess-refill: must be at least 1 second".into()
    })?;
    Ok(codes)
}

/// A name for EHLO: dot-separated labels of ASCII letters, digits and inner hyphens.
fn is_hello_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A server behind an onion service must not dial its mail server directly: the provider would
/// write this machine's IP address into every code email's `Received:` header, where anyone who
/// signs up can read it.
fn check_mail_hides_the_server(o: &Settings, host: &str) -> Result<(), ConfigError> {
    let onion_dir = o
        .onion_dir
        .clone()
        .unwrap_or_else(|| o.data_dir.join("onion"));
    let behind_onion = o.relay_proxy.is_some() || o.onion_dir.is_some() || onion_dir.exists();
    ensure(
        !behind_onion || o.smtp_proxy.is_some() || o.smtp_direct_behind_onion,
        || {
            format!(
                "this server is set up behind an onion service (an onion directory or \
                 relay-proxy), but code emails would go straight to {host}, and the mail \
                 provider would record this machine's IP address in every email it delivers. \
                 Send mail through Tor with smtp-proxy (e.g. 127.0.0.1:9050), or accept that \
                 exposure with smtp-direct-behind-onion = true (see docs/onion.md)"
            )
        },
    )
}

fn mail_config(o: &Settings) -> Result<MailConfig, ConfigError> {
    let smtp = match &o.smtp_host {
        None => {
            ensure(
                o.smtp_username.is_none() && o.smtp_password.is_none(),
                || "smtp-username/smtp-password are set but smtp-host is not".into(),
            )?;
            ensure(o.smtp_proxy.is_none(), || {
                "smtp-proxy is set but smtp-host is not".into()
            })?;
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
            ensure(o.smtp_proxy.is_none() || tls != SmtpTls::Tls, || {
                "smtp-proxy works with smtp-tls starttls or none (port 587 with STARTTLS is what \
                 most providers offer); implicit TLS through a proxy is not supported"
                    .into()
            })?;
            ensure(is_hello_name(&o.smtp_hello_name), || {
                format!(
                    "smtp-hello-name: `{}` is not a host name (letters, digits, hyphens and dots)",
                    o.smtp_hello_name
                )
            })?;
            check_mail_hides_the_server(o, host)?;
            Some(SmtpConfig {
                host: host.clone(),
                port,
                tls,
                credentials,
                proxy: o.smtp_proxy,
                hello_name: o.smtp_hello_name.clone(),
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
