// A cashier's day without internet (the acceptance): signed in, the connection drops,
// she rings up 20 records — a sale with a customer created at the till, a mixed payment, 17
// more sales and a return — reloads the page while still offline (everything still queued),
// and when the connection comes back the server holds exactly those records once each, stock
// moved by exactly the pairs sold and returned, and nothing is left pending, with no one
// touching anything.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  artifactPath,
  DEMO,
  registerDevice,
  sellByBarcode,
  serverAndBrowser,
  signIn,
  waitForCatalog,
  waitForConnection,
  waitForPending,
  waitForServiceWorker,
} from "./support.mjs";

const env = serverAndBrowser();

/** The store's stock of each product, as the server has it. */
async function stockOf(page, products) {
  return page.evaluate(async (ids) => {
    const me = await (await fetch("/api/auth/me")).json();
    const out = {};
    for (const id of ids) {
      const body = await (await fetch(`/api/stock?tienda_id=${me.tienda.id}&producto_id=${id}`)).json();
      const row = (body.items ?? body).find((s) => s.producto_id === id);
      out[id] = row ? row.cantidad : 0;
    }
    return out;
  }, products.map((p) => p.id));
}

async function scan(page, barcode) {
  const search = page.getByTestId("product-search");
  await search.fill(barcode);
  await search.press("Enter");
}

async function charge(page) {
  await page.getByTestId("charge").click();
  await page.getByTestId("receipt").waitFor();
  const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
  await page.getByTestId("new-sale").click();
  await page.getByTestId("receipt").waitFor({ state: "detached" });
  return folio;
}

test("twenty records rung up offline, a reload, and the server holds each exactly once", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  await waitForServiceWorker(page);
  await page.locator('[data-testid="offline-ready"][data-ready="true"]').waitFor();
  const products = await page.evaluate(async () => {
    const first = async (q) => (await (await fetch(`/api/products?q=${q}`)).json()).items[0];
    return [await first("oxford"), await first("bota"), await first("mocasin")];
  });
  const salesBefore = await page.evaluate(async () => (await (await fetch("/api/sales")).json()).length);
  const stockBefore = await stockOf(page, products);
  await page.getByRole("button", { name: "Salir" }).click();

  await signIn(page, DEMO.cajero);
  await page.getByTestId("go-sell").click();
  for (const p of products) await waitForCatalog(page, p.codigo_barras);
  await page.getByTestId("product-search").waitFor();

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  const sold = Object.fromEntries(products.map((p) => [p.id, 0]));
  const folios = [];

  // 1: a new customer, created at the till.
  await scan(page, products[0].codigo_barras);
  await page.getByTestId("cart-line").first().waitFor();
  await page.getByTestId("create-customer").click();
  await page.getByTestId("new-customer-name").fill("Rosa Méndez Offline");
  await page.getByTestId("new-customer-phone").fill("33 1987 6543");
  await page.getByTestId("save-customer").click();
  await page.getByTestId("sale-customer").filter({ hasText: "Cliente: Rosa Méndez Offline" }).waitFor();
  folios.push(await charge(page));
  sold[products[0].id] += 1;

  // 2: mixed payment, $1,000 by card and the rest in cash.
  await scan(page, products[1].codigo_barras);
  await page.getByTestId("cart-line").first().waitFor();
  await page.getByTestId("pay-mixed").click();
  await page.getByTestId("card-amount").fill("1000");
  await page.getByTestId("cash-received").fill(String((products[1].precio - 100_000) / 100));
  folios.push(await charge(page));
  sold[products[1].id] += 1;

  // 3–19: plain sales.
  for (let i = 0; i < 17; i++) {
    const p = products[i % 3];
    folios.push(await sellByBarcode(page, p.codigo_barras));
    sold[p.id] += 1;
  }

  // 20: a pair of sale 3 comes back.
  const returned = products[0];
  await page.getByTestId("go-return").click();
  await page.getByTestId("return-folio").fill(folios[2]);
  await page.getByTestId("find-sale").click();
  await page.getByTestId("return-sale").waitFor();
  await page.getByTestId("return-more").first().click();
  await page.getByTestId("return-reason").fill("Talla equivocada");
  await page.getByTestId("save-return").click();
  const saved = await page.getByTestId("return-saved").innerText();
  const returnFolio = saved.match(/folio (\S+)/)[1];
  // The printable slip: the return's folio, the pair by colour and size, a line to sign.
  const slip = page.getByTestId("return-slip");
  await slip.waitFor();
  assert.match(await slip.innerText(), new RegExp(`Devolución ${returnFolio}[\\s\\S]*talla[\\s\\S]*Firma del cliente`));
  await page.screenshot({ path: artifactPath("return-slip.png") });
  await page.keyboard.press("Escape");
  await slip.waitFor({ state: "detached" });

  // 20 records and the customer, all waiting.
  await waitForPending(page, 21);
  await page.reload();
  await waitForPending(page, 21);
  await page.screenshot({ path: artifactPath("offline-day-after-reload.png"), fullPage: true });

  await context.setOffline(false);
  await waitForPending(page, 0, 60_000);

  await page.getByRole("button", { name: "Salir" }).click();
  await signIn(page, DEMO.gerente);
  const sales = await page.evaluate(async () => (await (await fetch("/api/sales")).json()));
  assert.equal(sales.length, salesBefore + 20, "exactly the twenty new records");
  const byFolio = new Map(sales.map((s) => [s.folio, s]));
  for (const f of [...folios, returnFolio]) {
    assert.equal(sales.filter((s) => s.folio === f).length, 1, `${f} once`);
  }
  const customer = await page.evaluate(
    async () => (await (await fetch("/api/customers?q=rosa")).json()).items.find((c) => c.nombre === "Rosa Méndez Offline"),
  );
  assert.ok(customer, "the customer created offline reached the server");
  assert.equal(byFolio.get(folios[0]).cliente_id, customer.id, "the first sale names her");
  assert.equal(byFolio.get(folios[1]).forma_pago, "mixto");
  assert.deepEqual(
    byFolio.get(folios[1]).pagos.map((p) => [p.metodo, p.monto]),
    [["tarjeta", 100_000], ["efectivo", products[1].precio - 100_000]],
  );
  const back = byFolio.get(returnFolio);
  assert.equal(back.tipo, "devolucion");
  assert.equal(back.venta_original_id, byFolio.get(folios[2]).id);
  assert.equal(back.total, byFolio.get(folios[2]).total, "one pair of a one-pair sale: all of it back");

  const stockAfter = await stockOf(page, products);
  for (const p of products) {
    const back = p.id === returned.id ? 1 : 0;
    assert.equal(stockAfter[p.id], stockBefore[p.id] - sold[p.id] + back, `stock of ${p.nombre}`);
  }
});
