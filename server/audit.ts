import type { Context } from "hono";
import type { AuditDetails, AuditEntry } from "./store.ts";

/** What an audited change is. */
export interface AuditAction {
  /** e.g. `task.create`, `token.revoke`. */
  action: string;
  /** The id of the task or token changed. */
  target_id: string | null;
  /** Facts about the change; never a secret. @default {} */
  details?: AuditDetails;
}

/**
 * An audit entry for a change made by the request in `c`: the acting token and the client
 * address come from the authentication middleware.
 *
 * @example
 * ```ts
 * await tx.recordAudit(auditEntry(c, { action: "task.create", target_id: task.id }));
 * ```
 */
export function auditEntry(c: Context, what: AuditAction): AuditEntry {
  const principal = c.get("principal");
  return {
    actor_token_id: principal.tokenId,
    actor_name: principal.name,
    action: what.action,
    target_id: what.target_id,
    client_address: c.get("clientAddress"),
    details: what.details ?? {},
  };
}
