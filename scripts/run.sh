#!/usr/bin/env bash
# README command 1: install what is missing, build, and start the server on SQLite with the
# demo data (loaded on first start only; an existing database is left as it is).
# Open http://127.0.0.1:8080 once it says "listening". Stop it with Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$REPO_ROOT/scripts/toolchain.sh"

step "Web app (trunk build --release --offline)"
build_web

step "Server (cargo build --release)"
(cd "$REPO_ROOT" && cargo build --release --quiet -p pronto-backend)

step "Starting Pronto POS"
cd "$REPO_ROOT"
exec "$(target_dir)/release/pronto" serve --demo --dist "$REPO_ROOT/dist" "$@"
