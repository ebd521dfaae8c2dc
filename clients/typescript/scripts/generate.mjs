// Writes src/schema.ts from the OpenAPI document a running sidecar serves:
//
//   npm run generate                                     # http://127.0.0.1:8180/openapi.json
//   PARTNER_ACCESS_URL=http://127.0.0.1:9000 PARTNER_ACCESS_TOKEN=... npm run generate
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { render } from "./schema.mjs";

const base = process.env.PARTNER_ACCESS_URL || "http://127.0.0.1:8180";
const token = process.env.PARTNER_ACCESS_TOKEN;
const answer = await fetch(`${base}/openapi.json`, {
  headers: token ? { authorization: `Bearer ${token}` } : {},
});
if (!answer.ok) throw new Error(`${base}/openapi.json answered ${answer.status}`);
const out = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "schema.ts");
writeFileSync(out, await render(await answer.json()));
console.log(`wrote ${out}`);
