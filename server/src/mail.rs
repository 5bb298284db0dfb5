//! Sending codes: real SMTP through lettre, or the console when no SMTP server is configured.

use std::time::Duration;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use lettre::Message;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use secrecy::ExposeSecret;
use sigil_shared::email::EmailAddress;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_socks::tcp::Socks5Stream;

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
        server: Box<SmtpServer>,
        from: Mailbox,
    },
}

/// Where and how code emails are delivered: one connection per email, direct or through a
/// SOCKS5 proxy, always introduced by the configured EHLO name.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    host: String,
    port: u16,
    tls: SmtpTls,
    credentials: Option<Credentials>,
    proxy: Option<SocketAddr>,
    hello: ClientId,
}

impl SmtpServer {
    fn tls_parameters(&self) -> Result<TlsParameters, SmtpError> {
        TlsParameters::new(self.host.clone()).map_err(SmtpError::Smtp)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let mut connection = match (self.proxy, self.tls) {
            (Some(proxy), _) => {
                // The proxy resolves the name: no DNS query leaves this machine either.
                let stream = Socks5Stream::connect(proxy, (self.host.as_str(), self.port)).await?;
                AsyncSmtpConnection::connect_with_transport(
                    Box::new(ProxiedStream(stream)),
                    &self.hello,
                )
                .await?
            }
            (None, tls) => {
                let implicit = match tls {
                    SmtpTls::Tls => Some(self.tls_parameters()?),
                    SmtpTls::Starttls | SmtpTls::None => None,
                };
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(SEND_TIMEOUT),
                    &self.hello,
                    implicit,
                    None,
                )
                .await?
            }
        };
        if self.tls == SmtpTls::Starttls {
            connection
                .starttls(self.tls_parameters()?, &self.hello)
                .await?;
        }
        if let Some(credentials) = &self.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }

    async fn deliver(&self, message: &Message) -> Result<(), SmtpError> {
        let mut connection = self.connect().await?;
        connection
            .send(message.envelope(), &message.formatted())
            .await?;
        // The message is accepted; a failed goodbye changes nothing.
        let _ = connection.quit().await;
        Ok(())
    }
}

/// A connection through the SOCKS5 proxy, in the shape lettre takes.
#[derive(Debug)]
struct ProxiedStream(Socks5Stream<TcpStream>);

impl AsyncRead for ProxiedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for ProxiedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for ProxiedStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        // The proxy's address: the mail server's is known only to the proxy.
        self.0.peer_addr()
    }
}

/// A failure on the way to the mail server, before it becomes a [`MailError`].
#[derive(Debug)]
enum SmtpError {
    Smtp(lettre::transport::smtp::Error),
    Proxy(tokio_socks::Error),
}

impl From<lettre::transport::smtp::Error> for SmtpError {
    fn from(error: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(error)
    }
}

impl From<tokio_socks::Error> for SmtpError {
    fn from(error: tokio_socks::Error) -> Self {
        Self::Proxy(error)
    }
}

impl From<SmtpError> for MailError {
    fn from(error: SmtpError) -> Self {
        match error {
            SmtpError::Smtp(error) => Self::from(&error),
            // The proxy's reply kinds name no address: "connection refused", "host unreachable".
            SmtpError::Proxy(error) => Self(format!("SOCKS5 proxy: {error}")),
        }
    }
}

impl Mailer {
    pub fn new(smtp: Option<&SmtpConfig>, from: &str) -> Result<Self, ConfigError> {
        let Some(smtp) = smtp else {
            return Ok(Self::Console);
        };
        let from: Mailbox = from
            .parse()
            .map_err(|e| ConfigError(format!("smtp-from: {e}")))?;
        let server = SmtpServer {
            host: smtp.host.clone(),
            port: smtp.port,
            tls: smtp.tls,
            credentials: smtp.credentials.as_ref().map(|(user, password)| {
                Credentials::new(user.clone(), password.expose_secret().to_owned())
            }),
            proxy: smtp.proxy,
            hello: ClientId::Domain(smtp.hello_name.clone()),
        };
        Ok(Self::Smtp {
            server: Box::new(server),
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
            Self::Smtp { server, from } => {
                let to = recipient(to)
                    .ok_or_else(|| MailError("recipient address not accepted".into()))?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject("Your Sigil code")
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body().to_string())
                    .map_err(|_| MailError("could not build the message".into()))?;
                tokio::time::timeout(SEND_TIMEOUT, server.deliver(&message))
                    .await
                    .map_err(|_| MailError("timeout".into()))??;
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
