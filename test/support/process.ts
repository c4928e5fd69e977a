import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** A `storeops` child process with its output collected line by line. */
export type CliProcess = {
  child: ChildProcess;
  output: string[];
  /** Resolves with the first JSON log line whose `msg` matches. */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Spawns `node src/cli/main.ts <args>` with the given environment (on the Node running the tests). */
export function spawnCli(args: string[], env: Record<string, string | undefined>): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const waiters: { msg: string; resolve: (v: Record<string, unknown>) => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      output.push(line);
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      for (const waiter of [...waiters]) {
        if (parsed?.msg === waiter.msg) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(parsed);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output,
    exited,
    waitForLog(msg, timeoutMs = 30_000) {
      const seen = output.map((l) => {
        try {
          return JSON.parse(l);
        } catch {
          return undefined;
        }
      });
      const found = seen.find((l) => l?.msg === msg);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms:\n${output.join('\n')}`)),
          timeoutMs,
        );
        waiters.push({
          msg,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        });
        exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before "${msg}":\n${output.join('\n')}`));
        });
      });
    },
  };
}
