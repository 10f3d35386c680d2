#!/usr/bin/env bash
# Vendor inbox throughput: signed intents per second answered by proffer-vendor (each verified, matched against the
# catalog, answered with two signed offers, and stored), reported against two baselines measured in the same run:
#   - the crypto ceiling: one verify and two signs per intent, on one core (signed-intents --ceiling);
#   - the same server answering GET /profile.
# The load generator (wrk) runs on the same machine.
#
# The inbox is measured in ROUNDS rounds (default 3), each with its own fresh envelopes and the ceiling measured again
# just before it, and the median is reported: on a shared machine either figure alone moves by 10% from minute to
# minute. wrk's connections are a closed loop (each waits for its answer before sending again), and a vendor's inbox is
# loaded by many people at once: with few connections the cores idle while each group commit is written, so the
# default is 128 connections (about 20 ms per answer here).
#
# usage: Benchmarks/inbox-throughput.sh PROFFER_VENDOR SIGNED_INTENTS [SECONDS] [CONNECTIONS]
#   ENGINE=postgresql INSTANCES=2 …   the records in a throwaway PostgreSQL cluster, served by INSTANCES processes
#                                     sharing keys and database, each loaded by its own wrk (their rates are summed)
#   ROUNDS=N                          rounds of the inbox measurement (median reported)
set -euo pipefail
vendor_server="$1"
signed_intents="$2"
seconds="${3:-10}"
connections="${4:-128}"
engine="${ENGINE:-sqlite}"
instances="${INSTANCES:-1}"
rounds="${ROUNDS:-3}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/proffer-inbox.XXXXXX")"
# shellcheck source=../examples/throwaway-postgres.sh
. "$here/../examples/throwaway-postgres.sh"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT

database_option=()
if [ "$engine" = postgresql ]; then
  echo "starting a throwaway PostgreSQL cluster…" >&2
  pg_start "$work"
  database_option=(--database "$database")
elif [ "$instances" != 1 ]; then
  echo "INSTANCES needs ENGINE=postgresql: on SQLite one process serves a data folder" >&2
  exit 64
fi

urls=()
for n in $(seq "$instances"); do
  "$vendor_server" serve --catalog "$here/../examples/vendors/cameras.json" --listen 127.0.0.1:0 \
    --data "$work/data" "${database_option[@]}" > "$work/log-$n" 2>&1 &
  pids+=($!)
  for _ in $(seq 150); do grep -q '^listening on' "$work/log-$n" && break; sleep 0.1; done
  urls+=("$(awk '/^listening on/ {print $3}' "$work/log-$n")")
done
curl -s "${urls[0]}/profile" > "$work/profile.json"

# Enough fresh envelopes for twice the rate we aim at, for every round, each round and instance its own share.
count=$(( seconds * 12000 * rounds ))
echo "signing $count intents…" >&2
"$signed_intents" "$work/profile.json" "$count" > "$work/intents.jsonl"
split -a 3 -n "l/$(( rounds * instances ))" -d "$work/intents.jsonl" "$work/share-"

threads="${WRK_THREADS:-1}"
echo "GET /profile for ${seconds}s, $connections connections…" >&2
profile_rate=$(wrk -t"$threads" -c"$connections" -d"${seconds}s" "${urls[0]}/profile" | awk '/Requests\/sec/ {print $2}')
shares=("$work"/share-*)
: > "$work/rounds"
for round in $(seq "$rounds"); do
  echo "round $round of $rounds: the crypto ceiling (1 verify + 2 signs per intent, one core)…" >&2
  ceiling=$("$signed_intents" --ceiling 3 2)
  echo "round $round of $rounds: POST /inbox (signed intents) for ${seconds}s, $connections connections per instance, $instances instance(s), $engine…" >&2
  load_pids=()
  for index in "${!urls[@]}"; do
    wrk -t"$threads" -c"$connections" -d"${seconds}s" -s "$here/inbox-load.lua" "${urls[$index]}/inbox" -- \
      "${shares[$(( (round - 1) * instances + index ))]}" "$threads" > "$work/wrk-$index" &
    load_pids+=($!)
  done
  for pid in "${load_pids[@]}"; do wait "$pid"; done
  round_rate=0
  for index in "${!urls[@]}"; do
    if grep -q "Non-2xx" "$work/wrk-$index"; then
      cat "$work/wrk-$index" >&2
      echo "some intents were not answered with 200: the figure is not valid" >&2
      exit 1
    fi
    round_rate=$(awk -v a="$round_rate" '/Requests\/sec/ {print a + $2}' "$work/wrk-$index")
  done
  echo "$ceiling $round_rate" >> "$work/rounds"
  awk -v r="$round" -v c="$ceiling" -v i="$round_rate" \
    'BEGIN { printf "round %d: ceiling %.0f/s, inbox %.0f/s, ratio %.2f\n", r, c, i, i / c }' >&2
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ceiling=$(awk '{print $1}' "$work/rounds" | median)
inbox_rate=$(awk '{print $2}' "$work/rounds" | median)
ratio=$(awk '{print $2 / $1}' "$work/rounds" | median)
if [ "$engine" = postgresql ]; then
  offers=$(psql_vendor -d vendor -At -c "SELECT COUNT(*) FROM offers")
else
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  offers=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM offers").fetchone()[0])' \
    "$work/data/vendor.db" 2>/dev/null || echo "?")
fi
printf 'engine:                 %10s, %s instance(s)\n' "$engine" "$instances"
printf 'connections:            %10s per instance, %s rounds of %ss (medians below)\n' "$connections" "$rounds" "$seconds"
printf 'crypto ceiling:         %10.0f intents/s (one core)\n' "$ceiling"
printf 'GET /profile:           %10.0f requests/s\n' "$profile_rate"
printf 'POST /inbox (intents):  %10.0f intents/s (%s offers signed and stored)\n' "$inbox_rate" "$offers"
printf 'ratio inbox/ceiling:    %10.2f (median of the rounds'"'"' own ratios)\n' "$ratio"
awk -v a="$inbox_rate" -v b="$profile_rate" 'BEGIN { printf "ratio inbox/profile:    %10.2f\n", a / b }'
