// Real time against the real server: a change committed by someone else reaches the device's
// cache within seconds because the server pokes it over the socket — the device's own timer
// would wait a minute while the socket is open.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEMO, cachedCatalog, registerDevice, serverAndBrowser, signIn, waitForCatalog } from "./support.mjs";

const env = serverAndBrowser();

/** The price of `id` in the device's IndexedDB catalog. */
async function cachedPrice(page, id) {
  return (await cachedCatalog(page))[id]?.precio;
}

test("a price changed elsewhere reaches the device's cache within seconds, by a poke", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=sandalia")).json()).items[0]);
  await waitForCatalog(page, product.codigo_barras);
  // The socket is open ("en vivo"): the device's own timer is now a minute away.
  await page.locator('[data-testid="last-sync"][data-live="true"]').waitFor({ timeout: 15_000 });
  await page.waitForTimeout(1_000);

  // A price change through the REST API (as a manager's laptop would make it): only a pull
  // brings it into the device's cache.
  const newPrice = product.precio + 10_000;
  const started = Date.now();
  const status = await page.evaluate(
    async ({ p, price }) => {
      const body = { ...p, precio: price };
      delete body.id;
      const res = await fetch(`/api/products/${p.id}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return res.status;
    },
    { p: product, price: newPrice },
  );
  assert.equal(status, 200);

  let seen;
  while (Date.now() - started < 5_000) {
    seen = await cachedPrice(page, product.id);
    if (seen === newPrice) break;
    await page.waitForTimeout(100);
  }
  assert.equal(seen, newPrice, "the cache has the new price");
  const took = Date.now() - started;
  console.log(`poke to cache: ${took} ms`);
  assert.ok(took < 5_000, "a poke, not the minute-long timer");
});
