#!/usr/bin/env bash
# Instructions per message for each workload, counted by valgrind's callgrind: unlike wall-clock time, the count does
# not change with the load of a shared machine. Each workload runs at 0 and ROUNDS rounds over the 10,000-message
# corpus; the difference, divided by the messages handled, is the per-message cost.
# Usage: Benchmarks/instruction-counts.sh [ROUNDS]   (from the repository root, after `swift build -c release` in Benchmarks)
set -euo pipefail
rounds="${1:-5}"
tool="$(dirname "$0")/.build/release/instruction-counts"
command -v valgrind >/dev/null || { echo "instruction-counts needs valgrind: apt-get install valgrind" >&2; exit 69; }
count() {
  local out; out="$(mktemp)"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$tool" "$1" "$2" >/dev/null 2>&1
  callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
declare -A per_message
for workload in parse json-decoder format parse-json; do
  base=$(count "$workload" 0); full=$(count "$workload" "$rounds")
  per_message[$workload]=$(( (full - base) / (rounds * 10000) ))
  printf '%-13s %8d instructions per message\n' "$workload" "${per_message[$workload]}"
done
awk -v p="${per_message[parse]}" -v j="${per_message[json-decoder]}" \
  'BEGIN { printf "JSONDecoder needs %.1fx the instructions of the Proffer parser for the same messages\n", j / p }'
