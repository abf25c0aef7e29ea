import { Hono } from "hono";
import { join } from "node:path";
import { getAbsoluteFSPath } from "swagger-ui-dist";

/** The files the page loads: Swagger UI from the npm package, and the script starting it. */
export const DOCS_ASSETS = {
  "init.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
} as const;

/** The script that starts Swagger UI on the page; a file, so no inline script is needed. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#docs",
  deepLinking: true,
  tryItOutEnabled: true,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>taskscheduler API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

/**
 * The interactive documentation at `/docs`: Swagger UI, served from this server (the
 * `swagger-ui-dist` package, no CDN), rendering `/api/v1/openapi.json`.
 *
 * @example
 * ```ts
 * app.route("/docs", docsRoutes());
 * ```
 */
export function docsRoutes(): Hono {
  const app = new Hono();
  const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  const read = (name: string) => {
    let file = cache.get(name);
    if (!file) {
      file = Deno.readFile(join(getAbsoluteFSPath(), name));
      file.catch(() => cache.delete(name));
      cache.set(name, file);
    }
    return file;
  };

  app.get("/", (c) => c.html(PAGE));
  app.get("/:file{init\\.js|swagger-ui\\.css|swagger-ui-bundle\\.js}", async (c) => {
    const name = c.req.param("file") as keyof typeof DOCS_ASSETS;
    c.header("Content-Type", DOCS_ASSETS[name]);
    if (name === "init.js") return c.body(INIT_SCRIPT);
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(await read(name));
  });
  return app;
}
