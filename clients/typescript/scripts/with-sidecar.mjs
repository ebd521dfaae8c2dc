// Runs the client's tests against the real sidecar: starts `partner-access serve --demo` (the
// binary `cargo test` built, or PARTNER_ACCESS_BIN) on a free loopback port with a caller
// token, runs `node --test` over the compiled tests and the schema test with
// PARTNER_ACCESS_URL and PARTNER_ACCESS_TOKEN set, and stops it.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const bin = process.env.PARTNER_ACCESS_BIN || join(repo, "target/debug/partner-access");
const token = "typescript-client-test-token";

const port = await new Promise((ok, fail) => {
  const probe = createServer();
  probe.once("error", fail);
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => ok(port));
  });
});
const base = `http://127.0.0.1:${port}`;
const data = mkdtempSync(join(tmpdir(), "pa-ts-client-"));
let log = "";
const server = spawn(bin, ["serve", "--demo", "--data", data, "--listen", `127.0.0.1:${port}`], {
  cwd: repo,
  env: { ...process.env, PARTNER_ACCESS_TOKENS: token, RUST_LOG: "warn" },
  stdio: ["ignore", "pipe", "pipe"],
});
server.stdout.on("data", (d) => (log += d));
server.stderr.on("data", (d) => (log += d));
const stop = () => {
  server.kill("SIGTERM");
  rmSync(data, { recursive: true, force: true });
};

try {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the sidecar exited (${server.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the sidecar was not ready in 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The test files by name: `node --test DIR` searches DIR on Node 20 only (later releases
  // take its arguments as globs).
  const root = resolve(here, "..");
  const files = ["dist/test", "test"].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((name) => /\.test\.m?js$/.test(name))
      .map((name) => join(dir, name)),
  );
  const tests = spawn(process.execPath, ["--test", ...files], {
    cwd: root,
    env: { ...process.env, PARTNER_ACCESS_URL: base, PARTNER_ACCESS_TOKEN: token },
    stdio: "inherit",
  });
  const code = await new Promise((ok) => tests.on("exit", (c) => ok(c ?? 1)));
  if (code !== 0 && log) console.error(`the sidecar's log:\n${log}`);
  stop();
  process.exit(code);
} catch (e) {
  stop();
  throw e;
}
