#!/usr/bin/env bash
# Two proffer-vendor builds side by side: Benchmarks/inbox-throughput.sh on each in turn, PAIRS times (default 2),
# so a machine that speeds up or slows down during the run weighs on both alike. Prints each run's summary lines.
#
# usage: Benchmarks/inbox-compare.sh OLD_PROFFER_VENDOR NEW_PROFFER_VENDOR SIGNED_INTENTS [SECONDS]
#   e.g. build the earlier commit's release binary into /tmp/old-vendor, then
#        Benchmarks/inbox-compare.sh /tmp/old-vendor .build/release/proffer-vendor Benchmarks/.build/release/signed-intents 10
set -euo pipefail
old="$1"
new="$2"
signed_intents="$3"
seconds="${4:-10}"
pairs="${PAIRS:-2}"
here="$(cd "$(dirname "$0")" && pwd)"
for pair in $(seq "$pairs"); do
  for side in old new; do
    binary="$old"
    [ "$side" = new ] && binary="$new"
    echo "== $side (pair $pair of $pairs): $binary"
    "$here/inbox-throughput.sh" "$binary" "$signed_intents" "$seconds" | grep -E '^(crypto ceiling|POST /inbox|ratio inbox/ceiling):'
  done
done
