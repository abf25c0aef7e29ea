-- Tasks, the hosts that run them, who accepted what, and every execution.

create table tasks (
  id uuid primary key,
  command text not null,
  frequency text not null,
  timezone text not null default 'UTC',
  timeout_seconds integer check (timeout_seconds > 0),
  -- Grows with every change, so agents can tell a newer definition from an older one.
  revision bigint not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table servers (
  id text primary key,
  hostname text not null default '',
  labels jsonb not null default '{}',
  version text not null default '',
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- The server instance this host's WebSocket is attached to; null while disconnected.
  connected_to text
);

create table task_servers (
  task_id uuid not null references tasks (id) on delete cascade,
  server_id text not null references servers (id) on delete cascade,
  state text not null check (state in ('sent', 'accepted', 'rejected')),
  revision bigint not null,
  reason text,
  updated_at timestamptz not null default now(),
  primary key (task_id, server_id)
);

create table executions (
  -- Chosen by the agent: the idempotency key of a result.
  id uuid primary key,
  task_id uuid not null references tasks (id) on delete cascade,
  server_id text not null references servers (id),
  status text not null check (
    status in ('TASK_EXECUTING', 'TASK_COMPLETED_SUCCESS', 'TASK_COMPLETED_ERROR')
  ),
  scheduled_for timestamptz,
  started_at timestamptz not null,
  finished_at timestamptz,
  exit_code integer,
  error text,
  stdout text,
  stderr text,
  stdout_dropped_bytes bigint not null default 0,
  stderr_dropped_bytes bigint not null default 0,
  schedule_lag_ms double precision,
  -- Set when the server closed a run its host no longer knows; the real result may still come.
  abandoned boolean not null default false,
  received_at timestamptz not null default now(),
  check (finished_at is null or finished_at >= started_at)
);

create index executions_task_started on executions (task_id, started_at desc, received_at desc);
create index executions_task_finished on executions (task_id, finished_at desc)
  where finished_at is not null;
create index executions_running on executions (server_id) where status = 'TASK_EXECUTING';
