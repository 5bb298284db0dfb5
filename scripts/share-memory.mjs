// Marks a WebAssembly module's imported memory as shared, so that workers can run it over one
// memory: node scripts/share-memory.mjs IN OUT
//
// Stable Rust cannot emit a shared memory for wasm32 (that takes the atomics feature and a
// rebuilt standard library). The lane module needs no atomic instruction, since the workers meet
// through JavaScript's Atomics, so only the import's limits flag changes: 0x01 (has a maximum)
// becomes 0x03 (shared, has a maximum). Nothing else in the module moves.
import { readFileSync, writeFileSync } from "node:fs";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: node scripts/share-memory.mjs IN.wasm OUT.wasm");
  process.exit(2);
}

const bytes = readFileSync(input);
let at = 8; // after the magic number and version

function leb() {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value;
  }
}

function name() {
  const length = leb();
  const text = bytes.subarray(at, at + length).toString("utf8");
  at += length;
  return text;
}

function limits() {
  const flags = bytes[at];
  at++;
  leb();
  if (flags & 1) leb();
  return flags;
}

function fail(message) {
  console.error(`share-memory: ${input}: ${message}`);
  process.exit(1);
}

const IMPORT_SECTION = 2;
const [FUNC, TABLE, MEMORY, GLOBAL] = [0, 1, 2, 3];
let patched = 0;
while (at < bytes.length) {
  const id = bytes[at++];
  const size = leb();
  const end = at + size;
  if (id === IMPORT_SECTION) {
    for (let count = leb(); count > 0; count--) {
      const where = `${name()}.${name()}`;
      const kind = bytes[at++];
      if (kind === FUNC) leb();
      else if (kind === TABLE) {
        at++;
        limits();
      } else if (kind === MEMORY) {
        const flagsAt = at;
        const flags = limits();
        if (flags !== 0x01 && flags !== 0x03) fail(`memory ${where} has limits flags ${flags}, not a 32-bit memory with a maximum`);
        bytes[flagsAt] = 0x03;
        patched++;
      } else if (kind === GLOBAL) at += 2;
      else fail(`import ${where} has an unknown kind ${kind}`);
    }
  }
  at = end;
}
if (patched !== 1) fail(`expected one imported memory, found ${patched}`);
// Fails here, not in a browser, if the result is not a valid module.
if (!WebAssembly.validate(bytes)) fail("the patched module does not validate");
writeFileSync(output, bytes);
