#!/usr/bin/env bash
# Vendor inbox throughput: signed intents per second answered by proffer-vendor (each verified, matched against the
# catalog, answered with signed offers, and stored), reported as a ratio against the same server answering
# GET /profile in the same run. The load generator (wrk) runs on the same machine.
#
# usage: Benchmarks/inbox-throughput.sh PROFFER_VENDOR SIGNED_INTENTS [SECONDS] [CONNECTIONS]
set -euo pipefail
vendor_server="$1"
signed_intents="$2"
seconds="${3:-10}"
connections="${4:-16}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/proffer-inbox.XXXXXX")"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$vendor_server" serve --catalog "$here/../examples/vendors/cameras.json" --listen 127.0.0.1:0 --data "$work/data" \
  > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/log" && break; sleep 0.1; done
url=$(awk '/^listening on/ {print $3}' "$work/log")
curl -s "$url/profile" > "$work/profile.json"

# Enough fresh envelopes for twice the rate the issue asks of us, for the whole run.
count=$(( seconds * 12000 ))
echo "signing $count intents…" >&2
"$signed_intents" "$work/profile.json" "$count" > "$work/intents.jsonl"

threads="${WRK_THREADS:-1}"
echo "GET /profile for ${seconds}s, $connections connections…" >&2
profile_rate=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" "$url/profile" | awk '/Requests\/sec/ {print $2}')
echo "POST /inbox (signed intents) for ${seconds}s, $connections connections…" >&2
inbox_report=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" -s "$here/inbox-load.lua" "$url/inbox" -- \
  "$work/intents.jsonl" "$threads")
inbox_rate=$(printf '%s\n' "$inbox_report" | awk '/Requests\/sec/ {print $2}')
if printf '%s\n' "$inbox_report" | grep -q "Non-2xx"; then
  printf '%s\n' "$inbox_report" >&2
  echo "some intents were not answered with 200: the figure is not valid" >&2
  exit 1
fi
offers=$(sqlite3 "$work/data/vendor.db" "SELECT COUNT(*) FROM offers" 2>/dev/null || echo "?")
printf 'GET /profile:           %10.0f requests/s\n' "$profile_rate"
printf 'POST /inbox (intents):  %10.0f intents/s (%s offers signed and stored)\n' "$inbox_rate" "$offers"
awk -v a="$inbox_rate" -v b="$profile_rate" 'BEGIN { printf "ratio inbox/profile:    %10.2f\n", a / b }'
