import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { reservedPort } from './faults.ts';

const run = promisify(execFile);

/**
 * A throw-away PostgreSQL cluster for fault tests (issue 16): `initdb` into a temporary directory,
 * started with the machine's PostgreSQL binaries on a port of its own, so a test can stop and
 * restart *its* server without touching the shared one. When the tests run as root (CI), the
 * server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
 */
export type PgCluster = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  port: number;
  dir: string;
  /** The postmaster's PID while it runs (from `postmaster.pid`). */
  pid(): number | undefined;
  /** `pg_ctl start -w`: returns once the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode> -w`: returns once the server is gone. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl restart -m fast -w`. */
  restart(): Promise<void>;
  /** Stops the server (by PID if pg_ctl cannot) and removes the directory. */
  close(): Promise<void>;
};

/** The newest `/usr/lib/postgresql/<version>/bin` that has initdb and pg_ctl (or PG_BINDIR). */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(root, v, 'bin'));
  }
  return candidates.find(
    (dir) => existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl')),
  );
}

/** Creates and starts a cluster; throws with the reason when the binaries are missing. */
export async function startPgCluster(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'storeops-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'server.log');
  const pgCommand = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args])
      : run(path.join(bin, tool), args);
  const withLog = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (error) {
      const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
      throw new Error(`${what} failed: ${(error as Error).message}\n${tail}`);
    }
  };

  let port = 0;
  const options = () =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      // Small and quiet: a test cluster, not a benchmark.
      '-c shared_buffers=32MB',
      '-c max_connections=60',
      '-c log_min_messages=warning',
    ].join(' ');
  const pid = () => {
    try {
      return Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
    } catch {
      return undefined;
    }
  };
  const start = () =>
    withLog('pg_ctl start', () =>
      pgCommand('pg_ctl', ['-D', data, '-l', log, '-o', options(), '-w', 'start']),
    );
  const stop = (mode: 'fast' | 'immediate' = 'fast') =>
    withLog('pg_ctl stop', () => pgCommand('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']));

  try {
    await withLog('initdb', () =>
      pgCommand('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-N', '-E', 'UTF8', '--locale=C']),
    );
    // The port could be taken between the probe and the start; try a few.
    for (let attempt = 1; ; attempt++) {
      port = await reservedPort();
      try {
        await start();
        break;
      } catch (error) {
        if (attempt >= 5) throw error;
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    pid,
    start,
    stop,
    restart: () =>
      withLog('pg_ctl restart', () =>
        pgCommand('pg_ctl', ['-D', data, '-l', log, '-m', 'fast', '-o', options(), '-w', 'restart']),
      ),
    async close() {
      const running = pid();
      if (running) {
        await stop('immediate').catch(() => {});
        // pg_ctl could not stop it: end the postmaster by its PID (SIGQUIT = immediate shutdown).
        if (isAlive(running)) process.kill(running, 'SIGQUIT');
        for (let i = 0; i < 100 && isAlive(running); i++) await new Promise((r) => setTimeout(r, 50));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
