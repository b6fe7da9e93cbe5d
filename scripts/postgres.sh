#!/usr/bin/env bash
# Makes a local PostgreSQL answer for the backend tests: installs it from apt if missing,
# creates and starts a cluster if none runs (also on a machine where nothing was ever started),
# and makes a `pronto_test` role allowed to create databases. Each test then creates its own
# throwaway database. Prints the admin URL the tests use on its last line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_USER=pronto_test
PG_PASSWORD=pronto_test
PG_PORT=${PRONTO_PG_PORT:-5432}

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  note "apt: installing postgresql"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v' | grep -q .; then
  note "creating PostgreSQL $version cluster"
  as_root pg_createcluster "$version" main --port "$PG_PORT" >/dev/null
fi
cluster=$(pg_lsclusters -h | awk -v v="$version" '$1 == v { print $2; exit }')
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v { print $3; exit }')
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }' | grep -q online; then
  note "starting PostgreSQL $version/$cluster on port $port"
  as_root pg_ctlcluster "$version" "$cluster" start
fi
for _ in $(seq 1 30); do
  as_root runuser -u postgres -- pg_isready -q -p "$port" && break
  sleep 1
done
as_root runuser -u postgres -- pg_isready -q -p "$port" || die "PostgreSQL did not become ready on port $port"

as_root runuser -u postgres -- psql -q -p "$port" -v ON_ERROR_STOP=1 <<SQL >/dev/null
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
SQL

# Throwaway databases of earlier runs (a crashed run cannot drop its own).
for db in $(as_root runuser -u postgres -- psql -p "$port" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'pronto_test_%'"); do
  as_root runuser -u postgres -- psql -q -p "$port" -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null
done

note "PostgreSQL $version ready on port $port"
echo "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$port/postgres"
