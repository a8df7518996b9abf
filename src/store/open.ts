// Which store a bot uses: PostgreSQL when LYNC_EXO_DATABASE_URL is set (several instances on one database), the
// SQLite file in the data directory otherwise (one instance, held by the instance lock). Both behind one handle, so
// start-up, the sweeps and shutdown read the same whichever it is.
import path from 'node:path';
import type { Log } from '../core/service.js';
import type { Store } from '../core/store.js';
import { ConfigError } from '../config/runbooks.js';
import { acquireInstanceLock, describeHeldLock } from './instanceLock.js';
import { openPostgresStore, redactUrl, type PostgresStore } from './postgres.js';
import { openSqliteStore, StoreError, type StoreRecovery } from './sqlite.js';

export interface DatabaseEnv {
  /** PostgreSQL's URL (may hold a password: never logged or echoed) */
  url?: string;
  /** how long a run stays owned by an instance that stopped heartbeating */
  leaseMs: number;
}

const DEFAULT_LEASE_SECONDS = 30;

/** LYNC_EXO_DATABASE_URL and LYNC_EXO_LEASE_SECONDS; a bad value is named, never repeated. */
export function readDatabaseEnv(env: NodeJS.ProcessEnv): DatabaseEnv {
  const url = env.LYNC_EXO_DATABASE_URL?.trim() || undefined;
  if (url !== undefined && !/^postgres(ql)?:\/\/\S+$/.test(url)) throw new ConfigError('environment: LYNC_EXO_DATABASE_URL: must be a PostgreSQL URL such as postgres://lync-exo@db-host:5432/lync-exo');
  const lease = env.LYNC_EXO_LEASE_SECONDS?.trim() || String(DEFAULT_LEASE_SECONDS);
  if (!/^[0-9]{1,4}$/.test(lease) || Number(lease) < 1 || Number(lease) > 3600) throw new ConfigError('environment: LYNC_EXO_LEASE_SECONDS: must be a whole number of seconds from 1 to 3600');
  return { ...(url ? { url } : {}), leaseMs: Number(lease) * 1000 };
}

export interface OpenedStore {
  store: Store & StoreRecovery;
  /** PostgreSQL: the instance's own handle (lead, lease); undefined on SQLite */
  shared?: PostgresStore;
  /** where the state is, for the log: the file, or the URL without its password */
  where: string;
  close(): Promise<void>;
}

/** Opens the store the environment names; on SQLite, takes the instance lock first (one bot per file). */
export async function openStore(dataDir: string, db: DatabaseEnv, log: Pick<Log, 'info' | 'warn' | 'error'>, options: { instanceLock?: boolean } = {}): Promise<OpenedStore> {
  if (db.url) {
    const shared = await openPostgresStore(db.url, { log, leaseMs: db.leaseMs });
    log.info({ database: redactUrl(db.url), instance: shared.instanceId, leaseMs: db.leaseMs }, 'store: PostgreSQL; several instances may share it');
    return { store: shared, shared, where: shared.where, close: () => shared.end() };
  }
  const file = path.join(dataDir, 'lync-exo.db');
  // one bot per SQLite store: a second one would mark the first one's running change interrupted and take its lock
  const instance = options.instanceLock === false ? undefined : acquireInstanceLock(file);
  if (instance && !instance.ok) throw new StoreError('store_in_use', describeHeldLock(instance));
  if (instance) log.info({ holder: instance.holder }, 'store: instance lock taken');
  try {
    const store = openSqliteStore(file, { log });
    return {
      store,
      where: store.path,
      async close() {
        store.closeDatabase();
        instance?.release();
      },
    };
  } catch (err) {
    instance?.release();
    throw err;
  }
}
