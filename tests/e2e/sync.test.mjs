// The browser's offline engine against the real server: sales rung up with the network cut are
// queued in IndexedDB, survive a reload, and reach the server by themselves — exactly once
// each, even when the server dies in the middle of the replay.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  artifactPath,
  DEMO,
  registerDevice,
  sellByBarcode,
  signIn,
  serverAndBrowser,
  startServer,
  waitForCatalog,
  waitForConnection,
  waitForPending,
  waitForServiceWorker,
} from "./support.mjs";

const env = serverAndBrowser();

/** Today's sales of the signed-in person's store, and the store's stock of `productId`. */
async function serverView(page, productId) {
  return page.evaluate(async (id) => {
    const sales = await (await fetch("/api/sales")).json();
    const me = await (await fetch("/api/auth/me")).json();
    const stock = await (await fetch(`/api/stock?tienda_id=${me.tienda.id}&producto_id=${id}`)).json();
    const items = stock.items ?? stock;
    const row = items.find((s) => s.producto_id === id);
    return { sales, quantity: row ? row.cantidad : 0 };
  }, productId);
}

async function sellablePage() {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  await waitForServiceWorker(page);
  await page.locator('[data-testid="offline-ready"][data-ready="true"]').waitFor();
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
  await page.getByTestId("go-sell").click();
  // The catalog reaches the device's cache through the first pull.
  const search = page.getByTestId("product-search");
  await waitForCatalog(page, product.codigo_barras);
  await search.waitFor();
  return { page, product };
}

test("sales made offline are queued, survive a reload, and reach the server once each by themselves", async () => {
  const { context } = env.browser;
  const { page, product } = await sellablePage();
  const before = await serverView(page, product.id);

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  const folios = [];
  for (let i = 0; i < 3; i++) folios.push(await sellByBarcode(page, product.codigo_barras));
  await waitForPending(page, 3);
  await page.screenshot({ path: artifactPath("offline-sales.png"), fullPage: true });

  await page.reload();
  await waitForPending(page, 3);

  await context.setOffline(false);
  await waitForPending(page, 0, 30_000);
  const afterSync = await serverView(page, product.id);
  assert.equal(afterSync.sales.length, before.sales.length + 3, "exactly three new sales");
  assert.equal(new Set(afterSync.sales.map((s) => s.id)).size, afterSync.sales.length);
  assert.equal(new Set(afterSync.sales.map((s) => s.folio)).size, afterSync.sales.length);
  assert.equal(afterSync.quantity, before.quantity - 3, "stock moved by exactly the pairs sold");
  const stored = new Set(afterSync.sales.map((s) => s.folio));
  assert.ok(
    folios.every((f) => stored.has(f)),
    `the folios printed offline (${folios}) are the ones the server stored`,
  );
});

test("a server killed after committing a replayed batch, before its answer, and started again ends with every sale exactly once", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  await page.goto(`${env.server.url}/venta`);
  await page.getByTestId("product-search").waitFor();
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=mocasin")).json()).items[0]);
  const before = await serverView(page, product.id);
  const sold = 130;

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  for (let i = 0; i < sold; i++) await sellByBarcode(page, product.codigo_barras);
  await waitForPending(page, sold);

  // The server takes the first push, commits it, and dies before the device hears back.
  const url = new URL(env.server.url);
  let crashed = false;
  await page.route("**/api/sync/push", async (route) => {
    if (crashed) return route.continue();
    crashed = true;
    await route.fetch();
    await env.server.kill();
    await route.abort("connectionreset");
  });
  await context.setOffline(false);
  await waitForConnection(page, "server_unreachable", 30_000);
  assert.ok(crashed, "the server crashed in the middle of the replay");
  const left = Number(await page.getByTestId("pending-count").getAttribute("data-count"));
  assert.equal(left, sold, "the lost answer leaves every op in the outbox");
  await page.unroute("**/api/sync/push");

  env.server = await startServer({ bind: url.host, dataDir: env.server.dataDir });
  await waitForPending(page, 0, 60_000);
  const afterSync = await serverView(page, product.id);
  assert.equal(afterSync.sales.length, before.sales.length + sold, "every sale exactly once");
  assert.equal(new Set(afterSync.sales.map((s) => s.id)).size, afterSync.sales.length);
  assert.equal(afterSync.quantity, before.quantity - sold);
});

test("sales queued before signing out wait for the next person of the store and keep their author", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  await page.goto(`${env.server.url}/venta`);
  await page.getByTestId("product-search").waitFor();
  const { product, manager, before } = await page.evaluate(async () => ({
    product: (await (await fetch("/api/products?q=bota")).json()).items[0],
    manager: (await (await fetch("/api/auth/me")).json()).id,
    before: (await (await fetch("/api/sales")).json()).length,
  }));

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  for (let i = 0; i < 2; i++) await sellByBarcode(page, product.codigo_barras);
  await page.getByRole("button", { name: "Salir" }).click();
  await page.getByLabel("Usuario").waitFor();
  await context.setOffline(false);
  await waitForConnection(page, "online");
  await page.getByTestId("sync-problem").filter({ hasText: "inicie sesión" }).waitFor();
  await waitForPending(page, 2);

  await signIn(page, DEMO.cajero);
  await waitForPending(page, 0, 30_000);
  // The day's sales list is a manager's view.
  await page.getByRole("button", { name: "Salir" }).click();
  await signIn(page, DEMO.gerente);
  const sales = await page.evaluate(async () => (await (await fetch("/api/sales")).json()));
  assert.equal(sales.length, before + 2);
  const mine = sales.filter((s) => s.lineas.some((l) => l.producto_id === product.id));
  assert.ok(mine.length >= 2);
  assert.ok(
    mine.slice(-2).every((s) => s.cajero_id === manager),
    "the sales keep the manager who rang them up as their author",
  );
});
