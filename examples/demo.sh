#!/usr/bin/env bash
# The whole Proffer story on one machine: three example vendors on 127.0.0.1, a fresh vault, an intent published,
# offers compared, a counter, an accept that discloses only what the person allows, the deal, the audit, and forget.
set -euo pipefail
bin="${1:-.build/debug}"
proffer="$bin/proffer"
vendor_server="$bin/proffer-vendor"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/proffer-demo.XXXXXX")"
bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$plain"; }
run() { printf '%s$ proffer %s%s\n' "$bold" "$*" "$plain"; "$proffer" "$@"; }

export PROFFER_VAULT="$work/vault/vault.db"
export PROFFER_PASSPHRASE_FILE="$work/passphrase"
export PROFFER_WEAK_KDF_ACKNOWLEDGED=1
# The rollback anchor of this throwaway vault stays in its folder, not in ~/.local/state.
export XDG_STATE_HOME="$work/state"
printf 'correct horse battery staple\n' > "$PROFFER_PASSPHRASE_FILE"
chmod 600 "$PROFFER_PASSPHRASE_FILE"

say "Three vendors start, each with its own keys and records (proffer-vendor serve)"
urls=()
for shop in cameras bicycles plumbing; do
  "$vendor_server" serve --catalog "$here/vendors/$shop.json" --listen 127.0.0.1:0 --data "$work/$shop" \
    > "$work/$shop.log" 2>&1 &
  pids+=($!)
done
for shop in cameras bicycles plumbing; do
  for _ in $(seq 100); do grep -q '^listening on' "$work/$shop.log" 2>/dev/null && break; sleep 0.1; done
  line=$(grep '^listening on' "$work/$shop.log") || { echo "the $shop vendor did not start:" >&2; cat "$work/$shop.log" >&2; exit 1; }
  printf '  %s\n' "$line"
  urls+=("$(printf '%s' "$line" | awk '{print $3}')")
done

say "A person makes a vault (weak key derivation, for the demo only) and keeps their data in it"
run init --kdf weak-for-tests
run pref set name "Ada Lovelace" --share ask
run pref set postal "12 Example Street, 10115 Berlin, DE" --share always
run pref set email "ada@example.org" --share never
run pref set terms.default sd-base
run pref set currency.default EUR
run pref set region.default DE

say "A second persona for work: its own data, rules and keys; vendors cannot link the two by key"
run persona add work
run pref set name "A. Lovelace, Analytical Engines Ltd" --persona work --share always
run pref set postal "1 Works Road, 10117 Berlin, DE" --persona work --share always
run pref list

say "They add the vendors: each profile's self-signature is verified, its fingerprint shown, its keys pinned"
run vendor add "${urls[0]}" --name cameras --yes
run vendor add "${urls[1]}" --name bicycles --yes
run vendor add "${urls[2]}" --name plumbing --yes
run vendor list

say "They write what they want as one short line; their defaults fill in the currency, region and terms"
intent=$("$proffer" intent new "#buy camera.mirrorless max:1300 by:2026-12-24")
printf '  %s\n    → %s\n' "$intent" "$("$proffer" msg explain "$intent")"
id=$(printf '%s' "$intent" | grep -o 'id:[a-z0-9]*' | cut -d: -f2)
work_intent=$("$proffer" intent new "#buy lens.prime max:600" --persona work)
printf '  %s (persona work)\n' "$work_intent"
work_id=$(printf '%s' "$work_intent" | grep -o 'id:[a-z0-9]*' | cut -d: -f2)

say "They publish both; every vendor gets its own message id, so vendors comparing notes cannot link them"
run intent publish "$id"
run intent publish "$work_id"

say "Offers, best first (ranked by price in the intent's currency); each shows its terms and the data it needs"
run offer list "$id"
first_offer() { "$proffer" offer list "$1" --json | grep -o '"name":"[^"]*"' | head -n 1 | cut -d'"' -f4; }
best=$(first_offer "$id")

say "They counter the best offer; the vendor answers with a new signed offer, down to its floor"
run offer counter "$best" --price 1050
run offer list "$id"
newest=$(first_offer "$id")

say "Accepting shows exactly what goes where; the name (rule: ask) is consented to with --yes"
run offer accept "$newest" --yes
deal=$("$proffer" deal list --json | grep -o '"id":"[^"]*"' | tail -n 1 | cut -d'"' -f4)

say "The work persona accepts a lens: its own name and address go, signed with its own key"
run offer accept "$(first_offer "$work_id")" --yes
work_deal=$("$proffer" deal list --json | grep -o '"id":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
if grep -rqa "Analytical Engines" "$work/cameras" && grep -rqa "Ada Lovelace" "$work/cameras"; then
  echo "  (the camera shop's records hold each persona's name under its own deal)"
fi

say "Each deal keeps both signed envelopes: the person's accept and the vendor's confirm"
run deal list
run deal show "$deal"

say "The audit log shows what was shared, with whom, when, and under which terms"
run audit list

say "They ask the camera shop to forget the work deal while it is down: the forget stays pending"
cameras_port=${urls[0]##*:}; cameras_port=${cameras_port%%/*}
kill -TERM "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
run deal forget "$work_deal" --yes || echo "  (exit $?: nothing is claimed that did not happen)"
run deal list

say "The shop is back; the forget is sent again, and this time confirmed"
"$vendor_server" serve --catalog "$here/vendors/cameras.json" --listen "127.0.0.1:$cameras_port" --data "$work/cameras" \
  > "$work/cameras.log" 2>&1 &
pids[0]=$!
for _ in $(seq 100); do grep -q '^listening on' "$work/cameras.log" 2>/dev/null && break; sleep 0.1; done
run deal forget "$work_deal" --yes
if grep -rqa "Analytical Engines" "$work/cameras"; then
  echo "  the vendor's files still hold the work name!" >&2; exit 1
else
  echo "  (searched the vendor's data folder: the work persona's name is gone from every file)"
fi

say "A public intent: cast on a Nostr relay, where vendors the person never added can find it"
relay_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
relay=$("$here/local-relay.sh" "$work/relay" "$relay_port")
pids+=("$(cat "$work/relay/pid")")
echo "  a local nostr-relay (from PyPI) at $relay"
"$vendor_server" serve --catalog "$here/vendors/darkroom.json" --data "$work/darkroom" --relay "$relay" \
  > "$work/darkroom.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$work/darkroom.log" 2>/dev/null && break; sleep 0.1; done
printf '  %s\n' "$(grep '^listening on' "$work/darkroom.log")"
echo "  (a vendor on Nostr alone: no URL, it listens for posts tagged proffer)"
run pref set nostr.relays "$relay"
public=$("$proffer" intent new "#buy camera.film max:300 exp:7d")
public_id=$(printf '%s' "$public" | grep -o 'id:[a-z0-9]*' | cut -d: -f2)
run intent cast "$public_id" --wait 3

say "The offer came in private, gift-wrapped to the intent's own key; its vendor is marked as not pinned"
run offer list "$public_id"
run inbox

say "Accepting pins the vendor's profile (--pin), then seals the data to it, over Nostr"
run offer accept "$(first_offer "$public_id")" --yes --pin
public_deal=$("$proffer" deal list --json | grep -o '"id":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
run deal forget "$public_deal" --yes
run intent withdraw "$public_id"
if grep -rqa -e "Ada Lovelace" -e "12 Example Street" -e "Olympus" "$work/relay"; then
  echo "  the relay's files hold a personal value or an offer in the clear!" >&2; exit 1
else
  echo "  (searched the relay's files: the public post is there; no personal value, no offer in the clear)"
fi

say "The audit chain is intact: no entry was altered, reordered or removed"
run audit list
run audit verify
run vault check

say "Who holds what about them now, per data category, and what each vendor holds"
run holdings
run vendor note cameras "confirmed at once; forgot the work deal when asked, once it was back up"
run vendor show cameras

say "What needs them (offline, from the vault alone), and the rule for data held too long"
run pref set forget.after 90d
run due

say "A consent record for the work deal, ISO/IEC TS 27560 in JSON-LD (the first lines)"
"$proffer" deal receipt "$work_deal" | head -n 12
echo "  ..."

say "The vendors stop gracefully (SIGTERM)"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" || true; done
pids=()
echo "  all ${#urls[@]} vendors stopped; the temporary vault and vendor folders are removed on exit"

say "The audit report: one self-contained page to read, print or keep"
report_dir="$here/../.build/demo"
mkdir -p "$report_dir"
report="$(cd "$report_dir" && pwd)/audit-report.html"
run audit report --html "$report" --force
echo "  file://$report"
