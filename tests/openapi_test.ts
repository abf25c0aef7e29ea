import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startTestApp } from "./helpers/app.ts";

const METHODS = ["get", "post", "put", "patch", "delete"];

Deno.test("the OpenAPI document", async (t) => {
  await using app = await startTestApp();
  const reply = await app.request("GET", "/api/v1/openapi.json");
  const document = reply.body;

  await t.step("should be a valid OpenAPI 3.1 document", async () => {
    assert.equal(reply.status, 200);
    assert.equal(document.openapi, "3.1.0");
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  await t.step("should list every route the server answers, and no other", () => {
    const served = new Set(
      app.app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => {
          const path = route.path.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
          return `${route.method.toLowerCase()} ${path}`;
        }),
    );
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item as object).filter((key) => METHODS.includes(key)).map((method) =>
          `${method} ${path}`
        )
      ),
    );
    assert.deepEqual([...documented].sort(), [...served].sort());
    for (const spec of ["post /api/v1/tasks/create", "get /api/v1/tasks/{task_id}/status"]) {
      assert.ok(documented.has(spec), spec);
    }
    assert.ok(documented.has("put /api/v1/tasks/{task_id}/status"));
  });

  await t.step("should give every operation responses, errors included", () => {
    for (const [path, item] of Object.entries(document.paths)) {
      for (
        const [method, operation] of Object.entries(item as Record<string, { responses: object }>)
      ) {
        const codes = Object.keys(operation.responses);
        assert.ok(codes.length > 0, `${method} ${path}`);
        if (path.includes("{")) assert.ok(codes.includes("404"), `${method} ${path} has a 404`);
      }
    }
    const create = document.paths["/api/v1/tasks/create"].post;
    assert.deepEqual(Object.keys(create.responses).sort(), [
      "201",
      "400",
      "401",
      "403",
      "413",
      "415",
      "422",
      "429",
    ]);
    const body = create.requestBody.content["application/json"].schema;
    assert.deepEqual(body.required, ["command", "frequency"]);
    assert.ok("targets" in body.properties && "mode" in body.properties);
    const list = document.paths["/api/v1/tasks"].get;
    const limit = list.parameters.find((p: { name: string }) => p.name === "limit");
    assert.deepEqual({ ...limit.schema, description: undefined }, {
      type: "integer",
      minimum: 1,
      maximum: 500,
      default: 50,
      description: undefined,
    });
  });

  await t.step("should be rendered by the /docs page from this server alone", async () => {
    const page = await app.app.request("/docs");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.doesNotMatch(html, /https?:\/\//, "nothing is loaded from elsewhere");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(assets, [
      "/docs/swagger-ui.css",
      "/docs/swagger-ui-bundle.js",
      "/docs/init.js",
    ]);
    for (const asset of assets) {
      const res = await app.app.request(asset);
      assert.equal(res.status, 200, asset);
      assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
    }
    const init = await (await app.app.request("/docs/init.js")).text();
    assert.match(init, /\/docs\/openapi\.json/);
    assert.equal((await app.app.request("/docs/secrets.txt")).status, 404);
    const policy = page.headers.get("content-security-policy") ?? "";
    assert.match(policy, /script-src 'self'/);
    assert.doesNotMatch(policy, /script-src[^;]*unsafe-inline/, "no inline script may run");
  });

  await t.step("should serve the page the same document without a token", async () => {
    const res = await app.app.request("/docs/openapi.json");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), document);
    assert.equal((await app.as(null).request("GET", "/api/v1/openapi.json")).status, 401);
  });

  await t.step("should mark every /api/v1 route as needing a bearer token", () => {
    assert.deepEqual(document.components.securitySchemes.bearer, {
      type: "http",
      scheme: "bearer",
      description: "An API or agent token",
    });
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, op] of Object.entries(item as Record<string, Record<string, unknown>>)) {
        const guarded = path.startsWith("/api/v1/") || path === "/metrics";
        assert.equal(op.security !== undefined, guarded, `${method} ${path}`);
        if (guarded) assert.ok("401" in (op.responses as object), `${method} ${path} has a 401`);
      }
    }
  });
});
