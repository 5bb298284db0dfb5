//! Proof of work spread over several workers (`pow-worker.js`), each searching its own slice of
//! the nonce space and reporting how many hashes it tried. Used by the vault worker when the
//! server asks for enough work that more cores help; below that, one thread is quicker than
//! starting workers.

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use sigil_shared::dvm::{RequestDraft, SealError};
use sigil_shared::pow::{leading_zero_bits, nonce_at};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerOptions, WorkerType};

/// From this difficulty on (a million hashes on average), several workers pay for their start.
pub const PARALLEL_FROM_DIFFICULTY: u8 = 20;
/// Most workers started, whatever the core count says.
const MAX_WORKERS: u32 = 8;
/// Nonces per step of a worker, between two progress reports.
const CHUNK: u32 = 1 << 16;
/// Each worker starts this far from the previous one: disjoint slices, exact in a JS number.
const SLICE: f64 = (1u64 << 40) as f64;

/// Searches `count` nonces from offset `start` of the miner's range for the job (a
/// [`RequestDraft`] as JSON). Returns the offset of the nonce found, or -1 when none in the range
/// meets the target. Called by `pow-worker.js`.
#[wasm_bindgen]
pub fn pow_search(job: &str, start: f64, count: u32) -> f64 {
    let Ok(draft) = serde_json::from_str::<RequestDraft>(job) else {
        return -1.0;
    };
    let Ok(miner) = draft.miner() else {
        return -1.0;
    };
    match miner.search(start as u64, u64::from(count)) {
        Some((offset, _)) => offset as f64,
        None => -1.0,
    }
}

/// How many mining workers this machine gets: its cores, within bounds.
pub fn worker_count() -> u32 {
    let cores = js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .map(|scope| scope.navigator().hardware_concurrency())
        .unwrap_or(1.0);
    (cores as u32).clamp(1, MAX_WORKERS)
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// Mines `draft` in `workers` workers; `report` gets the running total of hashes tried.
pub async fn mine_in_workers(
    draft: &RequestDraft,
    workers: u32,
    report: Rc<dyn Fn(u64)>,
) -> Result<u64, SealError> {
    let failed = |what: &str| SealError::Serialise(format!("mining workers failed: {what}"));
    let job = serde_json::to_string(draft).map_err(|e| failed(&e.to_string()))?;
    let hashes = Rc::new(Cell::new(0u64));
    let mut settle: Option<(Function, Function)> = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.ok_or_else(|| failed("no promise"))?;

    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let mut running = Vec::new();
    for index in 0..workers {
        // Relative to the vault worker's own script: this build's directory.
        let worker = Worker::new_with_options("pow-worker.js", &options)
            .map_err(|_| failed("a worker could not start"))?;
        let (resolve, hashes, report) = (resolve.clone(), hashes.clone(), report.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let field = |key: &str| Reflect::get(&data, &JsValue::from_str(key)).ok();
            if let Some(found) = field("found").and_then(|v| v.as_f64()) {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::from_f64(found));
            } else if let Some(tried) = field("hashes").and_then(|v| v.as_f64()) {
                hashes.set(hashes.get() + tried as u64);
                report(hashes.get());
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(&reject));
        let message = Object::new();
        set(&message, "job", &JsValue::from_str(&job));
        set(
            &message,
            "start",
            &JsValue::from_f64(f64::from(index) * SLICE),
        );
        set(&message, "chunk", &JsValue::from(CHUNK));
        worker
            .post_message(&message)
            .map_err(|_| failed("a worker could not be reached"))?;
        running.push((worker, on_message));
    }
    let outcome = JsFuture::from(promise).await;
    for (worker, _) in &running {
        worker.terminate();
    }
    let offset = outcome
        .ok()
        .and_then(|v| v.as_f64())
        .ok_or_else(|| failed("no nonce"))? as u64;
    let nonce = nonce_at(offset);
    // A worker's answer is checked, not trusted: one hash.
    let miner = draft.miner()?;
    if leading_zero_bits(&miner.id_for(nonce)) < draft.difficulty {
        return Err(failed("a wrong nonce"));
    }
    Ok(nonce)
}
