// The checked-in types are the document the sidecar serves: a change to the API that is not
// regenerated into src/schema.ts (`npm run generate`) fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { render } from "../scripts/schema.mjs";

test("src/schema.ts is generated from the document the sidecar serves", async () => {
  const base = process.env.PARTNER_ACCESS_URL;
  assert.ok(base, "PARTNER_ACCESS_URL (run through `npm test`)");
  const token = process.env.PARTNER_ACCESS_TOKEN;
  const answer = await fetch(`${base}/openapi.json`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(answer.status, 200);
  const doc = await answer.json();
  const expected = await render(doc);
  const actual = readFileSync(new URL("../src/schema.ts", import.meta.url), "utf8");
  assert.ok(
    actual === expected,
    "src/schema.ts differs from the served document: run `npm run generate` against a sidecar of this build",
  );
});
