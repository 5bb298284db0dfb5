// The vault worker: loads the same WebAssembly module as the page and runs every command that
// touches a secret (key generation, Argon2id, proof of work, signing) off the page's thread.
import init, { vault_call } from "./sigil-client.js";

const ready = init({ module_or_path: "./sigil-client_bg.wasm" });

self.onmessage = async ({ data: { id, op, arg, secrets } }) => {
  try {
    await ready;
    const result = await vault_call(op, arg, secrets[0], secrets[1], secrets[2]);
    self.postMessage({ id, ok: true, result });
  } catch (error) {
    self.postMessage({ id, ok: false, error: typeof error === "string" ? error : JSON.stringify({ code: "worker", message: String(error) }) });
  } finally {
    // The module copied the password bytes; wipe the transferred originals.
    for (const secret of secrets) secret?.fill(0);
  }
};
