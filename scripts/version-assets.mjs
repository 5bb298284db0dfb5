// Makes dist/ fast to load over Tor, where every round trip costs half a second or more and
// bandwidth is low (issue 25 §7):
//   - the app's files move into dist/v/<hash of the build>/, so the server can let browsers keep
//     them for a year without asking again (a new build is a new directory); index.html and
//     sw.js stay at fixed addresses and are revalidated on each visit;
//   - index.html gets <base href> for that directory (the client's relative URLs, such as its
//     workers' scripts, resolve into it), and its absolute references are rewritten;
//   - sw.js learns the versioned file list and its cache name;
//   - every file gets precompressed .br and .gz siblings, which the server sends as they are.
// Usage: node scripts/version-assets.mjs dist
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dist = process.argv[2];
if (!dist) throw new Error("usage: version-assets.mjs DIST");

// Served at fixed addresses: the page itself, and the service worker (its URL is its identity).
const FIXED = new Set(["index.html", "sw.js"]);
const files = readdirSync(dist).filter((f) => statSync(join(dist, f)).isFile() && !FIXED.has(f) && !/\.(br|gz)$/.test(f)).sort();

const hash = createHash("sha256");
for (const file of files) hash.update(file).update("\0").update(readFileSync(join(dist, file))).update("\0");
const version = hash.digest("hex").slice(0, 16);
const prefix = `/v/${version}/`;

rmSync(join(dist, "v"), { recursive: true, force: true });
mkdirSync(join(dist, prefix), { recursive: true });
for (const file of files) renameSync(join(dist, file), join(dist, prefix, file));

// index.html: the base first, then every absolute reference to a moved file.
let page = readFileSync(join(dist, "index.html"), "utf8");
page = page.replace(/<head>/, `<head>\n  <base href="${prefix}">`);
for (const file of files) page = page.replaceAll(`"/${file}"`, `"${prefix}${file}"`);
writeFileSync(join(dist, "index.html"), page);

// sw.js: precache the versioned shell under a cache named for this build.
let worker = readFileSync(join(dist, "sw.js"), "utf8");
worker = worker.replace(/const VERSION = "[^"]*";/, `const VERSION = "${version}";`);
writeFileSync(join(dist, "sw.js"), worker);

// Precompressed siblings. Brotli at its best quality: built once, sent many times.
const compressible = /\.(html|js|css|wasm|txt|json|svg)$/;
const compress = (path) => {
  const bytes = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }));
  writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
};
for (const file of files.filter((f) => compressible.test(f))) compress(join(dist, prefix, file));
for (const file of FIXED) compress(join(dist, file));
console.log(`    versioned ${files.length} files under ${prefix}`);
