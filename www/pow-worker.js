// A proof-of-work helper for the vault worker: searches its own slice of nonces for one that
// gives the request its required leading zero bits, and reports progress after every chunk.
import init, { pow_search } from "./sigil-client.js";

const ready = init({ module_or_path: "./sigil-client_bg.wasm" });

self.onmessage = async ({ data: { job, start, chunk } }) => {
  await ready;
  // The vault worker stops this loop with terminate() once any worker has found a nonce.
  for (let from = start; ; from += chunk) {
    const found = pow_search(job, from, chunk);
    if (found >= 0) {
      self.postMessage({ found });
      return;
    }
    self.postMessage({ hashes: chunk });
  }
};
