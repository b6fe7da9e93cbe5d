// Every screen checked by axe-core (WCAG 2.1 A and AA rules, in the real page): no serious or
// critical violation — contrast, names of controls, landmarks, dialogs. The till's screens are
// also checked with their dialogs open (the size grid, the receipt).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { artifactPath, DEMO, registerDevice, serverAndBrowser, signIn } from "./support.mjs";

const env = serverAndBrowser();
// Evaluated through the DevTools protocol: the page's CSP (no inline scripts) stays as it is.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** The serious and critical violations axe finds on the page as it is now. */
async function violations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(axeSource);
  }
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] },
      resultTypes: ["violations"],
    });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({
        rule: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.slice(0, 3).map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n")[1] ?? ""}`),
      }));
  });
  return found;
}

/** Every screen's findings, asserted together at the end so one run shows them all. */
const findings = {};

async function check(page, screen) {
  const found = await violations(page);
  if (found.length > 0) {
    findings[screen] = found;
    await page.screenshot({ path: artifactPath(`axe-${screen.replace(/\W+/g, "-")}.png`) });
  }
}

test("every screen, and the till's dialogs, pass axe-core with no serious or critical violation", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.setViewportSize({ width: 1024, height: 768 });
  await page.goto(env.server.url);
  await page.getByLabel("Usuario").waitFor();
  await check(page, "sign-in");

  await signIn(page, DEMO.gerente);
  await check(page, "home before registering");
  await registerDevice(page);
  await page.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 60_000 });
  await check(page, "home");

  const screens = [
    ["/venta", "product-search"],
    ["/inventario", null],
    ["/devolucion", null],
    ["/clientes", "customer-query"],
    ["/catalogo", "catalog-query"],
    ["/sincronizacion/dashboard", "devices"],
    ["/sincronizacion/conflictos/", "conflicts-page"],
    ["/sincronizacion/cola", "queue-ops"],
    ["/sincronizacion/auditoria", "audit-entries"],
    ["/sincronizacion/configuracion", null],
  ];
  for (const [path, ready] of screens) {
    await page.goto(`${env.server.url}${path}`);
    if (ready) await page.getByTestId(ready).waitFor();
    else await page.locator("main h1").first().waitFor();
    await page.waitForTimeout(300);
    await check(page, path);
  }

  // A record's form, in its dialog; Escape closes it.
  await page.goto(`${env.server.url}/clientes`);
  await page.getByTestId("customer-new").click();
  await page.getByTestId("customer-form").waitFor();
  await check(page, "customer form");
  await page.keyboard.press("Escape");
  await page.getByTestId("customer-form").waitFor({ state: "detached" });

  // Moving between screens: the tab names the screen, focus lands on its heading.
  await page.goto(`${env.server.url}/sincronizacion/dashboard`);
  await page.getByRole("link", { name: "Cola" }).click();
  await page.getByTestId("queue-ops").waitFor();
  await page.waitForFunction(() => document.activeElement?.tagName === "H1");
  assert.equal(await page.title(), "Cola de sincronización · Pronto POS");
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Cola de sincronización");

  // The till with its dialogs: results, the size grid, a line in the cart, the receipt.
  await page.goto(`${env.server.url}/venta`);
  await page.getByTestId("product-search").fill("oxford");
  await page.getByTestId("open-grid").first().waitFor();
  await check(page, "sale with results");
  await page.getByTestId("open-grid").first().click();
  await page.getByTestId("size-grid").waitFor();
  await check(page, "size grid");
  await page.getByTestId("grid-cell").first().click();
  await page.getByTestId("cart-line").first().waitFor();
  await check(page, "sale with a line");
  await page.getByTestId("charge").click();
  await page.getByTestId("receipt").waitFor();
  await check(page, "receipt");
  assert.deepEqual(findings, {}, JSON.stringify(findings, null, 2));
});
