#!/usr/bin/env bash
# The documented multi-instance deployment, tested: nginx (Debian's, installed if missing) on
# loopback with the site's own locations (deploy/nginx/pronto-locations.conf) in front of two
# `pronto` processes on one PostgreSQL database; then an end-to-end test through the proxy
# (tests/deploy/). Run by scripts/test.sh after the other tests; needs the web app built
# (build_web) and the debug server (cargo build).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  note "apt: installing nginx"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

admin_url=$(bash scripts/postgres.sh | tail -n 1)
database="pronto_deploy_$(date +%s)_$$"
base_url=${admin_url%/*}
db_url="$base_url/$database"
psql -q "$admin_url" -c "CREATE DATABASE $database" >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bin="$(target_dir)/debug/pronto"
# Starts a pronto process on a free loopback port; sets `started` to its address. (Not called
# in `$(…)`: a subshell's `pids` would not reach the cleanup.)
start_pronto() {
  local name=$1; shift
  "$bin" serve --bind 127.0.0.1:0 --database-url "$db_url" --dist "$REPO_ROOT/dist" \
    --trusted-proxies 127.0.0.1 --metrics-bind 127.0.0.1:0 "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 1 600); do
    if grep -q "listening on http://" "$work/$name.out" 2>/dev/null; then
      started=$(sed -n 's|.*listening on http://||p' "$work/$name.out" | head -1)
      return
    fi
    sleep 0.1
  done
  cat "$work/$name.err" >&2
  die "pronto $name did not start"
}
start_pronto a --demo
a=$started
start_pronto b
b=$started
note "pronto a on $a, b on $b, one PostgreSQL database ($database)"

port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p "$work/nginx/logs" "$work/nginx/temp"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path $work/nginx/temp/body;
    proxy_temp_path $work/nginx/temp/proxy;
    fastcgi_temp_path $work/nginx/temp/fastcgi;
    uwsgi_temp_path $work/nginx/temp/uwsgi;
    scgi_temp_path $work/nginx/temp/scgi;
    # Which process answered each request, and for whom (the test tells its browsers apart by
    # their user agent).
    log_format upstreams '\$request_method \$uri \$status \$upstream_addr "\$http_user_agent"';
    access_log $work/nginx/logs/access.log upstreams;
    upstream pronto {
        server $a;
        server $b;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$port;
        include $REPO_ROOT/deploy/nginx/pronto-locations.conf;
    }
}
CONF
"$NGINX" -t -p "$work/nginx" -c "$work/nginx/nginx.conf" -q
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 1 50); do
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "http://127.0.0.1:$port/api/health" && break
  sleep 0.1
done
note "nginx on 127.0.0.1:$port"

(cd tests && PRONTO_PROXY_URL="http://127.0.0.1:$port" PRONTO_UPSTREAMS="$a,$b" \
  PRONTO_PROXY_LOG="$work/nginx/logs/access.log" node --test --test-concurrency=1 deploy/)

# The PostgreSQL backup docs/DEPLOY.md gives, while both processes still serve: dumped,
# restored by `pronto restore` into an empty database, the same sales and audit chain, and a
# new identity (devices notice the restore by it).
step "PostgreSQL backup and restore (pg_dump / pronto restore, as documented)"
pg_dump --format=custom --file="$work/pronto.dump" "$db_url"
restored="${database}_restaurada"
psql -q "$admin_url" -c "CREATE DATABASE $restored" >/dev/null
cleanup_restored() { psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $restored WITH (FORCE)" >/dev/null 2>&1 || true; cleanup; }
trap cleanup_restored EXIT
"$bin" restore --database-url "$base_url/$restored" --from "$work/pronto.dump"
count() { psql -qAt "$1" -c "SELECT (SELECT COUNT(*) FROM sales) || ' ' || (SELECT COUNT(*) FROM sync_ops) || ' ' || (SELECT COALESCE(MAX(id), 0) FROM audit_log)"; }
live=$(count "$db_url")
copy=$(count "$base_url/$restored")
[ "$live" = "$copy" ] || die "the restored database differs: live $live, restored $copy (sales, ops, audit head)"
note "restored copy matches: sales, ops and audit head $copy"
identity() { psql -qAt "$1" -c "SELECT instance_id FROM app_instance"; }
[ "$(identity "$db_url")" != "$(identity "$base_url/$restored")" ] \
  || die "the restored database kept the identity of the one it was dumped from"
note "the restored database has an identity of its own"
