//! HTTP transport: discovery, the events endpoint, the web client, security headers.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigil_shared::dvm::{Exchange, OpenRequestError};
use sigil_shared::error::{ErrorBody, ErrorCode, RejectBody, RejectCode};
use sigil_shared::info::{EVENTS_PATH, ServerInfo, WELL_KNOWN_PATH};
use sigil_shared::method::Reply;
use sigil_shared::nostr::key::Keys;
use sigil_shared::nostr::types::Timestamp;
use sigil_shared::validation::{Policy, check_request};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::admission::Admission;
use crate::pow::PowLevel;
use crate::store::Ticket;
use crate::vault::Vault;

#[derive(Debug)]
pub struct AppState {
    pub keys: Keys,
    /// The envelope rules; the difficulty in it is the base, `pow` says what is required now.
    pub policy: Policy,
    pub pow: PowLevel,
    pub info: ServerInfo,
    pub vault: Vault,
    /// Records replay ids and key counts, many requests per transaction.
    pub admission: Admission,
    /// Permits for requests being handled; when none is left, load is shed with a 503.
    pub in_flight: tokio::sync::Semaphore,
}

pub type SharedState = Arc<AppState>;

/// Strict by default: the page may load only its own scripts and WebAssembly, talk only to its
/// own origin, and never be framed. No cookies are ever set.
const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; \
         img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; \
         worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-embedder-policy", "require-corp"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ),
];

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers.remove(header::SET_COOKIE);
    response
}

pub fn router(state: SharedState, web_dir: &Path) -> Router {
    let max_body = state.policy.max_bytes;
    // Unknown paths get the app shell so client-side routes survive a reload.
    let web = ServeDir::new(web_dir).fallback(ServeFile::new(web_dir.join("index.html")));
    // The app's files are public and compress well (the wasm to less than half); API replies
    // are encrypted and stay as they are.
    let web = ServiceBuilder::new()
        .layer(CompressionLayer::new().gzip(true))
        .service(web);
    let api = Router::new()
        .route(WELL_KNOWN_PATH, get(well_known))
        .route(EVENTS_PATH, post(post_event))
        // One byte over the cap still reaches the handler, which answers with our own error.
        .layer(DefaultBodyLimit::max(max_body + 1))
        .layer(middleware::map_response(no_store))
        .with_state(state);
    api.fallback_service(web)
        .layer(middleware::from_fn(security_headers))
}

async fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The announcement, with the proof of work required at this moment.
async fn well_known(State(state): State<SharedState>) -> Json<ServerInfo> {
    let mut info = state.info.clone();
    info.pow_difficulty = state.pow.current();
    Json(info)
}

fn reject(code: RejectCode) -> Response {
    let status = match code {
        RejectCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RejectCode::Replayed => StatusCode::CONFLICT,
        RejectCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    tracing::info!(rejected = ?code);
    (status, Json(RejectBody { error: code })).into_response()
}

async fn post_event(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return reject(RejectCode::PayloadTooLarge);
        }
        Err(_) => return reject(RejectCode::MalformedEvent),
    };
    // Shed load at once rather than queue without bound: a client backs off and retries.
    let Ok(_permit) = state.in_flight.try_acquire() else {
        let mut response = reject(RejectCode::Unavailable);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let now = Timestamp::now();
    let policy = Policy {
        min_difficulty: state.pow.current(),
        ..state.policy
    };
    let event = match check_request(&body, &policy, now) {
        Ok(event) => event,
        Err(code) => return reject(code),
    };
    state.pow.count();
    let ticket = Ticket {
        event_id: *event.id.as_bytes(),
        forget_after: i64::try_from(event.created_at.as_secs() + state.policy.window_secs)
            .unwrap_or(i64::MAX),
        signer: event.pubkey.to_bytes(),
        now: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
    };
    let admitted = match state.admission.admit(ticket).await {
        Ok(admitted) if admitted.fresh => admitted,
        Ok(_) => return reject(RejectCode::Replayed),
        Err(error) => {
            tracing::error!(%error, "admission failed");
            return reject(RejectCode::Unavailable);
        }
    };
    let exchange = match Exchange::new(&state.keys, &event) {
        Ok(exchange) => exchange,
        Err(_) => return reject(RejectCode::Undecryptable),
    };
    let reply = match exchange.open() {
        Ok(request) => state.vault.handle(&event.pubkey, request, &admitted).await,
        Err(OpenRequestError::Undecryptable) => return reject(RejectCode::Undecryptable),
        Err(OpenRequestError::InvalidRequest) => {
            Reply::Error(ErrorBody::new(ErrorCode::InvalidRequest))
        }
    };
    match exchange.seal(&reply) {
        Ok(reply_event) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            reply_event.as_json(),
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "could not seal reply");
            reject(RejectCode::Unavailable)
        }
    }
}
