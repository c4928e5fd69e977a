import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/database.ts';
import { assembleStage, envOf, execForm, parseDockerfile, type Stage } from '../support/dockerfile.ts';

// No container engine runs here, so this is the proof that the image would run (issue 15): the
// Dockerfile's stages are carried out on the file system — exactly the files its COPY lines copy,
// its `npm ci --omit=dev` — and the server is started from there with the image's CMD, ENV and
// HEALTHCHECK (the base image's node is the node of this run; the image pins node:24).

const repo = fileURLToPath(new URL('../..', import.meta.url));
const stages = parseDockerfile(readFileSync(path.join(repo, 'Dockerfile'), 'utf8'));
const runtime = stages.at(-1) as Stage;
const find = (op: string) => runtime.instructions.filter((i) => i.op === op);

let work: string;
let appDir: string;
let database: { databaseUrl?: string; drop(): Promise<void> };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'storeops-image-'));
  const stageRoots: Record<string, string> = {};
  for (const stage of stages) {
    const root = path.join(work, `stage-${stage.name}`);
    const { runs, workdir } = assembleStage(stage, { context: repo, root, stageRoots });
    for (const run of runs) {
      if (/^npm ci\b/.test(run.command)) {
        execFileSync('npm', [...run.command.split(/\s+/).slice(1), '--prefer-offline'], {
          cwd: run.cwd,
          stdio: 'pipe',
          env: { ...process.env, NODE_ENV: 'production' },
        });
      } else if (!/^mkdir -p \/data && chown node:node \/data$/.test(run.command)) {
        // Anything else would have to be emulated here before the proof could claim to cover it.
        throw new Error(`RUN not understood by the container proof: ${run.command}`);
      }
    }
    stageRoots[stage.name] = root;
    if (stage === runtime) appDir = path.join(root, workdir);
  }
  database = await createTestDatabase();
}, 300_000);
afterAll(async () => {
  await database?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the container image (Dockerfile) as a file system', () => {
  it('runs as a non-root user, listens on 0.0.0.0, has a HEALTHCHECK and production settings', () => {
    const env = envOf(runtime);
    expect(env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
    expect(find('USER').map((u) => u.args)).toEqual(['node']);
    expect(find('HEALTHCHECK')).toHaveLength(1);
    expect(stages.length).toBeGreaterThan(1);
  });

  it('holds production dependencies only, and no tests, benchmarks or secrets', () => {
    const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'));
    for (const dep of Object.keys(pkg.dependencies)) {
      expect(existsSync(path.join(appDir, 'node_modules', dep)), dep).toBe(true);
    }
    // Type packages may arrive as dependencies of production packages; tools must not.
    for (const dev of Object.keys(pkg.devDependencies).filter((d) => !d.startsWith('@types/'))) {
      expect(existsSync(path.join(appDir, 'node_modules', dev, 'package.json')), dev).toBe(false);
    }
    for (const absent of ['test', 'bench', '.env', '.git', 'data'])
      expect(existsSync(path.join(appDir, absent)), absent).toBe(false);
  });

  it('starts with the image CMD and ENV, answers /health and its HEALTHCHECK, drains on SIGTERM', async () => {
    const port = await freePort();
    const dataDir = path.join(work, 'volume');
    const env: Record<string, string> = {
      PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
      ...envOf(runtime),
      // What `docker run -e … -v …` would pass: secrets, the port mapping, the volume.
      PORT: String(port),
      STOREOPS_DATA_DIR: dataDir,
      STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      STOREOPS_SESSION_SECRET: randomBytes(48).toString('base64url'),
      STOREOPS_API_KEY_PEPPER: randomBytes(48).toString('base64url'),
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    };
    const [command, ...args] = execForm(find('CMD')[0].args);
    expect(command).toBe('node');
    const child = spawn(process.execPath, args, { cwd: appDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout.on('data', (c) => output.push(String(c)));
    child.stderr.on('data', (c) => output.push(String(c)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      let health: Response | undefined;
      while (!health && Date.now() < deadline) {
        health = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        if (!health) await new Promise((r) => setTimeout(r, 250));
      }
      expect(health?.status, output.join('')).toBe(200);
      expect(output.join('')).toMatch(/"url":"http:\/\/0\.0\.0\.0:\d+"|StoreOps is listening/);

      const [, ...checkArgs] = execForm(find('HEALTHCHECK')[0].args.replace(/^.*?CMD\s+/, ''));
      execFileSync(process.execPath, checkArgs, { cwd: appDir, env, stdio: 'pipe' }); // throws on exit ≠ 0

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.join('')).toMatch(/StoreOps stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
