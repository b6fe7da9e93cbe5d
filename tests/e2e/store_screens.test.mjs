// The store's other screens against the real server: customers (created at the till offline,
// edited by the manager), the catalog (a price change reaches the server and the till), and a
// line discount on the sale screen, stored as such.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEMO,
  registerDevice,
  serverAndBrowser,
  signIn,
  waitForCatalog,
  waitForConnection,
  waitForPending,
  waitForServiceWorker,
  waitUntil,
} from "./support.mjs";

const env = serverAndBrowser();

async function json(page, url) {
  return page.evaluate(async (u) => (await fetch(u)).json(), url);
}

test("a customer created offline is listed as not sent, reaches the server, and the manager's edit lands", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  await waitForServiceWorker(page);
  await page.locator('[data-testid="offline-ready"][data-ready="true"]').waitFor();
  await page.getByTestId("go-customers").click();

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  await page.getByTestId("customer-new").click();
  await page.getByTestId("customer-nombre").fill("Inés Zamora");
  await page.getByTestId("customer-telefono").fill("abc");
  await page.getByTestId("customer-save").click();
  await page.getByTestId("customer-form").getByRole("alert").first().waitFor();
  await waitForPending(page, 0);
  await page.getByTestId("customer-telefono").fill("3311112222");
  await page.getByTestId("customer-save").click();
  await page.getByTestId("customer-row").filter({ hasText: "Inés Zamora" }).waitFor();
  assert.equal(await page.getByTestId("customer-pending").count(), 1, "marked as not sent");
  await waitForPending(page, 1);

  await context.setOffline(false);
  await waitForPending(page, 0, 30_000);
  const created = (await json(page, "/api/customers?q=ines")).items.find((c) => c.nombre === "Inés Zamora");
  assert.ok(created, "the server has her");
  assert.equal(created.telefono, "3311112222");

  // Pulled back from the server, she is no longer marked; the manager edits her phone.
  const row = page.getByTestId("customer-row").filter({ hasText: "Inés Zamora" });
  await row.filter({ hasNot: page.getByTestId("customer-pending") }).waitFor({ timeout: 30_000 });
  await row.click();
  await page.getByTestId("customer-telefono").fill("3399998888");
  await page.getByTestId("customer-save").click();
  await page.getByTestId("customer-notice").waitFor();
  await waitUntil(async () => (await json(page, `/api/customers/${created.id}`)).telefono === "3399998888", 30_000);
  const edited = await json(page, `/api/customers/${created.id}`);
  assert.equal(edited.telefono, "3399998888");
  assert.equal(edited.nombre, "Inés Zamora", "only the phone changed");
});

test("a price changed in the catalog reaches the server, and a bad price is refused at the field", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  const product = (await json(page, "/api/products?q=bota")).items[0];
  await page.goto(`${env.server.url}/catalogo`);
  await waitForCatalog(page, product.codigo_barras);
  await page.getByTestId("catalog-query").fill(product.sku);
  await page.getByTestId("catalog-row").first().click();
  await page.getByTestId("catalog-precio").fill("-5");
  await page.getByTestId("catalog-save").click();
  await page.getByTestId("catalog-precio-error").waitFor();
  await waitForPending(page, 0);

  await page.getByTestId("catalog-precio").fill("1,499.50");
  await page.getByTestId("catalog-save").click();
  await page.getByTestId("catalog-notice").waitFor();
  await waitUntil(async () => (await json(page, `/api/products/${product.id}`)).precio === 149_950, 30_000);
  const after = await json(page, `/api/products/${product.id}`);
  assert.equal(after.precio, 149_950);
  assert.equal(after.nombre, product.nombre);
});

test("a line discount comes off that line before the total and is stored with the line", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  const product = (await json(page, "/api/products?q=oxford")).items[0];
  await page.goto(`${env.server.url}/venta`);
  const search = page.getByTestId("product-search");
  await search.fill(product.codigo_barras);
  await search.press("Enter");
  await page.getByTestId("cart-line").first().waitFor();
  const discount = page.getByTestId("line-discount");
  await discount.fill("150");
  await discount.press("Tab");
  await page.getByTestId("charge").click();
  await page.getByTestId("line-discount-error").waitFor();
  await waitForPending(page, 0);

  await page.getByTestId("line-discount").fill("10");
  await page.getByTestId("line-discount").press("Tab");
  const expected = product.precio - Math.round(product.precio / 10);
  await page.getByTestId("sale-total").filter({ hasText: new Intl.NumberFormat("es-MX", { minimumFractionDigits: 2 }).format(expected / 100) }).waitFor();
  await page.getByTestId("charge").click();
  const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
  await page.getByTestId("new-sale").click();
  await waitForPending(page, 0, 30_000);
  const sale = (await json(page, "/api/sales")).find((s) => s.folio === folio);
  assert.ok(sale);
  assert.equal(sale.lineas[0].descuento, Math.round(product.precio / 10));
  assert.equal(sale.total, expected);
});

test("a discount above the limit needs the manager's PIN, offline too; a wrong PIN queues nothing", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  await page.goto(env.server.url);
  const card = page.getByTestId("pin-card");
  await card.getByTestId("pin-new").fill("4821");
  await card.getByTestId("pin-password").fill(DEMO.gerente.contrasena);
  await card.getByTestId("pin-save").click();
  await card.getByTestId("pin-message").filter({ hasText: "guardado" }).waitFor();
  const manager = await json(page, "/api/auth/me");
  const product = (await json(page, "/api/products?q=oxford")).items[0];
  await page.getByTestId("go-sell").click();
  await page.getByTestId("product-search").waitFor();

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  const search = page.getByTestId("product-search");
  await search.fill(product.codigo_barras);
  await search.press("Enter");
  await page.getByTestId("cart-line").first().waitFor();
  await page.getByTestId("discount").fill("30");
  await page.getByTestId("charge").click();
  const dialog = page.getByTestId("approval");
  await dialog.waitFor();
  await dialog.getByTestId("approval-pin").fill("1111");
  await dialog.getByTestId("approve").click();
  await dialog.getByTestId("approval-error").filter({ hasText: "PIN incorrecto" }).waitFor();
  await waitForPending(page, 0);

  await dialog.getByTestId("approval-pin").fill("4821");
  await dialog.getByTestId("approve").click();
  await page.getByTestId("receipt").waitFor();
  const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
  await page.getByTestId("new-sale").click();
  await waitForPending(page, 1);

  await context.setOffline(false);
  await waitForPending(page, 0, 30_000);
  const sale = (await json(page, "/api/sales")).find((s) => s.folio === folio);
  assert.ok(sale);
  assert.equal(sale.descuento, Math.round(product.precio * 0.3));
  assert.equal(sale.autorizacion, "autorizada");
  assert.equal(sale.autorizo_id, manager.id);
});
