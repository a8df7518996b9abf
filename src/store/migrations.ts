// The SQLite schema as an ordered list of migrations. A database records the last one applied in
// `PRAGMA user_version`; opening applies the rest, each in its own write transaction, so a crash half-way leaves the
// database at the previous version, never between two. Never edit a migration that has shipped: add the next one.
//
// What must be atomic is in real columns (status, expiry, approvals, locks), so the compare-and-set in approve, close
// and acquireLock is plain SQL inside one transaction. What is only ever read back whole (plan, values, steps,
// pre-state, message refs) is JSON text. Times are kept twice: the ISO text as given (so a record reads back exactly
// as written) and epoch milliseconds for comparisons (`*_ms`, NULL when the text is not a date).
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  /** what it changes and why, for the log */
  description: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'requests, approvals, runs, locks and an append-only audit log',
    sql: `
      CREATE TABLE requests (
        id          TEXT PRIMARY KEY,
        runbook     TEXT NOT NULL,
        deployment  TEXT NOT NULL,
        requester   TEXT NOT NULL,
        channel     TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        expires_ms  INTEGER,
        decided_at  TEXT,
        decided_by  TEXT,
        reason      TEXT,
        run_id      TEXT,
        rollback_of TEXT,
        message     TEXT,
        values_json TEXT NOT NULL,
        plan_json   TEXT NOT NULL
      );

      -- one row per approver; the row order is the order approvals were given
      CREATE TABLE approvals (
        request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        user       TEXT NOT NULL,
        at         TEXT NOT NULL,
        UNIQUE (request_id, user)
      );

      CREATE TABLE runs (
        id             TEXT PRIMARY KEY,
        request_id     TEXT NOT NULL,
        runbook        TEXT NOT NULL,
        deployment     TEXT NOT NULL,
        channel        TEXT NOT NULL,
        requester      TEXT NOT NULL,
        status         TEXT NOT NULL,
        started_at     TEXT NOT NULL,
        finished_at    TEXT,
        summary        TEXT,
        message        TEXT,
        approvers_json TEXT NOT NULL,
        values_json    TEXT NOT NULL,
        steps_json     TEXT NOT NULL,
        pre_state_json TEXT
      );
      CREATE INDEX runs_by_status ON runs (status);

      -- at most one run per deployment: the primary key is the lock
      CREATE TABLE locks (
        deployment TEXT PRIMARY KEY,
        run_id     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        requester  TEXT NOT NULL,
        since      TEXT NOT NULL
      );

      CREATE TABLE audit (
        seq         INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        at_ms       INTEGER,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        request_id  TEXT,
        run_id      TEXT,
        fingerprint TEXT,
        detail      TEXT
      );
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE (ABORT, 'audit records are append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE (ABORT, 'audit records are append-only'); END;
    `,
  },
  {
    version: 2,
    description: 'audit records keep their channel; indexes for the expiry sweep, rollback and audit queries',
    sql: `
      ALTER TABLE audit ADD COLUMN channel TEXT;
      CREATE INDEX audit_by_time ON audit (at_ms);
      CREATE INDEX requests_by_status_expiry ON requests (status, expires_ms);
      CREATE INDEX runs_by_runbook_status ON runs (runbook, status, started_at);
    `,
  },
  {
    version: 3,
    description: 'the outbox: Slack messages to bring up to date, kept until delivered; where each message was posted',
    sql: `
      -- one row per message waiting to be posted or updated; a newer view replaces the older (version + 1)
      CREATE TABLE outbox (
        key        TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL,
        channel    TEXT NOT NULL,
        parent     TEXT,
        view_json  TEXT NOT NULL,
        version    INTEGER NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        due_ms     INTEGER NOT NULL,
        last_error TEXT,
        since      TEXT NOT NULL
      );
      CREATE INDEX outbox_by_due ON outbox (due_ms, seq);

      -- where each message lives once posted, by the same key
      CREATE TABLE messages (
        key     TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        ts      TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: 'directory identities on approvals and audit records, change references, change windows, the drift watch',
    sql: `
      -- who approved, in directory terms, as the directory said when they approved
      ALTER TABLE approvals ADD COLUMN email TEXT;
      ALTER TABLE approvals ADD COLUMN account TEXT;
      ALTER TABLE audit ADD COLUMN email TEXT;
      ALTER TABLE audit ADD COLUMN account TEXT;
      ALTER TABLE audit ADD COLUMN change_ref TEXT;
      ALTER TABLE requests ADD COLUMN change_ref TEXT;
      -- an approved request whose run waits for its change window (run_id still NULL until it starts)
      ALTER TABLE requests ADD COLUMN starts_at TEXT;
      ALTER TABLE runs ADD COLUMN change_ref TEXT;
      ALTER TABLE runs ADD COLUMN approved_by_json TEXT;

      -- the drift watch's last result, one row per watch
      CREATE TABLE watches (
        name       TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL,
        state_json TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    description: "remote agents' jobs and presence as rows; Slack deliveries already taken",
    sql: `
      -- a remote agent's job: queued by the instance running the step (owner), claimed by the agent, ended once
      CREATE TABLE agent_jobs (
        id              TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL,
        agent           TEXT NOT NULL,
        owner           TEXT NOT NULL,
        status          TEXT NOT NULL,
        invocation_json TEXT NOT NULL,
        queued_ms       INTEGER NOT NULL,
        claimed_ms      INTEGER,
        session         TEXT,
        lease_until_ms  INTEGER,
        ended_ms        INTEGER,
        result_json     TEXT
      );
      CREATE INDEX agent_jobs_by_agent ON agent_jobs (agent, status, seq);
      CREATE INDEX agent_jobs_by_time ON agent_jobs (queued_ms);

      -- what each instance knows of each remote agent (one row per agent and instance)
      CREATE TABLE agent_presence (
        agent            TEXT NOT NULL,
        instance         TEXT NOT NULL,
        roles_json       TEXT NOT NULL,
        version          TEXT NOT NULL,
        address          TEXT,
        seen_ms          INTEGER NOT NULL,
        waiting_until_ms INTEGER NOT NULL,
        gone             INTEGER NOT NULL,
        PRIMARY KEY (agent, instance)
      );

      -- a Slack delivery (a digest of it, never its content) taken within the last minutes: its retry is dropped
      CREATE TABLE deliveries (
        key     TEXT PRIMARY KEY,
        seen_ms INTEGER NOT NULL
      );
      CREATE INDEX deliveries_by_time ON deliveries (seen_ms);
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Applies the migrations after the database's version, up to `target` (the latest by default; tests stop early to
 * build an old database). Each runs in an IMMEDIATE transaction that re-reads the version first, so two processes
 * opening a new file at once apply each migration once. Returns the versions applied.
 */
export function migrate(db: Database.Database, target = LATEST_VERSION, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version > target) break;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (step.immediate()) applied.push(m.version);
  }
  return applied;
}

/**
 * The PostgreSQL schema, versioned the same way: the table `lync_exo_schema` holds the last version applied, and
 * each migration runs in its own transaction under an advisory lock, so instances starting together apply each one
 * once. Same tables and columns as SQLite's latest (rows.ts maps both); `seq` (an identity) keeps creation order
 * where SQLite uses its rowid. Version 2 is what several instances need: who is alive, who owns a run, who is
 * delivering an outbox entry.
 */
export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'requests, approvals, runs, locks, an append-only audit log, the outbox and message refs',
    sql: `
      CREATE TABLE requests (
        seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        id          TEXT PRIMARY KEY,
        runbook     TEXT NOT NULL,
        deployment  TEXT NOT NULL,
        requester   TEXT NOT NULL,
        channel     TEXT NOT NULL,
        status      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        expires_ms  BIGINT,
        decided_at  TEXT,
        decided_by  TEXT,
        reason      TEXT,
        run_id      TEXT,
        rollback_of TEXT,
        message     TEXT,
        values_json TEXT NOT NULL,
        plan_json   TEXT NOT NULL
      );
      CREATE INDEX requests_by_status_expiry ON requests (status, expires_ms);

      CREATE TABLE approvals (
        seq        BIGINT GENERATED ALWAYS AS IDENTITY,
        request_id TEXT NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
        approver   TEXT NOT NULL,
        at         TEXT NOT NULL,
        UNIQUE (request_id, approver)
      );

      CREATE TABLE runs (
        seq            BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        id             TEXT PRIMARY KEY,
        request_id     TEXT NOT NULL,
        runbook        TEXT NOT NULL,
        deployment     TEXT NOT NULL,
        channel        TEXT NOT NULL,
        requester      TEXT NOT NULL,
        status         TEXT NOT NULL,
        started_at     TEXT NOT NULL,
        finished_at    TEXT,
        summary        TEXT,
        message        TEXT,
        approvers_json TEXT NOT NULL,
        values_json    TEXT NOT NULL,
        steps_json     TEXT NOT NULL,
        pre_state_json TEXT
      );
      CREATE INDEX runs_by_status ON runs (status);
      CREATE INDEX runs_by_runbook_status ON runs (runbook, status, started_at);

      -- at most one run per deployment: the primary key is the lock
      CREATE TABLE locks (
        seq        BIGINT GENERATED ALWAYS AS IDENTITY,
        deployment TEXT PRIMARY KEY,
        run_id     TEXT NOT NULL,
        request_id TEXT NOT NULL,
        requester  TEXT NOT NULL,
        since      TEXT NOT NULL
      );

      CREATE TABLE audit (
        seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at          TEXT NOT NULL,
        at_ms       BIGINT,
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        channel     TEXT,
        request_id  TEXT,
        run_id      TEXT,
        fingerprint TEXT,
        detail      TEXT
      );
      CREATE INDEX audit_by_time ON audit (at_ms);
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit records are append-only'; END $$;
      CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
      CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

      CREATE TABLE outbox (
        key        TEXT PRIMARY KEY,
        seq        BIGINT GENERATED ALWAYS AS IDENTITY,
        channel    TEXT NOT NULL,
        parent     TEXT,
        view_json  TEXT NOT NULL,
        version    INTEGER NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        due_ms     BIGINT NOT NULL,
        last_error TEXT,
        since      TEXT NOT NULL
      );
      CREATE INDEX outbox_by_due ON outbox (due_ms, seq);

      CREATE TABLE messages (
        key     TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        ts      TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'several instances: their heartbeats, the owner of each run, the instance delivering an outbox entry',
    sql: `
      -- one row per live instance, its heartbeat on the database's clock (instances' clocks may differ)
      CREATE TABLE instances (
        id           TEXT PRIMARY KEY,
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        started_at   TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
        heartbeat_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
      );
      -- the instance running it: its heartbeat is the run's lease
      ALTER TABLE runs ADD COLUMN owner TEXT;
      -- an entry being delivered by one instance is not posted by another meanwhile
      ALTER TABLE outbox ADD COLUMN claimed_by TEXT, ADD COLUMN claimed_until_ms BIGINT;
    `,
  },
  {
    version: 3,
    description: 'directory identities on approvals and audit records, change references, change windows, the drift watch',
    sql: `
      -- the same as SQLite's version 4
      ALTER TABLE approvals ADD COLUMN email TEXT;
      ALTER TABLE approvals ADD COLUMN account TEXT;
      ALTER TABLE audit ADD COLUMN email TEXT;
      ALTER TABLE audit ADD COLUMN account TEXT;
      ALTER TABLE audit ADD COLUMN change_ref TEXT;
      ALTER TABLE requests ADD COLUMN change_ref TEXT;
      ALTER TABLE requests ADD COLUMN starts_at TEXT;
      ALTER TABLE runs ADD COLUMN change_ref TEXT;
      ALTER TABLE runs ADD COLUMN approved_by_json TEXT;

      CREATE TABLE watches (
        name       TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL,
        state_json TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    description: "remote agents' jobs and presence as rows, with a notification when a job is queued or ends; Slack deliveries already taken",
    sql: `
      -- a remote agent's job: queued by the instance running the step (owner), claimed by the agent through any
      -- instance (FOR UPDATE SKIP LOCKED), ended once
      CREATE TABLE agent_jobs (
        seq             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
        id              TEXT PRIMARY KEY,
        agent           TEXT NOT NULL,
        owner           TEXT NOT NULL,
        status          TEXT NOT NULL,
        invocation_json TEXT NOT NULL,
        queued_ms       BIGINT NOT NULL,
        claimed_ms      BIGINT,
        session         TEXT,
        lease_until_ms  BIGINT,
        ended_ms        BIGINT,
        result_json     TEXT
      );
      CREATE INDEX agent_jobs_queued ON agent_jobs (agent, seq) WHERE status = 'queued';
      CREATE INDEX agent_jobs_claimed ON agent_jobs (agent) WHERE status = 'claimed';
      CREATE INDEX agent_jobs_by_time ON agent_jobs (queued_ms);

      -- the waiting claims and invokers of every instance hear of a job queued or ended (LISTEN lync_exo_agent_jobs);
      -- the payload names the schema, so instances on other schemas of the database ignore it
      CREATE FUNCTION agent_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.status = 'queued' THEN
            PERFORM pg_notify('lync_exo_agent_jobs', json_build_object('schema', current_schema(), 'queued', NEW.agent)::text);
          ELSIF NEW.status IN ('done', 'dead') THEN
            PERFORM pg_notify('lync_exo_agent_jobs', json_build_object('schema', current_schema(), 'ended', NEW.id)::text);
          END IF;
          RETURN NULL;
        END $$;
      CREATE TRIGGER agent_jobs_notify AFTER INSERT OR UPDATE OF status ON agent_jobs FOR EACH ROW EXECUTE FUNCTION agent_jobs_notify();

      -- what each instance knows of each remote agent (one row per agent and instance)
      CREATE TABLE agent_presence (
        agent            TEXT NOT NULL,
        instance         TEXT NOT NULL,
        roles_json       TEXT NOT NULL,
        version          TEXT NOT NULL,
        address          TEXT,
        seen_ms          BIGINT NOT NULL,
        waiting_until_ms BIGINT NOT NULL,
        gone             BOOLEAN NOT NULL,
        PRIMARY KEY (agent, instance)
      );

      -- a Slack delivery (a digest of it, never its content) taken within the last minutes, by any instance
      CREATE TABLE deliveries (
        key     TEXT PRIMARY KEY,
        seen_ms BIGINT NOT NULL
      );
      CREATE INDEX deliveries_by_time ON deliveries (seen_ms);
    `,
  },
];

export const POSTGRES_LATEST_VERSION = POSTGRES_MIGRATIONS[POSTGRES_MIGRATIONS.length - 1]!.version;
