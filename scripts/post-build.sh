#!/usr/bin/env bash
# Trunk post-build hook (runs in the staging dir before it replaces dist/).
#
# 1. Fills the service worker's precache list and release version from the files this build
#    actually produced, so the list is never maintained by hand and a new build always yields
#    a byte-different sw.js (which is how browsers notice a new release).
# 2. Writes .br and .gz beside each compressible asset; the server sends them to browsers that
#    accept them. (index.html is served by a handler that adds its CSP, so it is left alone.)
set -euo pipefail
staging="${TRUNK_STAGING_DIR:?run by trunk only}"
cd "$staging"

sw=sw.js
grep -q '__PRONTO_PRECACHE__' "$sw" || { echo "post-build: $sw has no __PRONTO_PRECACHE__ marker" >&2; exit 1; }

mapfile -t files < <(find . -type f ! -name "$sw" ! -name '*.br' ! -name '*.gz' -printf '%P\n' | LC_ALL=C sort)
[ "${#files[@]}" -gt 0 ] || { echo "post-build: empty build" >&2; exit 1; }
printf '%s\n' "${files[@]}" | grep -Eq '\.wasm$' || { echo "post-build: no .wasm in build" >&2; exit 1; }

version=$(for f in "${files[@]}"; do sha256sum "$f"; done | sha256sum | cut -c1-16)
list=$(printf '"/%s",' "${files[@]}")
list="[${list%,}]"

filled=$(sed -e "s|__PRONTO_PRECACHE__|${list}|" -e "s|__PRONTO_VERSION__|${version}|" "$sw")
printf '%s\n' "$filled" > "$sw"

for f in "${files[@]}" "$sw"; do
  case "$f" in
    *.wasm|*.js|*.css|*.webmanifest|*.svg)
      if command -v brotli >/dev/null; then brotli -q 11 -f -k "$f"; fi
      gzip -9 -f -k "$f"
      ;;
  esac
done
echo "post-build: release ${version}, ${#files[@]} files precached"
