#!/usr/bin/env bash
# Sets up what is missing and runs every test: protocol, client, server integration (real SMTP
# on loopback, a fresh database per test, once on SQLite and once on PostgreSQL), a short run of
# every fuzz target, and the browser tests in headless Chromium.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" --test
"$ROOT/scripts/build-web.sh"
say "WebAssembly budget"
node "$ROOT/scripts/wasm-budget.mjs"
say "module cycles"
python3 "$ROOT/scripts/module-cycles.py"
say "protocol vectors, checked with nostr-tools"
node "$ROOT/e2e/check-vectors.mjs"
say "cargo test"
cargo test --workspace --locked
say "server integration tests again on PostgreSQL (${SIGIL_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432})"
SIGIL_TEST_DATABASE=postgres cargo test --locked -p sigil-server --test api
"$ROOT/scripts/fuzz.sh" 10
say "browser tests (Playwright, headless Chromium)"
cargo build --locked -p sigil-server
(cd "$ROOT/e2e" && npx playwright test)
