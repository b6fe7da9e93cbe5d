// The till as a cashier uses it, at a landscape tablet's 1024×768 and a portrait one's 800×1280:
// a barcode scanner (a keyboard wedge: digits and Enter, a few ms apart, into whatever has focus)
// adds to the sale after a tap on any control, never types into a money field, waits visibly
// while the receipt is open, and an unknown code leaves the box clean for the next scan; with
// six lines the total and Cobrar are on screen without scrolling; every dialog is modal and
// Escape closes it; a whole sale can be made with the keyboard alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifactPath, DEMO, registerDevice, serverAndBrowser, signIn, waitForPending } from "./support.mjs";

const env = serverAndBrowser();

const VIEWPORTS = [
  { name: "landscape", width: 1024, height: 768 },
  { name: "portrait", width: 800, height: 1280 },
];

/** Milliseconds between two keys of a wedge scanner. */
const SCANNER_KEY_MS = 4;

/**
 * What a wedge scanner does: the code's digits as fast keystrokes, then Enter, each stamped by
 * the system when the scanner sent it. Playwright's `keyboard.type` waits for the page to take
 * each key before it sends the next and stamps it then, so a page busy for 50 ms spreads a scan
 * over 100 ms. A scanner does not wait for the page: its keys queue, and Chromium keeps the
 * time the system received each one in `event.timeStamp`. The keys go through DevTools'
 * `Input.dispatchKeyEvent` with those times.
 */
async function scan(page, code) {
  const cdp = await page.context().newCDPSession(page);
  const start = Date.now();
  const keys = [...code].map((digit) => ({
    key: digit,
    code: `Digit${digit}`,
    text: digit,
    windowsVirtualKeyCode: digit.charCodeAt(0),
  }));
  keys.push({ key: "Enter", code: "Enter", text: "\r", windowsVirtualKeyCode: 13 });
  try {
    for (const [i, key] of keys.entries()) {
      const timestamp = (start + i * SCANNER_KEY_MS) / 1000;
      await cdp.send("Input.dispatchKeyEvent", { type: "keyDown", ...key, timestamp });
      const { text: _, ...up } = key;
      await cdp.send("Input.dispatchKeyEvent", { type: "keyUp", ...up, timestamp: timestamp + 0.001 });
    }
  } finally {
    await cdp.detach();
  }
}

async function cartLines(page) {
  return page.getByTestId("cart-line").count();
}

/** The quantity of the cart line named `name` (0 when absent). */
async function quantityOf(page, name) {
  const line = page.getByTestId("cart-line").filter({ hasText: name });
  if ((await line.count()) === 0) return 0;
  return Number(await line.getByTestId("cart-qty").innerText());
}

/** Waits until `name` is in the cart `quantity` times. */
async function waitForQuantity(page, name, quantity) {
  await page
    .getByTestId("cart-line")
    .filter({ hasText: name })
    .getByTestId("cart-qty")
    .filter({ hasText: new RegExp(`^${quantity}$`) })
    .waitFor({ timeout: 10_000 });
}

let products;
let signedIn = false;

async function openTill(viewport) {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setViewportSize({ width: viewport.width, height: viewport.height });
  if (!signedIn) {
    await page.goto(env.server.url);
    await signIn(page, DEMO.gerente);
    // Everything the sync bar says while the first catalog downloads.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="replay-progress"]')?.textContent;
        if (text) window.__progress.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await registerDevice(page);
    await page.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 60_000 });
    const said = await page.evaluate(() => window.__progress);
    assert.ok(
      said.some((t) => /^Descargando catálogo: [\d,]+ registros \(\d+ %\)$/.test(t)),
      `the first download shows its progress: ${JSON.stringify(said.slice(0, 5))}`,
    );
    // One variant of each of eight models, so every line reads differently.
    products = await page.evaluate(async () => {
      const found = [];
      for (const brand of ["pronto", "andaluz", "flexi"]) {
        for (const kind of ["oxford", "derby", "mocasin"]) {
          const items = (await (await fetch(`/api/products?q=${kind}+${brand}`)).json()).items;
          if (items[0] && !found.some((p) => p.nombre === items[0].nombre)) found.push(items[0]);
        }
      }
      return found;
    });
    assert.ok(products.length >= 7, "the demo catalog has enough boots to fill a ticket");
    signedIn = true;
  }
  await page.goto(`${env.server.url}/venta`);
  await page.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 60_000 });
  await page.getByTestId("product-search").waitFor();
  return page;
}

async function emptyCart(page) {
  while ((await cartLines(page)) > 0) {
    await page.getByRole("button", { name: "Quitar de la venta" }).first().click();
  }
}

for (const viewport of VIEWPORTS) {
  test(`${viewport.name}: a scan after tapping any control lands in the cart and never in a money field`, async () => {
    const page = await openTill(viewport);
    const [a, b] = products;
    const label = (p) => `${p.nombre}`;
    await scan(page, a.codigo_barras);
    await waitForQuantity(page, label(a), 1);
    assert.equal(await page.getByTestId("product-search").inputValue(), "", "the box is clear for the next scan");

    // Each control is tapped, then a scan comes: b's quantity goes up by one every time.
    const controls = [
      () => page.getByTestId("pay-card").click(),
      () => page.getByTestId("pay-mixed").click(),
      () => page.getByTestId("card-amount").click(),
      () => page.getByTestId("pay-cash").click(),
      () => page.getByTestId("quick-cash").nth(1).click(),
      () => page.getByTestId("cash-received").click(),
      () => page.getByTestId("discount").click(),
      () => page.getByRole("button", { name: "Agregar uno" }).first().click(),
      () => page.getByRole("button", { name: "Quitar uno" }).first().click(),
      () => page.getByTestId("line-discount").first().click(),
      () => page.getByTestId("customer-search").click(),
      () => page.getByRole("link", { name: "Devolución" }).focus(),
      () => page.locator("body").click({ position: { x: 5, y: viewport.height - 5 } }),
    ];
    let expected = 0;
    for (const tap of controls) {
      await tap();
      const before = await page.evaluate(() =>
        [...document.querySelectorAll("input")].map((i) => [i.dataset.testid, i.value]),
      );
      await scan(page, b.codigo_barras);
      expected += 1;
      await waitForQuantity(page, label(b), expected);
      const after = await page.evaluate(() =>
        [...document.querySelectorAll("input")].map((i) => [i.dataset.testid, i.value]),
      );
      for (const [field, value] of after) {
        const was = before.find(([f]) => f === field);
        if (was) assert.equal(value, was[1], `the scan typed nothing into ${field}`);
      }
    }

    // A person typing the cash received: the digits are in the field; a scan then is not.
    await page.getByTestId("cash-received").fill("");
    await page.getByTestId("cash-received").click();
    await page.keyboard.type("5000", { delay: 150 });
    assert.equal(await page.getByTestId("cash-received").inputValue(), "5000", "typed by hand, the amount is kept");
    await scan(page, a.codigo_barras);
    await waitForQuantity(page, label(a), 2);
    assert.equal(await page.getByTestId("cash-received").inputValue(), "5000", "a scan is never typed into the cash");
    assert.doesNotMatch(await page.getByTestId("change-due").innerText(), /\d{7,}/);

    // An unknown code is said next to the box and cleared; the next good scan adds.
    await page.getByTestId("product-search").click();
    await scan(page, "9999999999994");
    await page.getByTestId("scan-problem").filter({ hasText: "9999999999994" }).waitFor();
    assert.equal(await page.getByTestId("product-search").inputValue(), "");
    await scan(page, a.codigo_barras);
    await waitForQuantity(page, label(a), 3);
    await page.getByTestId("scan-problem").waitFor({ state: "detached" });
    await page.screenshot({ path: artifactPath(`till-${viewport.name}-scans.png`) });
    await emptyCart(page);
  });

  test(`${viewport.name}: with six lines the total and Cobrar are on screen without scrolling`, async () => {
    const page = await openTill(viewport);
    for (const p of products.slice(0, 6)) {
      const before = await cartLines(page);
      await scan(page, p.codigo_barras);
      await page.getByTestId("cart-line").nth(before).waitFor();
    }
    assert.equal(await cartLines(page), 6);
    const inView = await page.evaluate(() => {
      const visible = (id) => {
        const r = document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth;
      };
      return {
        scrolled: window.scrollY,
        charge: visible("charge"),
        total: visible("sale-total"),
        pending: visible("pending-count"),
        store: (() => {
          const el = document.querySelector('[data-testid="user-store"]');
          return el.scrollWidth <= el.clientWidth + 1 && visible("user-store");
        })(),
      };
    });
    assert.deepEqual(inView, { scrolled: 0, charge: true, total: true, pending: true, store: true });
    await page.screenshot({ path: artifactPath(`till-${viewport.name}-six-lines.png`) });
    await emptyCart(page);
  });

  test(`${viewport.name}: a scan with the receipt open waits visibly, or starts the next sale when chosen`, async () => {
    const page = await openTill(viewport);
    const [a, b] = products;
    await scan(page, a.codigo_barras);
    await page.getByTestId("cart-line").first().waitFor();
    await page.getByTestId("charge").click();
    const receipt = page.getByTestId("receipt");
    await receipt.waitFor();
    if (await page.getByTestId("scan-closes-receipt").isChecked()) {
      await page.getByTestId("scan-closes-receipt").uncheck();
    }
    await scan(page, b.codigo_barras);
    await page.getByTestId("scans-waiting").waitFor();
    assert.ok(await receipt.isVisible(), "the receipt stays until the cashier closes it");
    await page.screenshot({ path: artifactPath(`till-${viewport.name}-receipt-waiting.png`) });
    await page.getByTestId("new-sale").click();
    await waitForQuantity(page, b.nombre, 1);
    assert.equal(await cartLines(page), 1, "the waiting scan is the next sale's first line");

    await page.getByTestId("charge").click();
    await receipt.waitFor();
    await page.getByTestId("scan-closes-receipt").check();
    await scan(page, a.codigo_barras);
    await receipt.waitFor({ state: "detached" });
    await waitForQuantity(page, a.nombre, 1);
    await emptyCart(page);
    await page.evaluate(() => localStorage.removeItem("pronto.venta.escaneo_cierra_ticket"));
  });

  test(`${viewport.name}: every dialog is modal and Escape closes it; a sale is made with the keyboard alone`, async () => {
    const page = await openTill(viewport);
    const search = page.getByTestId("product-search");

    // The size grid: focus moves in and Tab stays in it; Escape closes it.
    await search.fill(products[0].nombre);
    await page.getByTestId("open-grid").first().waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    const grid = page.getByTestId("size-grid");
    await grid.waitFor();
    for (let i = 0; i < 6; i++) {
      assert.ok(await grid.evaluate((d) => d.contains(document.activeElement)), "focus stays in the grid");
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Escape");
    await grid.waitFor({ state: "detached" });

    // The manager's approval: a discount over the store's limit opens it; Escape closes it.
    await scan(page, products[0].codigo_barras);
    await page.getByTestId("cart-line").first().waitFor();
    await page.getByTestId("discount").fill("60");
    await page.getByTestId("charge").click();
    const approval = page.getByTestId("approval");
    await approval.waitFor();
    assert.ok(await approval.evaluate((d) => d.contains(document.activeElement)), "focus is in the approval");
    await page.keyboard.press("Escape");
    await approval.waitFor({ state: "detached" });
    await page.getByTestId("discount").fill("");
    await emptyCart(page);

    // Keyboard only: search, Tab to the model, Enter opens the grid, Tab to a size, Enter adds
    // it; Tab to Cobrar, Enter charges; Escape closes the receipt.
    await search.focus();
    await page.keyboard.type(products[0].nombre);
    await page.getByTestId("open-grid").first().waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await grid.waitFor();
    let inCell = false;
    for (let i = 0; i < 5 && !inCell; i++) {
      await page.keyboard.press("Tab");
      inCell = await page.evaluate(() => document.activeElement?.dataset.testid === "grid-cell");
    }
    assert.ok(inCell, "a size cell is a few Tabs into the grid");
    await page.keyboard.press("Enter");
    await grid.waitFor({ state: "detached" });
    await page.getByTestId("cart-line").first().waitFor();
    let onCharge = false;
    for (let i = 0; i < 40 && !onCharge; i++) {
      await page.keyboard.press("Tab");
      onCharge = await page.evaluate(() => document.activeElement?.dataset.testid === "charge");
    }
    assert.ok(onCharge, "Cobrar is reached with Tab");
    await page.keyboard.press("Enter");
    const receipt = page.getByTestId("receipt");
    await receipt.waitFor();
    const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
    await page.keyboard.press("Escape");
    await receipt.waitFor({ state: "detached" });
    assert.equal(await cartLines(page), 0);
    await waitForPending(page, 0);
    const stored = await page.evaluate(
      async (f) => (await (await fetch("/api/sales")).json()).some((s) => s.folio === f),
      folio,
    );
    assert.ok(stored, `the keyboard-made sale ${folio} is on the server`);
    assert.ok(
      await page.evaluate(() => document.activeElement?.dataset.testid === "product-search"),
      "after the receipt, focus is back in the search box",
    );
  });
}
