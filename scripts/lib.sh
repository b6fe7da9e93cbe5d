# Sourced by the scripts in this folder: paths, PATH, and small helpers.
# shellcheck shell=bash

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Tools installed outside cargo's bin dir (wasm-opt from npm) live here, outside the clone, so
# every clone on the machine shares them and a fresh clone does not reinstall.
PRONTO_TOOLS_DIR=${PRONTO_TOOLS_DIR:-$HOME/.local/share/pronto-tools}
BINARYEN_VERSION=132.0.0
TRUNK_VERSION=0.21.14
APT_PACKAGES=(chromium chromium-driver brotli)

export PATH="$PRONTO_TOOLS_DIR/binaryen/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}

# Where cargo puts its output (honours CARGO_TARGET_DIR, as cargo and trunk do).
target_dir() { echo "${CARGO_TARGET_DIR:-$REPO_ROOT/target}"; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo when we are not root).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"; fi
}

# The wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly).
locked_wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$REPO_ROOT/Cargo.lock"
}

# SHA-256 over the files that make up the web build, so an unchanged tree skips `trunk build`.
web_inputs_hash() {
  (cd "$REPO_ROOT" && find frontend/src frontend/index.html frontend/style frontend/Cargo.toml \
      shared/src shared/Cargo.toml public scripts/post-build.sh Trunk.toml Cargo.toml Cargo.lock \
      -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

# Builds dist/ with Trunk, offline, unless the inputs are unchanged since the last build.
build_web() {
  local stamp="$REPO_ROOT/target/web-build.stamp" hash
  hash=$(web_inputs_hash)
  if [ -f "$REPO_ROOT/dist/index.html" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
    note "dist/ is up to date (inputs unchanged)"
    return
  fi
  # `|| return`: called inside an `&&` list, `set -e` does not stop a failed build, and the
  # stamp must never claim a dist/ that was not built.
  (cd "$REPO_ROOT" && cargo fetch --quiet && trunk build --release --offline) || return 1
  mkdir -p "$(dirname "$stamp")"
  echo "$hash" > "$stamp"
}
