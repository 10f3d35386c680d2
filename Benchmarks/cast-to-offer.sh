#!/usr/bin/env bash
# The time from `proffer intent cast` to the first offer shown, with a local nostr-relay and a vendor on Nostr alone on
# this machine: CASTS casts (default 20), each a fresh intent, timed from the start of `intent cast ID --wait 30` to the
# line that shows its first offer. Beside it, in the same run, the same number of `intent publish` to the same
# catalog served over HTTP on this machine (a round trip with no relay), as the baseline.
#   Benchmarks/cast-to-offer.sh BIN_DIR [CASTS]      (BIN_DIR holds proffer and proffer-vendor, e.g. .build/debug)
set -euo pipefail
bin="$1"
casts="${2:-20}"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

relay=$("$here/examples/local-relay.sh" "$work/relay" "$(free_port)")
pids+=("$(cat "$work/relay/pid")")
"$bin/proffer-vendor" serve --catalog "$here/examples/vendors/cameras.json" --data "$work/nostr-vendor" \
  --relay "$relay" > "$work/nostr-vendor.log" 2>&1 &
pids+=($!)
"$bin/proffer-vendor" serve --catalog "$here/examples/vendors/cameras.json" --data "$work/http-vendor" \
  --listen 127.0.0.1:0 > "$work/http-vendor.log" 2>&1 &
pids+=($!)
for log in nostr-vendor http-vendor; do
  for _ in $(seq 100); do grep -q '^listening on' "$work/$log.log" 2>/dev/null && break; sleep 0.1; done
done
url=$(grep '^listening on http' "$work/http-vendor.log" | awk '{print $3}')
export PROFFER_VAULT="$work/vault/vault.db" PROFFER_PASSPHRASE_FILE="$work/passphrase" XDG_STATE_HOME="$work/state"
export PROFFER_WEAK_KDF_ACKNOWLEDGED=1
printf 'correct horse battery staple\n' > "$PROFFER_PASSPHRASE_FILE"; chmod 600 "$PROFFER_PASSPHRASE_FILE"
p="$bin/proffer"
"$p" init --kdf weak-for-tests > /dev/null
"$p" pref set nostr.relays "$relay" > /dev/null
"$p" vendor add "$url" --name shop --yes > /dev/null
sleep 1  # the Nostr vendor subscribes

now() { date +%s.%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
: > "$work/cast.times"; : > "$work/publish.times"
for i in $(seq "$casts"); do
  id=$("$p" intent new "#buy camera.mirrorless max:$((1200 + i))EUR in:DE terms:sd-base" | grep -o 'id:[a-z0-9]*' | cut -c4-)
  # From the start of `intent cast` to the line showing its first offer; the command is then stopped.
  python3 - "$p" "$id" >> "$work/cast.times" <<'PY' || { echo "cast $i showed no offer" >&2; exit 1; }
import subprocess, sys, time
start = time.monotonic()
cast = subprocess.Popen([sys.argv[1], "intent", "cast", sys.argv[2], "--wait", "30"], stdout=subprocess.PIPE, text=True)
for line in cast.stdout:
    if "new offer" in line:
        print(time.monotonic() - start)
        cast.terminate()
        cast.wait()
        sys.exit(0)
sys.exit(1)
PY
  id=$("$p" intent new "#buy camera.mirrorless max:$((1200 + i))EUR in:DE terms:sd-base" | grep -o 'id:[a-z0-9]*' | cut -c4-)
  start=$(now)
  "$p" intent publish "$id" > /dev/null
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN { print b - a }' >> "$work/publish.times"
done
cast=$(median < "$work/cast.times")
publish=$(median < "$work/publish.times")
printf 'cast to first offer shown (relay + vendor on this machine): median of %d: %.3f s (min %.3f, max %.3f)\n' \
  "$casts" "$cast" "$(sort -n "$work/cast.times" | head -1)" "$(sort -n "$work/cast.times" | tail -1)"
printf 'publish over HTTP to first offer stored (baseline, same run): median of %d: %.3f s\n' "$casts" "$publish"
printf 'ratio cast / publish: %.2f; goal: cast under 1 s\n' "$(awk -v c="$cast" -v p="$publish" 'BEGIN { print c / p }')"
