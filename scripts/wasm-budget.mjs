// Checks the built web client's WebAssembly against its budgets: at most 400 KiB for the modules
// the first screen loads (the vault's and the lane module), and 256 KiB for the NIP-46 signer's
// module, which the vault worker loads only when the signer is first used; at gzip level 9 by Node's zlib, the measure bench/web/run.mjs reports in BENCHMARKS.md (other
// gzip programs differ by a few percent). Run after scripts/build-web.sh.
//
// A size is not a timing: the same build gives the same bytes on any machine, so this is a test,
// where speed targets are benchmarks.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET_KIB = 400;
// Loaded on first use, not by the first screen.
const LAZY = { "sigil-signer_bg.wasm": 256 };
// The build's files live in dist/v/<hash>/ (scripts/version-assets.mjs).
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const builds = readdirSync(join(root, "v"), { withFileTypes: true }).filter((d) => d.isDirectory());
if (builds.length !== 1) {
  console.error(`expected one build in ${root}/v: run scripts/build-web.sh`);
  process.exit(1);
}
const dist = join(root, "v", builds[0].name);
const modules = readdirSync(dist).filter((file) => file.endsWith(".wasm")).sort();
if (modules.length === 0) {
  console.error(`no WebAssembly in ${dist}: run scripts/build-web.sh first`);
  process.exit(1);
}
let total = 0;
let within = true;
for (const file of modules) {
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  const lazy = LAZY[file];
  if (lazy === undefined) total += size;
  else within &&= size <= lazy * 1024;
  const note = lazy === undefined ? "" : `, loaded on first use (budget ${lazy} KiB${size <= lazy * 1024 ? "" : ": over"})`;
  console.log(`${file}: ${(size / 1024).toFixed(1)} KiB gzip${note}`);
}
within &&= total <= BUDGET_KIB * 1024;
console.log(`First screen's WebAssembly: ${(total / 1024).toFixed(1)} KiB gzip, ${total <= BUDGET_KIB * 1024 ? "within" : "over"} the ${BUDGET_KIB} KiB budget`);
if (!within) process.exit(1);
