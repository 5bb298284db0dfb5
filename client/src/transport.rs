//! How the client reaches a server. HTTP in the browser (fetch) and in tests (reqwest); relays
//! can implement the same trait.

/// Status and body of an HTTP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// A network failure: the request may or may not have reached the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server could not be reached: {0}")]
pub struct TransportError(pub String);

/// Moves bytes; knows nothing of the protocol. Futures need not be `Send`: browser futures are not.
#[allow(async_fn_in_trait)]
pub trait Transport {
    async fn get(&self, path: &str) -> Result<HttpResponse, TransportError>;
    async fn post_json(&self, path: &str, body: String) -> Result<HttpResponse, TransportError>;
}
