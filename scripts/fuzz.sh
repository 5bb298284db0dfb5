#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets) for SECONDS each, from the kept corpus in
# fuzz/corpus, with AddressSanitizer and memory caps. A crash, a panic, a leak or an allocation
# over the cap fails the run and leaves the input in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh          10 s per target, as scripts/test.sh runs it
#   scripts/fuzz.sh 600      a longer hunt; then `cargo fuzz cmin -O TARGET` keeps the corpus small
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

SECONDS_PER_TARGET="${1:-10}"
[[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]] || die "usage: scripts/fuzz.sh [SECONDS per target]"
command -v cargo-fuzz >/dev/null || die "cargo-fuzz is missing: run scripts/setup.sh --test"

# cargo fuzz passes nightly-only flags (-Zsanitizer=address); this lets the pinned stable
# compiler accept them, since no nightly toolchain can be fetched here.
export RUSTC_BOOTSTRAP=1

say "building the fuzz targets (release, AddressSanitizer)"
cargo fuzz build -O
for target in $(cargo fuzz list); do
  say "fuzzing $target for ${SECONDS_PER_TARGET}s"
  # Bodies above the server's 64 KiB cap never reach a parser; 256 MiB is far beyond what any
  # input of that size should make anything allocate.
  log="$ROOT/fuzz/target/$target.log"
  if ! cargo fuzz run -O "$target" -- \
      -max_total_time="$SECONDS_PER_TARGET" -max_len=70000 \
      -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "fuzz target $target failed: the input is in fuzz/artifacts/$target/"
  fi
  grep -E '^(Done|stat::peak_rss_mb)' "$log" || true
done
