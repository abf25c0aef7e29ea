-- API tokens (stored as SHA-256 hashes only) and the audit log of who changed what.

create table api_tokens (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  role text not null check (role in ('admin', 'read', 'agent')),
  -- The one host an agent token may speak for; null for every other role.
  server_id text,
  -- SHA-256 of the token; the token itself is shown once and never stored.
  token_hash bytea not null unique check (length(token_hash) = 32),
  created_at timestamptz not null default now(),
  -- Name of the token that created this one ('first start' for the generated admin token).
  created_by text not null,
  last_used_at timestamptz,
  revoked_at timestamptz,
  check ((role = 'agent') = (server_id is not null))
);

create index api_tokens_active_admin on api_tokens (role) where revoked_at is null;

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  -- The acting token; null for the bootstrap token from TASKSCHEDULER_API_TOKEN.
  actor_token_id uuid references api_tokens (id),
  actor_name text not null,
  -- What happened, e.g. 'task.create', 'token.create', 'token.revoke'.
  action text not null,
  target_id text,
  client_address text not null,
  -- Facts about the change; never a secret.
  details jsonb not null default '{}'
);
