"""The reference C Argon2 (argon2-cffi's bundled libargon2) natively on the benchmark's inputs.

Prints JSON like sigil-native's Argon2id figures: median and runs in ms, and the output in hex.
Run by scripts/bench.sh with .tools/venv's Python.
"""
import importlib.metadata
import json
import statistics
import sys
import time
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw

runs, warmups = int(sys.argv[1]), int(sys.argv[2])
inputs = json.loads((Path(__file__).parent / "inputs.json").read_text())["argon2"]
password, salt = inputs["password"].encode(), bytes.fromhex(inputs["salt_hex"])
figures = []
for cost in inputs["params"]:
    times, out = [], b""
    for i in range(warmups + runs):
        started = time.perf_counter()
        out = hash_secret_raw(password, salt, time_cost=cost["t"], memory_cost=cost["m_kib"],
                              parallelism=cost["p"], hash_len=inputs["hash_len"], type=Type.ID)
        if i >= warmups:
            times.append((time.perf_counter() - started) * 1000)
    figures.append({**cost, "median_ms": statistics.median(times), "runs_ms": times, "hash_hex": out.hex()})
print(json.dumps({"version": importlib.metadata.version("argon2-cffi"), "argon2": figures}, indent=2))
