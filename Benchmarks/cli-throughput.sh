#!/usr/bin/env bash
# Measures `proffer msg parse --json` over LINES lines (the corpus repeated), and its peak memory, against
# `cat` over the same file in the same run; then checks memory stays flat at 10× the lines and on one huge line.
# Usage: Benchmarks/cli-throughput.sh PROFFER CORPUS [LINES]
set -euo pipefail
proffer="$1"; corpus="$2"; lines="${3:-1000000}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
corpus_lines=$(wc -l < "$corpus")
repeat=$(( (lines + corpus_lines - 1) / corpus_lines ))
for _ in $(seq "$repeat"); do cat "$corpus"; done | head -n "$lines" > "$work/input.txt"
for _ in $(seq 10); do cat "$work/input.txt"; done > "$work/input-10x.txt"
python3 -c "import sys; sys.stdout.write(' ' * 100_000_000 + '#buy x qty:0\n')" > "$work/huge-line.txt"

python3 - "$proffer" "$work" "$lines" <<'PY'
import os, resource, subprocess, sys, time
proffer, work, lines = sys.argv[1], sys.argv[2], int(sys.argv[3])

def run(command, input_path):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(input_path, "rb") as source, open(os.devnull, "wb") as sink:
        start = time.perf_counter()
        status = subprocess.run(command, stdin=source, stdout=sink).returncode
        elapsed = time.perf_counter() - start
    # ru_maxrss of children is the largest so far; each measured run is larger than the tiny ones before it.
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, status

size = os.path.getsize(f"{work}/input.txt")
best = min(run([proffer, "msg", "parse", "--json"], f"{work}/input.txt") for _ in range(3))
cat = min(run(["cat"], f"{work}/input.txt") for _ in range(3))
print(f"proffer msg parse --json: {lines:,} lines ({size / 1e6:.0f} MB) in {best[0]:.3f} s = {lines / best[0]:,.0f} lines/s (exit {best[2]})")
print(f"  baseline cat over the same file: {cat[0]:.3f} s; proffer takes {best[0] / cat[0]:.1f}x cat's time")
big = run([proffer, "msg", "parse", "--json"], f"{work}/input-10x.txt")
print(f"  peak memory: {best[1]:.1f} MB at {lines:,} lines; {big[1]:.1f} MB at {10 * lines:,} lines ({10 * lines / big[0]:,.0f} lines/s)")
huge = run([proffer, "msg", "parse", "--json"], f"{work}/huge-line.txt")
print(f"  one 100 MB line: {huge[0]:.2f} s, peak memory {huge[1]:.1f} MB")
PY
