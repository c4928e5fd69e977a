import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, login, newEmail, newPassword } from '../support/identity.ts';
import { spawnCli } from '../support/process.ts';
import { createTestStorage, startTestServer, type TestStorage } from '../support/server.ts';

let storage: TestStorage;
beforeAll(async () => {
  storage = await createTestStorage();
});
afterAll(async () => {
  await storage?.drop();
});

const env = () => ({
  NODE_ENV: 'test',
  STOREOPS_DATA_DIR: storage.dataDir,
  ...(storage.databaseUrl ? { DATABASE_URL: storage.databaseUrl } : {}),
});

/** `storeops operator create …` with the password on standard input. */
function createWithStdin(args: string[], password: string) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), ...args],
    {
      env: { PATH: process.env.PATH, ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  child.stdin.end(`${password}\n`);
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
}

describe('storeops operator create', () => {
  const first = { email: newEmail('cli-op'), password: newPassword() };
  const second = { email: newEmail('cli-op2'), password: newPassword() };

  it('creates operators from the environment or stdin, never echoing the password', async () => {
    const viaEnv = spawnCli(['operator', 'create', '--email', first.email], {
      ...env(),
      STOREOPS_OPERATOR_PASSWORD: first.password,
    });
    expect((await viaEnv.exited).code).toBe(0);
    expect(viaEnv.output.join('\n')).toContain(`created operator ${first.email}`);
    expect(viaEnv.output.join('\n')).not.toContain(first.password);

    const viaStdin = await createWithStdin(
      ['operator', 'create', '--email', second.email, '--password-stdin'],
      second.password,
    );
    expect(viaStdin.code, viaStdin.output).toBe(0);
    expect(viaStdin.output).not.toContain(second.password);
  });

  it('refuses weak passwords, duplicates and a missing password', async () => {
    const weak = spawnCli(['operator', 'create', '--email', newEmail()], {
      ...env(),
      STOREOPS_OPERATOR_PASSWORD: 'password1',
    });
    expect((await weak.exited).code).toBe(1);
    expect(weak.output.join('\n')).toMatch(/must contain an upper-case letter/);
    const dup = spawnCli(['operator', 'create', '--email', first.email], {
      ...env(),
      STOREOPS_OPERATOR_PASSWORD: newPassword(),
    });
    expect((await dup.exited).code).toBe(1);
    expect(dup.output.join('\n')).toMatch(/exists/);
    const none = spawnCli(['operator', 'create', '--email', newEmail()], env());
    expect((await none.exited).code).toBe(2);
    const badEmail = spawnCli(['operator', 'create', '--email', 'not-an-email'], {
      ...env(),
      STOREOPS_OPERATOR_PASSWORD: newPassword(),
    });
    expect((await badEmail.exited).code).toBe(2);
  });

  it('the operators can log in, and the API bootstrap is closed', async () => {
    const server = await startTestServer({ storage });
    try {
      const session = await login(server, second);
      expect((await call(server, session, 'GET', '/api/v1/me')).body).toMatchObject({
        kind: 'operator',
        email: second.email,
      });
      await login(server, first);
      const bootstrap = await call(server, { kind: 'none' }, 'POST', '/api/v1/operators/bootstrap', {
        email: newEmail(),
        password: newPassword(),
      });
      expect(bootstrap.status).toBe(409);
    } finally {
      await server.close();
    }
  });
});
