// The playground in a real browser: starts the sidecar (the binary `cargo test` built, with the
// bundled demo state and a caller token) on a free loopback port, drives /ui in Debian's
// headless Chromium through playwright-core, clicks through one Allow and one Deny, shows a
// command's effect (a paid licence, a single permission) at once, checks the
// text shown, and saves a screenshot.
//
//   PARTNER_ACCESS_BIN   the binary (default ../target/debug/partner-access)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//   SCREENSHOT           where the screenshot goes (default ../target/ui/playground.png)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..");
const BIN = process.env.PARTNER_ACCESS_BIN || join(repo, "target/debug/partner-access");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SCREENSHOT = process.env.SCREENSHOT || join(repo, "target/ui/playground.png");
const TOKEN = "ui-test-caller-token";

let server;
let serverLog = "";
let base;
let browser;
let dataDir;

function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

async function waitReady(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the sidecar exited (${server.exitCode}):\n${serverLog}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch (_) {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the sidecar was not ready within ${ms} ms:\n${serverLog}`);
}

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "pa-ui-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ["serve", "--demo", "--data", dataDir, "--listen", `127.0.0.1:${port}`], {
    cwd: repo,
    env: { ...process.env, PARTNER_ACCESS_TOKENS: TOKEN, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout.on("data", (d) => (serverLog += d));
  server.stderr.on("data", (d) => (serverLog += d));
  await waitReady(base, 30_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As root on a closed network: no sandbox, no background connections to Google.
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Opens the page, types the token and waits for the actions to load. */
async function openPlayground() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => m.type() === "error" && !m.text().includes("401") && problems.push(m.text()));
  await page.goto(`${base}/ui`);
  return { page, problems };
}

async function signIn(page) {
  await page.fill("#token", TOKEN);
  await page.press("#token", "Tab"); // `change` loads the actions with the token
  await page.waitForSelector('#action option[value="reports.access"]', { state: "attached" });
}

/** Types into a searchable picker and waits until the store suggests `expected`. */
async function pickFromSearch(page, input, typed, expected) {
  await page.fill(input, "");
  await page.type(input, typed);
  const list = await page.getAttribute(input, "list");
  await page.waitForSelector(`#${list} option[value="${expected}"]`, { state: "attached" });
  await page.fill(input, expected);
}

async function decide(page, action) {
  await page.selectOption("#action", action);
  const before = await page.textContent("#revision");
  await page.click("#decide");
  await page.waitForFunction(
    (a) => !document.querySelector("#result").hidden &&
      document.querySelector("#user-action").textContent === a &&
      !document.querySelector("#decide").disabled,
    action,
  );
  return before;
}

test("without the token the page says 401, and shows nothing else", async () => {
  const { page } = await openPlayground();
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error"), /^401: /);
  assert.equal(await page.isHidden("#result"), true);
  await page.close();
});

test("one Allow and one Deny, with reasons, policy text and the user's accounts", async () => {
  const { page, problems } = await openPlayground();
  await signIn(page);

  await pickFromSearch(page, "#principal", "an", "ann@acme.example");
  await pickFromSearch(page, "#resource", "c-gl", "c-globex");
  // The search labels say what each match is.
  const label = await page.getAttribute('#principal-options option[value="ann@acme.example"]', "label");
  assert.match(label, /super admin of partner p-acme/);

  // Allow: a partner admin views reports in the client it manages.
  await decide(page, "reports.access");
  assert.equal(await page.textContent("#decision"), "Allow");
  assert.match(await page.getAttribute("#decision", "class"), /allow/);
  assert.match(await page.textContent("#summary"), /ann@acme\.example may `reports\.access` in c-globex/);
  assert.match(await page.textContent("#determining"), /listed\.reports\.access/);
  assert.match(await page.textContent("#determining .text"), /permit \(/);
  assert.match(await page.textContent("#facts"), /partner admin in c-globex/);
  assert.equal(await page.isHidden("#candidates-box"), true);
  const allowed = await page.textContent("#allowed-actions");
  assert.match(allowed, /reports\.access/);
  assert.doesNotMatch(allowed, /scim\.provision/);
  assert.match(await page.textContent("#user-accounts"), /c-globex/);

  // Deny: SCIM provisioning is forbidden to partner admins (CAP-5).
  await decide(page, "scim.provision");
  assert.equal(await page.textContent("#decision"), "Deny");
  assert.match(await page.getAttribute("#decision", "class"), /deny/);
  const summary = await page.textContent("#summary");
  assert.match(summary, /^Denied: ann@acme\.example may not `scim\.provision` in c-globex/);
  assert.match(summary, /CAP-5/);
  assert.match(await page.textContent("#determining"), /partner-admin-never-scim-or-migration/);
  assert.match(await page.textContent("#determining .effect"), /forbid/);
  // The permits that could have allowed it, with the condition that failed.
  assert.equal(await page.isVisible("#candidates-box"), true);
  const candidates = await page.textContent("#candidates");
  assert.match(candidates, /listed\.scim\.provision/);
  assert.match(candidates, /permissions\.contains\("scim\.provision"\)/);
  assert.ok((await page.$$("#candidates .outcome-false")).length >= 1);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Clicking an allowed action decides it.
  await page.click('#allowed-actions button:text-is("crm.objects.view")');
  await page.waitForFunction(() => document.querySelector("#user-action").textContent === "crm.objects.view");
  await page.waitForFunction(() => document.querySelector("#decision").textContent === "Allow");

  assert.deepEqual(problems, []);
  await page.close();
});

test("text from the request is shown as text, never as markup", async () => {
  const { page } = await openPlayground();
  await signIn(page);
  await page.fill("#principal", '<img src=x id=injected onerror="document.title=1">');
  await page.fill("#resource", "c-globex");
  await page.selectOption("#action", "reports.access");
  await page.click("#decide");
  // The check itself is a Deny (no such user); listing its accounts is refused (not an e-mail).
  await page.waitForFunction(() => document.querySelector("#error").textContent.startsWith("400"));
  assert.match(await page.textContent("#error"), /^400: .*e-mail `<img src=x id=injected/);
  assert.equal(await page.textContent("#decision"), "Deny");
  assert.match(await page.textContent("#summary"), /<img src=x id=injected/);
  assert.equal(await page.$("#injected"), null);
  assert.notEqual(await page.title(), "1");
  await page.close();
});

test("a command's effect shows at once: a paid licence in the facts, a single permission in the allowed actions", async () => {
  const command = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200, `${method} ${path}: ${await response.text()}`);
  };
  // SEAT-9: the client's super admin gives bob a paid Sales Hub licence besides his seat;
  // PERM-4: ann gives bob one permission more through the Client Access Manager.
  await command("PUT", "/v1/clients/c-globex/users/bob@acme.example/paid-hubs",
    { actor: "owner@globex.example", paid_hubs: ["sales"] });
  await command("PUT", "/v1/clients/c-globex/partner-users/bob@acme.example/permissions/apps.manage",
    { actor: "ann@acme.example" });

  const { page, problems } = await openPlayground();
  await signIn(page);
  await pickFromSearch(page, "#principal", "bo", "bob@acme.example");
  await pickFromSearch(page, "#resource", "c-gl", "c-globex");
  await decide(page, "apps.manage");
  assert.equal(await page.textContent("#decision"), "Allow");
  const facts = await page.textContent("#facts");
  assert.match(facts, /bob@acme\.example is a standard in c-globex \(partner seat, paid Sales Hub licence, active/);
  assert.match(facts, /apps\.manage/);
  const allowed = await page.textContent("#allowed-actions");
  assert.match(allowed, /apps\.manage/);
  assert.match(allowed, /sales_hub\.paid_features/);
  assert.deepEqual(problems, []);
  await page.close();
});
