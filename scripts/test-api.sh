#!/usr/bin/env bash
# The API against its own description. `/api/openapi.json` of a demo server must validate as
# OpenAPI 3.1; then schemathesis (PyPI, pinned with every dependency in
# tests/api/requirements.txt, in a venv under target/) fuzzes every route signed in as an
# admin and as a cashier, and must find no server error (5xx) and no answer the description
# does not allow (status, content type, body schema). Bounded: PRONTO_FUZZ_EXAMPLES examples
# per operation and phase (default 50), a fixed seed (PRONTO_FUZZ_SEED) so a failure replays,
# and at most 5 minutes per person.
#
# Uses the debug `pronto` binary (built by scripts/test.sh before it runs this).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

step "API fuzzing (schemathesis against /api/openapi.json)"
venv="$(target_dir)/api-fuzz-venv"
wanted=$(sha256sum tests/api/requirements.txt | cut -d' ' -f1)
if [ -x "$venv/bin/schemathesis" ] && [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" = "$wanted" ]; then
  note "schemathesis venv present"
else
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/api/requirements.txt
  echo "$wanted" > "$venv/.requirements-sha256"
fi

bin="$(target_dir)/debug/pronto"
[ -x "$bin" ] || cargo build --quiet -p pronto-backend
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/dist"
"$bin" serve --demo --bind 127.0.0.1:0 --database-url "sqlite://$work/fuzz.db" \
  --dist "$work/dist" > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
base=""
for _ in $(seq 1 100); do
  base=$(sed -n 's/^pronto listening on \(http:[^ ]*\)$/\1/p' "$work/server.out")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || die "pronto did not start: $(tail -5 "$work/server.err")"
  sleep 0.1
done
[ -n "$base" ] || die "pronto did not say where it listens"

"$venv/bin/python" tests/api/validate.py "$base/api/openapi.json"
examples="${PRONTO_FUZZ_EXAMPLES:-50}"
seed="${PRONTO_FUZZ_SEED:-20}"
for person in admin:admin2026 cajero1.centro:cajero2026; do
  user=${person%%:*}
  cookie=$("$venv/bin/python" tests/api/session.py "$base" "$user" "${person#*:}")
  # Signing out would end the session the rest of the run uses; it is covered by the e2e
  # and integration tests.
  if ! timeout 300 "$venv/bin/schemathesis" run "$base/api/openapi.json" \
      --header "Cookie: $cookie" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
      --exclude-path /api/auth/logout \
      --max-examples "$examples" --seed "$seed" --no-color > "$work/fuzz-$user.log" 2>&1; then
    tail -80 "$work/fuzz-$user.log"
    die "schemathesis found answers outside the description as $user (seed $seed)"
  fi
  note "as $user: $(grep -E '[0-9]+ generated' "$work/fuzz-$user.log" | tr -s ' ')"
done
kill -0 "$server_pid" 2>/dev/null || die "the server died under the fuzzer"
