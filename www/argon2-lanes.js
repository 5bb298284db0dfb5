// Argon2id's lanes side by side. The vault's worker and a few lane workers each run an instance
// of one small module (sigil-lanes.wasm, built from client/lanes) over a memory they share; each
// takes every n-th lane of a slice, and all of them meet before the next slice, as Argon2's sync
// points allow. The vault's own module hashes the password into the lanes' first blocks and the
// lanes' last blocks into the key (shared/src/argon2id.rs); this file only moves blocks and
// keeps time.
//
// It needs SharedArrayBuffer, so a cross-origin isolated page (the server sends COOP and COEP).
// Without it, or when anything here fails, the vault hashes on its own thread: slower, the same key.

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
const STATE = 8; // then one word per lane worker:
const LOADING = 0, READY = 1, DEAD = 2;

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
export function fillLanes(exports, control, base, me) {
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
export function abandon(control) {
  Atomics.store(control, FAILED, 1);
  Atomics.notify(control, ROUND);
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
    // During a job: the others must not wait for this worker at the next sync point.
    Atomics.store(control, STATE + index, DEAD);
    abandon(control);
    self.postMessage(`failed: ${error?.message ?? error}`);
  }
}

class ParallelLanes {
  constructor(exports, memory, control, helpers) {
    // `jobs`: hashes filled side by side so far, for the tests.
    Object.assign(this, { exports, memory, control, helpers, broken: false, jobs: 0 });
    this.base = layout(exports, helpers).base;
  }

  /** Lane workers ready to take a job, counted from the first: a job uses them by index. */
  ready() {
    let n = 0;
    while (n < this.helpers && Atomics.load(this.control, STATE + n) === READY) n++;
    return n;
  }

  /**
   * Fills the memory of `lanes` lanes of `segment` blocks per slice for `passes` passes, whose
   * lanes start with `seeds` (two blocks each), and copies each lane's last block into `last`.
   * Returns false, having changed nothing in `last`, when the vault should hash on its own.
   */
  fill(seeds, segment, passes, lanes, last) {
    const workers = Math.min(lanes, 1 + this.ready());
    if (this.broken || workers < 2) return false;
    const laneBytes = segment * 4 * 1024;
    const end = this.base + lanes * laneBytes;
    if (end > this.memory.buffer.byteLength) {
      try {
        this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / PAGE));
      } catch {
        return false; // over the module's maximum, or the browser refused
      }
    }
    const blocks = new Uint8Array(this.memory.buffer, this.base, end - this.base);
    try {
      for (let lane = 0; lane < lanes; lane++) {
        blocks.set(seeds.subarray(lane * 2048, (lane + 1) * 2048), lane * laneBytes);
      }
      const c = this.control;
      [[SEGMENT, segment], [PASSES, passes], [LANES, lanes], [WORKERS, workers]].forEach(([i, v]) => Atomics.store(c, i, v));
      Atomics.add(c, JOB, 1);
      Atomics.notify(c, JOB);
      fillLanes(this.exports, c, this.base, 0);
      for (let lane = 0; lane < lanes; lane++) {
        last.set(blocks.subarray((lane + 1) * laneBytes - 1024, (lane + 1) * laneBytes), lane * 1024);
      }
      this.jobs++;
      return true;
    } catch (error) {
      // A lost worker might still be writing: never use these workers again.
      this.broken = true;
      abandon(this.control);
      console.warn(`Argon2id lanes: ${error.message}; hashing on one thread from now on`);
      return false;
    } finally {
      blocks.fill(0); // the blocks derive from the password
    }
  }
}

/**
 * Starts `helpers` lane workers and resolves to the lanes object the vault's module takes
 * (`use_parallel_lanes`), or to null where lanes cannot run side by side. Never rejects.
 */
export async function startLanes({ wasmUrl, workerUrl, helpers }) {
  if (!self.crossOriginIsolated || helpers < 1) return null;
  try {
    const module = await WebAssembly.compileStreaming(fetch(wasmUrl));
    const memory = new WebAssembly.Memory({ initial: 32, maximum: MAX_PAGES, shared: true });
    const { exports } = await WebAssembly.instantiate(module, { env: { memory } });
    const control = new Int32Array(new SharedArrayBuffer(4 * (STATE + helpers)));
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
    const lanes = new ParallelLanes(exports, memory, control, helpers);
    return lanes.ready() > 0 ? lanes : null;
  } catch (error) {
    console.warn(`Argon2id lanes unavailable: ${error?.message ?? error}`);
    return null;
  }
}

/** How many lane workers to start beside the vault's worker: one per other core, up to 3. */
export function laneHelpers() {
  return Math.max(0, Math.min(navigator.hardwareConcurrency || 1, 4) - 1);
}
