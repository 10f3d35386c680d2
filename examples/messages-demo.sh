#!/usr/bin/env bash
# The Proffer short-message protocol, shown on the example messages.
set -euo pipefail
proffer="${1:-.build/release/proffer}"
here="$(cd "$(dirname "$0")" && pwd)"
bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi

say() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$plain"; }

say "A buying intent is one short line, readable by people and machines alike"
while IFS= read -r message; do
  printf '  %s\n    → %s\n' "$message" "$("$proffer" msg explain "$message")"
done < "$here/messages.txt"

say "Every message has one canonical form: the text that signatures cover"
printf '  typed:     %s\n' "#RENT Car.Van  min:040eur max:90.00EUR qty:2 in:fr exp:48H"
printf '  canonical: %s\n' "$("$proffer" msg format "#RENT Car.Van  min:040eur max:90.00EUR qty:2 in:fr exp:48H")"

say "Vendors and tools read the same messages as JSON (proffer msg parse --json)"
head -n 3 "$here/messages.txt" | "$proffer" msg parse --json | sed 's/^/  /'

say "Mistakes are explained, with a caret and a suggestion (proffer msg lint)"
status=0
"$proffer" msg lint "#buy camera.mirrorless mxa:1200EUR" || true
mapfile -t broken < "$here/broken-messages.txt"
"$proffer" msg lint "${broken[@]}" || status=$?
printf '\nproffer msg lint exited %s: 65 means "invalid data", as documented in proffer --help.\n' "$status"
