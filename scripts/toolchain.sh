#!/usr/bin/env bash
# Installs what building and testing Pronto POS needs, skipping whatever is already present.
# Safe to run any number of times; a run with nothing to do takes a few seconds.
#
#   - Debian packages: chromium, chromium-driver (browser tests), brotli (asset compression)
#   - the wasm32-unknown-unknown Rust target
#   - trunk 0.21.14 (0.22 needs a newer rustc) via cargo install --locked
#   - wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock, via cargo install
#     (without --locked: its lockfile names a crate version the registry lacks)
#   - wasm-opt from the npm package binaryen 132 (Debian's binaryen 108 breaks the page)
#   - the npm packages of tests/ from the committed package-lock.json (playwright-core only;
#     no browser is ever downloaded: tests use /usr/bin/chromium)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

step "Toolchain"
command -v cargo >/dev/null || die "cargo not found: install Rust with rustup first"
command -v rustup >/dev/null || die "rustup not found: the wasm32 target is added with rustup"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
# What waits on the network or dpkg (apt, npm) runs in the background while cargo compiles
# trunk and wasm-bindgen: on a fresh machine the two overlap instead of adding up. Each
# background job logs to a file of its own, shown if it fails.
jobs_dir=$(mktemp -d)
background=()
in_background() {
  local name=$1
  shift
  ("$@") > "$jobs_dir/$name.log" 2>&1 &
  background+=("$name:$!")
}
wait_background() {
  local job failed=0
  for job in "${background[@]}"; do
    if ! wait "${job#*:}"; then
      printf '%s failed:\n' "${job%%:*}" >&2
      tail -30 "$jobs_dir/${job%%:*}.log" >&2
      failed=1
    fi
  done
  background=()
  [ "$failed" -eq 0 ] || die "installing the toolchain failed"
}

install_apt() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
if [ "${#missing[@]}" -gt 0 ]; then
  note "apt: installing ${missing[*]} (in the background)"
  in_background apt install_apt "${missing[@]}"
else
  note "apt packages present: ${APT_PACKAGES[*]}"
fi

if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  note "rust target wasm32-unknown-unknown present"
else
  rustup target add wasm32-unknown-unknown
fi

install_npm_packages() {
  if wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
    note "wasm-opt ${BINARYEN_VERSION%%.*} present"
  else
    mkdir -p "$PRONTO_TOOLS_DIR/binaryen"
    npm install --prefix "$PRONTO_TOOLS_DIR/binaryen" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
    wasm-opt --version | grep -q "version ${BINARYEN_VERSION%%.*}" || die "wasm-opt from npm is not on PATH"
    note "wasm-opt ${BINARYEN_VERSION%%.*} installed"
  fi
  local lock_hash lock_stamp
  lock_hash=$(sha256sum "$REPO_ROOT/tests/package-lock.json" | cut -d' ' -f1)
  lock_stamp="$REPO_ROOT/tests/node_modules/.pronto-lock-sha256"
  if [ -f "$lock_stamp" ] && [ "$(cat "$lock_stamp")" = "$lock_hash" ]; then
    note "tests/ npm packages present"
  else
    (cd "$REPO_ROOT/tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
    echo "$lock_hash" > "$lock_stamp"
    note "tests/ npm packages installed"
  fi
}
if command -v npm >/dev/null; then
  in_background npm install_npm_packages
fi

if [ "$(trunk --version 2>/dev/null)" = "trunk $TRUNK_VERSION" ]; then
  note "trunk $TRUNK_VERSION present"
else
  # Trunk only orchestrates (cargo, wasm-bindgen and wasm-opt do the work), so it is compiled
  # for compile speed: its own release profile (fat LTO, one codegen unit) took ≈ 9 of a cold
  # run's 19 minutes on 2 cores; like this ≈ 4. Without default features: no update check and
  # no TLS stack — it never downloads anything here (`--offline`).
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install trunk --locked --version "$TRUNK_VERSION" --no-default-features
fi

wbg=$(locked_wasm_bindgen_version)
[ -n "$wbg" ] || die "no wasm-bindgen in Cargo.lock"
grep -q "^wasm_bindgen = \"$wbg\"" "$REPO_ROOT/Trunk.toml" \
  || die "Trunk.toml [tools] wasm_bindgen must equal Cargo.lock's wasm-bindgen $wbg"
if [ "$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $wbg" ] \
  && [ "$(wasm-bindgen-test-runner --version 2>/dev/null)" = "wasm-bindgen-test-runner $wbg" ]; then
  note "wasm-bindgen-cli $wbg present"
else
  # Lightly optimised, like trunk: it processes the app's wasm in 0.35 s either way (0.33 s
  # at opt-level 3), and compiles in a good part less time.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
    cargo install wasm-bindgen-cli --version "$wbg" --force
fi


wait_background
# npm itself came with apt just now: its packages could not start earlier.
if [ ! -x "$(command -v wasm-opt 2>/dev/null)" ] || [ ! -f "$REPO_ROOT/tests/node_modules/.pronto-lock-sha256" ]; then
  install_npm_packages
fi
for log in "$jobs_dir"/*.log; do
  [ -e "$log" ] && grep -h '^   ' "$log" || true
done
rm -rf "$jobs_dir"
