#!/usr/bin/env bash
# Times `proffer audit report --html` on a vault of 1,000 signed deals over 10 vendors (a third forgotten, some
# forgets pending; weak-for-tests KDF), against `proffer persona list --json` on the same vault (unlock, commitment
# check and a one-line listing) and `proffer deal list --json` (every deal read) in the same run. Median of 5.
# Usage: Benchmarks/audit-report.sh [PROFFER] [WRITER] [DEALS]   (release builds of proffer and vault-test-writer)
set -euo pipefail
proffer="${1:-.build/release/proffer}"; writer="${2:-.build/release/vault-test-writer}"; deals="${3:-1000}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
echo "benchmark passphrase" > "$work/passphrase"
export PROFFER_VAULT="$work/vault/vault.db" PROFFER_PASSPHRASE_FILE="$work/passphrase" XDG_STATE_HOME="$work/state"
export PROFFER_WEAK_KDF_ACKNOWLEDGED=1
"$proffer" init --kdf weak-for-tests >/dev/null 2>&1
"$proffer" pref set name "Ada Lovelace" --share always >/dev/null
"$proffer" pref set postal "12 Example Street" --share always >/dev/null
"$writer" "$PROFFER_VAULT" "$PROFFER_PASSPHRASE_FILE" deals "$deals"
python3 - "$proffer" "$work" "$deals" <<'PY'
import statistics, subprocess, sys, time, os
proffer, work, deals = sys.argv[1], sys.argv[2], int(sys.argv[3])
def median(arguments):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([proffer] + arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
report = median(["audit", "report", "--html", work + "/report.html", "--force"])
size = os.path.getsize(work + "/report.html")
listing = median(["deal", "list", "--json"])
baseline = median(["persona", "list", "--json"])
print(f"proffer audit report --html, {deals:,} deals: {report:.3f} s median ({size / 1e6:.2f} MB of HTML); goal < 1 s")
print(f"  baseline proffer persona list --json on the same vault (unlock, commitment check, one line): {baseline:.3f} s")
print(f"  proffer deal list --json (every deal read): {listing:.3f} s")
print(f"  report = {report / baseline:.1f}x baseline, {report / listing:.1f}x deal list")
PY
