// A first visit downloads the app once: the service worker, installed after the app started,
// stores the files the page has just downloaded instead of fetching them again (issue 21).
// Counted at the server, from its request log.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEMO, launchBrowser, registerDevice, signIn, startServer, waitForCatalog, waitForServiceWorker } from "./support.mjs";

const env = {};
before(async () => {
  env.server = await startServer({ log: "warn,tower_http::trace=debug,pronto_backend::server=info" });
  env.browser = await launchBrowser();
});
after(async () => {
  await env.browser?.close();
  await env.server?.stop();
});

/** How many times the server answered GET `path`. */
function served(path) {
  return env.server
    .log()
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((line) => line.includes("finished processing request") && line.includes(`path=${path}`) && line.includes("method=GET")).length;
}

test("a first visit downloads the wasm, its glue and the styles once, service worker included", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  // Activated: its install, which fills the cache, is over.
  await waitForServiceWorker(page);
  const assets = await page.evaluate(() =>
    performance
      .getEntriesByType("resource")
      .map((entry) => new URL(entry.name).pathname)
      .filter((path) => /\.(wasm|js|css)$/.test(path) && path !== "/sw.js"),
  );
  const cached = await page.evaluate(async () => {
    const names = await caches.keys();
    const cache = await caches.open(names.find((name) => name.startsWith("pronto-shell-")));
    return (await cache.keys()).map((request) => new URL(request.url).pathname);
  });
  for (const path of ["_bg.wasm", ".js", ".css"].map((end) => assets.find((p) => p.endsWith(end)))) {
    assert.ok(path, `the page loaded its ${path}`);
    assert.ok(cached.includes(path), `${path} is in the service worker's cache`);
    assert.equal(served(path), 1, `${path} left the server once`);
  }
});

/** A fresh browser (no service worker yet, so every request reaches the route) whose wasm
 *  download waits until `release()` is called. */
async function heldWasm() {
  const browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  await page.route("**/*.wasm", async (route) => {
    await gate;
    await route.continue().catch(() => {});
  });
  return { browser, page, release };
}

test("the sign-in screen shows and takes typing before the wasm arrives, and the app keeps it in place", async () => {
  const { browser, page, release } = await heldWasm();
  try {
    await page.goto(env.server.url);
    const plain = page.locator("#arranque");
    await plain.getByText("Entra con el usuario que te dio tu gerente.").waitFor();
    assert.equal(await plain.getByRole("button", { name: "Cargando…" }).isDisabled(), true);
    const lead = await page.locator(".lead").boundingBox();
    const card = await page.locator("section.login").boundingBox();
    // Everything but the button's word: the plain screen is a copy of the app's.
    const words = () => page.locator("section.login :is(h1, .lead, label > span)").allInnerTexts();
    const plainWords = await words();
    await plain.getByLabel("Usuario").fill(DEMO.cajero.usuario);
    await plain.getByLabel("Contraseña").fill(DEMO.cajero.contrasena);
    release();
    await plain.waitFor({ state: "detached" });
    const entrar = page.getByRole("button", { name: "Entrar" });
    await entrar.waitFor();
    assert.equal(await page.getByLabel("Usuario").inputValue(), DEMO.cajero.usuario);
    assert.equal(await page.getByLabel("Contraseña").inputValue(), DEMO.cajero.contrasena);
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "contrasena");
    assert.deepEqual(await page.locator(".lead").boundingBox(), lead, "the lead paragraph did not move");
    assert.deepEqual(await page.locator("section.login").boundingBox(), card, "the card did not move");
    assert.deepEqual(await words(), plainWords, "the plain screen says what the app's says");
    assert.equal(plainWords.length, 4);
    await entrar.click();
    await page.getByTestId("user-name").filter({ hasText: DEMO.cajero.nombre }).waitFor();
  } finally {
    await browser.close();
  }
});

test("a device with someone signed in shows no sign-in form before the wasm arrives", async () => {
  const { browser, page, release } = await heldWasm();
  try {
    await page.goto(env.server.url);
    await page.locator("#arranque .lead").waitFor();
    await page.evaluate(() => localStorage.setItem("pronto.perfil", "{}"));
    await page.reload();
    await page.locator("#arranque p.loading").getByText("Cargando…", { exact: true }).waitFor();
    assert.equal(await page.locator("#arranque-acceso").isVisible(), false);
    release();
  } finally {
    await browser.close();
  }
});

test("a tab that gets no animation frames (a hidden one) still starts the app, and its sync runs", async () => {
  // Headless Chromium paints every tab; a hidden tab gets no frames at all. The app waits for
  // a frame before taking over the plain screen, with a timer as the way out: here no frame
  // ever comes, so only the timer can start it.
  const browser = await launchBrowser();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.addInitScript(() => {
      window.framesAsked = 0;
      window.requestAnimationFrame = () => ++window.framesAsked;
    });
    await page.goto(env.server.url);
    await page.locator("#arranque").waitFor({ state: "detached" });
    assert.ok((await page.evaluate(() => window.framesAsked)) >= 1, "the app asked for a frame");
    await signIn(page, DEMO.gerente);
    await registerDevice(page);
    const product = await page.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);
    await waitForCatalog(page, product.codigo_barras);
  } finally {
    await browser.close();
  }
});
