//! HTTP transport: discovery, the events endpoint, the web client, security headers.

use std::path::Path;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigil_shared::error::{RejectBody, RejectCode};
use sigil_shared::info::{EVENTS_PATH, ServerInfo, WELL_KNOWN_PATH};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

use crate::requests::{self, SharedState};

/// Strict by default: the page may load only its own scripts and WebAssembly, talk only to its
/// own origin and the relays it is told about, and never be framed. No cookies are ever set.
const SECURITY_HEADERS: &[(&str, &str)] = &[
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

/// The page's content security policy. The client may open WebSockets to the server's DVM
/// relays (relay transport) and the default relays (the account's NIP-65 list), and nowhere
/// else. Relay URLs were checked at start-up to hold no separators.
fn content_security_policy(info: &ServerInfo) -> String {
    let mut connect = vec!["'self'".to_owned()];
    for relay in info.dvm_relays.iter().chain(&info.default_relays) {
        if !connect.contains(relay) {
            connect.push(relay.clone());
        }
    }
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; connect-src {}; \
         img-src 'self' data:; style-src 'self'; font-src 'self'; manifest-src 'self'; \
         worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        connect.join(" ")
    )
}

async fn security_headers(
    State(csp): State<HeaderValue>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
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
    let csp = HeaderValue::from_str(&content_security_policy(&state.info))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
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
        .layer(middleware::from_fn_with_state(csp, security_headers))
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

/// The HTTP status of each refusal, as docs/protocol.md lists them.
fn status_of(code: RejectCode) -> StatusCode {
    match code {
        RejectCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        RejectCode::Replayed => StatusCode::CONFLICT,
        RejectCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        RejectCode::MalformedEvent
        | RejectCode::WrongKind
        | RejectCode::WrongRecipient
        | RejectCode::StaleEvent
        | RejectCode::InvalidId
        | RejectCode::InsufficientPow
        | RejectCode::InvalidSignature
        | RejectCode::Undecryptable => StatusCode::BAD_REQUEST,
    }
}

fn reject(code: RejectCode) -> Response {
    tracing::info!(rejected = ?code);
    (status_of(code), Json(RejectBody { error: code })).into_response()
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
    match requests::answer(&state, &body).await {
        Ok(reply_event) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            reply_event.as_json(),
        )
            .into_response(),
        Err(code) => reject(code),
    }
}

#[cfg(test)]
mod tests {
    use sigil_shared::envelope::KdfParams;
    use sigil_shared::nostr::key::Keys;

    use super::*;

    /// Each row of the specification's refusal table gives the status this server answers.
    #[test]
    fn refusals_get_the_statuses_the_specification_gives() {
        let spec = include_str!("../../docs/protocol.md");
        let mut rows = 0;
        for line in spec.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let [_, code, status, _, _] = cells.as_slice() else {
                continue;
            };
            let Ok(code) = serde_json::from_value::<RejectCode>(serde_json::Value::from(
                code.trim_matches('`'),
            )) else {
                continue;
            };
            assert_eq!(status_of(code).as_str(), *status, "{code:?}");
            rows += 1;
        }
        assert_eq!(rows, 11, "one row per refusal");
    }

    #[test]
    fn the_page_may_connect_to_its_own_origin_and_the_named_relays_only() {
        let mut info = ServerInfo::new(
            &Keys::generate().public_key(),
            16,
            300,
            65536,
            KdfParams::DEFAULT,
        );
        assert!(content_security_policy(&info).contains("connect-src 'self';"));
        info.dvm_relays = vec!["wss://dvm.example".into()];
        info.default_relays = vec!["wss://a.example".into(), "wss://dvm.example".into()];
        let csp = content_security_policy(&info);
        assert!(
            csp.contains("connect-src 'self' wss://dvm.example wss://a.example;"),
            "{csp}"
        );
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    }
}
