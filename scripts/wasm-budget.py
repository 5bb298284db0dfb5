#!/usr/bin/env python3
"""Checks the built web client's WebAssembly against its budget: at most 400 KiB, both modules,
gzip -9 (what the server sends, and what bench/web/run.mjs reports). Run after build-web.sh.

A size is not a timing: the same build gives the same bytes on any machine, so this is a test,
where speed targets are benchmarks.
"""
import gzip
import pathlib
import sys

BUDGET_KIB = 400
DIST = pathlib.Path(__file__).resolve().parent.parent / "dist"


def main():
    modules = sorted(DIST.glob("*.wasm"))
    if not modules:
        sys.exit(f"no WebAssembly in {DIST}: run scripts/build-web.sh first")
    total = 0
    for module in modules:
        size = len(gzip.compress(module.read_bytes(), compresslevel=9))
        total += size
        print(f"{module.name}: {size / 1024:.1f} KiB gzip")
    verdict = "within" if total <= BUDGET_KIB * 1024 else "over"
    print(f"WebAssembly: {total / 1024:.1f} KiB gzip, {verdict} the {BUDGET_KIB} KiB budget")
    if verdict == "over":
        sys.exit(1)


if __name__ == "__main__":
    main()
