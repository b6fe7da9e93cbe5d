// A till whose browser throws its IndexedDB away (a full disk, a corrupted file, eviction)
// while localStorage survives: it never takes a folio again, and no sale ends stranded.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEMO, registerDevice, sellByBarcode, serverAndBrowser, signIn, waitForCatalog, waitForPending, waitUntil } from "./support.mjs";

const env = serverAndBrowser();

/** Deletes the app's IndexedDB the way a browser reset does; the deletion completes when the
 *  page's own connection closes, i.e. at the reload that follows. */
async function loseDatabase(page) {
  await page.evaluate(
    () =>
      new Promise((done) => {
        const request = indexedDB.deleteDatabase("pronto");
        request.onsuccess = done;
        request.onblocked = done;
        request.onerror = done;
      }),
  );
  await page.reload();
}

async function salesOfToday(page) {
  return page.evaluate(async () => (await (await fetch("/api/sales")).json()));
}

test("a till whose database was deleted between two sales keeps its sequence: both sales on the server, distinct folios", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
  await waitForCatalog(page, product.codigo_barras);
  await page.getByTestId("go-sell").click();
  const first = await sellByBarcode(page, product.codigo_barras);
  await waitForPending(page, 0);

  await loseDatabase(page);
  await waitForCatalog(page, product.codigo_barras);
  await page.goto(env.server.url);
  await page.getByTestId("go-sell").click();
  const second = await sellByBarcode(page, product.codigo_barras);
  assert.notEqual(second, first, "the second receipt has a folio of its own");
  await waitForPending(page, 0);

  const folios = (await salesOfToday(page)).map((s) => s.folio);
  assert.ok(folios.includes(first) && folios.includes(second), `both on the server: ${folios}`);
  assert.equal(await page.getByTestId("dead-letters").count(), 0, "nothing refused");
});

test("a till that takes a seq the server has already (its sequence lost offline) re-seals the sale, which reaches the server", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
  const before = await salesOfToday(page);
  await page.goto(env.server.url);
  await page.getByTestId("go-sell").click();
  // Offline, with both records of its sequence gone: the next sale takes seq 1 again.
  await context.setOffline(true);
  await page.evaluate(async () => {
    for (const key of Object.keys(localStorage)) {
      if (key.startsWith("pronto.secuencia.")) localStorage.removeItem(key);
    }
    const open = indexedDB.open("pronto");
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    await new Promise((ok, bad) => {
      const tx = db.transaction("meta", "readwrite");
      tx.objectStore("meta").put(0, "last_seq");
      tx.oncomplete = ok;
      tx.onerror = bad;
    });
    db.close();
  });
  await sellByBarcode(page, product.codigo_barras);
  await context.setOffline(false);
  // Refused as a reused seq, re-sealed once the pull taught the device the server's seq.
  await waitUntil(async () => (await salesOfToday(page)).length === before.length + 1, 60_000);
  await waitForPending(page, 0);
  await waitUntil(async () => (await page.getByTestId("dead-letters").count()) === 0, 30_000);
  const folios = (await salesOfToday(page)).map((s) => s.folio);
  assert.equal(new Set(folios).size, folios.length, `every folio once: ${folios}`);
});

test("an op stranded in a till's dead letters is listed, by device, on the manager's queue screen", async () => {
  const { context } = env.browser;
  const page = context.pages()[0];
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
  await page.goto(env.server.url);
  await page.getByTestId("go-sell").click();
  await context.setOffline(true);
  await sellByBarcode(page, product.codigo_barras);
  // A refusal no re-seal can mend, as the engine files it: the op (under an id the server
  // never saw) with the server's answer.
  const reason = "La venta no cuadra con sus pagos.";
  await page.evaluate(async (why) => {
    const open = indexedDB.open("pronto");
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    const ops = await new Promise((ok) => {
      const r = db.transaction("outbox").objectStore("outbox").getAll();
      r.onsuccess = () => ok(r.result);
    });
    const op = JSON.parse(ops[0].op);
    op.op_id = crypto.randomUUID();
    op.seq = 99_999;
    const letter = { op, status: 422, code: "invalid", reason: why };
    await new Promise((ok, bad) => {
      const tx = db.transaction("dead_letters", "readwrite");
      tx.objectStore("dead_letters").put({ op_id: op.op_id, letter: JSON.stringify(letter) });
      tx.oncomplete = ok;
      tx.onerror = bad;
    });
    db.close();
  }, reason);
  await context.setOffline(false);
  await waitForPending(page, 0);

  await page.goto(`${env.server.url}/sincronizacion/cola`);
  const row = page.getByTestId("stranded-op").filter({ hasText: reason });
  await waitUntil(async () => {
    await page.reload();
    return (await row.count()) === 1;
  }, 30_000);
  const text = await row.innerText();
  assert.match(text, /Caja 1/, "the device by name");
  assert.match(text, /99999/);
  assert.match(text, /Venta/);
  assert.doesNotMatch(text, /\d{4}-\d{2}-\d{2}T/, "local time, not UTC ISO");
});
