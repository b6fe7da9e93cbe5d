// A new release reaches an open device cleanly: the new service worker waits beside the old
// one, the page offers the update, and only after the tap does the page reload into the new
// release, with the old release's cache gone (no mix of old and new files).
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { DEMO, launchBrowser, repoRoot, signIn, startServer, waitForServiceWorker } from "./support.mjs";

let server;
let browser;
let dist;

before(async () => {
  // A private copy of the build, so the test can publish a "new release" into it.
  dist = mkdtempSync(path.join(tmpdir(), "pronto-dist-"));
  cpSync(process.env.PRONTO_DIST || path.join(repoRoot, "dist"), dist, { recursive: true });
  server = await startServer({ dist });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const shellCaches = (page) =>
  page.evaluate(async () => (await caches.keys()).filter((name) => name.startsWith("pronto-shell-")));

test("a new release waits for the cashier's tap, then replaces the old one entirely", async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(server.url);
  await signIn(page, DEMO.cajero);
  await waitForServiceWorker(page);
  const [oldCache] = await shellCaches(page);
  assert.match(oldCache, /^pronto-shell-[0-9a-f]{16}$/);

  // Publish a release: a different sw.js (as every build with changed files produces).
  const swPath = path.join(dist, "sw.js");
  const oldVersion = oldCache.replace("pronto-shell-", "");
  const newVersion = "feedfacecafebeef";
  writeFileSync(swPath, readFileSync(swPath, "utf8").replace(oldVersion, newVersion));
  rmSync(`${swPath}.br`, { force: true });
  rmSync(`${swPath}.gz`, { force: true });

  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  const banner = page.getByRole("alert");
  await banner.getByText("Hay una nueva versión de Pronto POS.").waitFor({ timeout: 10_000 });

  // Until the tap, the page still runs the old release from the old cache.
  const beforeTap = await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    return { waiting: registration.waiting !== null, caches: await caches.keys() };
  });
  assert.equal(beforeTap.waiting, true);
  assert.ok(beforeTap.caches.includes(oldCache));

  await Promise.all([
    page.waitForEvent("load", { timeout: 10_000 }),
    banner.getByRole("button", { name: "Actualizar ahora" }).click(),
  ]);
  await waitForServiceWorker(page);

  assert.deepEqual(await shellCaches(page), [`pronto-shell-${newVersion}`]);
  assert.equal(await page.getByRole("alert").count(), 0, "no banner after updating");
  await page.getByRole("heading", { name: "Bienvenido a Pronto POS" }).waitFor();
});
