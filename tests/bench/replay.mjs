// Replay benchmark in real Chromium against the local server: a device with a backlog of
// 10,000 sale ops in its IndexedDB outbox comes back online; the page's own sync loop pushes
// them (up to 1,000 ops per push over fetch, PUSH_BATCH; settled ops moved out of the outbox in IndexedDB).
// Prints ops/s.
//
//   cargo build --release -p pronto-backend && cargo build --release -p pronto-shared --example sync_backlog
//   bash scripts/run.sh is not needed; dist/ must be built (scripts/test.sh does it)
//   cd tests && node bench/replay.mjs [COUNT]
import path from "node:path";
import { launchBrowser, repoRoot, startServer, waitForConnection, waitForPending } from "../e2e/support.mjs";
import { backlog, cpu, cores, readyDevice } from "./device.mjs";

const COUNT = Number(process.argv[2] ?? 10_000);
process.env.PRONTO_BIN ??= path.join(repoRoot, "target", "release", "pronto");

const server = await startServer();
const browser = await launchBrowser();
try {
  const { context } = browser;
  const page = context.pages()[0] ?? (await context.newPage());
  const ids = await readyDevice(page, server.url);
  // The backlog is signed by a key of the manager's made by the generator: register it in her
  // session, as the app registers the key it makes at sign-in.
  const { key_id: keyId, public_key: publicKey, ops: backlogOps } = backlog(ids, COUNT);
  const registered = await page.evaluate(
    async ({ device, keyId, publicKey }) =>
      (
        await fetch(`/api/devices/${device}/claves`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ clave_id: keyId, publica: publicKey }),
        })
      ).status,
    { device: ids.device, keyId, publicKey },
  );
  if (registered !== 201) throw new Error(`key registration answered ${registered}`);
  const backlogJson = JSON.stringify(backlogOps);

  await context.setOffline(true);
  await waitForConnection(page, "offline");
  await page.evaluate(async (json) => {
    const ops = JSON.parse(json);
    const open = indexedDB.open("pronto");
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    const tx = db.transaction(["outbox", "meta"], "readwrite");
    const outbox = tx.objectStore("outbox");
    for (const op of ops) outbox.add({ op_id: op.op_id, seq: op.seq, op: JSON.stringify(op), category: "venta" });
    tx.objectStore("meta").put(ops.length, "last_seq");
    await new Promise((ok, bad) => ((tx.oncomplete = ok), (tx.onerror = bad)));
    db.close();
  }, backlogJson);
  await waitForPending(page, COUNT);

  const pushes = [];
  page.on("requestfinished", (request) => {
    if (!request.url().includes("/api/sync/push")) return;
    const t = request.timing();
    pushes.push({ at: Date.now(), server: t.responseEnd - t.requestStart, start: t.startTime + t.requestStart, end: t.startTime + t.responseEnd });
  });
  const cpuBefore = cpu(server.pid);
  const started = Date.now();
  await context.setOffline(false);
  // The outbox itself, polled every 20 ms (the bar's counter refreshes once a second).
  const outboxCount = () =>
    page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open("pronto");
          open.onsuccess = () => {
            const db = open.result;
            const count = db.transaction("outbox").objectStore("outbox").count();
            count.onsuccess = () => {
              db.close();
              resolve(count.result);
            };
          };
          open.onerror = () => resolve(-1);
        }),
    );
  const deadline = Date.now() + 600_000;
  while ((await outboxCount()) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - started) / 1000;
  const cpuAfter = cpu(server.pid);
  const sales = await page.evaluate(async () => (await (await fetch("/api/sales")).json()).length);
  console.log(
    `replay of ${COUNT} sale ops from IndexedDB to the server: ${seconds.toFixed(2)} s = ${Math.round(COUNT / seconds)} ops/s ` +
      `(from going online until the outbox is empty, including the page noticing the network is back)`,
  );
  if (pushes.length > 0) {
    const first = pushes[0].at - pushes[0].server;
    const span = (pushes[pushes.length - 1].at - first) / 1000;
    const inServer = pushes.reduce((sum, p) => sum + p.server, 0) / 1000;
    console.log(
      `${pushes.length} pushes; from the first push to the last answer ${span.toFixed(2)} s = ${Math.round(COUNT / span)} ops/s; ` +
        `waiting for the server (request sent to answer received) ${inServer.toFixed(2)} s in all`,
    );
    const ended = started + seconds * 1000;
    console.log(
      `the first push left ${(first - started).toFixed(0)} ms after going online; ` +
        `the outbox was seen empty ${(ended - pushes[pushes.length - 1].at).toFixed(0)} ms after the last answer`,
    );
    const waits = pushes.map((p) => p.server).sort((a, b) => a - b);
    const median = waits[Math.floor((waits.length - 1) / 2)];
    console.log(`one push's wait for the server: median ${median.toFixed(0)} ms, slowest ${waits[waits.length - 1].toFixed(0)} ms`);
  }
  if (process.env.TIMELINE) { const t0 = pushes[0]?.start ?? 0; console.log(pushes.map((p) => `${(p.start - t0).toFixed(0)}-${(p.end - t0).toFixed(0)}`).join(" ")); }
  const used = (side) => cpuAfter[side] - cpuBefore[side];
  console.log(
    `CPU from going online to the empty outbox: server ${used("server").toFixed(2)} s, browser ${used("browser").toFixed(2)} s ` +
      `(${Math.round((used("server") * 1e6) / COUNT)} and ${Math.round((used("browser") * 1e6) / COUNT)} µs per op; ` +
      `${seconds.toFixed(2)} s of wall time on ${cores()} cores)`,
  );
  console.log(
    "browser CPU by process: " +
      Object.keys(cpuAfter.kinds)
        .map((k) => `${k} ${((cpuAfter.kinds[k] - (cpuBefore.kinds[k] ?? 0))).toFixed(2)} s`)
        .join(", "),
  );
  console.log(`server sales today: ${ids.sales} before, ${sales} after (${sales - ids.sales} new)`);
} finally {
  await browser.close();
  await server.stop();
}

