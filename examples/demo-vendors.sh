#!/usr/bin/env bash
# One vendor, two processes: two `proffer-vendor serve` instances share their keys (one --data folder) and their
# records (one PostgreSQL database), and nginx spreads a person's requests over them round robin. The person sees one
# vendor at one address; the nginx access log shows which instance answered each request. At the end a captured accept
# is sent again, straight to the other instance, and is refused as a replay: the shared database remembers it.
#
# Usage: examples/demo-vendors.sh BIN_DIR   (BIN_DIR holds proffer and proffer-vendor; default .build/debug)
# Needs: PostgreSQL server binaries in /usr/lib/postgresql/*/bin, nginx (/usr/sbin/nginx or on PATH), python3, curl.
set -euo pipefail
bin="$(cd "${1:-.build/debug}" && pwd)"
proffer="$bin/proffer"
vendor_server="$bin/proffer-vendor"
here="$(cd "$(dirname "$0")" && pwd)"
catalog="$here/vendors/cameras.json"
work="$(mktemp -d "${TMPDIR:-/tmp}/proffer-vendors.XXXXXX")"
bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi

say() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$plain"; }
run() { printf '%s$ proffer %s%s\n' "$bold" "$*" "$plain"; "$proffer" "$@"; }
die() { echo "demo-vendors: $*" >&2; exit 1; }

for tool in "$proffer" "$vendor_server"; do [ -x "$tool" ] || die "$tool is missing: build it first"; done
nginx_bin=$(command -v nginx || true); [ -n "$nginx_bin" ] || nginx_bin=/usr/sbin/nginx
[ -x "$nginx_bin" ] || die "nginx is missing (Debian: apt-get install nginx-light)"
# shellcheck source=throwaway-postgres.sh
. "$here/throwaway-postgres.sh"
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin"
command -v python3 >/dev/null || die "python3 is missing"
command -v curl >/dev/null || die "curl is missing"

vendor_pids=()
nginx_started=""
cleaned=""
cleanup() {
  [ -z "$cleaned" ] || return 0
  cleaned=1
  if [ -n "$nginx_started" ] && [ -s "$work/nginx/nginx.pid" ]; then
    nginx_pid=$(cat "$work/nginx/nginx.pid")
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$nginx_pid" 2>/dev/null || true
  fi
  for pid in "${vendor_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${vendor_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pg_stop "$work"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "A throwaway PostgreSQL cluster holds the vendor's records ($pg_bin)"
pg_start "$work" || die "the throwaway PostgreSQL cluster did not start"
echo "  PostgreSQL on 127.0.0.1:$pg_port, database: $database"

say "Two vendor instances start with the same keys (one --data folder) and the same database"
ports=()
for n in 1 2; do
  "$vendor_server" serve --catalog "$catalog" --listen 127.0.0.1:0 --data "$work/vendor-keys" --database "$database" \
    >"$work/vendor-$n.out" 2>"$work/vendor-$n.err" &
  vendor_pids+=($!)
  # The first instance makes the keys and the schema; the second starts once it listens, and finds both.
  for _ in $(seq 150); do
    grep -q '^listening on' "$work/vendor-$n.out" 2>/dev/null && break
    kill -0 "${vendor_pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  line=$(grep '^listening on' "$work/vendor-$n.out") \
    || { cat "$work/vendor-$n.err" >&2; die "vendor instance $n did not start"; }
  url=$(printf '%s' "$line" | awk '{print $3}')  # listening on http://HOST:PORT as "NAME"
  port=${url##*:}; port=${port%%/*}
  ports+=("$port")
  printf '  instance %s: %s\n' "$n" "$line"
done
instance_of() {
  case "$1" in
    "127.0.0.1:${ports[0]}") echo "instance 1" ;;
    "127.0.0.1:${ports[1]}") echo "instance 2" ;;
    *) echo "$1" ;;
  esac
}

say "nginx puts both behind one address, round robin"
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/temp"
nginx_user=""
[ "$(id -u)" -ne 0 ] || nginx_user="user root;  # a demo run as root: workers stay root, so they can use the work folder"
cat >"$work/nginx/nginx.conf" <<EOF
$nginx_user
worker_processes 1;
pid $work/nginx/nginx.pid;
lock_file $work/nginx/nginx.lock;
error_log $work/nginx/logs/error.log notice;
events { worker_connections 64; }
http {
    # Which instance answered which request.
    log_format upstreams '\$request \$status upstream=\$upstream_addr';
    # The bodies sent to /inbox, to replay one later (JSON escaping keeps each on one line).
    log_format bodies escape=json '{"uri":"\$request_uri","upstream":"\$upstream_addr","body":"\$request_body"}';
    access_log $work/nginx/logs/access.log upstreams;
    client_body_temp_path $work/nginx/temp/client;
    proxy_temp_path $work/nginx/temp/proxy;
    fastcgi_temp_path $work/nginx/temp/fastcgi;
    uwsgi_temp_path $work/nginx/temp/uwsgi;
    scgi_temp_path $work/nginx/temp/scgi;
    # Envelopes are at most 64 KiB: keep each body in one memory buffer, so \$request_body can log it.
    client_max_body_size 128k;
    client_body_buffer_size 128k;
    client_body_in_single_buffer on;

    upstream vendor {
        server 127.0.0.1:${ports[0]};
        server 127.0.0.1:${ports[1]};
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://vendor;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /inbox {
            access_log $work/nginx/logs/access.log upstreams;
            access_log $work/nginx/logs/bodies.log bodies;
            proxy_pass http://vendor;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/start.log" \
  || { cat "$work/nginx/start.log" "$work/nginx/logs/error.log" >&2 2>/dev/null; die "nginx did not start"; }
nginx_started=1
for _ in $(seq 50); do [ -s "$work/nginx/nginx.pid" ] && break; sleep 0.1; done
vendor_url="http://127.0.0.1:$nginx_port"
printf '  nginx (pid %s) on %s → 127.0.0.1:%s, 127.0.0.1:%s\n' "$(cat "$work/nginx/nginx.pid")" "$vendor_url" \
  "${ports[0]}" "${ports[1]}"

# Each step notes how far the access log was, then shows the requests it made and the instance that answered each.
access_log="$work/nginx/logs/access.log"
mark=0
begin() { mark=$(wc -l <"$access_log"); }
answered() {
  # nginx writes its log line just after the answer leaves: give it a moment.
  for _ in $(seq 20); do [ "$(wc -l <"$access_log")" -gt "$mark" ] && break; sleep 0.05; done
  sleep 0.1
  tail -n +"$((mark + 1))" "$access_log" | while read -r method path _proto status upstream; do
    printf '  ↳ %s %s → %s, answered by %s\n' "$method" "$path" "$status" "$(instance_of "${upstream#upstream=}")"
  done
}

export PROFFER_VAULT="$work/vault/vault.db"
export PROFFER_PASSPHRASE_FILE="$work/passphrase"
export PROFFER_WEAK_KDF_ACKNOWLEDGED=1
# The rollback anchor of this throwaway vault stays in its folder, not in ~/.local/state.
export XDG_STATE_HOME="$work/state"
printf 'correct horse battery staple\n' >"$PROFFER_PASSPHRASE_FILE"
chmod 600 "$PROFFER_PASSPHRASE_FILE"

say "A person makes a vault and the data the camera shop needs (name, postal address)"
run init --kdf weak-for-tests
run pref set name "Ada Lovelace" --share ask
run pref set postal "12 Example Street, 10115 Berlin, DE" --share always
run pref set terms.default sd-base
run pref set currency.default EUR
run pref set region.default DE

say "They add the vendor at its one address; whichever instance answers shows the same keys"
begin
run vendor add "$vendor_url" --name cameras --yes
answered
run vendor list

say "They write an intent and publish it"
intent=$("$proffer" intent new "#buy camera.mirrorless max:1300 by:2026-12-24")
printf '  %s\n' "$intent"
id=$(printf '%s' "$intent" | grep -o 'id:[a-z0-9]*' | cut -d: -f2)
begin
run intent publish "$id"
answered
run offer list "$id"
first_offer() { "$proffer" offer list "$1" --json | grep -o '"name":"[^"]*"' | head -n 1 | cut -d'"' -f4; }
best=$(first_offer "$id")

say "They counter the best offer; whichever instance answers finds that offer in the shared database"
begin
run offer counter "$best" --price 1050
answered
run offer list "$id"
newest=$(first_offer "$id")

say "They accept the countered offer; the name (rule: ask) is consented to with --yes"
bodies_before=$(wc -l <"$work/nginx/logs/bodies.log")
begin
run offer accept "$newest" --yes
answered
deal=$("$proffer" deal list --json | grep -o '"id":"[^"]*"' | tail -n 1 | cut -d'"' -f4)
# The accept as it went through nginx, and the instance that took it.
tail -n +"$((bodies_before + 1))" "$work/nginx/logs/bodies.log" | head -n 1 >"$work/accept.json"
accepted_by=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["upstream"])' "$work/accept.json")
python3 -c 'import json, sys; sys.stdout.write(json.load(open(sys.argv[1]))["body"])' "$work/accept.json" \
  >"$work/accept.body"

say "They ask the vendor to forget the deal"
begin
run deal forget "$deal" --yes
answered

say "The person's deals"
run deal list

say "A replay is refused across instances: the accept, sent again straight to the instance that did not take it"
if [ "$accepted_by" = "127.0.0.1:${ports[0]}" ]; then other="127.0.0.1:${ports[1]}"; else other="127.0.0.1:${ports[0]}"; fi
printf '  the accept (%s bytes) was taken by %s; sending the same bytes to %s\n' \
  "$(wc -c <"$work/accept.body")" "$(instance_of "$accepted_by")" "$(instance_of "$other")"
printf '%s$ curl -X POST --data-binary @accept.body http://%s/inbox%s\n' "$bold" "$other" "$plain"
status=$(curl -sS -o "$work/replay.out" -w '%{http_code}' -H 'Content-Type: application/json' \
  --data-binary @"$work/accept.body" "http://$other/inbox")
printf '  HTTP %s %s\n' "$status" "$(cat "$work/replay.out")"
[ "$status" = 409 ] || die "the replayed accept was not refused as a replay (HTTP $status)"

say "The shared database: one deal (forgotten), and the nonces both instances check"
printf '%s$ psql -c "SELECT state, count(*) FROM deals GROUP BY state"%s\n' "$bold" "$plain"
psql_vendor -d vendor -c "SELECT state, count(*) FROM deals GROUP BY state ORDER BY state"
printf '%s$ psql -c "SELECT count(*) FROM seen"%s\n' "$bold" "$plain"
psql_vendor -d vendor -c "SELECT count(*) AS seen FROM seen"
seen=$(psql_vendor -d vendor -tA -c "SELECT count(*) FROM seen")
posts=$(grep -c '^POST /inbox ' "$access_log" || true)
if [ "$seen" = "$posts" ]; then
  printf '  (%s envelopes went through nginx, one seen row each; the refused replay added none)\n' "$posts"
else
  printf '  (%s envelopes went through nginx, %s seen rows)\n' "$posts" "$seen"
fi

say "Who answered what (nginx access log)"
while read -r method path _proto status upstream; do
  printf '  %-4s %-8s %s  %s\n' "$method" "$path" "$status" "$(instance_of "${upstream#upstream=}")"
done <"$access_log"
one=$(grep -c "upstream=127.0.0.1:${ports[0]}\$" "$access_log" || true)
two=$(grep -c "upstream=127.0.0.1:${ports[1]}\$" "$access_log" || true)

say "Everything stops: nginx, both instances (SIGTERM), PostgreSQL; the work folder is removed"
cleanup
printf '  done: one vendor at %s, served by 2 instances (%s and %s requests), one shared database; the replay was refused\n' \
  "$vendor_url" "$one" "$two"
