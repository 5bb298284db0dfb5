//! One request event, whichever transport brought it (HTTP or a relay): the envelope checks,
//! admission (replay record and key counter), decryption, the method, and the sealed reply,
//! remembered for a copy of the request seen again.

use std::sync::Arc;

use sigil_shared::dvm::{Exchange, OpenRequestError, ServerKeys};
use sigil_shared::error::{ErrorBody, ErrorCode, RejectCode};
use sigil_shared::info::ServerInfo;
use sigil_shared::method::Reply;
use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::{Policy, identify_request};

use crate::admission::{Admission, Ticket};
use crate::methods::Methods;
use crate::pow::PowLevel;
use crate::replies::{Recall, RecentReplies};

#[derive(Debug)]
pub struct AppState {
    pub keys: ServerKeys,
    /// The envelope rules; the difficulty in it is the base, `pow` says what is required now.
    pub policy: Policy,
    pub pow: PowLevel,
    pub info: ServerInfo,
    pub methods: Methods,
    /// Records replay ids and key counts, many requests per transaction, and holds the per-key
    /// limit they are checked against.
    pub admission: Admission,
    /// Permits for requests being handled; when none is left, load is shed.
    pub in_flight: tokio::sync::Semaphore,
    /// The latest replies, for requests seen again on either transport.
    pub replies: RecentReplies,
}

pub type SharedState = Arc<AppState>;

/// Checks `body` (one request event as JSON) cheapest first and answers it. A request seen
/// before gets the reply made for it then, if it is still remembered, before its signature is
/// checked. `Err` is a refusal with no
/// encrypted answer: the envelope is malformed, stale, short of work, replayed (with its reply
/// forgotten or not made yet), or not encrypted to this server.
pub async fn answer(state: &AppState, body: &[u8]) -> Result<Event, RejectCode> {
    // The request's one clock reading: every check and the method see the same time.
    let now = Timestamp::now();
    let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let policy = Policy {
        min_difficulty: state.pow.current(),
        ..state.policy
    };
    let identified = identify_request(body, &policy, now)?;
    // A copy of a request seen lately costs a hash, not a signature check, and is not counted
    // as load: resending one mined event must not raise the difficulty for everyone.
    match state.replies.recall(identified.id()) {
        Recall::Reply(reply) => return Ok(reply),
        Recall::Seen => return Err(RejectCode::Replayed),
        Recall::Unknown => {}
    }
    let request = identified.verify_signature()?;
    let event = request.event();
    let ticket = Ticket {
        event_id: *event.id.as_bytes(),
        forget_after: i64::try_from(event.created_at.as_secs() + state.policy.window_secs)
            .unwrap_or(i64::MAX),
        signer: event.pubkey.to_bytes(),
        now: now_secs,
    };
    let admitted = match state.admission.admit(ticket).await {
        Ok(admitted) if admitted.fresh => admitted,
        // A copy admitted alongside the first, or seen by another process, or by this one
        // longer ago than it remembers: the reply, if this process has made it by now.
        Ok(_) => {
            return match state.replies.recall(event.id.as_bytes()) {
                Recall::Reply(reply) => Ok(reply),
                Recall::Seen | Recall::Unknown => Err(RejectCode::Replayed),
            };
        }
        Err(error) => {
            tracing::error!(%error, "admission failed");
            return Err(RejectCode::Unavailable);
        }
    };
    state.replies.admitted(*event.id.as_bytes());
    // Only fresh, admitted requests are load.
    state.pow.count();
    let exchange = Exchange::new(&state.keys, &request);
    let reply = match exchange.open() {
        Ok(request) => match state.admission.key_limit().check(&admitted, now_secs) {
            Ok(()) => {
                state
                    .methods
                    .handle(&event.pubkey, &request, now_secs)
                    .await
            }
            Err(body) => {
                tracing::info!(method = request.method(), outcome = ?body.code, "per-key limit");
                Reply::Error(body)
            }
        },
        Err(OpenRequestError::Undecryptable) => return Err(RejectCode::Undecryptable),
        Err(OpenRequestError::InvalidRequest) => {
            Reply::Error(ErrorBody::new(ErrorCode::InvalidRequest))
        }
    };
    let sealed = exchange.seal(&reply).map_err(|error| {
        tracing::error!(%error, "could not seal reply");
        RejectCode::Unavailable
    })?;
    state.replies.remember(*event.id.as_bytes(), sealed.clone());
    Ok(sealed)
}
