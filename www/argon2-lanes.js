// Argon2id's memory, filled by the lane module (sigil-lanes.wasm, built from client/lanes): the
// vault's own module hashes the password into the lanes' first blocks and the lanes' last blocks
// into the key (argon2/src/hash.rs), and has no filling code of its own.
//
// Lanes side by side: the vault's worker and a few lane workers each run an instance of the lane
// module over a memory they share; each takes every n-th lane of a slice, and all of them meet
// before the next slice, as Argon2's sync points allow. Sharing memory needs a cross-origin
// isolated page (the server sends COOP and COEP). Without it, or if a lane worker fails, the
// vault's worker fills every lane itself: slower, and the same key.

const PAGE = 65536;
// 1 GiB, as the module declares (client/lanes/build.rs).
const MAX_PAGES = 16384;
// Each lane worker's stack, carved from the shared memory after the module's own data.
const STACK = 64 * 1024;
// A lane worker that misses a sync point for this long is taken as lost.
const PATIENCE_MS = 30_000;

// Words of the control array, a SharedArrayBuffer of its own.
const JOB = 0; // bumped to start a job
const ARRIVED = 1; // workers at the current sync point
const ROUND = 2; // bumped when all have arrived
const FAILED = 3; // set by any worker that cannot go on
const SEGMENT = 4, PASSES = 5, LANES = 6, WORKERS = 7; // the job
const STATE = 8; // then one word per lane worker, 0 while it loads, then:
const READY = 1, DEAD = 2;

/** Where lane worker `index`'s stack ends (stacks grow down), and where the blocks start. */
function layout(exports, helpers) {
  const data = Math.ceil(exports.__heap_base.value / 16) * 16;
  return {
    stackTop: (index) => data + (index + 1) * STACK,
    base: Math.ceil((data + helpers * STACK) / PAGE) * PAGE,
  };
}

/** Waits until every worker of the job reaches this point; throws when one failed or is lost. */
function meet(control, workers) {
  if (Atomics.load(control, FAILED)) throw new Error("a lane worker failed");
  const round = Atomics.load(control, ROUND);
  if (Atomics.add(control, ARRIVED, 1) === workers - 1) {
    Atomics.store(control, ARRIVED, 0);
    Atomics.add(control, ROUND, 1);
    Atomics.notify(control, ROUND);
    return;
  }
  const deadline = performance.now() + PATIENCE_MS;
  while (Atomics.load(control, ROUND) === round) {
    if (Atomics.load(control, FAILED)) throw new Error("a lane worker failed");
    if (performance.now() > deadline) throw new Error("a lane worker stopped answering");
    Atomics.wait(control, ROUND, round, 100);
  }
}

/** Worker `me`'s share of the job in `control`: every n-th lane of each slice, in order. */
function fillLanes(exports, control, base, me) {
  const [segment, passes, lanes, workers] = [SEGMENT, PASSES, LANES, WORKERS].map((i) => Atomics.load(control, i));
  for (let pass = 0; pass < passes; pass++) {
    for (let slice = 0; slice < 4; slice++) {
      for (let lane = me; lane < lanes; lane += workers) {
        if (exports.fill_segment(base, segment, passes, lanes, pass, slice, lane) !== 0) {
          throw new Error("the lane module refused a segment");
        }
      }
      meet(control, workers);
    }
  }
}

/** Stops every worker waiting at a sync point: the job is abandoned. */
function abandon(control) {
  Atomics.store(control, FAILED, 1);
  Atomics.notify(control, ROUND);
}

/**
 * The module with its imported memory marked shared. Stable Rust cannot emit a shared memory for
 * wasm32 (that takes the atomics feature and a rebuilt standard library), and the lane module
 * needs no atomic instruction, since workers meet through JavaScript's Atomics; so only the
 * import's limits flag changes, from 0x01 (has a maximum) to 0x03 (shared, has a maximum).
 */
function withSharedMemory(wasm) {
  const bytes = Uint8Array.from(wasm);
  let at = 8; // after the magic number and version
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const skipName = () => {
    const length = leb(); // read before `at` is: leb() moves it
    at += length;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const end = leb() + at;
    if (id === 2) { // the import section
      for (let count = leb(); count > 0; count--) {
        skipName();
        skipName();
        const kind = bytes[at++];
        if (kind === 2) { // a memory: patch its limits flag and stop
          if (bytes[at] !== 0x01) throw new Error("the lane module's memory has unexpected limits");
          bytes[at] = 0x03;
          return bytes;
        }
        if (kind === 0) leb(); // a function's type
        else throw new Error("the lane module imports something other than functions and a memory");
      }
    }
    at = end;
  }
  throw new Error("the lane module imports no memory");
}

/** The lane worker's side: instantiate, report ready, then take part in every job it is in. */
export async function serveLanes({ module, memory, control, index, helpers }) {
  let exports;
  try {
    ({ exports } = await WebAssembly.instantiate(module, { env: { memory } }));
  } catch (error) {
    // Before its first job: the vault just works without this worker.
    Atomics.store(control, STATE + index, DEAD);
    self.postMessage(`failed: ${error?.message ?? error}`);
    return;
  }
  const { stackTop, base } = layout(exports, helpers);
  exports.__stack_pointer.value = stackTop(index);
  let job = Atomics.load(control, JOB);
  Atomics.store(control, STATE + index, READY);
  self.postMessage("ready");
  try {
    for (;;) {
      Atomics.wait(control, JOB, job);
      job = Atomics.load(control, JOB);
      if (index + 1 < Atomics.load(control, WORKERS)) fillLanes(exports, control, base, index + 1);
    }
  } catch (error) {
    // During a job: the others must not wait for this worker at the next sync point. The vault's
    // worker has wiped the blocks and moved on to a memory of its own; wipe what this worker
    // may have written since.
    Atomics.store(control, STATE + index, DEAD);
    abandon(control);
    new Uint8Array(memory.buffer, base).fill(0);
    self.postMessage(`failed: ${error?.message ?? error}`);
  }
}

/** An instance of the lane module over `memory`, with the control words its jobs read. */
function instance(module, memory, control, helpers) {
  const { exports } = new WebAssembly.Instance(module, { env: { memory } });
  return { exports, memory, control, base: layout(exports, helpers).base };
}

/** The lane module as the vault's module uses it: with lane workers where it can, alone otherwise. */
class LaneModule {
  /** `shared`: the instance over the memory shared with `helpers` lane workers, or null. */
  constructor(unshared, shared, helpers) {
    // `jobs` and `sideBySide`: hashes filled so far, and those filled with lane workers (tests).
    Object.assign(this, { unshared, shared, helpers, broken: false, jobs: 0, sideBySide: 0 });
  }

  /**
   * This worker's own instance over a memory of its own, made on first use. A job with no lane
   * worker runs here: V8 ran it about 6% faster than over a shared memory (a p = 1 hash in the
   * benchmark, one thread both ways), and a failed lane worker cannot write into it.
   */
  alone() {
    this.own ??= instance(this.unshared, new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES }), new Int32Array(STATE), 0);
    return this.own;
  }

  /** Lane workers ready to take a job, counted from the first: a job uses them by index. */
  ready() {
    let n = 0;
    while (this.shared && n < this.helpers && Atomics.load(this.shared.control, STATE + n) === READY) n++;
    return n;
  }

  /**
   * Fills the memory of `lanes` lanes of `segment` blocks per slice for `passes` passes, whose
   * lanes start with `seeds` (two blocks each), and copies each lane's last block into `last`.
   * Returns false, having changed nothing in `last`, when the memory cannot grow that far.
   */
  fill(seeds, segment, passes, lanes, last) {
    const workers = this.broken ? 1 : Math.min(lanes, 1 + this.ready());
    const { exports, memory, control, base } = workers > 1 ? this.shared : this.alone();
    const laneBytes = segment * 4 * 1024;
    const end = base + lanes * laneBytes;
    if (end > memory.buffer.byteLength) {
      try {
        memory.grow(Math.ceil((end - memory.buffer.byteLength) / PAGE));
      } catch {
        return false; // over the module's maximum, or the browser refused
      }
    }
    const blocks = new Uint8Array(memory.buffer, base, end - base);
    try {
      for (let lane = 0; lane < lanes; lane++) {
        blocks.set(seeds.subarray(lane * 2048, (lane + 1) * 2048), lane * laneBytes);
      }
      [[SEGMENT, segment], [PASSES, passes], [LANES, lanes], [WORKERS, workers]].forEach(([i, v]) => Atomics.store(control, i, v));
      Atomics.add(control, JOB, 1);
      Atomics.notify(control, JOB);
      fillLanes(exports, control, base, 0);
      for (let lane = 0; lane < lanes; lane++) {
        last.set(blocks.subarray((lane + 1) * laneBytes - 1024, (lane + 1) * laneBytes), lane * 1024);
      }
      this.jobs++;
      if (workers > 1) this.sideBySide++;
      return true;
    } catch (error) {
      if (workers === 1) throw error;
      // A lost lane worker might still be writing into the shared memory: go on alone.
      abandon(control);
      console.warn(`Argon2id lanes: ${error.message}; filling them on one thread from now on`);
      this.broken = true;
      return this.fill(seeds, segment, passes, lanes, last);
    } finally {
      blocks.fill(0); // the blocks derive from the password
    }
  }
}

/**
 * Loads the lane module, starts `helpers` lane workers where the page is cross-origin isolated,
 * and resolves to the lanes object the vault's module takes (`use_lane_module`), or to null if
 * the module could not load. Never rejects.
 */
export async function startLanes({ wasmUrl, workerUrl, helpers, share = self.crossOriginIsolated }) {
  try {
    const response = await fetch(wasmUrl);
    if (!response.ok) throw new Error(`${wasmUrl}: HTTP ${response.status}`);
    const wasm = new Uint8Array(await response.arrayBuffer());
    const unshared = await WebAssembly.compile(wasm);
    if (!share || helpers < 1) return new LaneModule(unshared, null, 0);
    const module = await WebAssembly.compile(withSharedMemory(wasm));
    const memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared: true });
    const control = new Int32Array(new SharedArrayBuffer(4 * (STATE + helpers)));
    const shared = instance(module, memory, control, helpers);
    const started = Array.from({ length: helpers }, (_, index) => {
      const worker = new Worker(workerUrl, { type: "module" });
      return new Promise((resolve) => {
        worker.onmessage = ({ data }) => resolve(data);
        worker.onerror = (event) => resolve(`failed: ${event.message}`);
        worker.postMessage({ module, memory, control, index, helpers });
      });
    });
    const answers = await Promise.race([
      Promise.all(started),
      new Promise((resolve) => setTimeout(() => resolve(["failed: no answer in 10 s"]), 10_000)),
    ]);
    const failure = answers.find((answer) => answer !== "ready");
    if (failure) console.warn(`Argon2id lanes: a lane worker ${failure}`);
    return new LaneModule(unshared, shared, helpers);
  } catch (error) {
    console.warn(`Argon2id's lane module did not load: ${error?.message ?? error}`);
    return null;
  }
}

/** How many lane workers to start beside the vault's worker: one per other core, up to 3. */
export function laneHelpers() {
  return Math.max(0, Math.min(navigator.hardwareConcurrency || 1, 4) - 1);
}
