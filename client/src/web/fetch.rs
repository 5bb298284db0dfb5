//! `fetch` against the page's own origin (the CSP allows no other), from a window or a worker,
//! and WebSockets to relays when the server asks for its relay transport.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use std::rc::Rc;

use sigil_shared::argon2id::FillLanes;
use sigil_shared::dvm::{RequestDraft, SealError};

use sigil_shared::nostr::event::Event;
use sigil_shared::nostr::key::PublicKey;

use super::lanes::JsLanes;
use super::pow;
use crate::browser::relays::WebSockets;
use crate::browser::timer::set_timeout;
use crate::relay::{self, RelayExchange};
use crate::transport::{HttpResponse, Progress, Transport, TransportError};
use crate::worker_api::FromWorker;

/// HTTP to the page's origin, WebSockets to relays, proof of work in workers, and Argon2id's
/// memory filled by the lane module.
#[derive(Debug, Clone)]
pub struct FetchTransport {
    lanes: JsLanes,
}

impl FetchTransport {
    pub fn new() -> Self {
        Self {
            lanes: JsLanes::given(),
        }
    }
}

fn js_error(value: JsValue) -> TransportError {
    TransportError(value.as_string().unwrap_or_else(|| format!("{value:?}")))
}

/// An exchange that takes longer than this is abandoned as a network failure, so a stalled
/// connection never blocks the queue of commands behind it. Generous for Tor circuits.
const TIMEOUT_MS: u32 = 30_000;

async fn fetch(path: &str, init: &RequestInit) -> Result<HttpResponse, TransportError> {
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let global = js_sys::global();
    let promise = match global.dyn_ref::<web_sys::Window>() {
        Some(window) => window.fetch_with_str_and_init(path, init),
        None => global
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .fetch_with_str_and_init(path, init),
    };
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    let body = JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    Ok(HttpResponse {
        status: response.status(),
        body,
    })
}

/// Sends a progress step to the page, when running in the vault worker.
fn post_progress(progress: Progress) {
    crate::browser::post(&FromWorker::Progress(progress));
}

impl Transport for FetchTransport {
    /// Above a difficulty where it pays, the work is spread over one worker per core, with
    /// progress; if workers cannot start, it runs here.
    async fn mine(&self, draft: &RequestDraft) -> Result<u64, SealError> {
        let workers = pow::worker_count();
        if draft.difficulty < pow::PARALLEL_FROM_DIFFICULTY || workers < 2 {
            return draft.mine_here();
        }
        let expected = 1u64 << draft.difficulty;
        let report = Rc::new(move |hashes| post_progress(Progress::Mining { hashes, expected }));
        match pow::mine_in_workers(draft, workers, report).await {
            Ok(nonce) => Ok(nonce),
            Err(_) => draft.mine_here(),
        }
    }

    fn progress(&self, progress: Progress) {
        post_progress(progress);
    }

    fn lanes(&self) -> &dyn FillLanes {
        &self.lanes
    }

    async fn sleep(&self, duration: std::time::Duration) {
        let millis = i32::try_from(duration.as_millis()).unwrap_or(i32::MAX);
        let promise = js_sys::Promise::new(&mut |resolve, _reject| set_timeout(&resolve, millis));
        let _ = JsFuture::from(promise).await;
    }

    async fn call_on_relays(
        &self,
        relays: &[String],
        server: &PublicKey,
        request: &Event,
    ) -> Result<String, TransportError> {
        let exchange = RelayExchange::new(*server, request.clone());
        relay::call_over_relays(&mut WebSockets::new(), relays, &exchange).await
    }

    async fn publish_on_relays(
        &self,
        relays: &[String],
        event: &Event,
    ) -> Result<usize, TransportError> {
        Ok(relay::publish_everywhere(&mut WebSockets::new(), relays, event).await)
    }

    async fn get(&self, path: &str) -> Result<HttpResponse, TransportError> {
        let init = RequestInit::new();
        init.set_method("GET");
        fetch(path, &init).await
    }

    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError> {
        let headers = Headers::new().map_err(js_error)?;
        headers
            .set("content-type", "application/json")
            .map_err(js_error)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
        fetch(path, &init).await
    }
}
