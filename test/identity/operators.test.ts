import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  cookieFrom,
  expectNoSecretsInLogs,
  login,
  newEmail,
  newPassword,
  rememberSecret,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

const anonymous = { kind: 'none' } as const;
const operator = { email: newEmail('operator'), password: newPassword() };

describe('operator bootstrap', () => {
  it('refuses a weak password with every problem listed', async () => {
    const res = await call(server, anonymous, 'POST', '/api/v1/operators/bootstrap', {
      email: operator.email,
      password: 'password',
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('WEAK_PASSWORD');
    expect(res.body.error.details.problems).toEqual(
      expect.arrayContaining(['must contain an upper-case letter', 'must contain a digit']),
    );
    const common = await call(server, anonymous, 'POST', '/api/v1/operators/bootstrap', {
      email: operator.email,
      password: 'Password123',
    });
    expect(common.status).toBe(422);
    expect(common.body.error.message).toMatch(/too common/);
  });

  it('creates the first operator, then refuses a second bootstrap', async () => {
    const first = await call(server, anonymous, 'POST', '/api/v1/operators/bootstrap', operator);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ email: operator.email, id: expect.any(String) });
    expect(first.text).not.toContain(operator.password);
    const second = await call(server, anonymous, 'POST', '/api/v1/operators/bootstrap', {
      email: newEmail('intruder'),
      password: newPassword(),
    });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('BOOTSTRAP_DONE');
  });
});

describe('operator sessions', () => {
  it('logs in with an HttpOnly, SameSite=Lax session cookie and a CSRF token', async () => {
    const res = await call(server, anonymous, 'POST', '/api/v1/sessions', operator);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'operator', email: operator.email, via: 'session' });
    expect(res.body.csrfToken).toEqual(expect.any(String));
    const line = res.headers.getSetCookie().find((c) => c.startsWith('storeops_session='))!;
    rememberSecret(line.split(';')[0].split('=')[1]);
    rememberSecret(res.body.csrfToken);
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/SameSite=Lax/i);
    expect(line).toMatch(/Path=\//);
    // Not in production: no Secure flag, so plain-HTTP development works.
    expect(line).not.toMatch(/Secure/i);
    const csrf = cookieFrom(res.headers, 'storeops_csrf');
    expect(csrf).toBe(`storeops_csrf=${res.body.csrfToken}`);
    // The session id is stored hashed: the cookie value is nowhere in the table.
    const value = line.split(';')[0].split('=')[1];
    const { rows } = await server.deps.database.query<{ token_hash: string }>(
      'SELECT token_hash FROM sessions',
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.token_hash === value)).toBe(false);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.token_hash))).toBe(true);
  });

  it('answers me with the operator and the CSRF token', async () => {
    const session = await login(server, operator);
    const me = await call(server, session, 'GET', '/api/v1/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'operator', email: operator.email, csrfToken: session.csrfToken });
  });

  it('gives the same 401 for an unknown e-mail and a wrong password', async () => {
    const unknown = await call(server, anonymous, 'POST', '/api/v1/sessions', {
      email: newEmail('nobody'),
      password: operator.password,
    });
    const wrong = await call(server, anonymous, 'POST', '/api/v1/sessions', {
      email: operator.email,
      password: `${operator.password}x`,
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.body.error.code).toBe('INVALID_CREDENTIALS');
    expect(wrong.body.error.code).toBe(unknown.body.error.code);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('requires the CSRF header on cookie-authenticated writes', async () => {
    const session = await login(server, operator);
    const noHeader = await call(
      server,
      { kind: 'none' },
      'POST',
      '/api/v1/tenants',
      { name: 'X', slug: 'csrf-x' },
      {
        cookie: session.cookie,
      },
    );
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.code).toBe('CSRF_TOKEN_INVALID');
    const wrongHeader = await call(
      server,
      { kind: 'none' },
      'POST',
      '/api/v1/tenants',
      { name: 'X', slug: 'csrf-x' },
      {
        cookie: session.cookie,
        'x-csrf-token': 'forged',
      },
    );
    expect(wrongHeader.status).toBe(403);
    // Reads need no token.
    const read = await call(server, { kind: 'none' }, 'GET', '/api/v1/tenants', undefined, {
      cookie: session.cookie,
    });
    expect(read.status).toBe(200);
    const ok = await call(server, session, 'POST', '/api/v1/tenants', { name: 'X', slug: 'csrf-x' });
    expect(ok.status).toBe(201);
  });

  it('logs out: the cookie stops working', async () => {
    const session = await login(server, operator);
    const out = await call(server, session, 'DELETE', '/api/v1/sessions/current');
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => c.startsWith('storeops_session=;'))).toBe(true);
    const me = await call(server, session, 'GET', '/api/v1/me');
    expect(me.status).toBe(401);
    expect(me.body.error.code).toBe('SESSION_EXPIRED');
  });

  it('ends idle sessions and sessions past their absolute expiry', async () => {
    const idle = await login(server, operator);
    const old = await login(server, operator);
    const hash = async (cookie: string) => {
      const { createHash } = await import('node:crypto');
      return createHash('sha256').update(cookie.split('=')[1]).digest('hex');
    };
    await server.deps.database.query(
      `UPDATE sessions SET last_seen_at = now() - interval '3 hours' WHERE token_hash = $1`,
      [await hash(idle.cookie)],
    );
    await server.deps.database.query(
      `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`,
      [await hash(old.cookie)],
    );
    expect((await call(server, idle, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await call(server, old, 'GET', '/api/v1/me')).status).toBe(401);
  });

  it('refuses anonymous callers on protected routes', async () => {
    const res = await call(server, anonymous, 'GET', '/api/v1/tenants');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('cleans up ended sessions on an hourly job, keeping live ones', async () => {
    const live = await login(server, operator);
    const ended = await login(server, operator);
    const { createHash } = await import('node:crypto');
    await server.deps.database.query(
      `UPDATE sessions SET expires_at = now() - interval '2 days' WHERE token_hash = $1`,
      [createHash('sha256').update(ended.cookie.split('=')[1]).digest('hex')],
    );
    const removed = await server.deps.identity.cleanup();
    expect(removed.sessions).toBeGreaterThanOrEqual(1);
    expect((await call(server, live, 'GET', '/api/v1/me')).status).toBe(200);
    expect(await server.deps.jobs.queueStats('identity.cleanup')).toMatchObject({ name: 'identity.cleanup' });
  });
});

describe('in production', () => {
  it('marks the session, CSRF and refresh cookies Secure', async () => {
    const { randomBytes } = await import('node:crypto');
    const prod = await startTestServer({
      env: {
        NODE_ENV: 'production',
        STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
        STOREOPS_SESSION_SECRET: randomBytes(32).toString('base64url'),
        STOREOPS_API_KEY_PEPPER: randomBytes(32).toString('base64url'),
      },
    });
    try {
      const admin = { email: newEmail('prod'), password: newPassword() };
      expect((await call(prod, anonymous, 'POST', '/api/v1/operators/bootstrap', admin)).status).toBe(201);
      const res = await call(prod, anonymous, 'POST', '/api/v1/sessions', admin);
      const cookies = res.headers.getSetCookie();
      for (const cookie of cookies) rememberSecret(cookie.split(';')[0].split('=')[1]);
      rememberSecret(res.body.csrfToken);
      expect(cookies.length).toBe(2);
      for (const cookie of cookies) expect(cookie).toMatch(/; Secure/i);
      expectNoSecretsInLogs(prod);
    } finally {
      await prod.close();
    }
  });
});
