#!/usr/bin/env bash
# Starts nostr-relay (from PyPI, installed by `make setup` in .build/nostr-relay-venv) on 127.0.0.1:PORT, storing
# its events in FOLDER, and prints its ws:// URL once it accepts connections. Stop it with `kill $(cat FOLDER/pid)`.
# Usage: examples/local-relay.sh FOLDER PORT
set -euo pipefail
folder=$1
port=$2
venv=${PROFFER_NOSTR_RELAY_VENV:-$(cd "$(dirname "$0")/.." && pwd)/.build/nostr-relay-venv}
[ -x "$venv/bin/nostr-relay" ] || { echo "nostr-relay is not installed: run \`make setup\`" >&2; exit 1; }
mkdir -p "$folder"
cat > "$folder/config.yaml" <<YAML
DEBUG: false
relay_name: proffer demo relay
storage:
  sqlalchemy.url: sqlite+aiosqlite:///$folder/events.sqlite3
  validators:
    - nostr_relay.validators.is_not_too_large
    - nostr_relay.validators.is_signed
    - nostr_relay.validators.is_recent
max_event_size: 65536
gunicorn:
  bind: 127.0.0.1:$port
  workers: 1
  loglevel: warning
message_timeout: 1800
subscription_limit: 64
YAML
"$venv/bin/nostr-relay" -c "$folder/config.yaml" serve > "$folder/relay.log" 2>&1 &
echo $! > "$folder/pid"
for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "ws://127.0.0.1:$port"; exit 0; fi
    sleep 0.1
done
echo "the relay did not start: $(tail -5 "$folder/relay.log")" >&2
exit 1
