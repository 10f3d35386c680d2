#!/usr/bin/env bash
# proffer-vendor scan over LINES realistic posts (about 1% of them intents, some broken), beside grep -c '#buy' on the
# same file in the same run: lines per second on one core, median of 3 runs each.
#   Benchmarks/scan-throughput.sh PROFFER_VENDOR [LINES]
set -euo pipefail
vendor="$1"
lines="${2:-1000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work/posts.txt" "$lines" <<'PY'
import random, sys, json
random.seed(7)
path, count = sys.argv[1], int(sys.argv[2])
words = ("the a new old my your great small just really love today tomorrow weekend city photo coffee morning "
         "train bike camera lens repair plumber van flat sale deal price cheap looking anyone know recommend "
         "thanks please help week moving berlin london paris amsterdam").split()
tags = ["#photography", "#travel", "#coffee", "#buyersguide", "#fixit", "#rentals", "#hireme", "#diy", "#bike"]
intents = [
    "#buy camera.mirrorless max:1200EUR in:DE by:2026-12-24 terms:sd-base",
    "#fix appliance.dishwasher in:GB-LND by:3d note:\"error E24, drains slowly\"",
    "#rent car.van min:40eur max:90.00EUR qty:2 in:FR exp:48h",
    "#hire service.plumbing max:130GBP in:GB",
    "#buy bicycle.city max:620EUR in:DE,NL color:black",
    "#buy camera max:1,200EUR",
    "#BUY Lens max:300eur in:de",
]
with open(path, "w") as out:
    for i in range(count):
        text = " ".join(random.choice(words) for _ in range(random.randint(8, 30)))
        if random.random() < 0.3:
            text += " " + random.choice(tags)
        if random.random() < 0.1:
            text += " https://example.social/@someone/" + str(random.randint(1, 10**9))
        if random.random() < 0.01:
            text = text[: random.randint(0, len(text))] + " " + random.choice(intents) + " " + random.choice(words)
        if random.random() < 0.2:
            out.write(json.dumps({"id": i, "content": text}) + "\n")
        else:
            out.write(text + "\n")
PY
size=$(stat -c %s "$work/posts.txt")
median() { sort -n | sed -n 2p; }
# Output goes to a file: GNU grep stops at its first match when its output is /dev/null.
time_of() { local start end; start=$(date +%s.%N); "$@" >"$work/out" 2>&1; end=$(date +%s.%N); echo "$end - $start" | bc -l; }
scan=$(for _ in 1 2 3; do time_of "$vendor" scan "$work/posts.txt"; done | median)
grep=$(for _ in 1 2 3; do time_of grep -c '#buy' "$work/posts.txt"; done | median)
"$vendor" scan "$work/posts.txt" 2>&1 >/dev/null | sed 's/^/  /'
printf '%s lines (%s MB): scan %.2f s = %.0f lines/s; grep -c #buy %.2f s = %.0f lines/s; scan takes %.1f times grep\n' \
  "$lines" "$((size / 1000000))" "$scan" "$(echo "$lines / $scan" | bc -l)" "$grep" "$(echo "$lines / $grep" | bc -l)" \
  "$(echo "$scan / $grep" | bc -l)"
