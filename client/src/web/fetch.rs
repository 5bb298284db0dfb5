//! `fetch` against the page's own origin (the CSP allows no other), from a window or a worker.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

use crate::transport::{HttpResponse, Transport, TransportError};

#[derive(Debug, Clone, Copy)]
pub struct FetchTransport;

fn js_error(value: JsValue) -> TransportError {
    TransportError(value.as_string().unwrap_or_else(|| format!("{value:?}")))
}

async fn fetch(path: &str, init: &RequestInit) -> Result<HttpResponse, TransportError> {
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
