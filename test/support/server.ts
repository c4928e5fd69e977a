import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Role } from '../../src/app.ts';
import { loadConfig } from '../../src/platform/config.ts';
import { type RunningServer, startServer } from '../../src/server.ts';
import { createTestDatabase } from './database.ts';

/** Every log line a test server wrote (JSON strings), for assertions and the secret scan. */
export type LogCapture = { lines: string[]; text(): string };

/** A real StoreOps server on a random port with its own fresh database and data dir. */
export type TestServer = RunningServer & {
  logs: LogCapture;
  dataDir: string;
  /** fetch against the server: `server.fetch('/health')`. */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
};

/** A data dir and database that outlive one server (restarts, CLI runs against the same data). */
export type TestStorage = { dataDir: string; databaseUrl?: string; drop(): Promise<void> };

/** Creates storage for `startTestServer({ storage })`; the caller drops it when done. */
export async function createTestStorage(): Promise<TestStorage> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'storeops-test-'));
  const database = await createTestDatabase();
  return {
    dataDir,
    databaseUrl: database.databaseUrl,
    async drop() {
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Boots StoreOps for one test file; call `close()` in afterAll. With `storage`, the server uses it
 * and `close()` leaves it in place (the caller drops it).
 */
export async function startTestServer(
  options: { env?: Record<string, string>; role?: Role; storage?: TestStorage } = {},
): Promise<TestServer> {
  const storage = options.storage ?? (await createTestStorage());
  const { dataDir } = storage;
  const database = { databaseUrl: storage.databaseUrl };
  const lines: string[] = [];
  const logDestination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(line);
      callback();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    STOREOPS_DATA_DIR: dataDir,
    ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    ...options.env,
  });
  let server: RunningServer;
  try {
    server = await startServer(config, { role: options.role, logDestination });
  } catch (error) {
    if (!options.storage) await storage.drop();
    throw error;
  }
  return {
    ...server,
    logs: { lines, text: () => lines.join('\n') },
    dataDir,
    fetch: (pathname, init) => fetch(new URL(pathname, server.url), init),
    async close() {
      await server.close();
      if (!options.storage) await storage.drop();
    },
  };
}
