// What the browser benchmarks share: the demo manager signed in on a newly registered device
// whose first pull (the catalog) has finished, and a backlog of `count` signed sale ops of
// that device made by `sync_backlog` (release build).
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEMO, registerDevice, repoRoot, signIn } from "../e2e/support.mjs";

/** Signs the manager in on `page` at `url`, registers the device and waits for the catalog;
 *  returns her id, the device's id, oxford products (id, price) and today's sales count. */
export async function readyDevice(page, url) {
  await page.goto(url);
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  // The first pull (the catalog) finishes first, so that only what is measured is timed.
  await page.getByTestId("last-sync").filter({ hasText: "Última sincronización" }).waitFor({ timeout: 120_000 });
  return page.evaluate(async () => {
    const me = await (await fetch("/api/auth/me")).json();
    const device = JSON.parse(localStorage.getItem("pronto.dispositivo"));
    const products = (await (await fetch("/api/products?q=oxford&per_page=50")).json()).items;
    const sales = await (await fetch("/api/sales")).json();
    return { author: me.id, device: device.id, products: products.map((p) => ({ id: p.id, precio: p.precio })), sales: sales.length };
  });
}

/** `count` sale ops of the device, signed by a key the generator made: `{key_id, public_key,
 *  ops}` (the key is the caller's to register, when the ops are to reach the server). */
export function backlog(ids, count) {
  const productsFile = path.join(tmpdir(), `pronto-bench-products-${process.pid}.json`);
  writeFileSync(productsFile, JSON.stringify(ids.products));
  return JSON.parse(
    execFileSync(
      path.join(repoRoot, "target", "release", "examples", "sync_backlog"),
      [ids.device, ids.author, productsFile, String(count)],
      { maxBuffer: 1 << 30 },
    ).toString(),
  );
}

/** CPU seconds (user + system) so far of the server process and of every Chromium process. */
export function cpu(serverPid) {
  const ticks = (pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  };
  let browser = 0;
  const kinds = {};
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let comm = "";
    try {
      comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
    } catch {
      continue;
    }
    if (!comm.startsWith("chromium") && !comm.startsWith("chrome")) continue;
    const t = ticks(entry);
    browser += t;
    let kind = "browser";
    try {
      const type = readFileSync(`/proc/${entry}/cmdline`, "utf8").match(/--type=([a-z-]+)/);
      const service = readFileSync(`/proc/${entry}/cmdline`, "utf8").match(/--utility-sub-type=([a-zA-Z.]+)/);
      if (type) kind = service ? `${type[1]}:${service[1]}` : type[1];
    } catch {}
    kinds[kind] = (kinds[kind] ?? 0) + t;
  }
  return { server: ticks(serverPid), browser, kinds };
}

export function cores() {
  return readFileSync("/proc/cpuinfo", "utf8").split("\n").filter((l) => l.startsWith("processor")).length;
}
