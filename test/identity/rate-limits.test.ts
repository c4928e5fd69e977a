import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  createOperatorSession,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  mailsTo,
  newEmail,
  newPassword,
  type TestTenant,
  waitForMail,
} from '../support/identity.ts';
import { createTestStorage, startTestServer, type TestServer } from '../support/server.ts';

// Counters live in the database (auth_throttles), so they hold across API processes and restarts.
// All requests here come from 127.0.0.1, so each per-IP limit is tripped on purpose, one action
// (login, register, code, mail) per test.

let server: TestServer;
let tenant: TestTenant;
const anonymous = { kind: 'none' } as const;

beforeAll(async () => {
  server = await startTestServer();
  await createOperatorSession(server);
  tenant = await createTenant(server);
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

const shoppers = (action: string) => `/api/v1/stores/${tenant.id}/shoppers/${action}`;

describe('per-IP limits with backoff', () => {
  it('blocks an IP after 50 failed logins on any accounts (for accounts that failed), then doubles the block', async () => {
    const staff = await createStaff(server, tenant);
    const failed: string[] = [];
    for (let i = 0; i < 50; i++) {
      failed.push(newEmail());
      const res = await call(server, anonymous, 'POST', '/api/v1/sessions', {
        email: failed[i],
        password: 'Wrong-Pass-1',
      });
      expect(res.status).toBe(401);
    }
    // An account that failed is refused from the blocked address…
    const blocked = await call(server, anonymous, 'POST', '/api/v1/sessions', {
      email: failed[0],
      password: 'Wrong-Pass-1',
    });
    expect(blocked.status).toBe(429);
    const first = Number(blocked.headers.get('retry-after'));
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(60);
    // …one that has not failed still gets its password checked (docs/security.md: a colleague
    // behind the same address is not locked out by someone else's attack).
    expect((await call(server, anonymous, 'POST', '/api/v1/sessions', staff)).status).toBe(201);
    // Shopper logins from the same IP share the counter: a shopper account that failed is refused.
    const shopperEmail = newEmail();
    const shopperFirst = await call(server, anonymous, 'POST', shoppers('login'), {
      email: shopperEmail,
      password: 'x',
    });
    expect(shopperFirst.status).toBe(401);
    const shopperLogin = await call(server, anonymous, 'POST', shoppers('login'), {
      email: shopperEmail,
      password: 'x',
    });
    expect(shopperLogin.status).toBe(429);

    // The block runs out (simulated), the attacker carries on: the next block is twice as long.
    await server.deps.database.query(
      `UPDATE auth_throttles SET blocked_until = now() WHERE key = 'login:ip:127.0.0.1'`,
    );
    for (let i = 0; i < 50; i++) {
      await call(server, anonymous, 'POST', '/api/v1/sessions', {
        email: newEmail(),
        password: 'Wrong-Pass-1',
      });
    }
    const again = await call(server, anonymous, 'POST', '/api/v1/sessions', {
      email: failed[1],
      password: 'Wrong-Pass-1',
    });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(60);
    const { rows } = await server.deps.database.query<{ strikes: number }>(
      `SELECT strikes FROM auth_throttles WHERE key = 'login:ip:127.0.0.1'`,
    );
    expect(rows[0].strikes).toBe(2);
  });

  it('limits sign-ups per IP', async () => {
    let status = 0;
    let attempts = 0;
    while (attempts < 40) {
      attempts++;
      const res = await call(server, anonymous, 'POST', shoppers('register'), {
        email: newEmail(),
        password: newPassword(),
      });
      status = res.status;
      if (status === 429) {
        expect(res.headers.get('retry-after')).toBeTruthy();
        break;
      }
      expect(status).toBe(202);
    }
    expect(status).toBe(429);
    // 30 account creations per hour: the operator bootstrap in beforeAll was the first.
    expect(attempts).toBe(30);
  });

  it('limits code e-mails per account without telling the caller', async () => {
    const email = newEmail('mailbox');
    await server.deps.database.query(`DELETE FROM auth_throttles WHERE key LIKE 'register:%'`);
    await call(server, anonymous, 'POST', shoppers('register'), { email, password: newPassword() });
    await waitForMail(server, email);
    for (let i = 0; i < 4; i++) {
      const res = await call(server, anonymous, 'POST', shoppers('verify/resend'), { email });
      expect(res.status).toBe(202);
    }
    await waitForMail(server, email, 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(mailsTo(server, email)).toHaveLength(3);
  });

  it('blocks an IP that guesses too many codes', async () => {
    const email = newEmail('guess');
    await server.deps.database.query(`DELETE FROM auth_throttles WHERE key LIKE 'register:%'`);
    await call(server, anonymous, 'POST', shoppers('register'), { email, password: newPassword() });
    let status = 0;
    for (let i = 0; i < 31 && status !== 429; i++) {
      status = (
        await call(server, anonymous, 'POST', shoppers('verify'), { email: newEmail(), code: '123456' })
      ).status;
    }
    expect(status).toBe(429);
  });
});

describe('across processes', () => {
  it('keeps an account locked when the API process is replaced', async () => {
    const storage = await createTestStorage();
    try {
      const first = await startTestServer({ storage });
      const operator = await createOperatorSession(first);
      const store = await createTenant(first, {}, operator);
      const staff = await createStaff(first, store, {}, operator);
      for (let i = 0; i < 5; i++) {
        await call(first, anonymous, 'POST', '/api/v1/sessions', {
          email: staff.email,
          password: `Nope-${i}-Pass1`,
        });
      }
      expect((await call(first, anonymous, 'POST', '/api/v1/sessions', staff)).status).toBe(429);
      expectNoSecretsInLogs(first);
      await first.close();

      const second = await startTestServer({ storage });
      try {
        const res = await call(second, anonymous, 'POST', '/api/v1/sessions', staff);
        expect(res.status).toBe(429);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expectNoSecretsInLogs(second);
      } finally {
        await second.close();
      }
    } finally {
      await storage.drop();
    }
  });
});
