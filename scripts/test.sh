#!/usr/bin/env bash
# Sets up what is missing and runs every test: protocol, client, server integration (real SMTP
# on loopback, fresh SQLite per test) and the browser tests in headless Chromium.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh" --test
"$ROOT/scripts/build-web.sh"
say "cargo test"
cargo test --workspace --locked
say "browser tests (Playwright, headless Chromium)"
cargo build --locked -p sigil-server
(cd "$ROOT/e2e" && npx playwright test)
