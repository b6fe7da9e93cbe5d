// First catalog download in real Chromium (issue 21): a server with a demo catalog of
// VARIANTS variants (`pronto serve --demo --demo-variants`), the manager signed in on a new
// tablet; timed from the tap on "Registrar en esta tienda" until the sync bar says "Última
// sincronización", i.e. every record is in IndexedDB with its search indexes. Also prints the
// network's share (each pull request from its start to its last byte, added up) and the bytes
// the pulls moved.
//
//   cargo build --release -p pronto-backend; dist/ built (scripts/test.sh does it)
//   cd tests && node bench/catalog.mjs [VARIANTS]       (default 20000)
import path from "node:path";
import { DEMO, cachedCatalog, launchBrowser, repoRoot, signIn, startServer } from "../e2e/support.mjs";

const VARIANTS = Number(process.argv[2] ?? 20_000);
process.env.PRONTO_BIN ??= path.join(repoRoot, "target", "release", "pronto");

const server = await startServer({ args: ["--demo-variants", String(VARIANTS)] });
const browser = await launchBrowser();
try {
  const { context } = browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(server.url);
  await signIn(page, DEMO.gerente);
  const pulls = [];
  page.on("requestfinished", async (request) => {
    if (!request.url().includes("/api/sync/pull")) return;
    const timing = request.timing();
    const sizes = await request.sizes().catch(() => ({ responseBodySize: 0 }));
    pulls.push({ ms: timing.responseEnd - timing.requestStart, bytes: sizes.responseBodySize });
  });
  const card = page.getByTestId("device-card");
  await card.getByLabel("Nombre del dispositivo").fill("Caja nueva");
  // PROFILE=file.cpuprofile records the page's main thread (open it in Chrome's DevTools).
  const profiler = process.env.PROFILE ? await context.newCDPSession(page) : null;
  if (profiler) {
    await profiler.send("Profiler.enable");
    await profiler.send("Profiler.setSamplingInterval", { interval: 200 });
    await profiler.send("Profiler.start");
  }
  const started = Date.now();
  await card.getByRole("button", { name: "Registrar en esta tienda" }).click();
  await page
    .getByTestId("last-sync")
    .filter({ hasText: "Última sincronización" })
    .waitFor({ timeout: 600_000 });
  const seconds = (Date.now() - started) / 1000;
  if (profiler) {
    const { profile } = await profiler.send("Profiler.stop");
    const fs = await import("node:fs");
    fs.writeFileSync(process.env.PROFILE, JSON.stringify(profile));
  }
  const cached = Object.keys(await cachedCatalog(page)).length;
  const network = pulls.reduce((sum, p) => sum + p.ms, 0) / 1000;
  const bytes = pulls.reduce((sum, p) => sum + p.bytes, 0);
  console.log(
    `first download of ${VARIANTS} variants (${cached} products cached): ${seconds.toFixed(2)} s ` +
      `= ${Math.round(cached / seconds)} variants/s; ${pulls.length} pulls, ` +
      `network ${network.toFixed(2)} s, ${bytes} bytes over the wire`,
  );
} finally {
  await browser.close();
  await server.stop();
}
