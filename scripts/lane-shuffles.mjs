// node scripts/lane-shuffles.mjs IN.wasm OUT.wasm
//
// Rewrites every `i8x16.swizzle` of the lane module into the constant `i8x16.shuffle` that picks
// each 64-bit word's low half (argon2/src/lib.rs, `lanes::Ctx`). The Rust code swizzles by a mask
// the compiler cannot see, because LLVM turns the constant shuffle in front of the widening
// multiply into a 64-bit multiply, which V8 has no instruction for; V8 in turn adds a range
// fix-up to every swizzle whose mask it cannot see (two more instructions), and compiles the
// constant shuffle to a single `pshufd`. Measured in Chromium at p = 1: about 4% faster.
//
// Sound only while that mask is the module's one swizzle mask: the script checks that the mask
// is there and that the result validates, and the browser tests (e2e/tests/kdf.spec.mjs) check
// the hashes against another implementation.
import { readFileSync, writeFileSync } from "node:fs";

// Binaryen as scripts/setup.sh installs it (for wasm-opt).
const { default: binaryen } = await import(new URL("../.tools/node/node_modules/binaryen/index.js", import.meta.url));

const LOW_HALVES = [0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11];

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error("usage: node scripts/lane-shuffles.mjs IN.wasm OUT.wasm");

const module = binaryen.readBinary(readFileSync(input));
module.setFeatures(binaryen.Features.All);
const text = module.emitText();
module.dispose();

// The mask as Binaryen prints a v128 constant: four little-endian 32-bit words.
const words = [0, 4, 8, 12].map((i) => LOW_HALVES.slice(i, i + 4).reduceRight((word, byte) => word * 256 + byte, 0));
const mask = `(v128.const i32x4 ${words.map((w) => `0x${w.toString(16).padStart(8, "0")}`).join(" ")})`;
if (!text.includes(mask)) throw new Error(`the lane module has no swizzle mask ${mask}: is lanes::Ctx still the same?`);
const swizzles = text.split("(i8x16.swizzle").length - 1;
if (swizzles === 0) throw new Error("the lane module has no swizzle to rewrite");

// A shuffle's indices below 16 take lanes of its first operand only, so the second operand, the
// mask, stays where the swizzle had it and is simply unused.
const rewritten = binaryen.parseText(text.replaceAll("(i8x16.swizzle", `(i8x16.shuffle ${LOW_HALVES.join(" ")}`));
rewritten.setFeatures(binaryen.Features.All);
if (!rewritten.validate()) throw new Error("the rewritten lane module does not validate");
writeFileSync(output, rewritten.emitBinary());
rewritten.dispose();
console.error(`lane module: ${swizzles} swizzles rewritten as shuffles`);
