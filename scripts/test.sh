#!/usr/bin/env bash
# README command 2: every check and test the project has. Stops at the first failure.
#   1. formatting and clippy (native, and the frontend for wasm32)
#   2. unit and backend integration tests (cargo test: shared + backend) on SQLite, then the
#      backend integration suite again on PostgreSQL (installed and started if needed)
#   3. browser unit tests (wasm-bindgen-test in headless Chromium)
#   4. end-to-end tests (Playwright + /usr/bin/chromium against the real server)
#   5. the API against its OpenAPI description: schemathesis as admin and cashier
#      (scripts/test-api.sh)
#   6. the documented deployment: nginx + two processes on PostgreSQL (scripts/test-deploy.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"
started=$SECONDS

bash scripts/toolchain.sh

step "Format and lint"
cargo fmt --all -- --check
cargo clippy --quiet --all-targets -- -D warnings
cargo clippy --quiet -p pronto-frontend --all-targets --target wasm32-unknown-unknown -- -D warnings

step "Unit and backend integration tests (SQLite)"
cargo test --quiet
# The browser crate's pure helpers (no browser needed) run natively.
cargo test --quiet -p pronto-frontend --lib

step "Backend integration tests (PostgreSQL)"
pg_url=$(bash scripts/postgres.sh | tail -n 1)
PRONTO_TEST_POSTGRES_URL="$pg_url" cargo test --quiet -p pronto-backend --test api

step "Browser tests (wasm-bindgen-test, headless Chromium)"
# The runner's default 20 s limit is for the whole file; the storage tests enqueue and drain
# 10,000 ops through real IndexedDB.
(cd frontend && WASM_BINDGEN_TEST_TIMEOUT=180 cargo test --target wasm32-unknown-unknown)

step "End-to-end tests (Playwright, Chromium, real server)"
build_web
# BENCHMARKS.md's wasm size against the build just made (skipped in step 2 without one).
cargo test --quiet -p pronto-backend --test docs
cargo build --quiet -p pronto-backend
(cd tests && PRONTO_BIN="$(target_dir)/debug/pronto" PRONTO_DIST="$REPO_ROOT/dist" npm test --silent)

bash scripts/test-api.sh

step "Deployment: nginx in front of two processes on PostgreSQL"
bash scripts/test-deploy.sh

step "All tests passed in $((SECONDS - started)) s"
