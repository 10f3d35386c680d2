#!/usr/bin/env bash
# Times `proffer intent list --json` and `proffer vault check` on a vault of 10,000 intents (weak-for-tests KDF),
# against `proffer persona list --json` on the same vault (unlock, commitment check and a one-line listing) in the
# same run. Median of 5.
# Usage: Benchmarks/vault-listing.sh [PROFFER] [WRITER]   (release builds of proffer and vault-test-writer)
set -euo pipefail
proffer="${1:-.build/release/proffer}"; writer="${2:-.build/release/vault-test-writer}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
echo "benchmark passphrase" > "$work/passphrase"
export PROFFER_VAULT="$work/vault/vault.db" PROFFER_PASSPHRASE_FILE="$work/passphrase" XDG_STATE_HOME="$work/state"
export PROFFER_WEAK_KDF_ACKNOWLEDGED=1
"$proffer" init --kdf weak-for-tests >/dev/null 2>&1
"$writer" "$PROFFER_VAULT" "$PROFFER_PASSPHRASE_FILE" fill 10000 >/dev/null
python3 - "$proffer" <<'PY'
import statistics, subprocess, sys, time
proffer = sys.argv[1]
def median(arguments):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        out = subprocess.run([proffer] + arguments, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(out)
listing, size = median(["intent", "list", "--json"])
check, _ = median(["vault", "check"])
baseline, _ = median(["persona", "list", "--json"])
print(f"proffer intent list --json, 10,000 intents: {listing:.3f} s median ({size / 1e6:.1f} MB of JSON)")
print(f"proffer vault check, 10,000 intents: {check:.3f} s median")
print(f"  baseline proffer persona list --json on the same vault (unlock, commitment check, one line): {baseline:.3f} s")
print(f"  listing = {listing / baseline:.1f}x baseline, check = {check / baseline:.1f}x baseline")
PY
