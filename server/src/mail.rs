//! Sending codes: real SMTP through lettre, or the console when no SMTP server is configured.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use sigil_shared::email::EmailAddress;

use zeroize::Zeroizing;

use crate::codes;
use crate::config::{ConfigError, SmtpConfig, SmtpTls};

const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a code email was not sent. Worded without the SMTP server's reply text, which may quote
/// the recipient's address: this ends up in logs.
#[derive(Debug, thiserror::Error)]
#[error("mail: {0}")]
pub struct MailError(String);

impl From<&lettre::transport::smtp::Error> for MailError {
    fn from(error: &lettre::transport::smtp::Error) -> Self {
        let class = if error.is_timeout() {
            "timeout"
        } else if error.is_tls() {
            "TLS failure"
        } else if error.is_permanent() {
            "permanent SMTP error"
        } else if error.is_transient() {
            "transient SMTP error"
        } else if error.is_client() {
            "SMTP client error"
        } else {
            "SMTP connection error"
        };
        match error.status() {
            Some(code) => Self(format!("{class} (status {code})")),
            None => Self(class.to_owned()),
        }
    }
}

/// What one code email says.
pub struct CodeMail<'a> {
    pub code: &'a str,
    pub ttl: Duration,
    /// Wrong codes tried for the address since its last successful sign-in: the owner learns of
    /// an attack from the next email.
    pub wrong_since_success: u64,
}

impl std::fmt::Debug for CodeMail<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeMail")
            .field("code", &"[redacted]")
            .field("ttl", &self.ttl)
            .field("wrong_since_success", &self.wrong_since_success)
            .finish()
    }
}

impl CodeMail<'_> {
    fn minutes(&self) -> u64 {
        self.ttl.as_secs().div_ceil(60)
    }

    /// The plain-text body (zeroized: it holds the code).
    pub fn body(&self) -> Zeroizing<String> {
        let mut body = format!(
            "Your Sigil code is {}\n\nIt expires in {} minutes and works once.\n",
            codes::display(self.code).as_str(),
            self.minutes()
        );
        match self.wrong_since_success {
            0 => {}
            wrong => {
                let codes = if wrong == 1 { "code was" } else { "codes were" };
                body.push_str(&format!(
                    "\nWarning: {wrong} wrong {codes} tried for this address since it last signed in.\n\
                     If that was not you, someone who knows your address is trying to guess a code.\n\
                     They cannot read this email, and while they keep trying your codes have 16 digits,\n\
                     which cannot be guessed. You can sign in as usual.\n"
                ));
            }
        }
        body.push_str(
            "\nIf you did not ask for a code, ignore this email: without it nobody can use your address.\n",
        );
        Zeroizing::new(body)
    }
}

#[derive(Debug, Clone)]
pub enum Mailer {
    /// Development mode: the code is printed on the server's console.
    Console,
    Smtp {
        transport: Box<AsyncSmtpTransport<Tokio1Executor>>,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn new(smtp: Option<&SmtpConfig>, from: &str) -> Result<Self, ConfigError> {
        let Some(smtp) = smtp else {
            return Ok(Self::Console);
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e| ConfigError(format!("smtp-from: {e}")))?;
        let builder = match smtp.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                .map_err(|e| ConfigError(format!("smtp-host: {e}")))?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)
                .map_err(|e| ConfigError(format!("smtp-host: {e}")))?,
        };
        let mut builder = builder.port(smtp.port).timeout(Some(SEND_TIMEOUT));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self::Smtp {
            transport: Box::new(builder.build()),
            from,
        })
    }

    /// Whether lettre can address mail to `email`; checked before a code is issued.
    pub fn can_address(email: &EmailAddress) -> bool {
        recipient(email).is_some()
    }

    pub async fn send_code(&self, to: &EmailAddress, mail: &CodeMail<'_>) -> Result<(), MailError> {
        match self {
            Self::Console => {
                // Development mode only, announced at start-up: the operator is the mail server.
                #[allow(clippy::print_stdout)]
                {
                    println!(
                        "\n    Sigil code for {}: {}   (expires in {} min; {} wrong since the last sign-in)\n",
                        to.masked(),
                        codes::display(mail.code).as_str(),
                        mail.minutes(),
                        mail.wrong_since_success,
                    );
                }
                Ok(())
            }
            Self::Smtp { transport, from } => {
                let to = recipient(to)
                    .ok_or_else(|| MailError("recipient address not accepted".into()))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject("Your Sigil code")
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body().to_string())
                    .map_err(|_| MailError("could not build the message".into()))?;
                transport
                    .send(message)
                    .await
                    .map_err(|e| MailError::from(&e))?;
                Ok(())
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Console => "console (codes are printed here; set --smtp-host for real mail)",
            Self::Smtp { .. } => "smtp",
        }
    }
}

/// The mailbox to send to: the bare address, with no display name, exactly the string whose
/// hash the limits count.
fn recipient(email: &EmailAddress) -> Option<Mailbox> {
    let address: lettre::Address = email.as_str().parse().ok()?;
    Some(Mailbox::new(None, address))
}
