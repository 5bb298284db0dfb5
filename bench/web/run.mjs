// Sigil's browser benchmarks, in Debian's Chromium driven by playwright-core:
//   1. Argon2id: Sigil's WebAssembly against the npm peers, each in its own Worker, warm-ups,
//      then rounds of one timed run each, taking turns; every output is checked equal to Sigil's.
//   2. NIP-13 mining: hashes per second over a fixed time, Sigil with 1 and N workers against
//      nostr-tools' minePow in a Worker.
//   3. The web client: compressed sizes of dist/, and the time from navigation to interactive
//      (the first screen shown, its handlers attached) against the real server on loopback.
//   4. The NIP-46 signer: nostr-tools' BunkerSigner (in Node, e2e/nip46-bench.mjs) has the vault
//      in Chromium sign through a real relay on loopback: round trips one at a time, the
//      sustained rate, and the relay's own share.
// Writes every figure as JSON (--out); scripts/bench.sh turns it into BENCHMARKS.md.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { startRelay } from "../../e2e/harness.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "../..");
const { values: opts } = parseArgs({
  options: {
    out: { type: "string", default: join(ROOT, "target/bench/browser.json") },
    dist: { type: "string", default: join(ROOT, "dist") },
    server: { type: "string", default: join(ROOT, "target/release/sigil-server") },
    chromium: { type: "string", default: process.env.CHROMIUM ?? "/usr/bin/chromium" },
    runs: { type: "string", default: "10" },
    warmups: { type: "string", default: "3" },
    "pow-seconds": { type: "string", default: "5" },
    "pow-rounds": { type: "string", default: "3" },
    "startup-runs": { type: "string", default: "10" },
    only: { type: "string", default: "argon2,pow,client,signer" },
    "signer-requests": { type: "string", default: "300" },
    "argon2-impls": { type: "string", default: "sigil,sigil-1-thread,hash-wasm,argon2-browser,argon2-browser-simd,@phi-ag/argon2,@noble/hashes" },
  },
});
const RUNS = Number(opts.runs);
const WARMUPS = Number(opts.warmups);
const POW_SECONDS = Number(opts["pow-seconds"]);
const POW_ROUNDS = Number(opts["pow-rounds"]);
const STARTUP_RUNS = Number(opts["startup-runs"]);
const ONLY = new Set(opts.only.split(","));
const INPUTS = JSON.parse(readFileSync(join(HERE, "inputs.json"), "utf8"));
const ARGON2_IMPLS = opts["argon2-impls"].split(",");

const log = (message) => process.stderr.write(`    ${message}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// --- a static server for the benchmark page, the peers and Sigil's build ----------------------
// Cross-origin isolated, as a page must be to share memory between workers.
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };
// The build's files live in dist/v/<hash>/ (scripts/version-assets.mjs).
const versions = readdirSync(join(opts.dist, "v"));
if (versions.length !== 1) throw new Error(`expected one build in ${opts.dist}/v, found ${versions.length}`);
const BUILD = join(opts.dist, "v", versions[0]);
const MOUNTS = [
  ["/node_modules/", join(HERE, "node_modules")],
  ["/sigil/", BUILD],
  ["/", join(HERE, "browser")],
];
function serveStatic() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const [prefix, dir] = MOUNTS.find(([p]) => path.startsWith(p));
    const file = normalize(join(dir, path.slice(prefix.length) || "index.html"));
    if (!file.startsWith(dir + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cache-control": "no-store",
    });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// --- in the page: start workers, send each its job, collect the answers -----------------------
// Installed in the benchmark page (see main): the next message of Worker `w`, or an error when it
// reports one, fails, or says nothing for `timeoutMs`.
function nextAnswer(w, label, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: no answer in ${timeoutMs} ms`)), timeoutMs);
    w.onmessage = ({ data }) => (clearTimeout(timer), data.error ? reject(new Error(data.error)) : resolve(data));
    w.onerror = (e) => (clearTimeout(timer), reject(new Error(`${label}: ${e.message}`)));
  });
}

async function inWorkers(page, { url, type, jobs, timeoutMs }) {
  return page.evaluate(
    async ({ url, type, jobs, timeoutMs }) => {
      const workers = jobs.map(() => new Worker(url, { type }));
      const next = (w) => self.nextAnswer(w, url, timeoutMs);
      try {
        // Mining workers say when they are loaded, so that they all start the clock together.
        if (jobs[0].handshake) await Promise.all(workers.map(next));
        const answers = workers.map(next);
        workers.forEach((w, i) => w.postMessage(jobs[i].message));
        return await Promise.all(answers);
      } finally {
        workers.forEach((w) => w.terminate());
      }
    },
    { url, type, jobs, timeoutMs },
  );
}

// Workers that stay up across calls into the page, so that rows can take turns on them.
async function openWorkers(page, specs) {
  await page.evaluate((specs) => {
    self.benchWorkers = new Map(specs.map(({ key, url, type }) => [key, new Worker(url, { type })]));
  }, specs);
}

async function ask(page, key, message, timeoutMs) {
  return page.evaluate(
    ({ key, message, timeoutMs }) => {
      const w = self.benchWorkers.get(key);
      const answer = self.nextAnswer(w, key, timeoutMs);
      w.postMessage(message);
      return answer;
    },
    { key, message, timeoutMs },
  );
}

async function closeWorkers(page) {
  await page.evaluate(() => {
    for (const w of self.benchWorkers?.values() ?? []) w.terminate();
    self.benchWorkers = new Map();
  });
}

async function benchArgon2(page) {
  const { password, salt_hex, hash_len, params } = INPUTS.argon2;
  // Plain arrays, which cross into the page as JSON; the worker makes bytes of them.
  const message = {
    password: [...new TextEncoder().encode(password)],
    salt: [...Buffer.from(salt_hex, "hex")],
    hashLen: hash_len,
  };
  // A throwaway Worker first: a page's first Worker also pays for the browser's own warm-up, which
  // would land on whichever implementation runs first (measured: its first call took twice as
  // long). At full size, since the effect shrank from 2x to 1.3x with a small hash and went with
  // this one. @noble/hashes is plain JavaScript, so this warms no one's WebAssembly.
  await inWorkers(page, {
    url: "/argon2-worker.js?impl=%40noble%2Fhashes",
    type: "module",
    jobs: [{ message: { ...message, cost: { m_kib: 65536, t: 1, p: 1 }, warmups: 0, runs: 1 } }],
    timeoutMs: 60_000,
  });
  const figures = [];
  for (const cost of params) {
    // Every implementation's Worker stays up while they take turns, one timed hash each per round
    // in an order that rotates, so that a busy spell on the shared machine lands on all of them
    // rather than on one row. The first round also runs each one's warm-ups.
    await openWorkers(page, ARGON2_IMPLS.map((impl) => ({ key: impl, url: `/argon2-worker.js?impl=${encodeURIComponent(impl)}`, type: "module" })));
    const rows = new Map(ARGON2_IMPLS.map((impl) => [impl, { runs_ms: [] }]));
    try {
      for (const impl of ARGON2_IMPLS) await ask(page, impl, { ping: true }, 60_000);
      for (let round = 0; round < RUNS; round++) {
        for (let i = 0; i < ARGON2_IMPLS.length; i++) {
          const impl = ARGON2_IMPLS[(i + round) % ARGON2_IMPLS.length];
          const job = { ...message, cost, warmups: round === 0 ? WARMUPS : 0, runs: 1 };
          const answer = await ask(page, impl, job, 30 * 60_000);
          const row = rows.get(impl);
          if (round === 0) row.first_ms = answer.first_ms;
          else if (answer.hash_hex !== row.hash_hex) throw new Error(`${impl} gave two different hashes at p=${cost.p}`);
          row.runs_ms.push(...answer.runs_ms);
          row.hash_hex = answer.hash_hex;
        }
      }
    } finally {
      await closeWorkers(page);
    }
    for (const [impl, row] of rows) {
      const figure = { impl, ...cost, median_ms: median(row.runs_ms), ...row };
      log(`argon2id m=${cost.m_kib} t=${cost.t} p=${cost.p} ${impl}: ${figure.median_ms.toFixed(0)} ms`);
      figures.push(figure);
    }
    const expected = rows.get("sigil").hash_hex;
    for (const f of figures.filter((f) => f.p === cost.p && f.hash_hex !== expected)) {
      throw new Error(`${f.impl} disagrees with Sigil at p=${cost.p}: ${f.hash_hex} against ${expected}`);
    }
  }
  return figures;
}

async function benchPow(page, cores) {
  const { event, difficulties } = INPUTS.pow;
  const figures = [];
  const counts = [...new Set([1, cores])];
  for (const difficulty of difficulties) {
    const job = JSON.stringify({
      pubkey: event.pubkey, created_at: event.created_at, tags: event.tags, content: event.content, difficulty,
    });
    const runs = [
      ...counts.map((workers) => ({
        impl: "sigil",
        workers,
        url: "/pow-sigil-worker.js",
        type: "module",
        // Disjoint nonce ranges, as the vault gives its workers.
        message: (i) => ({ job, start: i * 2 ** 40, seconds: POW_SECONDS }),
      })),
      { impl: "nostr-tools", workers: 1, url: "/pow-nostr-tools-worker.js", type: "classic", message: () => ({ event, difficulty, seconds: POW_SECONDS }) },
    ];
    // Rounds of every row in turn, so that a busy spell on the shared machine hits all of them;
    // each row's figure is its median round.
    const rates = runs.map(() => []);
    for (let round = 0; round < POW_ROUNDS; round++) {
      for (const [i, run] of runs.entries()) {
        const jobs = Array.from({ length: run.workers }, (_, w) => ({ handshake: true, message: run.message(w) }));
        const answers = await inWorkers(page, { url: run.url, type: run.type, jobs, timeoutMs: (POW_SECONDS + 60) * 1000 });
        rates[i].push(answers.reduce((sum, a) => sum + (a.hashes * 1000) / a.elapsed_ms, 0));
      }
    }
    for (const [i, run] of runs.entries()) {
      const hashes_per_second = median(rates[i]);
      log(`mining d=${difficulty} ${run.impl} x${run.workers}: ${(hashes_per_second / 1e6).toFixed(2)} M hashes/s`);
      figures.push({ impl: run.impl, workers: run.workers, difficulty, hashes_per_second, rounds: rates[i] });
    }
  }
  return figures;
}

// --- the web client: sizes and start-up ---------------------------------------------------------
// Each file as built, with what the server sends for it: the precompressed brotli, or gzip.
function sizes() {
  const files = [
    ...["index.html", "sw.js"].map((file) => ({ file, path: join(opts.dist, file) })),
    ...readdirSync(BUILD).filter((f) => !/\.(br|gz)$/.test(f)).map((file) => ({ file, path: join(BUILD, file) })),
  ];
  return files
    .sort((a, b) => a.file.localeCompare(b.file))
    .map(({ file, path }) => {
      const bytes = readFileSync(path);
      const brotli = statSync(`${path}.br`, { throwIfNoEntry: false })?.size ?? null;
      return { file, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, brotli };
    });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startSigil(args = []) {
  const data = mkdtempSync(join(tmpdir(), "sigil-bench-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(opts.server, ["--listen", `127.0.0.1:${port}`, "--data-dir", data, "--web-dir", opts.dist, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d) => (stderr += d));
  // Without SMTP settings the server prints each code here.
  child.stdout.on("data", (d) => (stdout += d));
  const codes = () => [...stdout.matchAll(/Sigil code for \S+: ([\d ]+?)\s{2}/g)].map((m) => m[1].replaceAll(" ", ""));
  const stop = () => (child.kill("SIGTERM"), rmSync(data, { recursive: true, force: true }));
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sigil-server exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/.well-known/sigil.json`)).ok) return { url, stop, codes };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  stop();
  throw new Error("sigil-server did not start");
}

// Interactive: the first screen is shown, which the client does only once its module runs and
// its handlers are attached. Recorded by an observer installed before any page script.
const MARK_INTERACTIVE = () => {
  const check = () => {
    const screen = document.getElementById("screen-email");
    if (screen && !screen.hidden && window.__sigilInteractive === undefined) {
      window.__sigilInteractive = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["hidden"] });
};

async function timeToInteractive(page, load) {
  await load();
  return page.waitForFunction(() => window.__sigilInteractive, null, { timeout: 30_000 }).then((h) => h.jsonValue());
}

// Tor-like conditions (issue 25 §7): 600 ms round trip and 2 Mbit/s each way, Chromium's own
// network emulation, from the first request on.
const TOR = { offline: false, latency: 600, downloadThroughput: 2_000_000 / 8, uploadThroughput: 2_000_000 / 8 };

async function throttled(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", TOR);
}

// Cold: a new profile each time, nothing cached, no service worker. Warm: one profile coming
// back, the build in its caches. `tor` applies the Tor-like conditions to every page.
async function coldAndWarm(browser, sigil, runs, tor) {
  const open = async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    if (tor) await throttled(context, page);
    await page.addInitScript(MARK_INTERACTIVE);
    return { context, page };
  };
  const cold = [];
  for (let i = 0; i < runs; i++) {
    const { context, page } = await open();
    cold.push(await timeToInteractive(page, () => page.goto(sigil.url)));
    await context.close();
  }
  const { context, page } = await open();
  await timeToInteractive(page, () => page.goto(sigil.url));
  await page.evaluate(() => navigator.serviceWorker.ready);
  const warm = [];
  for (let i = 0; i < runs; i++) warm.push(await timeToInteractive(page, () => page.reload()));
  await context.close();
  log(`interactive${tor ? " at Tor-like speed" : ""}: cold ${median(cold).toFixed(0)} ms, warm ${median(warm).toFixed(0)} ms (medians)`);
  return { cold_ms: cold, warm_ms: warm, cold_median_ms: median(cold), warm_median_ms: median(warm) };
}

async function benchStartup(browser) {
  const sigil = await startSigil();
  try {
    const loopback = await coldAndWarm(browser, sigil, STARTUP_RUNS, false);
    const tor = await coldAndWarm(browser, sigil, Math.max(3, Math.ceil(STARTUP_RUNS / 2)), true);
    return { ...loopback, tor: { ...tor, conditions: TOR } };
  } finally {
    sigil.stop();
  }
}

// The signer: a vault signed up in Chromium with a quick KDF (its speed is measured above), a
// bunker:// link, and the app in Node. The page grants the first kind-1 request always; every
// later request is answered without a prompt, as an app's everyday traffic is.
async function benchSigner(browser) {
  const relay = await startRelay();
  const sigil = await startSigil(["--default-relays", relay.url, "--kdf-memory-kib", "19456", "--kdf-iterations", "2", "--kdf-parallelism", "1"]);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(sigil.url);
    await page.getByLabel("Email address").fill("bench@example.org");
    await page.getByRole("button", { name: "Continue" }).click();
    await page.getByLabel("Code from the email").waitFor();
    let code;
    for (let i = 0; i < 200 && !code; i++) {
      code = sigil.codes()[0];
      await new Promise((r) => setTimeout(r, 50));
    }
    await page.getByLabel("Code from the email").fill(code);
    await page.getByRole("button", { name: "Verify" }).click();
    const password = "benchmark password 9f2c";
    await page.getByLabel("Password (at least 10 characters)", { exact: true }).fill(password);
    await page.getByLabel("Repeat the password").fill(password);
    await page.getByRole("button", { name: "Create my key" }).click();
    await page.getByRole("tab", { name: "Apps" }).click({ timeout: 60_000 });
    await page.locator("summary", { hasText: "bunker://" }).click();
    await page.getByRole("button", { name: "Make a link" }).click();
    await page.waitForFunction(() => document.getElementById("bunker-link")?.textContent.startsWith("bunker://"));
    const link = await page.locator("#bunker-link").textContent();
    const app = spawn("node", [join(ROOT, "e2e/nip46-bench.mjs"), link, opts["signer-requests"]], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    app.stdout.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => app.once("exit", resolve));
    let finished = false;
    exited.then(() => (finished = true));
    const prompt = page.locator("#signer-prompt");
    while (!finished) {
      if (await prompt.isVisible()) await prompt.getByRole("button", { name: "Always allow this", exact: true }).click();
      await page.waitForTimeout(50);
    }
    if ((await exited) !== 0) throw new Error(`nip46-bench.mjs failed: ${out}`);
    const result = JSON.parse(out.trim());
    log(
      `signer: sign_event p50 ${result.sign_event.p50_ms.toFixed(1)} ms, p99 ${result.sign_event.p99_ms.toFixed(1)} ms; ` +
        `${result.sustained.per_second.toFixed(0)}/s with ${result.sustained.parallel} in flight; relay hop p50 ${result.relay_hop.p50_ms.toFixed(1)} ms`,
    );
    return result;
  } finally {
    await context.close();
    sigil.stop();
    await relay.stop();
  }
}

// --- main ---------------------------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: opts.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const statics = await serveStatic();
try {
  const page = await browser.newPage();
  await page.addInitScript(`self.nextAnswer = ${nextAnswer}`);
  await page.goto(`http://127.0.0.1:${statics.address().port}/`);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const isolated = await page.evaluate(() => self.crossOriginIsolated);
  const versions = Object.fromEntries(
    ["@noble/hashes", "@phi-ag/argon2", "argon2-browser", "hash-wasm", "nostr-tools", "playwright-core"].map((name) => [
      name,
      JSON.parse(readFileSync(join(HERE, "node_modules", name, "package.json"), "utf8")).version,
    ]),
  );
  const report = {
    browser: `Chromium ${browser.version()}`, cores, cross_origin_isolated: isolated, versions,
    runs: RUNS, warmups: WARMUPS, pow_seconds: POW_SECONDS, pow_rounds: POW_ROUNDS,
  };
  if (ONLY.has("argon2")) report.argon2 = await benchArgon2(page);
  if (ONLY.has("pow")) report.pow = await benchPow(page, cores);
  if (ONLY.has("client")) {
    report.sizes = sizes();
    report.startup = await benchStartup(browser);
  }
  if (ONLY.has("signer")) report.signer = await benchSigner(browser);
  writeFileSync(opts.out, JSON.stringify(report, null, 2));
} finally {
  statics.close();
  await browser.close();
}
