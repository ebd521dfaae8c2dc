// The typed client against the real sidecar (started by scripts/with-sidecar.mjs with the demo
// state): a check, a batch, a command and the reads it changes, and a refusal. The compiler
// holds every path, body and member used here to the OpenAPI document; the assertions hold
// the document to what the sidecar answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { partnerAccess, type Schemas } from "../src/index.js";

const baseUrl = process.env.PARTNER_ACCESS_URL;
const token = process.env.PARTNER_ACCESS_TOKEN;
assert.ok(baseUrl, "PARTNER_ACCESS_URL (run through `npm test`)");
const pa = partnerAccess({ baseUrl, token });

const ann: Schemas["EntityReference"] = { type: "Hub::User", id: "ann@acme.example" };
const globex: Schemas["EntityReference"] = 'Hub::Account::"c-globex"';

test("a check answers its verdict, reasons, revision and policy version", async () => {
  const allow = await pa.POST("/v1/is_authorized", {
    body: { principal: ann, action: "crm.objects.edit", resource: globex },
  });
  assert.equal(allow.response.status, 200);
  assert.ok(allow.data, JSON.stringify(allow.error));
  const verdict: Schemas["Verdict"] = allow.data.decision;
  assert.equal(verdict, "Allow");
  assert.deepEqual(allow.data.diagnostics.reasons, ["listed.crm.objects.edit"]);
  assert.equal(typeof allow.data.revision, "number");
  assert.match(allow.data.policy_version ?? "", /^[0-9a-f]{64}$/);

  // CAP-5: a partner admin never provisions through SCIM.
  const deny = await pa.POST("/v1/is_authorized", {
    body: { principal: 'Hub::User::"ann@acme.example"', action: "scim.provision", resource: globex },
  });
  assert.equal(deny.data?.decision, "Deny");
  assert.deepEqual(deny.data?.diagnostics.reasons, ["partner-admin-never-scim-or-migration"]);
});

test("a batch answers in order and names a bad item without failing the others", async () => {
  const { data, error } = await pa.POST("/v1/is_authorized/batch", {
    body: {
      requests: [
        { principal: 'Hub::User::"pat@acme.example"', action: "reports.access", resource: globex },
        { principal: 'Hub::User::"owner@globex.example"', action: "billing.edit", resource: globex },
        { principal: 'Hub::User::"owner@globex.example"', action: "no.such.action", resource: globex },
      ],
    },
  });
  assert.ok(data, JSON.stringify(error));
  assert.deepEqual(
    data.results.map((r) => r.decision),
    ["Deny", "Allow", "Deny"],
  );
  assert.equal(data.results[0]?.error ?? null, null);
  assert.ok(data.results[2]?.error, "the undeclared action is named");
  assert.match(data.policy_version, /^[0-9a-f]{64}$/);
});

test("a command answers 201 with its revision; a check and a read see it", async () => {
  const created = await pa.POST("/v1/clients/{client}/users", {
    params: { path: { client: "c-globex" } },
    body: {
      actor: "owner@globex.example",
      email: "zoe@globex.example",
      seat: "core",
      permission_set: "Viewer",
    },
  });
  assert.equal(created.response.status, 201, JSON.stringify(created.error));
  assert.ok(created.data);
  assert.equal(created.data.email, "zoe@globex.example");
  assert.equal(created.data.seat, "core");
  assert.deepEqual(created.data.permissions, ["crm.objects.view"]);
  const revision: number = created.data.revision;

  const seen = await pa.POST("/v1/is_authorized", {
    body: {
      principal: 'Hub::User::"zoe@globex.example"',
      action: "crm.objects.view",
      resource: globex,
      consistency: { at_least_as_fresh: revision },
    },
  });
  assert.equal(seen.data?.decision, "Allow");
  assert.ok((seen.data?.revision ?? 0) >= revision);

  const users = await pa.GET("/v1/clients/{client}/users", {
    params: { path: { client: "c-globex" }, query: { actor: "owner@globex.example" } },
  });
  assert.ok(users.data, JSON.stringify(users.error));
  const zoe = users.data.users.find((u) => u.email === "zoe@globex.example");
  assert.equal(zoe?.role, "standard");
  assert.equal(zoe?.status, "active");
});

test("a refusal is the API's error body, typed", async () => {
  // A standard user may not create users (SEAT-6): 403 with the rule that decided.
  const { data, error, response } = await pa.POST("/v1/clients/{client}/users", {
    params: { path: { client: "c-globex" } },
    body: { actor: "zoe@globex.example", email: "yan@globex.example", seat: "core", permission_set: "Viewer" },
  });
  assert.equal(data, undefined);
  assert.equal(response.status, 403);
  assert.equal(error?.error.code, "forbidden");
  assert.ok((error?.error.rules ?? []).length > 0, JSON.stringify(error));

  // Without the token: 401.
  const anonymous = partnerAccess({ baseUrl });
  const refused = await anonymous.POST("/v1/is_authorized", {
    body: { principal: ann, action: "crm.objects.edit", resource: globex },
  });
  assert.equal(refused.response.status, 401);
  assert.equal(refused.error?.error.code, "unauthenticated");
});
