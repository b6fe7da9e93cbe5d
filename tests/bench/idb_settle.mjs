// What the device's storage costs during a replay, without the server: 10,000 outbox records
// shaped like the till's (a sale op of ≈ 1.1 KB as JSON text) are read 1,000 at a time and
// settled as the app settles them — deleted from the outbox and put into the acknowledged store
// in one durable transaction — in plain JavaScript. Prints the CPU time of Chromium's processes
// (the browser process hosts IndexedDB), to compare with the replay's (bench/replay.mjs).
//
//   cd tests && node bench/idb_settle.mjs [COUNT]
import { launchBrowser, startServer } from "../e2e/support.mjs";
import { cpu } from "./device.mjs";

const COUNT = Number(process.argv[2] ?? 10_000);
// `keep` (the app: settled ops move to the acknowledged store), `batch` (they move as one
// record per batch), `delete` (they are only deleted) or `read` (only read): what each part costs.
const MODE = process.argv[3] ?? "keep";
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(`${server.url}/api/health`);
  await page.evaluate(async (count) => {
    const open = indexedDB.open("bench-settle", 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore("outbox", { keyPath: "seq" });
      open.result.createObjectStore("acked", { keyPath: "seq" });
    };
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    const tx = db.transaction("outbox", "readwrite");
    const filler = "x".repeat(1000);
    for (let seq = 1; seq <= count; seq++) {
      const op_id = crypto.randomUUID();
      tx.objectStore("outbox").put({ seq, op_id, category: "venta", op: JSON.stringify({ op_id, seq, filler }) });
    }
    await new Promise((ok, bad) => ((tx.oncomplete = ok), (tx.onerror = bad)));
    window.benchDb = db;
  }, COUNT);
  const before = cpu(server.pid);
  const started = Date.now();
  await page.evaluate(async (mode) => {
    const db = window.benchDb;
    const done = (tx) => new Promise((ok, bad) => ((tx.oncomplete = ok), (tx.onerror = bad)));
    let last = 0;
    for (;;) {
      const read = db.transaction("outbox", "readonly");
      const all = read.objectStore("outbox").getAll(IDBKeyRange.lowerBound(last, true), 1000);
      const rows = await new Promise((ok) => (all.onsuccess = () => ok(all.result)));
      if (rows.length === 0) break;
      const first = rows[0].seq;
      last = rows[rows.length - 1].seq;
      if (mode === "read") continue;
      const write = db.transaction(["outbox", "acked"], "readwrite", { durability: "strict" });
      write.objectStore("outbox").delete(IDBKeyRange.bound(first, last));
      const at = Date.now();
      if (mode === "batch") {
        write.objectStore("acked").put({ seq: first, last, ops: rows.map((row) => row.op), at_ms: at });
      }
      if (mode === "keep") {
        for (const row of rows) write.objectStore("acked").put({ seq: row.seq, op_id: row.op_id, op: row.op, at_ms: at });
      }
      await done(write);
    }
  }, MODE);
  const seconds = (Date.now() - started) / 1000;
  const after = cpu(server.pid);
  const kinds = Object.keys(after.kinds)
    .map((k) => `${k} ${(after.kinds[k] - (before.kinds[k] ?? 0)).toFixed(2)} s`)
    .join(", ");
  console.log(
    `${MODE}: read and settle ${COUNT} outbox records in batches of 1,000: ${seconds.toFixed(2)} s; Chromium CPU ${(after.browser - before.browser).toFixed(2)} s (${kinds})`,
  );
} finally {
  await browser.close();
  await server.stop();
}
