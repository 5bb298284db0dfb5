#!/usr/bin/env bash
# Builds the web client into dist/ with Trunk. Run scripts/setup.sh first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[ -f "$TOOLS/wasm-route" ] || die "run scripts/setup.sh first"
export PATH="$TOOLS/node/node_modules/.bin:$PATH"
# Apart from native builds: the two routes may use different compilers.
export CARGO_TARGET_DIR="$ROOT/target/web"

if [ "$(cat "$TOOLS/wasm-route")" = debian ]; then
  # Debian's rustc-web ships the standard library as source only: build it with -Zbuild-std,
  # linking with the rust-lld of the rustup toolchain (Debian's rustc has none).
  host="$(rustc -vV | sed -n 's/^host: //p')"
  lld="$(rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
  [ -x "$lld" ] || lld="$(command -v wasm-ld || true)"
  [ -n "$lld" ] || die "no wasm linker: neither rust-lld nor wasm-ld found"
  export PATH="$TOOLS/node/node_modules/.bin:/usr/bin:$PATH"
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$lld"
fi

say "building the web client (dist/)"
# Compile first with cargo itself: Trunk's offline mode (no tool downloads) also makes its cargo
# call offline, which cannot fetch the standard library's own dependencies for -Zbuild-std.
cargo build --profile web --locked --target wasm32-unknown-unknown -p sigil-client
# The lane module, which fills Argon2id's memory (index.html copies it into dist/). A build of
# its own: with the client's features unified in, its dependencies would pull in std.
# Without loop strength reduction: it rewrites the compression function's loops to count up to
# zero from a negative offset, and the WebAssembly backend then cannot fold the constant offsets
# of its 1 KiB block into the loads and stores (`v128.load offset=N`); each address then costs an
# `i32.add` of its own (under Node's V8, 10.6% more instructions per hash; in Chromium, within
# noise). `cargo rustc` passes the flag to the module's own compilation, which with LTO generates
# the code of every crate in it.
cargo rustc --profile web --locked --target wasm32-unknown-unknown -p sigil-lanes --lib -- -C llvm-args=-disable-lsr
node scripts/lane-shuffles.mjs "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/sigil_lanes.wasm" "$CARGO_TARGET_DIR/sigil-lanes.wasm"
# The NIP-46 signer's module, which the vault worker loads on first use (index.html copies it).
cargo build --profile web --locked --target wasm32-unknown-unknown -p sigil-signer-web
wasm-bindgen --target web --no-typescript --out-dir "$CARGO_TARGET_DIR/signer" --out-name sigil-signer \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/web/sigil_signer_web.wasm"
wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$CARGO_TARGET_DIR/signer/sigil-signer_bg.wasm" -o "$CARGO_TARGET_DIR/signer/sigil-signer_bg.wasm"
trunk build --release "$@"
# Versioned, long-cached, precompressed files (what a page over Tor needs; see the script).
node scripts/version-assets.mjs "$ROOT/dist"
