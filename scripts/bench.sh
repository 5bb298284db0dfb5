#!/usr/bin/env bash
# Runs the benchmarks and writes BENCHMARKS.md: the machine, the versions, the command, and every
# figure from this one run.
#   scripts/bench.sh           full run: 3 rounds of 20,000 requests per load level, 10 timed
#                              runs per implementation after 3 warm-ups, 3 rounds of 5 s of
#                              mining per row
#   scripts/bench.sh --quick   a smoke run of every part with fewer, shorter runs
# Installs what it needs (Chromium, the npm peers in bench/web, argon2-cffi) on first use.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

requests=20000 load_rounds=3 criterion_time=5 runs=10 warmups=3 pow_seconds=5 pow_rounds=3
if [ "${1:-}" = "--quick" ]; then
  requests=2000 load_rounds=1 criterion_time=1 runs=3 warmups=1 pow_seconds=2 pow_rounds=1
fi
postgres="${SIGIL_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}"
out="$ROOT/target/bench"
mkdir -p "$out"

ARGON2_CFFI_VERSION=25.1.0
# --test: the signer's part needs nostr-rs-relay and e2e's npm packages (nostr-tools, ws).
"$ROOT/scripts/setup.sh" --test
command -v chromium >/dev/null || need_apt chromium
npm_ci "$ROOT/bench/web"
venv_install "argon2-cffi==$ARGON2_CFFI_VERSION"

"$ROOT/scripts/build-web.sh"
say "building release binaries"
cargo build --release --locked -p sigil-server -p sigil-bench

for database in sqlite postgres; do
  say "server under load: $database"
  target/release/sigil-load --database "$database" --postgres "$postgres" \
    --requests "$requests" --rounds "$load_rounds" --concurrency 1,16,64 \
    --json "$out/load-$database.json"
done

say "micro-benchmarks (criterion)"
# Only this run's rows: a renamed benchmark's old results would otherwise reach the report.
rm -rf target/criterion
cargo bench --locked -p sigil-bench --bench request_path -- \
  --warm-up-time 1 --measurement-time "$criterion_time" --noplot >"$out/criterion.log" 2>&1

say "native anchors (sigil-native, argon2-cffi)"
target/release/sigil-native --runs "$runs" --warmups "$warmups" --pow-seconds "$pow_seconds" >"$out/native.json"
"$TOOLS/venv/bin/python" bench/web/argon2_cffi_anchor.py "$runs" "$warmups" >"$out/argon2-cffi.json"

say "in Chromium: Argon2id and mining against the peers, client size and start-up, the signer"
node bench/web/run.mjs --out "$out/browser.json" --runs "$runs" --warmups "$warmups" \
  --pow-seconds "$pow_seconds" --pow-rounds "$pow_rounds" --startup-runs "$runs"

say "writing BENCHMARKS.md"
python3 bench/report.py "$out" "$requests" "$*" >"$out/BENCHMARKS.md"
mv "$out/BENCHMARKS.md" "$ROOT/BENCHMARKS.md"
say "BENCHMARKS.md written"
