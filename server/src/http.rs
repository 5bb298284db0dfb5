//! HTTP transport: discovery, the events endpoint, the web client, security headers.

use std::path::Path;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sigil_shared::error::{RejectBody, RejectCode};
use sigil_shared::info::{EVENTS_PATH, ServerInfo, WELL_KNOWN_PATH};
use tower::ServiceBuilder;
use tower::util::MapResponseLayer;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::csp;
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

/// Where the versioned build lives (see `router`).
const VERSIONED_PATH: &str = "/v";

/// The page's policy, made once; the signer's socket worker gets one of its own per address
/// (see [`csp`]).
#[derive(Debug, Clone)]
struct Policies {
    page: HeaderValue,
}

impl Policies {
    /// The socket worker's script gets its own policy; everything else, the page's, including
    /// a miss that falls back to the page under the script's name: the page never runs with the
    /// worker's policy.
    fn for_response(&self, uri: &Uri, response: &Response) -> HeaderValue {
        let javascript = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|kind| kind.starts_with("text/javascript"));
        if javascript
            && csp::is_relay_sockets_script(uri.path())
            && let Ok(policy) = HeaderValue::from_str(&csp::relay_sockets_policy(uri.query()))
        {
            return policy;
        }
        self.page.clone()
    }
}

async fn security_headers(
    State(policies): State<Policies>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri().clone();
    let mut response = next.run(request).await;
    let csp = policies.for_response(&uri, &response);
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
    let policies = Policies {
        page: HeaderValue::from_str(&csp::page_policy(&state.info))
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
    };
    // The app's files are built into v/<build hash>/ (scripts/version-assets.mjs) with .br and
    // .gz siblings: sent as they are, and kept by browsers for a year, since a new build is a new
    // directory. A miss there is a 404, never the page: a page cached under a file's name for
    // a year would break the app.
    let versioned = ServeDir::new(web_dir.join("v"))
        .precompressed_br()
        .precompressed_gzip();
    let versioned = ServiceBuilder::new()
        .layer(MapResponseLayer::new(keep_for_a_year))
        .service(versioned);
    // The page and the service worker keep fixed addresses and are checked on every visit.
    // Unknown paths get the page so client-side routes survive a reload.
    let index = web_dir.join("index.html");
    let shell = ServeDir::new(web_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
    // A build without precompressed files (Trunk's own server, say) is still compressed.
    let shell = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        .layer(CompressionLayer::new().gzip(true))
        .service(shell);
    let api = Router::new()
        .route(WELL_KNOWN_PATH, get(well_known))
        .route(EVENTS_PATH, post(post_event))
        // One byte over the cap still reaches the handler, which answers with our own error.
        .layer(DefaultBodyLimit::max(max_body + 1))
        .layer(middleware::map_response(no_store))
        .with_state(state);
    api.nest_service(VERSIONED_PATH, versioned)
        .fallback_service(shell)
        .layer(middleware::from_fn_with_state(policies, security_headers))
}

/// A build's file never changes; anything else (a miss, an error) must not be kept.
fn keep_for_a_year<B>(mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    let policy = if response.status() == StatusCode::OK {
        "public, max-age=31536000, immutable"
    } else {
        "no-store"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
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
}
