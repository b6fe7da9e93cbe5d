// navigator.onLine cannot see a server that is down behind a working network; the heartbeat
// can. Stop the server under an open page, then start it again on the same port.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEMO, serverAndBrowser, signIn, startServer, waitForConnection } from "./support.mjs";

const env = serverAndBrowser();

test("indicator says the server is unreachable while it is down and recovers when it returns", async () => {
  const page = env.browser.context.pages()[0] ?? (await env.browser.context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.cajero);
  await waitForConnection(page, "online");

  const { host } = new URL(env.server.url);
  const dataDir = env.server.dataDir;
  await env.server.stop({ keepData: true });

  await waitForConnection(page, "server_unreachable");
  assert.equal(await page.locator(".connection").innerText(), "Sin conexión al servidor");
  assert.equal(await page.evaluate(() => navigator.onLine), true, "the browser itself still thinks it is online");

  const first = env.server;
  env.server = await startServer({ bind: host, dataDir });
  assert.equal(env.server.url, first.url);
  await waitForConnection(page, "online");
  assert.equal(await page.locator(".connection").innerText(), "En línea");
});
