// One Argon2id implementation per Worker (chosen by ?impl=), so that none shares a thread, a heap
// or a JIT with another. Each run is timed here, around the hash call alone.
const impl = new URL(self.location.href).searchParams.get("impl");
const NM = "/node_modules";

// Each loader returns hash(password bytes, salt bytes, {m_kib, t, p}, hashLen) -> bytes.
const loaders = {
  sigil: () => sigil({ sideBySide: true }),
  "sigil-1-thread": () => sigil({ sideBySide: false }),
  async "hash-wasm"() {
    const { argon2id } = await import(`${NM}/hash-wasm/dist/index.esm.js`);
    return (password, salt, c, hashLength) =>
      argon2id({ password, salt, parallelism: c.p, iterations: c.t, memorySize: c.m_kib, hashLength, outputType: "binary" });
  },
  "argon2-browser": () => argon2Browser("argon2.wasm"),
  "argon2-browser-simd": () => argon2Browser("argon2-simd.wasm"),
  async "@phi-ag/argon2"() {
    const { default: initialize } = await import(`${NM}/@phi-ag/argon2/dist/fetch.js`);
    const argon2 = await initialize(`${NM}/@phi-ag/argon2/dist/argon2.wasm`);
    const decoder = new TextDecoder();
    return (password, salt, c, hashLength) =>
      argon2.hash(decoder.decode(password), {
        salt, hashLength, timeCost: c.t, memoryCost: c.m_kib, parallelism: c.p, type: 2, version: 0x13,
      }).hash;
  },
  async "@noble/hashes"() {
    const { argon2id } = await import(`${NM}/@noble/hashes/argon2.js`);
    return (password, salt, c, dkLen) => argon2id(password, salt, { t: c.t, m: c.m_kib, p: c.p, dkLen });
  },
};

// Sigil as the vault runs it: lanes side by side in lane workers (the bench page is cross-origin
// isolated), started as the vault worker starts them; or, for comparison, every lane on this
// worker's thread, which is what a page that is not cross-origin isolated gets.
async function sigil({ sideBySide }) {
  const sigil = await import("/sigil/sigil-client.js");
  const { laneHelpers, startLanes } = await import("/sigil/argon2-lanes.js");
  await sigil.default({ module_or_path: "/sigil/sigil-client_bg.wasm" });
  const helpers = sideBySide ? laneHelpers() : 0;
  const lanes = await startLanes({ wasmUrl: "/sigil/sigil-lanes.wasm", workerUrl: "/sigil/argon2-lane-worker.js", helpers, share: sideBySide });
  if (!lanes) throw new Error("Sigil's lane module did not load");
  if (sideBySide && lanes.ready() < 1) throw new Error("no lane workers: is the page cross-origin isolated?");
  sigil.use_lane_module(lanes);
  return (password, salt, c) => sigil.argon2id_hash(password, salt, c.m_kib, c.t, c.p);
}

// argon2-browser picks its build by the path it fetches.
async function argon2Browser(wasm) {
  self.argon2WasmPath = `${NM}/argon2-browser/dist/${wasm}`;
  await import(`${NM}/argon2-browser/lib/argon2.js`);
  const argon2 = self.argon2;
  return async (pass, salt, c, hashLen) =>
    (await argon2.hash({ pass, salt, time: c.t, mem: c.m_kib, parallelism: c.p, hashLen, type: argon2.ArgonType.Argon2id })).hash;
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const hashFn = loaders[impl]();

self.onmessage = async ({ data: { ping, cost, hashLen, warmups, runs, ...bytes } }) => {
  try {
    const hash = await hashFn;
    // Loaded: the harness waits for every Worker so that none compiles while another is timed.
    if (ping) return self.postMessage({ ready: true });
    const password = Uint8Array.from(bytes.password);
    const salt = Uint8Array.from(bytes.salt);
    const times = [];
    let out;
    let firstMs;
    for (let i = 0; i < warmups + runs; i++) {
      const started = performance.now();
      out = await hash(password, salt, cost, hashLen);
      const ms = performance.now() - started;
      // The first call is what a user waits for at unlock on a freshly loaded page.
      if (i === 0) firstMs = ms;
      if (i >= warmups) times.push(ms);
    }
    self.postMessage({ runs_ms: times, first_ms: firstMs, hash_hex: hex(out) });
  } catch (error) {
    self.postMessage({ error: `${impl}: ${error?.message ?? error}` });
  }
};
