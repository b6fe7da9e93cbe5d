// Signing in and out in the browser: the error for a wrong password, the header with the
// person, role and store, a session that survives a reload, and sign-out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEMO, launchBrowser, serverAndBrowser, signIn, waitUntil } from "./support.mjs";

const env = serverAndBrowser();

test("a manager signs in, stays signed in across a reload, and signs out", async () => {
  const page = env.browser.context.pages()[0] ?? (await env.browser.context.newPage());
  await page.goto(env.server.url);
  await page.getByRole("heading", { name: "Iniciar sesión" }).waitFor();

  await page.getByLabel("Usuario").fill(DEMO.gerente.usuario);
  await page.getByLabel("Contraseña").fill("equivocada");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.getByRole("alert").getByText("Usuario o contraseña incorrectos.").waitFor();

  await signIn(page, DEMO.gerente);
  assert.equal(await page.getByTestId("user-role").innerText(), "Gerente");
  assert.equal(await page.getByTestId("user-store").innerText(), "Pronto Centro Histórico");
  assert.ok(
    !(await page.evaluate(() => document.cookie)).includes("pronto_sesion"),
    "the session cookie is HttpOnly: scripts cannot read it",
  );

  await page.reload();
  await page.getByTestId("user-name").filter({ hasText: DEMO.gerente.nombre }).waitFor();
  await page.getByRole("heading", { name: "Bienvenido a Pronto POS" }).waitFor();

  await page.getByRole("button", { name: "Salir" }).click();
  await page.getByRole("heading", { name: "Iniciar sesión" }).waitFor();
  // The sign-in screen shows at once; the server's answer to the sign-out follows it.
  await waitUntil(async () => (await page.evaluate(async () => (await fetch("/api/auth/me")).status)) === 401, 10_000)
    .catch(() => assert.fail("the server session is gone too"));
  await page.reload();
  await page.getByRole("heading", { name: "Iniciar sesión" }).waitFor();
});

test("a manager registers this browser as a device of the store; another store's cashier is warned", async () => {
  const page = env.browser.context.pages()[0] ?? (await env.browser.context.newPage());
  await page.goto(env.server.url);
  await signIn(page, DEMO.gerente);
  const card = page.getByTestId("device-card");
  await card.getByLabel("Nombre del dispositivo").fill("Caja 1");
  await card.getByRole("button", { name: "Registrar en esta tienda" }).click();
  await card.getByText("Registrado como Caja 1 (C01) en Pronto Centro Histórico.").waitFor();

  await page.reload();
  await card.getByText("Registrado como Caja 1 (C01)").waitFor();
  const devices = await page.evaluate(async () => (await fetch("/api/devices")).json());
  assert.equal(devices.length, 1);
  assert.equal(devices[0].codigo, "C01");

  await page.getByRole("button", { name: "Salir" }).click();
  await signIn(page, { usuario: "cajero1.polanco", contrasena: "cajero2026", nombre: "Diego Castillo" });
  await card.getByRole("alert").getByText("pertenece a otra tienda", { exact: false }).waitFor();
});

test("a sign-in made while the first session check is unanswered is not undone by its late 401", async () => {
  // A fresh browser: no cached profile, so the form shows while /api/auth/me is asked.
  const browser = await launchBrowser();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    let release;
    const held = new Promise((resolve) => (release = resolve));
    let asked = 0;
    await page.route("**/api/auth/me", async (route) => {
      asked += 1;
      if (asked > 1) return route.continue().catch(() => {});
      // The check the app makes as it starts: answered by the server now (no session yet),
      // delivered late, as over a slow link.
      const response = await route.fetch();
      await held;
      await route.fulfill({ response }).catch(() => {});
    });
    await page.goto(env.server.url);
    await page.getByRole("button", { name: "Entrar" }).waitFor();
    await signIn(page, DEMO.cajero);
    const late = page.waitForResponse((r) => r.url().endsWith("/api/auth/me"));
    release();
    // Had the app believed that late 401, it would sign the cashier out and lock her key.
    assert.equal((await late).status(), 401);
    await page.waitForTimeout(500);
    assert.equal(await page.getByTestId("user-name").innerText(), DEMO.cajero.nombre);
    assert.equal(await page.evaluate(() => localStorage.getItem("pronto.perfil") !== null), true);
  } finally {
    await browser.close();
  }
});
