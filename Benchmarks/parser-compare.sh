#!/usr/bin/env bash
# The message parser alone on the corpus, messages per second on one core: today's ProfferWire beside the one at an
# earlier commit (default: before the `reply` field, issue 22), each compiled the same way (swiftc -O, the same main),
# run alternately 5 times each in the same run; the median of each.
#   Benchmarks/parser-compare.sh [OLD_COMMIT] [CORPUS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
old="${1:-1790dea}"
corpus="${2:-examples/corpus/messages.txt}"
rounds="${3:-20}"
[ -f "$corpus" ] || { echo "no corpus at $corpus: run make corpus" >&2; exit 66; }
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$old" >/dev/null 2>&1
build() { swiftc -O -module-name ProfferWire -package-name Proffer \
  "$1"/Sources/ProfferWire/*.swift "$1"/Sources/ProfferWire/Registry/*.swift Benchmarks/parser-compare/main.swift -o "$2"; }
build "$work/old" "$work/parser-old"
build . "$work/parser-new"
for _ in 1 2 3 4 5; do
  "$work/parser-old" "$corpus" "$rounds" | cut -d' ' -f1 >> "$work/old.txt"
  "$work/parser-new" "$corpus" "$rounds" | cut -d' ' -f1 >> "$work/new.txt"
done
median() { sort -n "$1" | sed -n 3p; }
o=$(median "$work/old.txt"); n=$(median "$work/new.txt")
printf 'parser on %s (%s lines × %s): before (%s) %s msgs/s, now %s msgs/s, now/before %.2f\n' \
  "$corpus" "$(wc -l < "$corpus")" "$rounds" "$old" "$o" "$n" "$(echo "$n / $o" | bc -l)"
