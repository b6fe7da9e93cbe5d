// A first visit downloads the app once: the service worker, installed after the app started,
// stores the files the page has just downloaded instead of fetching them again (issue 21).
// Counted at the server, from its request log.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, startServer, waitForServiceWorker } from "./support.mjs";

const env = {};
before(async () => {
  env.server = await startServer({ log: "warn,tower_http::trace=debug,pronto_backend::server=info" });
  env.browser = await launchBrowser();
});
after(async () => {
  await env.browser?.close();
  await env.server?.stop();
});

/** How many times the server answered GET `path`. */
function served(path) {
  return env.server
    .log()
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((line) => line.includes("finished processing request") && line.includes(`path=${path}`) && line.includes("method=GET")).length;
}

test("a first visit downloads the wasm, its glue and the styles once, service worker included", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  // Activated: its install, which fills the cache, is over.
  await waitForServiceWorker(page);
  const assets = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => new URL(entry.name).pathname)
      .filter((path) => /\.(wasm|js|css)$/.test(path) && path !== "/sw.js"),
  );
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((name) => name.startsWith("pronto-shell-")));
    return (await cache.keys()).map((request) => new URL(request.url).pathname);
  });
  for (const path of ["_bg.wasm", ".js", ".css"].map((end) => assets.find((p) => p.endsWith(end)))) {
    assert.ok(path, `the page loaded its ${path}`);
    assert.ok(cached.includes(path), `${path} is in the service worker's cache`);
    assert.equal(served(path), 1, `${path} left the server once`);
  }
});
