#!/usr/bin/env bash
# Browser check: the page served by the server loads the WebAssembly client in headless Chromium,
# which fetches /.well-known/sigil.json and shows the server's npub. Saves a screenshot.
# The full journeys in Playwright build on this (see the README).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ARTIFACTS="$ROOT/e2e/artifacts"
WORK="$(mktemp -d)"
mkdir -p "$ARTIFACTS"

cargo build --quiet --locked -p sigil-server
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$ROOT/target/debug/sigil-server" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
  --web-dir "$ROOT/dist" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT

for _ in $(seq 100); do
  curl -fsS "$BASE/.well-known/sigil.json" > "$WORK/info.json" 2>/dev/null && break
  sleep 0.1
done
NPUB="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["npub"])' "$WORK/info.json")"

chromium_flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --user-data-dir="$WORK/profile" --virtual-time-budget=15000 --window-size=412,800)
chromium "${chromium_flags[@]}" --dump-dom "$BASE/" > "$WORK/dom.html" 2> "$WORK/chromium.log"
chromium "${chromium_flags[@]}" --screenshot="$ARTIFACTS/home.png" "$BASE/" >/dev/null 2>&1

if grep -q "$NPUB" "$WORK/dom.html"; then
  echo "e2e: page shows the server npub $NPUB"
  echo "e2e: 1 passed, 0 failed"
else
  echo "e2e: the page did not show $NPUB; rendered DOM:" >&2
  cat "$WORK/dom.html" >&2
  echo "e2e: 0 passed, 1 failed"
  exit 1
fi
