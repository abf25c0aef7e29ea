/**
 * The SQL of API tokens (stored as hashes only) and the audit log.
 *
 * @module
 */
import type { Sql } from "../db/database.ts";
import type { Role } from "../tokens.ts";

/** A token as stored, for lookups by hash: never the token, never its hash. */
export interface TokenRecord {
  id: string;
  name: string;
  role: Role;
  /** The host an agent token speaks for; null for other roles. */
  server_id: string | null;
  created_at: Date;
  created_by: string;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** A token to store: its hash, never the token itself. */
export interface NewToken {
  id: string;
  name: string;
  role: Role;
  server_id: string | null;
  token_hash: Uint8Array;
  created_by: string;
}

/** One line of the audit log, as written. */
export interface AuditEntry {
  /** The acting token; null for the bootstrap token from the environment. */
  actor_token_id: string | null;
  actor_name: string;
  /** What happened, e.g. `task.create`, `token.revoke`. */
  action: string;
  target_id: string | null;
  client_address: string;
  /** Facts about the change; never a secret. */
  details: AuditDetails;
}

/** Flat facts about an audited change. */
export type AuditDetails = Record<string, string | number | boolean | null>;

/** One line of the audit log, as read back; `id` (a bigint as text) orders the log. */
export interface AuditRecord extends AuditEntry {
  id: string;
  at: Date;
}

/** A page of the audit log, newest first. */
export interface AuditPageQuery {
  limit: number;
  /** Only entries older than this id (the previous page's cursor). */
  before: string | null;
}

/** Tokens and the audit log. */
export function tokenQueries(sql: Sql) {
  return {
    /** Stores a new token (its hash) and returns it as listed. */
    async insertToken(token: NewToken): Promise<TokenRecord> {
      const [row] = await sql<TokenRecord[]>`
        insert into api_tokens (id, name, role, server_id, token_hash, created_by)
        values (${token.id}, ${token.name}, ${token.role}, ${token.server_id},
                ${token.token_hash}, ${token.created_by})
        returning id, name, role, server_id, created_at, created_by, last_used_at, revoked_at`;
      return row;
    },

    /**
     * Stores `token` as the first admin token unless an active admin token exists, under an
     * advisory lock so instances starting together create one between them.
     *
     * @returns whether the token was stored
     */
    async insertFirstAdminToken(token: NewToken): Promise<boolean> {
      return await sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${FIRST_ADMIN_LOCK_KEY})`;
        const inserted = await tx`
          insert into api_tokens (id, name, role, server_id, token_hash, created_by)
          select ${token.id}, ${token.name}, 'admin', null, ${token.token_hash},
                 ${token.created_by}
           where not exists (
             select 1 from api_tokens where role = 'admin' and revoked_at is null)
          returning 1`;
        return inserted.length > 0;
      });
    },

    /** Tells whether any admin token is active. */
    async hasActiveAdminToken(): Promise<boolean> {
      const [row] = await sql`
        select 1 from api_tokens where role = 'admin' and revoked_at is null limit 1`;
      return row !== undefined;
    },

    /** The token stored under `hash`, revoked or not, or undefined. */
    async tokenByHash(hash: Uint8Array): Promise<TokenRecord | undefined> {
      const [row] = await sql<TokenRecord[]>`
        select id, name, role, server_id, created_at, created_by, last_used_at, revoked_at
          from api_tokens where token_hash = ${hash}`;
      return row;
    },

    /** Notes that a token was used now. */
    async touchToken(id: string): Promise<void> {
      await sql`update api_tokens set last_used_at = now() where id = ${id}`;
    },

    /** Every token, oldest first, without secrets. */
    async listTokens(): Promise<TokenRecord[]> {
      return await sql<TokenRecord[]>`
        select id, name, role, server_id, created_at, created_by, last_used_at, revoked_at
          from api_tokens order by created_at, id`;
    },

    /**
     * Revokes a token. `revoked` tells whether this call revoked it (false when it already
     * was); undefined for an unknown id.
     */
    async revokeToken(id: string): Promise<{ token: TokenRecord; revoked: boolean } | undefined> {
      const [row] = await sql<(TokenRecord & { was_active: boolean })[]>`
        with before as (select id, revoked_at is null as was_active from api_tokens
                         where id = ${id} for update)
        update api_tokens t set revoked_at = coalesce(t.revoked_at, now())
          from before where t.id = before.id
        returning t.id, t.name, t.role, t.server_id, t.created_at, t.created_by,
                  t.last_used_at, t.revoked_at, before.was_active`;
      if (!row) return undefined;
      const { was_active, ...token } = row;
      return { token, revoked: was_active };
    },

    /** Those of `ids` that name tokens still active. */
    async activeTokenIds(ids: string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await sql<{ id: string }[]>`
        select id from api_tokens where id = any(${ids}::uuid[]) and revoked_at is null`;
      return rows.map((r) => r.id);
    },

    /** Appends one line to the audit log. */
    async recordAudit(entry: AuditEntry): Promise<void> {
      await sql`
        insert into audit_log (actor_token_id, actor_name, action, target_id, client_address,
                               details)
        values (${entry.actor_token_id}, ${entry.actor_name}, ${entry.action}, ${entry.target_id},
                ${entry.client_address}, ${sql.json(entry.details)})`;
    },

    /** A page of the audit log, newest first. */
    async auditPage(query: AuditPageQuery): Promise<AuditRecord[]> {
      return await sql<AuditRecord[]>`
        select id::text, at, actor_token_id, actor_name, action, target_id, client_address,
               details
          from audit_log
         where ${query.before}::bigint is null or id < ${query.before}::bigint
         order by id desc
         limit ${query.limit}`;
    },
  };
}

/** Arbitrary, fixed key of the advisory lock that serialises creating the first admin token. */
const FIRST_ADMIN_LOCK_KEY = 7_340_021_916;
