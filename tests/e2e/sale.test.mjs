// The sale screen against the real server: the size × colour grid shows this store's stock and
// adds the tapped variant; a scanned barcode adds its product in one step.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { artifactPath, DEMO, launchBrowser, registerDevice, signIn, startServer } from "./support.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("the size grid shows this store's stock per cell and adds the tapped size; a scan adds in one step", async () => {
  const { context } = browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  await page.getByTestId("go-sell").click();
  await page.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 60_000 });

  const search = page.getByTestId("product-search");
  await search.fill("moc neg");
  await page.getByTestId("open-grid").first().click();
  const grid = page.getByTestId("size-grid");
  await grid.waitFor();
  await page.screenshot({ path: artifactPath("size-grid.png") });
  const cell = grid.getByTestId("grid-cell").nth(2);
  const productId = await cell.getAttribute("data-product");
  const shown = Number(await cell.getAttribute("data-stock"));
  const onServer = await page.evaluate(async (id) => {
    const me = await (await fetch("/api/auth/me")).json();
    const page = await (await fetch(`/api/stock?tienda_id=${me.tienda.id}&producto_id=${id}`)).json();
    return (page.items ?? page)[0]?.cantidad ?? 0;
  }, productId);
  assert.equal(shown, onServer, "the cell shows this store's stock of that variant");
  await cell.click();
  await grid.waitFor({ state: "detached" });
  assert.equal(await page.getByTestId("cart-line").count(), 1);

  const scanned = await page.evaluate(async () => (await (await fetch("/api/products?q=bota")).json()).items[0]);
  await search.fill(scanned.codigo_barras);
  await search.press("Enter");
  await page.getByTestId("cart-line").nth(1).waitFor();
  assert.match(await page.getByTestId("cart").innerText(), new RegExp(scanned.nombre));
});
