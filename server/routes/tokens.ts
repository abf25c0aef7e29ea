import { Hono } from "hono";
import { isUuid } from "../../shared/ids.ts";
import { CreateTokenBody } from "../api_schemas.ts";
import { auditEntry } from "../audit.ts";
import type { Hub } from "../hub.ts";
import { ApiError } from "../http_errors.ts";
import { readJsonBody } from "../request_body.ts";
import type { Store } from "../store.ts";
import { generateToken, hashToken } from "../tokens.ts";

/** What the token routes need. */
export interface TokenRoutesOptions {
  store: Store;
  /** Closes the hub connections of a revoked token; absent, there are none. */
  hub?: Pick<Hub, "closeToken">;
}

/**
 * Token management, for admins: create (the token is in the answer, once), list (never a
 * token nor its hash), revoke (which also closes the hub connections made with it).
 *
 * @example
 * ```ts
 * api.route("/tokens", tokenRoutes({ store, hub }));
 * ```
 */
export function tokenRoutes({ store, hub }: TokenRoutesOptions): Hono {
  const app = new Hono();

  app.post("/", async (c) => {
    const body = await readJsonBody(c, CreateTokenBody);
    if (body.role === "agent" && !body.server_id) {
      throw new ApiError(422, "Missing field 'server_id': an agent token speaks for one host", {
        field: "server_id",
      });
    }
    if (body.role !== "agent" && body.server_id) {
      throw new ApiError(422, "Invalid field 'server_id': only agent tokens are bound to a host", {
        field: "server_id",
      });
    }
    const token = generateToken();
    const record = await store.transaction(async (tx) => {
      const record = await tx.insertToken({
        id: crypto.randomUUID(),
        name: body.name,
        role: body.role,
        server_id: body.server_id ?? null,
        token_hash: hashToken(token),
        created_by: c.get("principal").name,
      });
      const { name, role, server_id } = record;
      await tx.recordAudit(auditEntry(c, {
        action: "token.create",
        target_id: record.id,
        details: { name, role, server_id },
      }));
      return record;
    });
    return c.json({ ...record, token }, 201);
  });

  app.get("/", async (c) => c.json({ tokens: await store.listTokens() }));

  app.delete("/:token_id", async (c) => {
    const id = c.req.param("token_id");
    if (!isUuid(id)) throw new ApiError(400, `Malformed token id: '${id}' is not a UUID`);
    const token = await store.transaction(async (tx) => {
      const result = await tx.revokeToken(id.toLowerCase());
      if (!result) throw new ApiError(404, "Token not found", { token_id: id });
      if (result.revoked) {
        const { name, role, server_id } = result.token;
        await tx.recordAudit(auditEntry(c, {
          action: "token.revoke",
          target_id: result.token.id,
          details: { name, role, server_id },
        }));
      }
      return result.token;
    });
    hub?.closeToken(token.id, "The token was revoked");
    return c.json(token);
  });

  return app;
}
