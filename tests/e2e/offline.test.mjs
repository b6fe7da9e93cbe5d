// The app shell works offline: after one online visit, the service worker holds the app, a
// reload with the network cut still renders it, and the indicator tells the cashier so.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  artifactPath,
  DEMO,
  signIn,
  serverAndBrowser,
  waitForConnection,
  waitForServiceWorker,
} from "./support.mjs";

const env = serverAndBrowser();

const indicator = (page) => page.locator(".connection");

test("app renders, works offline after a reload, and the indicator follows the network", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  // Script errors only: the browser also logs every failed request (the 401 before sign-in,
  // the offline /api calls), which are expected here.
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));

  await page.goto(env.server.url);
  await signIn(page, DEMO.cajero);
  await page.getByRole("heading", { name: "Bienvenido a Pronto POS" }).waitFor();
  await waitForConnection(page, "online");
  assert.equal(await indicator(page).innerText(), "En línea");

  await waitForServiceWorker(page);
  await page.locator('[data-testid="offline-ready"][data-ready="true"]').waitFor();

  await context.setOffline(true);
  await page.reload();
  await page.getByRole("heading", { name: "Bienvenido a Pronto POS" }).waitFor();
  assert.ok(
    await page.evaluate(() => navigator.serviceWorker.controller !== null),
    "the offline reload was served by the service worker",
  );
  await waitForConnection(page, "offline");
  assert.equal(await indicator(page).innerText(), "Sin conexión");
  await page.screenshot({ path: artifactPath("offline.png"), fullPage: true });

  await context.setOffline(false);
  await waitForConnection(page, "online");
  assert.equal(await indicator(page).innerText(), "En línea");
  assert.deepEqual(consoleErrors, [], "no errors in the page console");
});
