//! The relay transport. The server keeps a WebSocket to each of its DVM relays, directly or
//! through a SOCKS5 proxy (Tor), so a server behind an onion needs no inbound port. On each it
//! subscribes to requests that p-tag its key, answers them with the same code as HTTP
//! ([`requests::answer`]) and publishes the replies; it also announces itself (NIP-89).
//!
//! A lost connection is retried with growing pauses. The replay records make sure no request is
//! handled twice, even when it arrives on several relays or again after a reconnect; a request
//! seen again gets the reply already made for it (see [`crate::replies`]), in case the first
//! copy was lost.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::relay::{self, FromRelay, REQUESTS_SUBSCRIPTION};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::requests::{self, SharedState};

/// The `d` tag of the server's NIP-89 announcement: one per server key.
const HANDLER_ID: &str = "sigil";
const HANDLER_ABOUT: &str = "Sigil: a Nostr key vault with email sign-up. Requests are \
    NIP-44 encrypted kind 25910 events with NIP-13 proof of work; replies are kind 25911.";

/// Requests answered at once per relay; the next is read from the relay when one finishes.
const PER_RELAY_IN_FLIGHT: usize = 64;
/// A connection that sends nothing, not even a pong, for this long is given up.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);
const PING_EVERY: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest message taken from a relay: the largest `max-event-bytes` allowed, plus the message's
/// framing (each event's own size is checked as over HTTP). The library's default is 64 MiB.
const MAX_MESSAGE_BYTES: usize = (1 << 20) + 4096;
/// A connection that lasted this long was healthy: the next failure starts the pauses afresh.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// Where the relay transport connects.
#[derive(Debug, Clone, Default)]
pub struct RelayOptions {
    pub relays: Vec<String>,
    /// SOCKS5 proxy for every relay connection; the relay's host name is resolved by the proxy.
    pub proxy: Option<SocketAddr>,
}

/// Starts one connection task per relay; abort the handles to stop.
pub fn spawn(state: SharedState, options: &RelayOptions) -> Vec<tokio::task::JoinHandle<()>> {
    options
        .relays
        .iter()
        .map(|url| tokio::spawn(keep_connected(state.clone(), url.clone(), options.proxy)))
        .collect()
}

async fn keep_connected(state: SharedState, url: String, proxy: Option<SocketAddr>) {
    let mut backoff = Backoff::default();
    loop {
        match connect(&url, proxy).await {
            Ok(socket) => {
                tracing::info!(relay = %url, "listening for requests on relay");
                let started = Instant::now();
                let reason = serve(&state, socket).await;
                tracing::warn!(relay = %url, %reason, "relay connection lost");
                if started.elapsed() >= HEALTHY_AFTER {
                    backoff = Backoff::default();
                }
            }
            Err(error) => tracing::warn!(relay = %url, %error, "cannot connect to relay"),
        }
        let pause = backoff.next_pause(rand::random());
        tracing::info!(relay = %url, seconds = pause.as_secs_f32(), "reconnecting later");
        tokio::time::sleep(pause).await;
    }
}

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a relay connection could not be made or ended; worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("bad relay URL: {0}")]
    Url(String),
    #[error("TCP: {0}")]
    Tcp(std::io::Error),
    #[error("SOCKS5 proxy: {0}")]
    Proxy(#[from] tokio_socks::Error),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("no connection within {0:?}")]
    Timeout(Duration),
    #[error("the relay closed the connection")]
    Closed,
    #[error("the relay ended the subscription: {0}")]
    SubscriptionClosed(String),
    #[error("the relay sent nothing for {0:?}")]
    Silent(Duration),
}

async fn connect(url: &str, proxy: Option<SocketAddr>) -> Result<Socket, RelayError> {
    let request = url
        .into_client_request()
        .map_err(|e| RelayError::Url(e.to_string()))?;
    let uri = request.uri();
    let host = uri
        .host()
        .ok_or_else(|| RelayError::Url("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("wss") {
            443
        } else {
            80
        });
    let attempt = async {
        let tcp = match proxy {
            None => TcpStream::connect((host.as_str(), port))
                .await
                .map_err(RelayError::Tcp)?,
            Some(proxy) => tokio_socks::tcp::Socks5Stream::connect(proxy, (host.as_str(), port))
                .await?
                .into_inner(),
        };
        let _ = tcp.set_nodelay(true);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let (socket, _) =
            tokio_tungstenite::client_async_tls_with_config(request, tcp, Some(config), None)
                .await?;
        Ok(socket)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, attempt)
        .await
        .map_err(|_| RelayError::Timeout(CONNECT_TIMEOUT))?
}

/// Subscribes, announces, then answers requests until the connection fails.
async fn serve(state: &SharedState, socket: Socket) -> RelayError {
    let (mut sink, stream) = socket.split();
    let now = Timestamp::now();
    // Requests are ephemeral, so relays hold none from before; anything older than the window
    // would be refused anyway.
    let since = Timestamp::from(now.as_secs().saturating_sub(state.policy.window_secs));
    let mut opening = vec![relay::subscribe_requests(&state.keys.public_key(), since)];
    match relay::handler_info(state.keys.keys(), HANDLER_ID, HANDLER_ABOUT, now) {
        Ok(announcement) => opening.push(relay::publish(&announcement)),
        Err(error) => tracing::warn!(%error, "could not sign the NIP-89 announcement"),
    }
    for text in opening {
        if let Err(error) = sink.send(Message::text(text)).await {
            return error.into();
        }
    }

    let state = state.clone();
    exchange(stream, sink, move |event: String| {
        let state = state.clone();
        async move { answer(&state, &event).await }
    })
    .await
}

/// Reads requests, answers each in a task of its own and sends the replies and pings, until the
/// connection fails.
///
/// One loop does all three, so no branch may wait on another: a request is read only once a
/// permit for it is held, and the permit is waited for as a branch of its own. (Waiting for it
/// inside the reading branch wedged the loop when the reply queue was full: the tasks holding
/// every permit waited to queue their replies, the loop that drains the queue waited for a
/// permit, and pings stopped.)
async fn exchange<Incoming, Outgoing, Answer, Answered>(
    mut stream: Incoming,
    mut sink: Outgoing,
    answer: Answer,
) -> RelayError
where
    Incoming: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
    Outgoing: futures_util::Sink<Message, Error = WsError> + Unpin,
    Answer: Fn(String) -> Answered,
    Answered: std::future::Future<Output = Option<String>> + Send + 'static,
{
    let (outgoing, mut to_send) = mpsc::channel::<String>(PER_RELAY_IN_FLIGHT);
    let in_flight = Arc::new(Semaphore::new(PER_RELAY_IN_FLIGHT));
    let mut permit: Option<OwnedSemaphorePermit> = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            acquired = in_flight.clone().acquire_owned(), if permit.is_none() => {
                let Ok(acquired) = acquired else {
                    return RelayError::Closed;
                };
                permit = Some(acquired);
            }
            message = stream.next(), if permit.is_some() => {
                last_heard = Instant::now();
                let text = match message {
                    None | Some(Ok(Message::Close(_))) => return RelayError::Closed,
                    Some(Err(error)) => return error.into(),
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                };
                match relay::parse(&text) {
                    Some(FromRelay::Event { subscription, event })
                        if subscription == REQUESTS_SUBSCRIPTION =>
                    {
                        let (permit, outgoing) = (permit.take(), outgoing.clone());
                        let answered = answer(event);
                        tokio::spawn(async move {
                            if let Some(reply) = answered.await {
                                let _ = outgoing.send(reply).await;
                            }
                            drop(permit);
                        });
                    }
                    Some(FromRelay::Closed { subscription, message })
                        if subscription == REQUESTS_SUBSCRIPTION =>
                    {
                        return RelayError::SubscriptionClosed(message);
                    }
                    Some(FromRelay::Ok { accepted: false, message, .. }) => {
                        tracing::warn!(%message, "relay refused an event of ours");
                    }
                    Some(FromRelay::Notice(message)) => tracing::debug!(%message, "relay notice"),
                    _ => {}
                }
            }
            Some(text) = to_send.recv() => {
                if let Err(error) = sink.send(Message::text(text)).await {
                    return error.into();
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    return RelayError::Silent(SILENCE_LIMIT);
                }
                if let Err(error) = sink.send(Message::Ping(Vec::new().into())).await {
                    return error.into();
                }
            }
        }
    }
}

/// The `["EVENT", reply]` text to publish for one request from a relay, if any: a refused
/// request gets none (there is no status line to carry a refusal, and answering junk would
/// only amplify it), except a request seen before, which gets its reply again.
async fn answer(state: &SharedState, body: &str) -> Option<String> {
    let _permit = state.in_flight.acquire().await.ok()?;
    match requests::answer(state, body.as_bytes()).await {
        Ok(reply) => Some(relay::publish(&reply)),
        Err(code) => {
            tracing::info!(rejected = ?code, transport = "relay");
            None
        }
    }
}

/// Pauses between reconnection attempts: 1 s doubling to 60 s, each shortened by up to a
/// fifth at random so that servers restarted together do not knock on a relay together.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const LONGEST: Duration = Duration::from_secs(60);

    /// The next pause; `jitter` is a random fraction in [0, 1).
    fn next_pause(&mut self, jitter: f64) -> Duration {
        let full = Self::FIRST
            .saturating_mul(1u32 << self.failures.min(16))
            .min(Self::LONGEST);
        self.failures = self.failures.saturating_add(1);
        full.mul_f64(1.0 - 0.2 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Many requests at once, each answered at once, so the replies outrun the queue: every one
    /// is still sent, and pings go on.
    #[tokio::test(start_paused = true)]
    async fn a_full_reply_queue_stops_neither_reading_nor_pinging() {
        const REQUESTS: usize = 20 * PER_RELAY_IN_FLIGHT;
        let (relay_sends, from_relay) = mpsc::unbounded_channel::<Message>();
        for n in 0..REQUESTS {
            let text = serde_json::json!(["EVENT", REQUESTS_SUBSCRIPTION, { "n": n }]);
            relay_sends.send(Message::text(text.to_string())).unwrap();
        }
        let incoming = futures_util::stream::unfold(from_relay, |mut from_relay| async move {
            let message = from_relay.recv().await?;
            Some((Ok(message), from_relay))
        });
        let (sent, mut relay_receives) = mpsc::unbounded_channel::<Message>();
        let outgoing = futures_util::sink::unfold(sent, |sent, message: Message| async move {
            sent.send(message).unwrap();
            Ok::<_, WsError>(sent)
        });
        let answering = tokio::spawn(exchange(
            Box::pin(incoming),
            Box::pin(outgoing),
            |event: String| async move { Some(format!("reply to {event}")) },
        ));

        let mut replies = 0;
        let mut pings = 0;
        while replies < REQUESTS || pings < 3 {
            let message = tokio::time::timeout(PING_EVERY * 2, relay_receives.recv())
                .await
                .unwrap_or_else(|_| panic!("stalled after {replies} replies, {pings} pings"))
                .unwrap();
            match message {
                Message::Ping(_) => pings += 1,
                Message::Text(text) => {
                    assert!(text.starts_with("reply to "));
                    replies += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
            // The relay keeps talking, so the connection is not silent.
            if pings > 0 {
                relay_sends.send(Message::Pong(Vec::new().into())).unwrap();
            }
        }
        assert_eq!(replies, REQUESTS);
        answering.abort();
    }

    #[test]
    fn pauses_double_up_to_a_minute() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u64> = (0..9).map(|_| backoff.next_pause(0.0).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        let mut backoff = Backoff::default();
        assert_eq!(backoff.next_pause(0.5), Duration::from_millis(900));
        assert!(backoff.next_pause(1.0) >= Duration::from_millis(1600));
    }
}
