import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Tx } from '../platform/db/client.ts';
import type { Logger } from '../platform/logger.ts';
import type { StatusChange } from './processor.ts';

/** The PostgreSQL channel that carries status changes between processes. */
export const CHANNEL = 'storeops_webhook_events';
// NOTIFY payloads must stay under 8000 bytes.
const MAX_NOTIFY_BYTES = 7500;

type Listener = (change: StatusChange) => void;

/**
 * The live stream of event status changes (issue 6, seed 000's planned real-time stream): changes
 * made in this process are delivered at once; with PostgreSQL, workers also NOTIFY theirs in the
 * transaction that makes them, and every API process LISTENs, so a dashboard connected to any API
 * process sees what any worker did. (Deliveries received by another API process show up when a
 * worker applies them.)
 */
export function createLiveStream(deps: { databaseUrl?: string; logger: Logger }) {
  const origin = randomUUID();
  const listeners = new Map<string, Set<Listener>>();
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  function deliver(changes: StatusChange[]): void {
    for (const change of changes) {
      const set = listeners.get(change.tenantId);
      if (!set) continue;
      for (const listener of set) {
        try {
          listener(change);
        } catch (error) {
          deps.logger.warn({ err: error }, 'live stream listener failed');
        }
      }
    }
  }

  async function listen(): Promise<void> {
    if (!deps.databaseUrl || closed) return;
    const c = new pg.Client({ connectionString: deps.databaseUrl, application_name: 'storeops-live-stream' });
    c.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        const { o, c: changes } = JSON.parse(message.payload) as { o: string; c: StatusChange[] };
        if (o !== origin) deliver(changes);
      } catch {
        // not ours
      }
    });
    c.on('error', (error) => {
      deps.logger.warn({ err: error }, 'live stream connection lost; reconnecting');
      client = undefined;
      c.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void listen(), 1000);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      client = c;
    } catch (error) {
      deps.logger.warn({ err: error }, 'live stream could not LISTEN; retrying');
      await c.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void listen(), 2000);
    }
  }

  return {
    /** Delivers changes made in this process to its subscribers. */
    publish: deliver,
    /** Inside a transaction: sends changes to the other processes on commit (PostgreSQL only). */
    async notify(tx: Tx, changes: StatusChange[]): Promise<void> {
      if (!deps.databaseUrl || changes.length === 0) return;
      let chunk: StatusChange[] = [];
      let bytes = 0;
      const send = async () => {
        if (chunk.length === 0) return;
        await tx.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ o: origin, c: chunk })]);
        chunk = [];
        bytes = 0;
      };
      for (const change of changes) {
        const compact =
          change.error && change.error.length > 300
            ? { ...change, error: change.error.slice(0, 300) }
            : change;
        const size = Buffer.byteLength(JSON.stringify(compact)) + 1;
        if (bytes + size > MAX_NOTIFY_BYTES) await send();
        chunk.push(compact);
        bytes += size;
      }
      await send();
    },
    /** Subscribes to one tenant's changes; returns the unsubscribe function. */
    subscribe(tenantId: string, listener: Listener): () => void {
      let set = listeners.get(tenantId);
      if (!set) {
        set = new Set();
        listeners.set(tenantId, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(tenantId);
      };
    },
    /** True when someone in this process is watching (the intake skips building changes otherwise). */
    hasSubscribers: () => listeners.size > 0,
    /** Starts listening for other processes' changes (API roles with PostgreSQL). */
    start: listen,
    async close(): Promise<void> {
      closed = true;
      clearTimeout(retry);
      listeners.clear();
      await client?.end().catch(() => {});
      client = undefined;
    },
  };
}

/** The live stream of one process. */
export type LiveStream = ReturnType<typeof createLiveStream>;
