-- Operating the fleet: pausing and deleting tasks, choosing their hosts, one host per tick,
-- and the indexes that history, hosts and retention read through.

alter table tasks
  add column paused boolean not null default false,
  -- A deleted task keeps its history until retention removes it; agents no longer run it.
  add column deleted_at timestamptz,
  -- {"server_ids": [...], "labels": {...}}: a host must match every part given; {} is all hosts.
  add column targets jsonb not null default '{}',
  -- 'all': every targeted host runs each tick; 'one': exactly one of them does.
  add column mode text not null default 'all' check (mode in ('all', 'one'));

create index tasks_listed on tasks (created_at desc, id desc);

-- One row per tick of a mode 'one' task: the host whose claim was inserted first runs it.
create table tick_claims (
  task_id uuid not null references tasks (id) on delete cascade,
  scheduled_for timestamptz not null,
  server_id text not null,
  claimed_at timestamptz not null default now(),
  primary key (task_id, scheduled_for)
);

create index tick_claims_scheduled on tick_claims (scheduled_for);

-- History per task and host, newest first; also what "keep the newest N" ranks by.
create index executions_task_server_started
  on executions (task_id, server_id, started_at desc, id desc);
-- Retention by age.
create index executions_finished on executions (finished_at) where finished_at is not null;
-- Deleted tasks waiting for their history to go.
create index tasks_deleted on tasks (deleted_at) where deleted_at is not null;

-- Whether a task's targets select a host: every part given must match. The one definition of
-- targeting; every query that places tasks on hosts goes through it.
create function task_targets_host(targets jsonb, server_id text, labels jsonb)
returns boolean language sql immutable as $$
  select (targets -> 'server_ids' is null or targets -> 'server_ids' ? server_id)
     and labels @> coalesce(targets -> 'labels', '{}'::jsonb)
$$;

-- What the public API reports as a task's status, from its latest execution or, before any,
-- from what the hosts answered (the same rules as GET /api/v1/tasks/{id}/status).
create function task_derived_status(task uuid)
returns text language sql stable as $$
  select coalesce(
    (select e.status from executions e
      where e.task_id = task
      order by e.started_at desc, e.received_at desc limit 1),
    (select case
              when count(*) filter (where ts.state = 'accepted') > 0 then 'TASK_SCHEDULED'
              when count(*) > 0 and count(*) = count(*) filter (where ts.state = 'rejected')
                then 'TASK_INVALID'
              else 'TASK_RECEIVED'
            end
       from task_servers ts where ts.task_id = task)
  )
$$;
