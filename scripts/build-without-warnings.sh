#!/usr/bin/env bash
# Builds everything (tests included) and fails when the compiler warns about the project's own code: dependencies may
# warn, Sources/, Tests/, Benchmarks/ and Fuzz/ may not. A fresh clone (CI) compiles every file, so every warning shows.
set -uo pipefail
swift="${SWIFT:-swift}"
top="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$top/.build"
log="$top/.build/build-output.log"
"$swift" build --build-tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
warnings=$(grep -E "^$top/(Sources|Tests|Benchmarks|Fuzz)/[^:]+:[0-9]+:[0-9]+: warning:" "$log" | sort -u)
if [ -n "$warnings" ]; then
  echo "the build warns about the project's own code; fix these:" >&2
  echo "$warnings" >&2
  exit 1
fi
