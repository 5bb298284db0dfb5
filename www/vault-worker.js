// The vault worker: loads the same WebAssembly module as the page and runs every command that
// touches a secret (key generation, Argon2id, proof of work, signing) off the page's thread.
import init, { use_lane_module, vault_call } from "./sigil-client.js";
import { laneHelpers, startLanes } from "./argon2-lanes.js";

// Errors from the module are already `{code, message}` JSON; anything else is wrapped the same way.
function reply(id, error) {
  const message = typeof error === "string" ? error : JSON.stringify({ code: "worker", message: String(error?.message ?? error) });
  self.postMessage({ id, ok: false, error: message });
}

async function handle({ id, op, arg, secrets }) {
  try {
    const result = await vault_call(op, arg, secrets[0], secrets[1], secrets[2]);
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    reply(id, error);
  } finally {
    // The module copied the password bytes; wipe the transferred originals.
    for (const secret of secrets) secret?.fill(0);
  }
}

// Argon2id's memory is filled by the lane module, with lane workers where the page is
// cross-origin isolated; it loads beside the vault's module.
const lanes = startLanes({ wasmUrl: "./sigil-lanes.wasm", workerUrl: "./argon2-lane-worker.js", helpers: laneHelpers() });
const ready = Promise.all([init({ module_or_path: "./sigil-client_bg.wasm" }), lanes]).then(([, lanes]) => {
  if (lanes) use_lane_module(lanes);
});
// Commands run one at a time, in the order sent: a background sync and a click never collide.
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue.then(() => ready).then(
    () => handle(data),
    (error) => {
      for (const secret of data.secrets) secret?.fill(0);
      reply(data.id, new Error(`The vault could not start: ${error}`));
    },
  );
};
