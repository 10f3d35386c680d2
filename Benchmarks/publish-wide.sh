#!/usr/bin/env bash
# Publishing widely: one intent to N vendors on 127.0.0.1 (default 50), every offer verified and stored, timed end
# to end as a person runs it (`proffer intent publish`, a weak-for-tests vault). Reports each of RUNS runs and the
# median, next to the same command's cost with no vendor to reach (`proffer intent list`) as a baseline.
#
# usage: Benchmarks/publish-wide.sh PROFFER PROFFER_VENDOR [VENDORS] [RUNS]
set -euo pipefail
proffer="$1"
vendor_server="$2"
vendors="${3:-50}"
runs="${4:-5}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/proffer-wide.XXXXXX")"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

export PROFFER_VAULT="$work/vault/vault.db" PROFFER_PASSPHRASE_FILE="$work/passphrase" PROFFER_WEAK_KDF_ACKNOWLEDGED=1
export XDG_STATE_HOME="$work/state"
printf 'correct horse battery staple\n' > "$PROFFER_PASSPHRASE_FILE"
"$proffer" init --kdf weak-for-tests > /dev/null

echo "starting $vendors vendors…" >&2
for index in $(seq "$vendors"); do
  "$vendor_server" serve --catalog "$here/../examples/vendors/cameras.json" --listen 127.0.0.1:0 \
    --data "$work/vendor-$index" > "$work/vendor-$index.log" 2>&1 &
  pids+=($!)
done
for index in $(seq "$vendors"); do
  for _ in $(seq 200); do grep -q '^listening on' "$work/vendor-$index.log" 2>/dev/null && break; sleep 0.05; done
  url=$(awk '/^listening on/ {print $3}' "$work/vendor-$index.log")
  "$proffer" vendor add "$url" --name "shop-$index" --yes > /dev/null
done

now() { date +%s.%N; }
times=()
for run in $(seq "$runs"); do
  intent=$("$proffer" intent new "#buy camera.mirrorless max:1300EUR in:DE terms:sd-base")
  id=$(printf '%s' "$intent" | grep -o 'id:[a-z0-9]*' | cut -d: -f2)
  start=$(now)
  "$proffer" intent publish "$id" > "$work/publish.out"
  end=$(now)
  offers=$("$proffer" offer list "$id" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
  echo "run $run: $elapsed s, $offers offers from $(grep -c 'answered' "$work/publish.out") vendors" >&2
  times+=("$elapsed")
done
start=$(now); "$proffer" intent list > /dev/null; end=$(now)
baseline=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
printf 'publish to %d vendors, median of %d: %s s (target < 1 s); baseline `proffer intent list`: %s s\n' \
  "$vendors" "$runs" "$median" "$baseline"
