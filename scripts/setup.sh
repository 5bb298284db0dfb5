#!/usr/bin/env bash
# Installs whatever Sigil needs and is missing; quick when everything is already there.
#   scripts/setup.sh          build and run
#   scripts/setup.sh --test   also the test tools (SMTP capture, Tor, a relay, Chromium)
source "$(dirname "$0")/lib.sh"

TRUNK_VERSION=0.21.14      # 0.22 needs rustc >= 1.96.1
BINARYEN_VERSION=132.0.0   # Debian's binaryen 108 emits modules Chromium rejects
AIOSMTPD_VERSION=1.4.6
CARGO_FUZZ_VERSION=0.13.2
NOSTR_RS_RELAY_VERSION=0.8.12

command -v cargo >/dev/null || die "Rust is missing: install it with rustup (https://rustup.rs)"

# secp256k1-sys compiles C for wasm32, which needs clang.
if ! command -v clang >/dev/null; then need_apt clang llvm; fi

# The wasm32 standard library: rustup's target where rustup can fetch it, otherwise Debian's
# rustc-web with its library source, built with -Zbuild-std (see scripts/build-web.sh).
wasm_route() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup
  elif dpkg -s rustc-web cargo-web rust-web-src >/dev/null 2>&1; then
    echo debian
  elif timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo rustup
  else
    say "rustup cannot fetch the wasm32 target here; using Debian's rustc-web"
    need_apt rustc-web cargo-web rust-web-src lld
    echo debian
  fi
}
wasm_route > "$TOOLS/wasm-route"

# wasm-bindgen's CLI must match the library version in Cargo.lock exactly.
bindgen_version="$(locked_version wasm-bindgen)"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version (a few minutes, once)"
  cargo install --quiet --force wasm-bindgen-cli --version "$bindgen_version"
fi

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "installing trunk $TRUNK_VERSION (a few minutes, once)"
  cargo install --quiet --force --locked trunk --version "$TRUNK_VERSION"
fi

if [ "$("$TOOLS/node/node_modules/.bin/wasm-opt" --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
  command -v npm >/dev/null || need_apt nodejs npm
  say "installing wasm-opt (binaryen $BINARYEN_VERSION)"
  npm install --silent --prefix "$TOOLS/node" "binaryen@$BINARYEN_VERSION" >/dev/null
fi

if [ "${1:-}" = "--test" ]; then
  # A real SMTP server for the integration tests to send codes to.
  venv_install "aiosmtpd==$AIOSMTPD_VERSION"
  # Fuzzing (scripts/fuzz.sh).
  if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    say "installing cargo-fuzz $CARGO_FUZZ_VERSION (a minute or two, once)"
    cargo install --quiet --force --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
  fi
  # Real Tor for the onion tooling's test (it runs offline: DisableNetwork 1).
  command -v tor >/dev/null || need_apt tor
  # The relay transport's tests: a real relay on loopback and a real SOCKS5 proxy.
  command -v microsocks >/dev/null || need_apt microsocks
  if [ "$(nostr-rs-relay --version 2>/dev/null)" != "nostr-rs-relay $NOSTR_RS_RELAY_VERSION" ]; then
    # Its build script needs protoc. Not --locked: its lockfile pins a `time` that no longer
    # compiles on current Rust.
    command -v protoc >/dev/null || need_apt protobuf-compiler
    say "installing nostr-rs-relay $NOSTR_RS_RELAY_VERSION (about five minutes, once)"
    cargo install --quiet --force nostr-rs-relay --version "$NOSTR_RS_RELAY_VERSION"
  fi
  # Browser tests: Playwright's runner with Debian's Chromium (Playwright cannot download one here).
  command -v chromium >/dev/null || need_apt chromium
  npm_ci "$ROOT/e2e"
fi
say "tools ready (wasm32 via $(cat "$TOOLS/wasm-route"))"
