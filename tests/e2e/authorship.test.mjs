// Signed authorship on a shared till (issue 15's acceptance): a manager and a cashier both
// sign in on one device; offline, each signs in again with only their password (it unwraps
// their key) and sells; the manager signs out; a script in the page, run as the cashier with
// everything the page can reach, forges ops "by the manager"; back online, every real op
// applies under its own author and the forgeries are refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  artifactPath,
  DEMO,
  registerDevice,
  sellByBarcode,
  serverAndBrowser,
  signIn,
  waitForCatalog,
  waitForConnection,
  waitForPending,
  waitUntil,
} from "./support.mjs";

const env = serverAndBrowser();

/** Puts on `window.prontoTest` what the page scripts below share: the canonical JSON the app
 *  hashes and signs, hex and base64url, and promise wrappers for IndexedDB. */
async function installPageHelpers(page) {
  await page.evaluate(() => {
    const canonical = (v) =>
      Array.isArray(v)
        ? `[${v.map(canonical).join(",")}]`
        : v !== null && typeof v === "object"
          ? `{${Object.keys(v)
              .sort()
              .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
              .join(",")}}`
          : JSON.stringify(v);
    window.prontoTest = {
      canonical,
      hex: (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join(""),
      b64url: (buf) =>
        btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
      sha256: async (text) =>
        window.prontoTest.hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))),
      open: (name) =>
        new Promise((ok, bad) => {
          const r = indexedDB.open(name);
          r.onsuccess = () => ok(r.result);
          r.onerror = bad;
        }),
      request: (r) => new Promise((ok, bad) => ((r.onsuccess = () => ok(r.result)), (r.onerror = bad))),
      /** Appends ops to the outbox after the device's last seq, as the app stores them. */
      enqueue: async (db, ops) => {
        const tx = db.transaction(["outbox", "meta"], "readwrite");
        // The outbox's `category` index, as the app files ops (frontend/src/outbox_kinds.rs).
        const category = (op) =>
          ({ sale: "venta", return: "devolucion" })[op.kind] ??
          ({ "clientes.Cliente": "cliente", "productos.Producto": "producto" })[op.model] ??
          "existencia";
        for (const op of ops)
          tx.objectStore("outbox").add({ op_id: op.op_id, seq: op.seq, op: JSON.stringify(op), category: category(op) });
        tx.objectStore("meta").put(ops[ops.length - 1].seq, "last_seq");
        await new Promise((ok, bad) => ((tx.oncomplete = ok), (tx.onerror = bad)));
      },
    };
  });
}

/** The sale screen, from wherever the sign-in left the page. */
async function toSale(page) {
  const goSell = page.getByTestId("go-sell");
  if (await goSell.isVisible()) await goSell.click();
  await page.getByTestId("product-search").waitFor();
}

async function signOut(page) {
  await page.getByRole("button", { name: "Salir" }).click();
  await page.getByLabel("Usuario").waitFor();
}

/** The page script of a cashier with devtools open: reads every key the page holds (its own
 *  session's, and the manager's wrapped one in localStorage), then queues two ops "by the
 *  manager" in the outbox — one signed with the cashier's key, one naming the manager's key
 *  id — with correct checksums, as the app itself would store them. */
async function forgeAsTheManager(page, { managerId, deviceId, productId }) {
  await installPageHelpers(page);
  return page.evaluate(
    async ({ managerId, deviceId, productId }) => {
      const { canonical, b64url, sha256, open, request, enqueue } = window.prontoTest;
      const firma = await open("pronto-firma");
      const session = await request(firma.transaction("sesion").objectStore("sesion").get("actual"));
      firma.close();
      const managerMaterial = JSON.parse(localStorage.getItem("pronto.firma.gerente.centro") ?? "null");
      const db = await open("pronto");
      let seq = (await request(db.transaction("meta").objectStore("meta").get("last_seq"))) ?? 0;
      const forged = [];
      for (const keyId of [session.clave_id, managerMaterial?.clave?.clave_id]) {
        seq += 1;
        const body = {
          op_id: crypto.randomUUID(),
          device_id: deviceId,
          author_id: managerId,
          seq,
          model: "inventario.Existencia",
          entity_id: productId,
          kind: "stock_delta",
          base_version: null,
          fields: { producto_id: productId, delta: 50, motivo: "ajuste" },
          hlc: { wall_ms: Date.now(), counter: 0, node: deviceId },
          priority: 10,
          v: 2,
          key_id: keyId,
        };
        const { seq: _omitted, ...signedPart } = body;
        const message = new TextEncoder().encode("pronto-op-v2\n" + canonical(signedPart));
        // The only key this session can use: the cashier's own (non-extractable, sign only).
        const signature = await crypto.subtle.sign("Ed25519", session.firma, message);
        const checksum = await sha256(canonical(body));
        forged.push({ ...body, checksum, signature: b64url(signature) });
      }
      // The manager's wrapped key cannot be opened without her password.
      let unwrapped = false;
      try {
        const guess = await crypto.subtle.importKey("raw", new TextEncoder().encode("1234"), "PBKDF2", false, ["deriveKey"]);
        const wrapping = await crypto.subtle.deriveKey(
          { name: "PBKDF2", salt: new Uint8Array(16), iterations: 1000, hash: "SHA-256" },
          guess,
          { name: "AES-GCM", length: 256 },
          false,
          ["unwrapKey"],
        );
        const raw = Uint8Array.from(atob(managerMaterial.clave.envuelta.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
        const iv = Uint8Array.from(atob(managerMaterial.clave.iv.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
        await crypto.subtle.unwrapKey("pkcs8", raw, wrapping, { name: "AES-GCM", iv }, { name: "Ed25519" }, false, ["sign"]);
        unwrapped = true;
      } catch {
        unwrapped = false;
      }
      await enqueue(db, forged);
      db.close();
      return { ids: forged.map((op) => op.op_id), unwrapped, hadManagerMaterial: managerMaterial !== null };
    },
    { managerId, deviceId, productId },
  );
}

test("a manager and a cashier sell offline on one till; each sale is theirs; the cashier cannot sign as the manager", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);

  // Online: the manager registers the till, the cashier signs in once. Each gets a key.
  await signIn(page, DEMO.gerente);
  await registerDevice(page);
  const facts = await page.evaluate(async () => {
    const me = await (await fetch("/api/auth/me")).json();
    const first = async (q) => (await (await fetch(`/api/products?q=${q}`)).json()).items[0];
    const device = JSON.parse(localStorage.getItem("pronto.dispositivo"));
    return { managerId: me.id, deviceId: device.id, oxford: await first("oxford"), bota: await first("bota") };
  });
  const stockOf = async (id) =>
    page.evaluate(async (pid) => {
      const me = await (await fetch("/api/auth/me")).json();
      const body = await (await fetch(`/api/stock?tienda_id=${me.tienda.id}&producto_id=${pid}`)).json();
      return (body.items ?? body).find((s) => s.producto_id === pid)?.cantidad ?? 0;
    }, id);
  const botaStock = await stockOf(facts.bota.id);
  await signOut(page);
  await signIn(page, DEMO.cajero);
  await page.getByTestId("go-sell").click();
  await waitForCatalog(page, facts.oxford.codigo_barras);
  await signOut(page);

  // Offline: a wrong password cannot unwrap a key; the right ones can.
  await context.setOffline(true);
  await waitForConnection(page, "offline");
  await page.getByLabel("Usuario").fill(DEMO.gerente.usuario);
  await page.getByLabel("Contraseña").fill("no-es-la-contraseña");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.getByRole("alert").filter({ hasText: "incorrectos" }).waitFor();

  await signIn(page, DEMO.gerente);
  await page.screenshot({ path: artifactPath("authorship-offline-manager.png"), fullPage: true });
  await toSale(page);
  const managerFolio = await sellByBarcode(page, facts.oxford.codigo_barras);
  await signOut(page);

  await signIn(page, DEMO.cajero);
  await toSale(page);
  const cashierFolio = await sellByBarcode(page, facts.oxford.codigo_barras);
  const forged = await forgeAsTheManager(page, {
    managerId: facts.managerId,
    deviceId: facts.deviceId,
    productId: facts.bota.id,
  });
  assert.ok(forged.hadManagerMaterial, "the manager's wrapped key is on the device");
  assert.equal(forged.unwrapped, false, "and useless without her password");
  await waitForPending(page, 4);

  // Online again: the manager's offline sign-out reaches the server; the cashier signs in
  // online (her offline session has no server session) and the till sends everything.
  await context.setOffline(false);
  await waitForConnection(page, "online", 20_000);
  await signOut(page);
  await signIn(page, DEMO.cajero);
  await waitForPending(page, 0, 60_000);
  const letters = await page.evaluate(async () => {
    const open = indexedDB.open("pronto");
    const db = await new Promise((ok, bad) => ((open.onsuccess = () => ok(open.result)), (open.onerror = bad)));
    const all = await new Promise((ok) => {
      const r = db.transaction("dead_letters").objectStore("dead_letters").getAll();
      r.onsuccess = () => ok(r.result);
    });
    db.close();
    return all.map((l) => (typeof l.letter === "string" ? JSON.parse(l.letter) : l));
  });
  const codes = letters.map((l) => l.code ?? l.codigo).sort();
  assert.deepEqual(codes, ["clave_ajena", "firma_invalida"], JSON.stringify(letters));

  await signOut(page);
  await signIn(page, DEMO.gerente).catch(async (err) => {
    await page.screenshot({ path: artifactPath("authorship-final-signin.png"), fullPage: true });
    throw err;
  });
  const sales = await page.evaluate(async () => (await (await fetch("/api/sales")).json()));
  const byFolio = (f) => sales.find((s) => s.folio === f);
  assert.equal(byFolio(managerFolio)?.cajero_id, facts.managerId, "the manager's sale is hers");
  assert.ok(byFolio(cashierFolio), "the cashier's sale arrived");
  assert.notEqual(byFolio(cashierFolio).cajero_id, facts.managerId, "the cashier's sale is hers");
  await waitUntil(async () => (await stockOf(facts.bota.id)) === botaStock, 5_000);
});

/** Writes ops in the first release's format (no protocol, key or signature; its checksum)
 *  into the outbox, as a till that was offline during the upgrade still holds them. */
async function queueFirstReleaseSales(page, sales) {
  await installPageHelpers(page);
  return page.evaluate(async (sales) => {
    const { canonical, sha256, open, request, enqueue } = window.prontoTest;
    const device = JSON.parse(localStorage.getItem("pronto.dispositivo"));
    const db = await open("pronto");
    let seq = (await request(db.transaction("meta").objectStore("meta").get("last_seq"))) ?? 0;
    const ops = [];
    for (const { author, product, price } of sales) {
      seq += 1;
      const id = crypto.randomUUID();
      const body = {
        op_id: crypto.randomUUID(),
        device_id: device.id,
        author_id: author,
        seq,
        model: "ventas.Venta",
        entity_id: id,
        kind: "sale",
        base_version: null,
        fields: {
          id,
          lineas: [{ producto_id: product, cantidad: 1, precio_unitario: price }],
          pagos: [{ metodo: "efectivo", monto: price }],
        },
        hlc: { wall_ms: Date.now() - 3_600_000, counter: 0, node: device.id },
        priority: 100,
      };
      ops.push({ ...body, checksum: await sha256(canonical(body)) });
    }
    await enqueue(db, ops);
    db.close();
    return ops.map((op) => op.entity_id);
  }, sales);
}

test("ops queued by the previous release replay after the upgrade: the author's apply, another's wait for the manager", async () => {
  const { context } = env.browser;
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(env.server.url);
  if (!(await page.getByLabel("Usuario").isVisible())) await signOut(page);
  await signIn(page, DEMO.gerente);
  const manager = await page.evaluate(async () => (await (await fetch("/api/auth/me")).json()).id);
  await signOut(page);
  await signIn(page, DEMO.cajero);
  const facts = await page.evaluate(async () => ({
    cashier: (await (await fetch("/api/auth/me")).json()).id,
    product: (await (await fetch("/api/products?q=oxford")).json()).items[0],
  }));
  await waitForPending(page, 0, 60_000);
  await context.setOffline(true);
  await waitForConnection(page, "offline");
  const [own, theirs] = await queueFirstReleaseSales(page, [
    { author: facts.cashier, product: facts.product.id, price: facts.product.precio },
    { author: manager, product: facts.product.id, price: facts.product.precio },
  ]);
  await waitForPending(page, 2);

  const seen = [];
  page.on("response", async (r) => {
    if (r.url().includes("/api/sync/")) seen.push(`${r.status()} ${r.url().slice(-40)} ${(await r.text().catch(() => "")).slice(0, 300)}`);
  });
  page.on("console", (m) => seen.push(`console ${m.text().slice(0, 300)}`));
  await context.setOffline(false);
  await waitForPending(page, 0, 60_000).catch(async (err) => {
    console.log(seen.join("\n"));
    await page.screenshot({ path: artifactPath("authorship-legacy-replay.png"), fullPage: true });
    throw err;
  });
  await page.getByTestId("held-count").filter({ hasText: "1 en espera del gerente" }).waitFor({ timeout: 30_000 });

  await signOut(page);
  await signIn(page, DEMO.gerente);
  const status = async (id) => page.evaluate(async (sale) => (await fetch(`/api/sales/${sale}`)).status, id);
  assert.equal(await status(own), 200, "the cashier's own op applied");
  assert.equal(await status(theirs), 404, "the manager's, pushed by the cashier, waits");
  await page.goto(`${env.server.url}/sincronizacion/cola`);
  await page.getByRole("button", { name: "Esperan al gerente" }).click();
  const held = page.getByTestId("queue-op").filter({ hasText: "versión anterior" });
  await held.getByTestId("accept-held").click();
  await waitUntil(async () => (await status(theirs)) === 200, 10_000);
});
