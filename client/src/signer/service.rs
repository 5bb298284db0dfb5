//! The signer at work: subscribed on its relays, it answers each NIP-46 request once (a request
//! reaches it from every relay it was published on), asks the user through `prompt` when the
//! app's permissions say so, and publishes the answer on every relay. Over a [`RelaySockets`],
//! so it runs the same in the vault worker and in native tests.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use sigil_shared::nostr::event::EventId;
use sigil_shared::nostr::key::PublicKey;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::relay::{self as relay_message, FromRelay};
use sigil_shared::secret::AccountSecret;

use super::policy::Permission;
use super::request::SignerRequest;
use super::session::{Choice, Handled, Signer};
use super::wire::{open_request, seal_response, subscribe};
use crate::relay::{REOPEN_AFTER, RelaySockets, SocketEvent};

const SUBSCRIPTION: &str = "sigil-nip46";
/// Request ids remembered to answer each once.
const SEEN: usize = 1024;

/// The signer's surroundings: the account whose key signs, its relays, the clock.
pub struct Serving<'a> {
    pub account: &'a AccountSecret,
    pub relays: &'a [String],
    /// Seconds since the Unix epoch.
    pub unix_now: &'a dyn Fn() -> u64,
}

impl std::fmt::Debug for Serving<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serving")
            .field("relays", &self.relays)
            .finish_non_exhaustive()
    }
}

/// Answers requests until `run_for` has passed (by the sockets' clock).
pub async fn serve(
    sockets: &mut impl RelaySockets,
    signer: &mut Signer,
    at: &Serving<'_>,
    prompt: &mut impl AsyncFnMut(&PublicKey, &SignerRequest, Permission) -> Choice,
    run_for: Duration,
) {
    let me = at.account.public_key();
    let since = Timestamp::from_secs((at.unix_now)());
    let deadline = sockets.now() + run_for;
    let mut reopen: Vec<Option<Duration>> = vec![None; at.relays.len()];
    let mut open = vec![false; at.relays.len()];
    let mut seen: (BTreeSet<EventId>, VecDeque<EventId>) = Default::default();
    for (index, url) in at.relays.iter().enumerate() {
        sockets.open(index, url);
    }
    loop {
        let now = sockets.now();
        if now >= deadline {
            break;
        }
        for (index, at_time) in reopen.iter_mut().enumerate() {
            if at_time.is_some_and(|t| now >= t) {
                *at_time = None;
                sockets.open(index, &at.relays[index]);
            }
        }
        let wake = reopen.iter().flatten().copied().chain([deadline]).min();
        let wait = wake.unwrap_or(deadline).saturating_sub(now);
        let Some(event) = sockets.next_event(wait).await else {
            continue;
        };
        match event {
            SocketEvent::Opened(index) => {
                open[index] = true;
                sockets.send(index, &subscribe(SUBSCRIPTION, &me, since));
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
                let response = match signer.handle(
                    &incoming.from,
                    &incoming.json,
                    at.account,
                    at.relays,
                    (at.unix_now)(),
                ) {
                    Handled::Respond(response) => response,
                    Handled::Ask {
                        request,
                        permission,
                    } => {
                        let choice = prompt(&incoming.from, &request, permission).await;
                        signer.resolve(
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
                let now = Timestamp::from_secs((at.unix_now)());
                if let Ok(sealed) = seal_response(&response, &incoming.from, at.account, now) {
                    let message = format!(r#"["EVENT",{}]"#, sealed.as_json());
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
