#!/usr/bin/env bash
# Sets up what is missing, builds, and runs Sigil on http://127.0.0.1:8080 with SQLite in ./data.
# Codes are printed here unless SMTP is configured. Extra arguments go to sigil-server.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build-web.sh"
say "building the server"
cargo build --release --locked -p sigil-server
exec "$ROOT/target/release/sigil-server" --web-dir "$ROOT/dist" "$@"
