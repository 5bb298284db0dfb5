//! The signer at work: subscribed on its relays, it answers each NIP-46 request once (a request
//! reaches it from every relay it was published on), asks the user through `prompt` when the
//! app's permissions say so, and publishes the answer on every relay. Over a [`RelaySockets`],
//! so it runs the same in the vault worker and in native tests.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use sigil_shared::nostr::event::{Event, EventId};
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::relay::{self as relay_message, FromRelay};
use sigil_shared::secret::AccountSecret;

use super::policy::Permission;
use super::request::{SignerRequest, SignerResponse};
use super::session::{Choice, Handled, Signer};
use super::wire::{open_request, seal_response, subscribe};
use crate::relay::{REOPEN_AFTER, RESEND_EVERY, RelaySockets, SocketEvent};

const SUBSCRIPTION: &str = "sigil-nip46";
/// Request ids remembered to answer each once.
const SEEN: usize = 1024;
/// The longest wait between checks of [`Serving::stopped`]: how soon a lock ends the answering.
const STOP_CHECK: Duration = Duration::from_millis(250);

/// The signer's surroundings: the account whose key signs, its relays, the clock, and what to
/// send first.
pub struct Serving<'a> {
    pub account: &'a AccountSecret,
    pub relays: &'a [String],
    /// Seconds since the Unix epoch.
    pub unix_now: &'a dyn Fn() -> u64,
    /// Answers to send unasked: the first answer to an accepted `nostrconnect://` invitation,
    /// which carries the app's secret. Relays keep no NIP-46 events for later, so each is sent on
    /// every relay as it opens and again every few seconds until the app's first request shows
    /// it arrived.
    pub greetings: &'a [(PublicKey, SignerResponse)],
    /// Checked between events: true ends the loop (the vault locked, or its relays changed).
    pub stopped: &'a dyn Fn() -> bool,
    /// Told after each request that changed the kept state (activity, decisions, the log).
    pub changed: &'a dyn Fn(&Signer),
}

impl std::fmt::Debug for Serving<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("relays", &self.relays)
            .finish_non_exhaustive()
    }
}

/// Answers requests until `run_for` has passed (by the sockets' clock) or `at.stopped()`.
/// `prompt` asks the user; `None` (the vault locked meanwhile, or the prompt went away) leaves
/// the request unanswered, as a locked vault would. `signer` is borrowed only between awaits, so
/// the user may revoke or look meanwhile.
pub async fn serve(
    sockets: &mut impl RelaySockets,
    signer: &RefCell<Signer>,
    at: &Serving<'_>,
    prompt: &mut impl AsyncFnMut(&PublicKey, &SignerRequest, Permission) -> Option<Choice>,
    run_for: Duration,
) {
    let me = at.account.public_key();
    let since = Timestamp::from_secs((at.unix_now)());
    let deadline = sockets.now() + run_for;
    let mut reopen: Vec<Option<Duration>> = vec![None; at.relays.len()];
    let mut open = vec![false; at.relays.len()];
    let mut seen: (BTreeSet<EventId>, VecDeque<EventId>) = Default::default();
    let mut unheard: Vec<&(PublicKey, SignerResponse)> = at.greetings.iter().collect();
    let mut next_greeting = sockets.now() + RESEND_EVERY;
    for (index, url) in at.relays.iter().enumerate() {
        sockets.open(index, url);
    }
    loop {
        let now = sockets.now();
        if now >= deadline || (at.stopped)() {
            break;
        }
        for (index, at_time) in reopen.iter_mut().enumerate() {
            if at_time.is_some_and(|t| now >= t) {
                *at_time = None;
                sockets.open(index, &at.relays[index]);
            }
        }
        if now >= next_greeting {
            for (index, is_open) in open.iter().enumerate() {
                if *is_open {
                    greet(sockets, index, &unheard, at);
                }
            }
            next_greeting = now + RESEND_EVERY;
        }
        let greeting = (!unheard.is_empty()).then_some(next_greeting);
        let wake = reopen
            .iter()
            .flatten()
            .copied()
            .chain(greeting)
            .chain([deadline])
            .min();
        let wait = wake.unwrap_or(deadline).saturating_sub(now).min(STOP_CHECK);
        let Some(event) = sockets.next_event(wait).await else {
            continue;
        };
        match event {
            SocketEvent::Opened(index) => {
                open[index] = true;
                sockets.send(index, &subscribe(SUBSCRIPTION, &me, since));
                greet(sockets, index, &unheard, at);
            }
            SocketEvent::Closed(index) => {
                open[index] = false;
                reopen[index] = Some(sockets.now() + REOPEN_AFTER);
            }
            SocketEvent::Message(_, text) => {
                let Some(FromRelay::Event { event, .. }) = relay_message::parse(&text) else {
                    continue;
                };
                // Not for this vault, forged or unreadable: dropped unanswered.
                let Ok(incoming) = open_request(&event, at.account) else {
                    continue;
                };
                if !remember(&mut seen, incoming.id) {
                    continue;
                }
                unheard.retain(|(app, _)| *app != incoming.from);
                let handled = signer.borrow_mut().handle(
                    &incoming.from,
                    &incoming.json,
                    at.account,
                    at.relays,
                    (at.unix_now)(),
                );
                let response = match handled {
                    Handled::Respond(response) => response,
                    Handled::Ask {
                        request,
                        permission,
                    } => {
                        let Some(choice) = prompt(&incoming.from, &request, permission).await
                        else {
                            continue;
                        };
                        if (at.stopped)() {
                            break;
                        }
                        signer.borrow_mut().resolve(
                            &incoming.from,
                            request,
                            choice,
                            at.account,
                            at.relays,
                            (at.unix_now)(),
                        )
                    }
                    Handled::Ignore => continue,
                };
                (at.changed)(&signer.borrow());
                let now = Timestamp::from_secs((at.unix_now)());
                if let Ok(sealed) = seal_response(&response, &incoming.from, at.account, now) {
                    let message = publish(&sealed);
                    for (index, is_open) in open.iter().enumerate() {
                        if *is_open {
                            sockets.send(index, &message);
                        }
                    }
                }
            }
        }
    }
    sockets.close_all();
}

/// Sends the greetings not yet heard on relay `index`.
fn greet(
    sockets: &mut impl RelaySockets,
    index: usize,
    unheard: &[&(PublicKey, SignerResponse)],
    at: &Serving<'_>,
) {
    let now = Timestamp::from_secs((at.unix_now)());
    for (app, response) in unheard {
        if let Ok(sealed) = seal_response(response, app, at.account, now) {
            sockets.send(index, &publish(&sealed));
        }
    }
}

/// `["EVENT", event]`.
fn publish(event: &Event) -> String {
    format!(r#"["EVENT",{}]"#, event.as_json())
}

/// Whether `id` is new; remembered, the oldest forgotten past [`SEEN`].
fn remember(seen: &mut (BTreeSet<EventId>, VecDeque<EventId>), id: EventId) -> bool {
    if !seen.0.insert(id) {
        return false;
    }
    seen.1.push_back(id);
    if seen.1.len() > SEEN
        && let Some(old) = seen.1.pop_front()
    {
        seen.0.remove(&old);
    }
    true
}
