#!/usr/bin/env bash
# Fuzz the message parser with libFuzzer for $1 seconds (default 600). Crashes land in Fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
mkdir -p .build-fuzz Fuzz/corpus Fuzz/artifacts
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name ProfferWire -package-name Proffer \
  Sources/ProfferWire/*.swift Sources/ProfferWire/Registry/*.swift Fuzz/MessageFuzzer.swift \
  -o .build-fuzz/message-fuzzer
# Seed the corpus with the examples and the conformance vectors' inputs.
cp examples/*.txt Fuzz/corpus/ 2>/dev/null || true
python3 - <<'PY'
import json, pathlib
out = pathlib.Path("Fuzz/corpus")
for name in ("messages-valid.json", "messages-invalid.json"):
    for index, vector in enumerate(json.load(open(f"schema/vectors/{name}"))["vectors"]):
        data = bytes.fromhex(vector["input_hex"]) if "input_hex" in vector else vector["input"].encode()
        (out / f"{name}-{index}").write_bytes(data)
PY
.build-fuzz/message-fuzzer Fuzz/corpus -max_total_time="$seconds" -max_len=1200 -artifact_prefix=Fuzz/artifacts/ \
  -print_final_stats=1
