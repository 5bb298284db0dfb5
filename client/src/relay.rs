//! The relay transport's client side: one request published on the server's DVM relays, and
//! the wait for its reply. The logic is here, over a [`RelaySockets`] that only moves text, so
//! it runs the same in the browser (WebSocket) and in native tests.
//!
//! Relays keep no ephemeral events, so each connection subscribes to the reply before it
//! publishes the request, and the request is published again every few seconds: the server
//! may be reconnecting to a restarted relay. It handles each request once and answers a copy
//! with the reply it already made, so sending again is safe. A closed connection is reopened.

use std::time::Duration;

use sigil_shared::dvm::SealError;
use sigil_shared::event_json::parse_event;
use sigil_shared::kinds;
use sigil_shared::nostr::event::{Event, EventId, FinalizeEvent, Kind, Tag, UnsignedEvent};
use sigil_shared::nostr::key::{Keys, PublicKey};
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::relay::{self, FromRelay, RELAY_LIST_KIND};

use crate::error::TransportError;

/// How long a request waits for its reply before it counts as a network failure.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an unanswered request is published again.
pub const RESEND_EVERY: Duration = Duration::from_secs(5);
/// Pause before a closed relay connection is opened again.
pub const REOPEN_AFTER: Duration = Duration::from_secs(1);

/// `["EVENT", event]`. Written here rather than with `sigil_shared::relay::publish`: that crate
/// is built for speed, and its copy of the event serialiser would add to the WebAssembly.
fn publish(event: &Event) -> String {
    format!(r#"["EVENT",{}]"#, event.as_json())
}

/// The user's NIP-65 relay list: each relay for reading and writing (`["r", url]`). Made here,
/// in the size-built crate, for the same reason as [`publish`]; only the client signs one.
pub fn relay_list(
    user: &Keys,
    relays: &[String],
    created_at: Timestamp,
) -> Result<Event, SealError> {
    let tags = relays
        .iter()
        .map(|url| Tag::custom("r", [url.as_str()]))
        .collect::<Vec<_>>();
    UnsignedEvent::new(
        user.public_key(),
        created_at,
        Kind::from(RELAY_LIST_KIND),
        tags,
        "",
    )
    .finalize(user)
    .map_err(|e| SealError::Sign(e.to_string()))
}

/// One request and what counts as its answer.
#[derive(Debug, Clone)]
pub struct RelayExchange {
    subscription: String,
    server: PublicKey,
    request: Event,
}

/// What one relay message means for the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A reply event from the server to this request, signature checked; its JSON.
    Reply(String),
    /// The relay refused to take the request, or to carry its reply, with its reason.
    Refused(String),
    Nothing,
}

impl RelayExchange {
    pub fn new(server: PublicKey, request: Event) -> Self {
        let subscription = format!("sigil-{}", &request.id.to_hex()[..16]);
        Self {
            subscription,
            server,
            request,
        }
    }

    /// What a fresh connection sends: the reply subscription first, then the request.
    pub fn opening(&self) -> [String; 2] {
        [
            relay::subscribe_reply(&self.subscription, &self.server, &self.request),
            self.publish(),
        ]
    }

    pub fn publish(&self) -> String {
        publish(&self.request)
    }

    pub fn closing(&self) -> String {
        relay::close(&self.subscription)
    }

    pub fn request_id(&self) -> EventId {
        self.request.id
    }

    /// Reads one relay message. Anything that is not a signed reply to this request from this
    /// server is ignored, so a relay cannot end the wait with a forgery.
    pub fn hear(&self, text: &str) -> Heard {
        match relay::parse(text) {
            Some(FromRelay::Event {
                subscription,
                event,
            }) if subscription == self.subscription && self.is_reply(&event) => Heard::Reply(event),
            Some(FromRelay::Ok {
                event_id,
                accepted: false,
                message,
            }) if event_id == self.request.id.to_hex() => Heard::Refused(message),
            // The relay ended the reply subscription (for example, it wants authentication).
            Some(FromRelay::Closed {
                subscription,
                message,
            }) if subscription == self.subscription => Heard::Refused(message),
            _ => Heard::Nothing,
        }
    }

    fn is_reply(&self, json: &str) -> bool {
        let Ok(event) = parse_event(json) else {
            return false;
        };
        let request_id = self.request.id.to_hex();
        event.kind == kinds::reply()
            && event.pubkey == self.server
            && event
                .tags
                .iter()
                .any(|tag| tag.kind() == "e" && tag.content() == Some(request_id.as_str()))
            && event.verify().is_ok()
    }
}

/// Something that happened on the sockets of one exchange; relays are named by their index.
/// (Also the JSON `relay-sockets.js` sends the signer.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub enum SocketEvent {
    Opened(usize),
    Message(usize, String),
    /// Closed, or failed to open.
    Closed(usize),
}

/// WebSockets as the environment has them. Futures need not be `Send` (browser futures are not).
#[allow(async_fn_in_trait)]
pub trait RelaySockets {
    /// Starts opening a connection to relay `index`; an `Opened` or `Closed` event follows.
    fn open(&mut self, index: usize, url: &str);
    fn send(&mut self, index: usize, text: &str);
    fn close_all(&mut self);
    /// Time since some fixed start.
    fn now(&self) -> Duration;
    /// The next event, or `None` once `wait` has passed without one.
    async fn next_event(&mut self, wait: Duration) -> Option<SocketEvent>;
}

#[derive(Debug, Clone, Default)]
struct RelayState {
    open: bool,
    reopen_at: Option<Duration>,
    refused: Option<String>,
}

/// Publishes the exchange's request on `relays` and waits for the reply: its JSON, for
/// [`sigil_shared::dvm::open_reply`] to check and open.
pub async fn call_over_relays(
    sockets: &mut impl RelaySockets,
    relays: &[String],
    exchange: &RelayExchange,
) -> Result<String, TransportError> {
    if relays.is_empty() {
        return Err(TransportError("the server names no relays".into()));
    }
    let outcome = drive(sockets, relays, exchange).await;
    sockets.close_all();
    outcome
}

async fn drive(
    sockets: &mut impl RelaySockets,
    relays: &[String],
    exchange: &RelayExchange,
) -> Result<String, TransportError> {
    let started = sockets.now();
    let deadline = started + REPLY_TIMEOUT;
    let mut next_resend = started + RESEND_EVERY;
    let mut states = vec![RelayState::default(); relays.len()];
    for (index, url) in relays.iter().enumerate() {
        sockets.open(index, url);
    }
    loop {
        let now = sockets.now();
        if now >= deadline {
            return Err(TransportError(format!(
                "no reply from the server's relays within {} s",
                REPLY_TIMEOUT.as_secs()
            )));
        }
        if now >= next_resend {
            for (index, state) in states.iter().enumerate() {
                if state.open && state.refused.is_none() {
                    sockets.send(index, &exchange.publish());
                }
            }
            next_resend = now + RESEND_EVERY;
        }
        for (index, state) in states.iter_mut().enumerate() {
            if state.reopen_at.is_some_and(|at| now >= at) {
                state.reopen_at = None;
                sockets.open(index, &relays[index]);
            }
        }
        let wake = states
            .iter()
            .filter_map(|state| state.reopen_at)
            .chain([next_resend, deadline])
            .min()
            .unwrap_or(deadline);
        let Some(event) = sockets.next_event(wake.saturating_sub(now)).await else {
            continue;
        };
        match event {
            SocketEvent::Opened(index) => {
                states[index].open = true;
                for text in exchange.opening() {
                    sockets.send(index, &text);
                }
            }
            SocketEvent::Closed(index) => {
                states[index].open = false;
                states[index].reopen_at = Some(sockets.now() + REOPEN_AFTER);
            }
            SocketEvent::Message(index, text) => match exchange.hear(&text) {
                Heard::Reply(reply) => return Ok(reply),
                Heard::Refused(reason) => {
                    states[index].refused = Some(reason.clone());
                    if states.iter().all(|state| state.refused.is_some()) {
                        return Err(TransportError(format!(
                            "the relays refused the request: {reason}"
                        )));
                    }
                }
                Heard::Nothing => {}
            },
        }
    }
}

/// How long publishing a user's own event waits for relays to take it.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// Publishes `event` on every relay in `relays` at once; returns how many accepted it (`OK`
/// true) before each had answered, closed or [`PUBLISH_TIMEOUT`] passed.
pub async fn publish_everywhere(
    sockets: &mut impl RelaySockets,
    relays: &[String],
    event: &Event,
) -> usize {
    let text = publish(event);
    let id = event.id.to_hex();
    let deadline = sockets.now() + PUBLISH_TIMEOUT;
    let mut answered = vec![false; relays.len()];
    let mut accepted = 0;
    for (index, url) in relays.iter().enumerate() {
        sockets.open(index, url);
    }
    while answered.contains(&false) {
        let now = sockets.now();
        if now >= deadline {
            break;
        }
        match sockets.next_event(deadline - now).await {
            Some(SocketEvent::Opened(index)) => sockets.send(index, &text),
            Some(SocketEvent::Closed(index)) => answered[index] = true,
            Some(SocketEvent::Message(index, message)) => {
                if let Some(FromRelay::Ok {
                    event_id,
                    accepted: taken,
                    ..
                }) = relay::parse(&message)
                    && event_id == id
                    && !answered[index]
                {
                    answered[index] = true;
                    accepted += usize::from(taken);
                }
            }
            None => {}
        }
    }
    sockets.close_all();
    accepted
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use sigil_shared::dvm::{self, Exchange, ServerKeys};
    use sigil_shared::method::{Reply, Request};
    use sigil_shared::validation::CheckedRequest;

    /// Sockets driven by a script: each step happens when the driver next waits.
    #[derive(Default)]
    struct Scripted {
        clock: Duration,
        script: VecDeque<Option<SocketEvent>>,
        opened: Vec<usize>,
        sent: Vec<(usize, String)>,
        closed: bool,
    }

    impl RelaySockets for Scripted {
        fn open(&mut self, index: usize, _url: &str) {
            self.opened.push(index);
        }
        fn send(&mut self, index: usize, text: &str) {
            self.sent.push((index, text.to_owned()));
        }
        fn close_all(&mut self) {
            self.closed = true;
        }
        fn now(&self) -> Duration {
            self.clock
        }
        async fn next_event(&mut self, wait: Duration) -> Option<SocketEvent> {
            match self.script.pop_front() {
                Some(Some(event)) => Some(event),
                // A step of `None`, or the end of the script: the wait passes.
                _ => {
                    self.clock += wait;
                    None
                }
            }
        }
    }

    struct Parties {
        server: Keys,
        exchange: RelayExchange,
        request: Event,
    }

    fn parties() -> Parties {
        let (server, client) = (Keys::generate(), Keys::generate());
        let request = dvm::seal_request(
            &client,
            &server.public_key(),
            &Request::GetBackup { version: None },
            0,
            Timestamp::now(),
        )
        .unwrap();
        let exchange = RelayExchange::new(server.public_key(), request.clone());
        Parties {
            server,
            exchange,
            request,
        }
    }

    fn reply_from(server: &Keys, request: &Event, subscription: &str) -> (String, String) {
        let request = CheckedRequest::verify(request.clone()).unwrap();
        let reply = Exchange::new(&ServerKeys::new(server.clone()), &request)
            .seal(&Reply::ok(&serde_json::json!({})).unwrap())
            .unwrap();
        let json = reply.as_json();
        (format!(r#"["EVENT","{subscription}",{json}]"#), json)
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn subscribes_before_publishing_and_returns_the_signed_reply() {
        let p = parties();
        let subscription = format!("sigil-{}", &p.request.id.to_hex()[..16]);
        let (message, json) = reply_from(&p.server, &p.request, &subscription);
        let mut sockets = Scripted {
            script: [
                Some(SocketEvent::Opened(0)),
                Some(SocketEvent::Message(0, message)),
            ]
            .into(),
            ..Default::default()
        };
        let relays = vec!["ws://a".to_owned()];
        let reply = block_on(call_over_relays(&mut sockets, &relays, &p.exchange)).unwrap();
        assert_eq!(
            Event::from_json(reply).unwrap(),
            Event::from_json(json).unwrap()
        );
        assert!(sockets.sent[0].1.starts_with(r#"["REQ""#));
        assert!(sockets.sent[1].1.starts_with(r#"["EVENT""#));
        assert!(sockets.closed);
    }

    #[test]
    fn forgeries_and_other_replies_are_ignored() {
        let p = parties();
        let subscription = format!("sigil-{}", &p.request.id.to_hex()[..16]);
        // Signed by someone else, or answering another request.
        let (forged, _) = reply_from(&Keys::generate(), &p.request, &subscription);
        let other = parties();
        let (misaddressed, _) = reply_from(&p.server, &other.request, &subscription);
        let (genuine, _) = reply_from(&p.server, &p.request, &subscription);
        let tampered = genuine.replace(r#""content":""#, r#""content":"x"#);
        assert_ne!(tampered, genuine);
        assert_eq!(
            p.exchange.hear(&format!(
                r#"["CLOSED","{subscription}","auth-required: no"]"#
            )),
            Heard::Refused("auth-required: no".into())
        );
        assert_eq!(
            p.exchange.hear(r#"["CLOSED","another","error"]"#),
            Heard::Nothing
        );
        for text in [forged, misaddressed, tampered, "junk".into()] {
            assert_eq!(p.exchange.hear(&text), Heard::Nothing, "{text}");
        }
    }

    #[test]
    fn republishes_while_waiting_and_reopens_closed_connections() {
        let p = parties();
        let mut sockets = Scripted {
            script: [
                Some(SocketEvent::Opened(0)),
                Some(SocketEvent::Opened(1)),
                Some(SocketEvent::Closed(1)),
            ]
            .into(),
            ..Default::default()
        };
        let relays = vec!["ws://a".to_owned(), "ws://b".to_owned()];
        let outcome = block_on(call_over_relays(&mut sockets, &relays, &p.exchange));
        let error = outcome.unwrap_err();
        assert!(error.0.contains("within 30 s"), "{error}");
        // Relay 1 was opened again after it closed; relay 0 got the request every 5 s.
        assert!(sockets.opened.iter().filter(|&&i| i == 1).count() >= 2);
        let publish = p.exchange.publish();
        let resent = sockets
            .sent
            .iter()
            .filter(|(i, text)| *i == 0 && *text == publish)
            .count();
        assert!(resent >= 6, "{resent}");
    }

    #[test]
    fn counts_the_relays_that_took_an_event() {
        let p = parties();
        let ok = |taken: bool| format!(r#"["OK","{}",{taken},""]"#, p.request.id.to_hex());
        let mut sockets = Scripted {
            script: [
                Some(SocketEvent::Opened(0)),
                Some(SocketEvent::Opened(1)),
                Some(SocketEvent::Closed(2)),
                Some(SocketEvent::Message(0, ok(true))),
                Some(SocketEvent::Message(0, ok(true))),
                Some(SocketEvent::Message(1, ok(false))),
            ]
            .into(),
            ..Default::default()
        };
        let relays = ["ws://a", "ws://b", "ws://c"].map(String::from);
        let accepted = block_on(publish_everywhere(&mut sockets, &relays, &p.request));
        assert_eq!(accepted, 1);
        assert_eq!(sockets.sent.len(), 2);
        assert!(
            sockets.clock < PUBLISH_TIMEOUT,
            "it stops once every relay answered"
        );
    }

    #[test]
    fn the_relay_list_names_each_relay() {
        let user = Keys::generate();
        let relays = vec!["wss://a.example".to_owned(), "wss://b.example".to_owned()];
        let list = relay_list(&user, &relays, Timestamp::from(5)).unwrap();
        assert!(list.verify().is_ok());
        assert_eq!(list.kind, Kind::from(RELAY_LIST_KIND));
        let tags: Vec<Vec<String>> = list.tags.iter().map(|t| t.clone().to_vec()).collect();
        assert_eq!(
            tags,
            vec![
                vec!["r".to_owned(), relays[0].clone()],
                vec!["r".to_owned(), relays[1].clone()]
            ]
        );
    }

    #[test]
    fn fails_when_every_relay_refuses() {
        let p = parties();
        let refused = format!(r#"["OK","{}",false,"blocked: no"]"#, p.request.id.to_hex());
        let mut sockets = Scripted {
            script: [
                Some(SocketEvent::Opened(0)),
                Some(SocketEvent::Opened(1)),
                Some(SocketEvent::Message(0, refused.clone())),
                Some(SocketEvent::Message(1, refused)),
            ]
            .into(),
            ..Default::default()
        };
        let relays = vec!["ws://a".to_owned(), "ws://b".to_owned()];
        let error = block_on(call_over_relays(&mut sockets, &relays, &p.exchange)).unwrap_err();
        assert!(error.0.contains("blocked: no"), "{error}");
    }
}
