// Idle benchmark in real Chromium: how much main-thread time a screen costs while nobody touches
// it, with an empty outbox and with 2,000 ops waiting (an offline morning: sales, or customers
// created at the till). Each screen shows a search's results (the list screens re-run it after
// every change of the outbox) and is left alone for 10 s; Chromium's own counter of main-thread
// task time (CDP `Performance.getMetrics`, `TaskDuration`) is read before and after.
//
//   cargo build --release -p pronto-backend && cargo build --release -p pronto-shared --example sync_backlog
//   dist/ must be built (scripts/test.sh or scripts/run.sh does it)
//   cd tests && node bench/idle.mjs [PENDING]
import path from "node:path";
import { launchBrowser, repoRoot, startServer, waitForConnection, waitForPending } from "../e2e/support.mjs";
import { backlog, readyDevice } from "./device.mjs";

const PENDING = Number(process.argv[2] ?? 2_000);
const IDLE_MS = 10_000;
process.env.PRONTO_BIN ??= path.join(repoRoot, "target", "release", "pronto");

const SCREENS = [
  { path: "/clientes", query: "customer-query", text: "ana" },
  { path: "/catalogo", query: "catalog-query", text: "oxford" },
  { path: "/venta", query: "product-search", text: "oxford" },
];

const server = await startServer();
const browser = await launchBrowser();
try {
  const { context } = browser;
  const page = context.pages()[0] ?? (await context.newPage());
  const ids = await readyDevice(page, server.url);
  const sales = backlog(ids, PENDING).ops;
  // Customers created at the till: the same ops turned into creates of customers. They never
  // leave the device here (it stays offline), so their checksums are not what the server checks.
  const customers = sales.map((op, i) => ({
    ...op,
    model: "clientes.Cliente",
    kind: "create",
    entity_id: op.op_id,
    fields: { nombre: `Clienta Prueba ${i}`, telefono: String(3_300_000_000 + i) },
  }));

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const taskSeconds = async () =>
    (await cdp.send("Performance.getMetrics")).metrics.find((m) => m.name === "TaskDuration").value;

  const fill = (ops, category) =>
    page.evaluate(
      async ({ json, category }) => {
        const ops = JSON.parse(json);
        const open = indexedDB.open("pronto");
        const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
        const tx = db.transaction(["outbox", "meta"], "readwrite");
        const outbox = tx.objectStore("outbox");
        outbox.clear();
        for (const op of ops) outbox.add({ op_id: op.op_id, seq: op.seq, op: JSON.stringify(op), category });
        tx.objectStore("meta").put(ops.length, "last_seq");
        await new Promise((ok, bad) => ((tx.oncomplete = ok), (tx.onerror = bad)));
        db.close();
      },
      { json: JSON.stringify(ops), category },
    );

  const rows = [];
  for (const [label, ops, category] of [
    ["0 pending", [], "venta"],
    [`${PENDING} pending sales`, sales, "venta"],
    [`${PENDING} pending customer creates`, customers, "cliente"],
  ]) {
    await fill(ops, category);
    await waitForPending(page, ops.length);
    for (const screen of SCREENS) {
      await page.evaluate((to) => {
        history.pushState(null, "", to);
        dispatchEvent(new PopStateEvent("popstate"));
      }, screen.path);
      await page.getByTestId(screen.query).fill(screen.text);
      await page.waitForTimeout(2_000);
      const before = await taskSeconds();
      await page.waitForTimeout(IDLE_MS);
      const busy = (await taskSeconds()) - before;
      rows.push({ outbox: label, screen: screen.path, busy });
      console.log(`${label.padEnd(32)} ${screen.path.padEnd(10)} main thread busy ${busy.toFixed(3)} s in ${IDLE_MS / 1000} s idle`);
    }
  }
  await fill([], "venta");
} finally {
  await browser.close();
  await server.stop();
}
