// A till whose disk fills up while it sells offline (issue 17): Chromium's profile lives on a
// small tmpfs that the test fills to its last few hundred kilobytes. At the write that fails,
// Chromium may reset the whole IndexedDB database under the open page. Every sale that showed
// a receipt must reach the server once space is freed and the network returns; the sale that
// could not be stored shows an error and no receipt. Mounting needs root (CI runs as root);
// elsewhere the test is skipped with a notice.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { DEMO, launchBrowser, registerDevice, signIn, startServer, waitForCatalog, waitForPending, waitUntil } from "./support.mjs";

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : "needs root to mount a small tmpfs for the browser profile (CI runs as root)";
if (skip) console.log(`# full_disk.test.mjs skipped: ${skip}`);

/** Room the tmpfs leaves the browser: its profile, the app's cache and the catalog fit. */
const TMPFS_SIZE = "96m";
const CHUNK = Buffer.alloc(64 * 1024, 7);

let mountDir;
let server;
let browser;
let context;

before(async () => {
  if (skip) return;
  mountDir = mkdtempSync(path.join(tmpdir(), "pronto-full-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${TMPFS_SIZE}`, "tmpfs", mountDir]);
  server = await startServer();
  browser = await launchBrowser({ under: mountDir });
  context = browser.context;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (mountDir) {
    try {
      execFileSync("umount", [mountDir]);
    } finally {
      rmSync(mountDir, { recursive: true, force: true });
    }
  }
});

/** Fills the tmpfs with one file until the disk refuses, then gives `slack` bytes back. */
function fillDisk(file, slack) {
  const fd = openSync(file, "a");
  // Bytes first, then one at a time: the last partial page too.
  const chunks = [CHUNK, Buffer.alloc(512, 7), Buffer.alloc(1, 7)];
  for (const chunk of chunks) {
    try {
      for (;;) writeSync(fd, chunk);
    } catch (err) {
      if (err.code !== "ENOSPC") throw err;
    }
  }
  if (slack > 0) ftruncateSync(fd, Math.max(0, fstatSync(fd).size - slack));
  closeSync(fd);
}

/** Fills the disk until it stays full for a second: a reset database's files are freed by
 *  the browser some time after the reset. */
async function fillSteadily(file) {
  for (let round = 0; round < 20; round++) {
    fillDisk(file, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const { bavail, bsize } = statfsSync(mountDir);
    if (bavail * bsize < 64 * 1024) return;
  }
}

/** Scans `barcode` into the cart. */
async function scan(page, barcode) {
  const search = page.getByTestId("product-search");
  await search.fill(barcode);
  await search.press("Enter");
  await page.getByTestId("cart-line").first().waitFor();
}

/** Charges the cart; the folio of its receipt, or `null` and the message shown when the
 *  device could not store the sale. */
async function charge(page) {
  await page.getByTestId("charge").click();
  const receipt = page.getByTestId("receipt");
  const problem = page.getByTestId("sale-problem");
  await receipt.or(problem).first().waitFor({ timeout: 30_000 });
  if (await problem.isVisible()) {
    return { folio: null, problem: await problem.innerText(), receipts: await receipt.count() };
  }
  const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
  await page.getByTestId("new-sale").click();
  await receipt.waitFor({ state: "detached" });
  return { folio };
}

async function serverFolios(page) {
  const sales = await page.evaluate(async () => (await (await fetch("/api/sales")).json()));
  return sales.map((s) => s.folio);
}

test("a till whose disk fills while it sells offline: every sale with a receipt reaches the server once space and network return", { skip, timeout: 300_000 }, async () => {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
  await waitForCatalog(page, product.codigo_barras);
  await page.getByTestId("go-sell").click();
  await page.getByTestId("product-search").waitFor();

  await context.setOffline(true);
  const receipts = [];
  for (let i = 0; i < 5; i++) {
    await scan(page, product.codigo_barras);
    receipts.push((await charge(page)).folio);
  }
  await waitForPending(page, 5);

  // Other screens of the till hold the next customers' shoes in their carts meanwhile (after
  // a reset this device can no longer find products offline: its catalog went with it).
  // Four of them: a small write may still fit in a page a file of the database holds, so a
  // screen's sale on a full disk is not always refused (one CI run had the first screen's
  // catalog reset and both of two other screens' sales fit).
  const others = [];
  for (let i = 0; i < 4; i++) {
    const other = await context.newPage();
    await other.goto(`${server.url}/venta`);
    await scan(other, product.codigo_barras);
    others.push(other);
  }

  // The disk is filled to the last byte before each sale. A sale may still fit in a page the
  // database's files hold already; at the first write that does not, Chromium resets the
  // whole database (catalog included, so this screen can no longer find the product) or
  // refuses the sale.
  const filler = path.join(mountDir, "relleno");
  let refused = null;
  for (let attempt = 0; attempt < 40 && !refused; attempt++) {
    const search = page.getByTestId("product-search");
    await search.fill(product.codigo_barras);
    await search.press("Enter");
    const added = await page.getByTestId("cart-line").first().waitFor({ timeout: 5_000 }).then(() => true, () => false);
    if (!added) break;
    fillDisk(filler, 0);
    const sale = await charge(page);
    if (sale.folio) receipts.push(sale.folio);
    else refused = sale;
  }
  console.log(`# full disk: ${receipts.length} receipts; refused on the first screen: ${refused?.problem ?? "no"}`);
  // The other screens' carts, with the disk full again once the browser is done with whatever
  // it freed at a reset.
  let refusedToo = null;
  let other = page;
  for (const screen of others) {
    if (refused || refusedToo) break;
    other = screen;
    await fillSteadily(filler);
    const sale = await charge(other);
    if (sale.folio) receipts.push(sale.folio);
    else refusedToo = sale;
  }
  console.log(`# then the other screen: ${refusedToo?.problem ?? "never refused"}`);
  assert.ok(refused || refusedToo, "a full disk refuses a sale at Cobrar");
  for (const sale of [refused, refusedToo].filter(Boolean)) {
    assert.equal(sale.receipts, 0, "with no receipt");
    assert.match(sale.problem, /No se pudo guardar la venta en el dispositivo/);
  }
  // `other` is the screen whose sale was refused.
  assert.equal(await other.getByTestId("cart-line").count(), 1, "the cart is kept");

  unlinkSync(filler);
  await context.setOffline(false);
  // The sales come back from the second copy without a reload, and the catalog from the server.
  await waitForCatalog(page, product.codigo_barras);
  const charged = await charge(other);
  assert.ok(charged.folio, `the kept cart is charged once there is room: ${charged.problem}`);
  receipts.push(charged.folio);
  assert.equal(new Set(receipts).size, receipts.length, `every receipt its own folio: ${receipts}`);

  await waitUntil(async () => {
    const folios = await serverFolios(page);
    return receipts.every((f) => folios.includes(f));
  }, 90_000).catch(() => {});
  const folios = await serverFolios(page);
  assert.deepEqual(receipts.filter((f) => !folios.includes(f)), [], "every sale with a receipt on the server");
  assert.equal(new Set(folios).size, folios.length, "each once");
  await waitForPending(page, 0, 60_000);
  assert.equal(await page.getByTestId("dead-letters").count(), 0, "nothing stranded");
});
