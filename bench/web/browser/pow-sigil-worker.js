// Sigil's miner as the vault runs it (pow_search, the function pow-worker.js calls): counts the
// hashes it tries in a fixed time, going on past every find.
import init, { pow_search } from "/sigil/sigil-client.js";

const CHUNK = 1 << 14;
const ready = init({ module_or_path: "/sigil/sigil-client_bg.wasm" });
ready.then(() => self.postMessage({ ready: true }), (e) => self.postMessage({ error: String(e) }));

self.onmessage = async ({ data: { job, start, seconds } }) => {
  await ready;
  const started = performance.now();
  const end = started + seconds * 1000;
  let next = start;
  let hashes = 0;
  while (performance.now() < end) {
    const found = pow_search(job, next, CHUNK);
    const tried = found >= 0 ? found - next + 1 : CHUNK;
    hashes += tried;
    next += tried;
  }
  self.postMessage({ hashes, elapsed_ms: performance.now() - started });
};
