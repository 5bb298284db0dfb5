//! Browser glue: converts between JS and the pure client, nothing more. For now it proves the
//! pipeline: it connects to the serving origin and shows the server's npub.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{Headers, RequestInit, Response};

use crate::server::Server;
use crate::transport::{HttpResponse, Transport, TransportError};

/// `fetch` against the page's own origin; the CSP allows no other.
#[derive(Debug, Clone, Copy)]
struct FetchTransport;

fn js_error(value: JsValue) -> TransportError {
    TransportError(value.as_string().unwrap_or_else(|| format!("{value:?}")))
}

async fn fetch(path: &str, init: &RequestInit) -> Result<HttpResponse, TransportError> {
    let window = web_sys::window().ok_or_else(|| TransportError("no window".into()))?;
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(path, init))
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

impl Transport for FetchTransport {
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

fn set_text(id: &str, text: &str) {
    if let Some(element) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        element.set_text_content(Some(text));
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    set_text("status", "Connecting to the server…");
    spawn_local(async {
        match Server::connect(FetchTransport).await {
            Ok(server) => {
                set_text("server-npub", &server.info().npub);
                set_text("status", "Connected. This server's identity:");
            }
            Err(error) => set_text("status", &format!("Could not connect: {error}")),
        }
    });
}
