#!/usr/bin/env bash
# Measures README command 1 (`bash scripts/run.sh`) as a newcomer meets it on a fresh machine
# of the project's kind: a new clone, an empty CARGO_HOME (every crate downloaded again, trunk
# and wasm-bindgen-cli compiled from source), an empty tools folder (binaryen from npm), the
# Debian packages of APT_PACKAGES removed, the wasm32 target removed, and a PATH holding only
# the rustup proxies and the system folders; apt's downloaded packages and npm's cache are
# emptied too. Prints the seconds until the server says
# "listening", then stops it. Root only (it removes and reinstalls Debian packages); what it
# removes from this machine, the run puts back.
#
#   bash scripts/measure-cold-run.sh [COMMIT]     (default: HEAD)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ "$(id -u)" -eq 0 ] || die "run as root: it removes Debian packages to measure their install"
commit=${1:-HEAD}
work=/tmp/pronto-cold-run
rm -rf "$work"
mkdir -p "$work/bin" "$work/cargo-home" "$work/tools"
git clone --quiet "$REPO_ROOT" "$work/repo"
git -C "$work/repo" checkout --quiet "$commit"
# The rustup proxies only: the machine's own ~/.cargo/bin also holds trunk and wasm-bindgen.
for proxy in cargo rustc rustup rustfmt cargo-fmt cargo-clippy clippy-driver rustdoc; do
  ln -s "$(command -v "$proxy")" "$work/bin/$proxy"
done
step "Making the machine fresh"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq "${APT_PACKAGES[@]}" >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -qq >/dev/null
# Downloaded .deb files would spare apt the download a fresh machine makes.
apt-get clean
rustup target remove wasm32-unknown-unknown >/dev/null 2>&1 || true
note "removed: ${APT_PACKAGES[*]} (and what only they needed), the wasm32 target"

step "bash scripts/run.sh (cold)"
started=$EPOCHREALTIME
cd "$work/repo"
# The machine's own network settings (certificate bundles, proxies) stay: a fresh machine of
# this kind has them too.
machine_env=()
while IFS= read -r setting; do machine_env+=("$setting"); done < <(
  env | grep -E '^(NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|SSL_CERT_DIR|CURL_CA_BUNDLE|REQUESTS_CA_BUNDLE|GIT_SSL_CAINFO|PIP_[A-Z_]+|[A-Za-z_]*_(proxy|PROXY))=' || true)
env -i "${machine_env[@]}" HOME="$HOME" USER="${USER:-root}" TERM=dumb LANG=C.UTF-8 \
  RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}" CARGO_HOME="$work/cargo-home" \
  PRONTO_TOOLS_DIR="$work/tools" npm_config_cache="$work/npm-cache" PATH="$work/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  bash scripts/run.sh --bind 127.0.0.1:0 --database-url "sqlite://$work/cold.db" 2>&1 \
  | while IFS= read -r line; do
      printf '%5.0f s  %s\n' "$(echo "$EPOCHREALTIME - $started" | bc)" "$line"
    done > "$work/run.log" &
runner=$!
until grep -q " pronto listening on" "$work/run.log"; do
  kill -0 "$runner" 2>/dev/null || { tail -30 "$work/run.log"; die "run.sh stopped before listening"; }
  sleep 1
done
elapsed=$(echo "$EPOCHREALTIME - $started" | bc)
address=$(sed -n 's/^.* pronto listening on \(http:[^ ]*\)$/\1/p' "$work/run.log")
health=$(node -e 'fetch(process.argv[1]).then(r => r.json()).then(j => console.log(j.status))' "$address/api/health")
kill "$runner" 2>/dev/null || true
pkill -f "$work/repo/target/local/pronto" 2>/dev/null || true
# Where the time went: each step's start.
sed 's/\x1b\[[0-9;]*m//g' "$work/run.log" | grep -E '^ *[0-9]+ s  (== |   [a-z])' 
step "cold run: $(printf '%.0f' "$elapsed") s until listening (health: $health), commit $(git -C "$work/repo" rev-parse --short HEAD)"
