// navigator.onLine cannot see a server that is down behind a working network; the heartbeat
// can. Stop the server under an open page, then start it again on the same port.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEMO, launchBrowser, signIn, startServer, waitForConnection } from "./support.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("indicator says the server is unreachable while it is down and recovers when it returns", async () => {
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  await page.goto(server.url);
  await signIn(page, DEMO.cajero);
  await waitForConnection(page, "online");

  const { host } = new URL(server.url);
  const dataDir = server.dataDir;
  await server.stop({ keepData: true });

  await waitForConnection(page, "server_unreachable");
  assert.equal(await page.locator(".connection").innerText(), "Sin conexión al servidor");
  assert.equal(await page.evaluate(() => navigator.onLine), true, "the browser itself still thinks it is online");

  const first = server;
  server = await startServer({ bind: host, dataDir });
  assert.equal(server.url, first.url);
  await waitForConnection(page, "online");
  assert.equal(await page.locator(".connection").innerText(), "En línea");
});
