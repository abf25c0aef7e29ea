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
  url: "/docs/openapi.json",
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
 * The content policy of the documentation page: its own scripts and styles only (Swagger UI
 * sets inline styles and data: images), calls to this server only, never framed.
 */
export const DOCS_CONTENT_POLICY = "default-src 'none'; script-src 'self'; " +
  "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'";

/**
 * The interactive documentation at `/docs`: Swagger UI, served from this server (the
 * `swagger-ui-dist` package, no CDN), rendering the OpenAPI document, which `/docs`
 * serves without a token (it describes the API and holds no data); "Authorize" takes a
 * token for trying calls out.
 *
 * @example
 * ```ts
 * app.route("/docs", docsRoutes(document));
 * ```
 */
export function docsRoutes(document: Record<string, unknown>): Hono {
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
  app.get("/openapi.json", (c) => c.json(document));
  app.get("/:file{init\\.js|swagger-ui\\.css|swagger-ui-bundle\\.js}", async (c) => {
    const name = c.req.param("file") as keyof typeof DOCS_ASSETS;
    c.header("Content-Type", DOCS_ASSETS[name]);
    if (name === "init.js") return c.body(INIT_SCRIPT);
    c.header("Cache-Control", "public, max-age=86400");
    return c.body(await read(name));
  });
  return app;
}
