// The documented deployment (scripts/test-deploy.sh starts it): nginx in front of two pronto
// processes on one PostgreSQL. A till sells through the proxy while a manager's dashboard,
// also through the proxy, stays live: sign-in sessions work whichever process answers, the
// sockets upgrade through nginx, and a sale pushed to one process reaches the dashboard whose
// socket is held by the other (PostgreSQL LISTEN/NOTIFY between them). The proxy's access log
// says which process answered what, so the test keeps selling until a push has gone to the
// process the manager's socket is not on.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { DEMO, launchBrowser, registerDevice, sellByBarcode, signIn, waitForPending, waitUntil } from "../e2e/support.mjs";

const PROXY = process.env.PRONTO_PROXY_URL;
const LOG = process.env.PRONTO_PROXY_LOG;
const UPSTREAMS = (process.env.PRONTO_UPSTREAMS ?? "").split(",");
const TILL_AGENT = "PruebaCaja/1.0";
const MANAGER_AGENT = "PruebaGerente/1.0";

/** The proxy's log lines: method, path, status, upstream, user agent. */
function proxied() {
  return readFileSync(LOG, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [method, path, status, upstream] = line.split(" ");
      return { method, path, status: Number(status), upstream, agent: line.split('"')[1] };
    });
}

const browsers = [];
before(() => {
  assert.ok(PROXY && LOG && UPSTREAMS.length === 2, "run through scripts/test-deploy.sh");
});
after(async () => {
  for (const b of browsers) await b.close();
});

test("a sale through one process reaches the manager's live dashboard on the other, all through nginx", async () => {
  const tillBrowser = await launchBrowser({ userAgent: TILL_AGENT });
  const managerBrowser = await launchBrowser({ userAgent: MANAGER_AGENT });
  browsers.push(tillBrowser, managerBrowser);
  const till = tillBrowser.context.pages()[0] ?? (await tillBrowser.context.newPage());
  const manager = managerBrowser.context.pages()[0] ?? (await managerBrowser.context.newPage());

  await till.goto(PROXY);
  await signIn(till, DEMO.gerente);
  await registerDevice(till, "Caja Proxy");
  await till.getByTestId("go-sell").click();
  await till.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 60_000 });
  const product = await till.evaluate(async () => (await (await fetch("/api/products?q=oxford")).json()).items[0]);

  await manager.goto(PROXY);
  await signIn(manager, DEMO.gerente);
  await manager.goto(`${PROXY}/sincronizacion/dashboard`);
  await manager.locator('[data-testid="dashboard-live"][data-live="true"]').waitFor({ timeout: 30_000 });
  const socket = proxied().find((l) => l.agent === MANAGER_AGENT && l.path === "/ws/sincronizacion/estado/");
  // The upgrade is logged when the socket closes; until then, the process is the one the
  // manager's dashboard requests went to last before it.
  const managerSide = socket?.upstream ?? proxied().filter((l) => l.agent === MANAGER_AGENT && l.path.startsWith("/api/")).at(-1).upstream;
  assert.ok(UPSTREAMS.includes(managerSide), `the manager's socket is on one of the processes: ${managerSide}`);

  // Sessions made through one process hold on the other: every request of both browsers
  // went through, whichever process answered.
  const served = proxied().filter((l) => l.path.startsWith("/api/"));
  assert.deepEqual([...new Set(served.map((l) => l.upstream))].sort(), [...UPSTREAMS].sort(), "both processes answered");
  assert.deepEqual(served.filter((l) => l.status === 401 && l.path !== "/api/auth/me"), [], "no session was refused");

  const row = manager.getByTestId("device-row").filter({ hasText: "Caja Proxy" });
  let crossed = false;
  for (let sale = 1; sale <= 12 && !crossed; sale++) {
    await sellByBarcode(till, product.codigo_barras);
    await waitForPending(till, 0, 30_000);
    const pushes = proxied().filter((l) => l.agent === TILL_AGENT && l.path === "/api/sync/push" && l.status === 200);
    crossed = pushes.some((l) => l.upstream !== managerSide);
    // Live: the dashboard's row of the till counts what it sent, without a reload.
    await waitUntil(async () => Number(await row.locator("td").nth(4).innerText()) >= sale, 15_000);
  }
  assert.ok(crossed, "a push went to the process the manager's socket is not on");
});
