// Pronto POS service worker: keeps the app shell so the app opens and reloads offline.
//
// The precache list and version are written by scripts/post-build.sh from the files the build
// produced; they are never edited by hand. Each release gets its own cache; a new release
// installs beside the old one and waits until the page asks it to take over ("Actualizar
// ahora"), so a page never mixes files from two releases. Only on the very first install,
// when there is nothing to mix with, does it take over at once.
//
// API calls (/api/) and sockets (/ws/) never touch the cache: data must be fresh or fail, and
// the app's own offline engine (IndexedDB) handles the failure.

const VERSION = "__PRONTO_VERSION__";
const PRECACHE = __PRONTO_PRECACHE__;
const CACHE_PREFIX = "pronto-shell-";
const CACHE = CACHE_PREFIX + VERSION;
// Trunk's content-hashed names (`filehash = true` in Trunk.toml). The hash is a 64-bit number
// in hex without leading zeros, so it is sometimes shorter than 16 digits.
const HASHED = /-[0-9a-f]{1,16}(_bg)?\.(js|wasm|css)$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // A file whose name carries its content hash (`main-<hash>.css`, `…-<hash>_bg.wasm`) is
      // the same bytes wherever it comes from; the page downloaded it a moment ago (the app
      // registers this worker once it runs), so the HTTP cache hands it over without a second
      // download. The others (index.html, icons, the manifest) skip the HTTP cache
      // (cache: "reload") so a release is stored exactly as served now.
      await cache.addAll(
        PRECACHE.map((url) => new Request(url, { cache: HASHED.test(url) ? "default" : "reload" })),
      );
      if (!self.registration.active) {
        await self.skipWaiting();
      }
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
          .map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") {
    self.skipWaiting();
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/ws/")) return;

  if (request.mode === "navigate") {
    // Every client route is the same index.html.
    event.respondWith(fromCache("/index.html").then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(fromCache(url.pathname).then((hit) => hit || fetch(request)));
});

async function fromCache(path) {
  const cache = await caches.open(CACHE);
  return cache.match(path);
}
