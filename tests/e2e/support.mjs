// Shared by the end-to-end tests: start the real server on a free port with its own database,
// and launch Debian's Chromium with a fresh profile through playwright-core.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const artifactsDir = path.join(repoRoot, "target", "e2e");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
/** Read at each start, so a script may point it at a release build after importing this. */
const serverBin = () => process.env.PRONTO_BIN || path.join(repoRoot, "target", "debug", "pronto");
const DIST = process.env.PRONTO_DIST || path.join(repoRoot, "dist");

// Flags from DEVELOPERS.md: no sandbox as root, and nothing that phones home (this machine's
// closed network refuses those connections).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Starts `pronto serve`; resolves once it prints its address.
 * `bind` defaults to a free port; `dataDir` (a database kept across restarts) and `dist` may be
 * given to restart a server on the same port, database and build; `log` is its `RUST_LOG`
 * (what it wrote is in `log()` of the result); `args` go to `pronto serve` as well.
 */
export async function startServer({ bind = "127.0.0.1:0", dataDir, dist = DIST, log = "warn", args = [] } = {}) {
  const ownsDir = !dataDir;
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), "pronto-e2e-"));
  const child = spawn(
    serverBin(),
    ["serve", "--demo", "--bind", bind, "--dist", dist, "--database-url", `sqlite://${dir}/pronto.db`, ...args],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: log } },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s\n${stderr}`)), 30_000);
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening\n${stderr}`));
    });
  });
  return {
    url,
    dataDir: dir,
    /** The server's process id. */
    pid: child.pid,
    /** Everything the server wrote to stderr (its log lines) so far. */
    log: () => stderr,
    /** Kills the process outright (SIGKILL), as a crash or power cut would; keeps the data. */
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
    },
    /** Stops the process (SIGTERM, graceful); keeps the database unless we created it. */
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      if (ownsDir && !keepData) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A persistent context on a throwaway profile directory, so every run starts clean; `under`
 *  puts that directory inside another one (a small filesystem). */
export async function launchBrowser({ under = tmpdir(), userAgent } = {}) {
  const profile = mkdtempSync(path.join(under, "pronto-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1024, height: 768 }, // a landscape tablet
    locale: "es-MX",
    ...(userAgent ? { userAgent } : {}),
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Demo accounts (README): the e2e server loads the demo data on first start. */
export const DEMO = {
  cajero: { usuario: "cajero1.centro", contrasena: "cajero2026", nombre: "Lucía Hernández" },
  gerente: { usuario: "gerente.centro", contrasena: "gerente2026", nombre: "Roberto Méndez" },
};

/** Fills the sign-in form and waits for the header to show the person. */
export async function signIn(page, account) {
  await page.getByLabel("Usuario").fill(account.usuario);
  await page.getByLabel("Contraseña").fill(account.contrasena);
  await page.getByRole("button", { name: "Entrar" }).click();
  try {
    await page.getByTestId("user-name").filter({ hasText: account.nombre }).waitFor();
  } catch (err) {
    // What the page said instead (a refusal, "servidor ocupado" …) makes a failure readable.
    const said = await page.locator("[role=alert], [role=status]").allInnerTexts().catch(() => []);
    throw new Error(`sign-in of ${account.usuario} did not complete; the page says: ${JSON.stringify(said)}`, { cause: err });
  }
}

/** Resolves when the page's indicator shows `state` (the data-state attribute). */
export async function waitForConnection(page, state, timeout = 10_000) {
  await page.waitForFunction(
    (expected) => document.querySelector(".connection")?.dataset.state === expected,
    state,
    { timeout },
  );
}

/** Resolves when a service worker is activated and controls the page. */
export async function waitForServiceWorker(page) {
  await page.waitForFunction(
    async () => {
      const registration = await navigator.serviceWorker.ready;
      return registration.active?.state === "activated" && navigator.serviceWorker.controller !== null;
    },
    null,
    { timeout: 10_000 },
  );
}

export function artifactPath(name) {
  mkdirSync(artifactsDir, { recursive: true });
  return path.join(artifactsDir, name);
}

/** Registers this browser as a device of the signed-in manager's store (home page card). */
export async function registerDevice(page, name = "Caja 1") {
  const card = page.getByTestId("device-card");
  await card.getByLabel("Nombre del dispositivo").fill(name);
  await card.getByRole("button", { name: "Registrar en esta tienda" }).click();
  await card.getByTestId("device-status").filter({ hasText: name }).waitFor();
}

/** Resolves when the sync bar shows `count` operations waiting. */
export async function waitForPending(page, count, timeout = 30_000) {
  await page.locator(`[data-testid="pending-count"][data-count="${count}"]`).waitFor({ timeout });
}

/** Rings up one sale of the product with `barcode`, paid in cash, exact amount; returns the
 *  folio printed on its receipt. */
export async function sellByBarcode(page, barcode) {
  const search = page.getByTestId("product-search");
  await search.fill(barcode);
  await search.press("Enter");
  await page.getByTestId("cart-line").first().waitFor();
  await page.getByTestId("charge").click();
  await page.getByTestId("receipt").waitFor();
  const folio = (await page.getByTestId("receipt-folio").innerText()).replace("Folio ", "");
  await page.getByTestId("new-sale").click();
  await page.getByTestId("receipt").waitFor({ state: "detached" });
  return folio;
}

/**
 * A server (demo data) and a browser for the tests of one file: started before them, stopped
 * after. A test may replace `env.server` (a restart on the same port and data).
 */
export function serverAndBrowser() {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/** Polls `check` (async, truthy when done) every 250 ms for up to `timeout` ms. */
export async function waitUntil(check, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error("condition not met in time");
}

/** The device's catalog as its tab would rebuild it: the segments of IndexedDB's `catalogo`
 *  log replayed in key order, as `{id: data}` of `model` (products by default); `{}` before
 *  the first pull. */
export async function cachedCatalog(page, model = "productos.Producto") {
  return page.evaluate(async (model) => {
    // Opening a database that does not exist yet would create it, empty, under the app.
    if (!(await indexedDB.databases()).some((d) => d.name === "pronto")) return {};
    const open = indexedDB.open("pronto");
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    if (!db.objectStoreNames.contains("catalogo")) {
      db.close();
      return {};
    }
    const segments = await new Promise((ok) => {
      const req = db.transaction("catalogo").objectStore("catalogo").getAll();
      req.onsuccess = () => ok(req.result);
      req.onerror = () => ok([]);
    });
    db.close();
    let records = {};
    for (const json of segments) {
      const segment = JSON.parse(json);
      if (segment.base) records = {};
      for (const entry of segment.entries) {
        if (entry.m !== model) continue;
        if (entry.d === null) delete records[entry.id];
        else records[entry.id] = entry.d;
      }
    }
    return records;
  }, model);
}

/** Resolves when the product with `barcode` is in the device's catalog (the first pull has
 *  reached IndexedDB), so a sale can be rung up offline. */
export async function waitForCatalog(page, barcode) {
  await waitUntil(async () =>
    Object.values(await cachedCatalog(page)).some((p) => p.codigo_barras === barcode),
  );
}
