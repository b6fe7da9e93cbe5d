#!/usr/bin/env bash
# README command 1: install what is missing, build, and start the server on SQLite with the
# demo data (loaded on first start only; an existing database is left as it is).
# Open http://127.0.0.1:8080 once it says "listening". Stop it with Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The server needs none of the tools: it compiles while they install (on a fresh machine apt
# and npm wait on the network, and one compile's link leaves the other core idle).
server_log=$(mktemp)
(cd "$REPO_ROOT" && cargo build --profile local --quiet -p pronto-backend) > "$server_log" 2>&1 &
server_build=$!
note "server: compiling in the background (cargo build --profile local)"

bash "$REPO_ROOT/scripts/toolchain.sh"

step "Web app (trunk build --release --offline)"
build_web

step "Server (cargo build --profile local)"
if ! wait "$server_build"; then
  cat "$server_log" >&2
  die "the server did not compile"
fi
rm -f "$server_log"

step "Starting Pronto POS"
cd "$REPO_ROOT"
exec "$(target_dir)/local/pronto" serve --demo --dist "$REPO_ROOT/dist" "$@"
