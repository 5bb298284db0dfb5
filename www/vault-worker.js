// The vault worker: loads the same WebAssembly module as the page and runs every command that
// touches a secret (key generation, Argon2id, proof of work, signing) off the page's thread.
// Messages are the JSON of client/src/worker_api.rs: the page sends a ToWorker beside the
// password arrays, and gets FromWorker messages back (replies and progress).
import init, { use_lane_module, vault_call } from "./sigil-client.js";
import { laneHelpers, startLanes } from "./argon2-lanes.js";

// A FromWorker reply for a failure the module could not report itself.
function failed(id, error) {
  const failure = `The vault could not start: ${error?.message ?? error}`;
  return JSON.stringify({ reply: [id, { Err: failure }] });
}

async function handle({ id, message, secrets }) {
  try {
    self.postMessage(await vault_call(message, secrets[0], secrets[1], secrets[2]));
  } catch (error) {
    self.postMessage(failed(id, error));
  } finally {
    // The module copied the password bytes; wipe the transferred originals.
    for (const secret of secrets) secret?.fill(0);
  }
}

// The NIP-46 signer's module (client/signer), loaded the first time the vault's module asks: it
// is left out of the first screen's download. It runs in this worker, beside the vault's module.
let signerModule;
const loadSigner = () =>
  (signerModule ??= import("./sigil-signer.js").then(async (module) => {
    await module.default({ module_or_path: "./sigil-signer_bg.wasm" });
    return module;
  }));
self.sigilSigner = {
  // `secret` is a copy of the key made for this hand-over: wiped once the module copied it.
  async start(secret, relays) {
    try {
      await (await loadSigner()).signer_start(secret, relays);
    } finally {
      secret.fill(0);
    }
  },
  stop: () => signerModule?.then((module) => module.signer_stop()),
  forget: () => signerModule?.then((module) => module.signer_forget()),
  call: async (command) => (await loadSigner()).signer_call(command),
  // The QR encoder lives in the signer's module too: the first screen's module stays smaller.
  qr: async (text, title) => (await loadSigner()).signer_qr(text, title),
};

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
      self.postMessage(failed(data.id, error));
    },
  );
};
