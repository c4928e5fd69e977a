import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  cookieFrom,
  createOperatorSession,
  createShopper,
  createTenant,
  expectNoSecretsInLogs,
  mailsTo,
  newEmail,
  newPassword,
  rememberSecret,
  shopperLogin,
  type TestTenant,
  waitForMail,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let tenant: TestTenant;

beforeAll(async () => {
  server = await startTestServer();
  await createOperatorSession(server);
  tenant = await createTenant(server, { name: 'Corner Shop' });
});
afterAll(async () => {
  if (server) expectNoSecretsInLogs(server);
  await server?.close();
});

const anonymous = { kind: 'none' } as const;
const path = (action: string) => `/api/v1/stores/${tenant.slug}/shoppers/${action}`;
const refreshCookieName = () => `storeops_refresh_${tenant.id}`;

/** POST refresh or logout with the refresh cookie and (optionally) the CSRF header. */
const withCookie = (action: 'refresh' | 'logout', cookie: string, csrf?: string) =>
  call(server, anonymous, 'POST', path(action), undefined, {
    cookie,
    ...(csrf ? { 'x-csrf-token': csrf } : {}),
  });

describe('sign-up and verification', () => {
  it('registers, e-mails a 6-digit code, and only lets verified shoppers log in', async () => {
    const email = newEmail('ann');
    const password = newPassword();
    const reg = await call(server, anonymous, 'POST', path('register'), { email, password, name: 'Ann' });
    expect(reg.status).toBe(202);
    expect(reg.body.status).toBe('verification_required');
    const mail = await waitForMail(server, email);
    expect(mail.code).toMatch(/^\d{6}$/);
    expect(mail.subject).toContain('Corner Shop');

    const early = await call(server, anonymous, 'POST', path('login'), { email, password });
    expect(early.status).toBe(403);
    expect(early.body.error.code).toBe('EMAIL_NOT_VERIFIED');

    const wrongCode = mail.code === '000000' ? '111111' : '000000';
    const wrong = await call(server, anonymous, 'POST', path('verify'), { email, code: wrongCode });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.code).toBe('INVALID_CODE');
    const ok = await call(server, anonymous, 'POST', path('verify'), { email, code: mail.code });
    expect(ok.status).toBe(200);
    const again = await call(server, anonymous, 'POST', path('verify'), { email, code: mail.code });
    expect(again.status).toBe(400);

    const tokens = await shopperLogin(server, tenant, { email, password });
    const me = await call(server, tokens.credentials, 'GET', path('me'));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email, name: 'Ann', emailVerified: true });
  });

  it('enforces the password policy', async () => {
    for (const password of [
      'short1A',
      'alllowercase1',
      'ALLUPPERCASE1',
      'NoDigitsHere',
      'Password1',
      'Qwerty123',
      'Sunshine2024!',
    ]) {
      const res = await call(server, anonymous, 'POST', path('register'), { email: newEmail(), password });
      expect(res.status, password).toBe(422);
      expect(res.body.error.code).toBe('WEAK_PASSWORD');
    }
  });

  it('answers the same for a taken address and sends its owner a notice instead of a code', async () => {
    const shopper = await createShopper(server, tenant);
    const res = await call(server, anonymous, 'POST', path('register'), {
      email: shopper.email,
      password: newPassword(),
    });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('verification_required');
    const notice = await waitForMail(server, shopper.email, 2);
    expect(notice.code).toBeUndefined();
    expect(notice.text).toMatch(/already have one/);
    // The original password still works.
    expect(
      (
        await call(server, anonymous, 'POST', path('login'), {
          email: shopper.email,
          password: shopper.password,
        })
      ).status,
    ).toBe(200);
  });

  it('burns a code after five wrong guesses; resend issues a fresh one', async () => {
    const email = newEmail('bob');
    const password = newPassword();
    await call(server, anonymous, 'POST', path('register'), { email, password });
    const first = await waitForMail(server, email);
    const wrongCode = first.code === '999999' ? '888888' : '999999';
    for (let i = 0; i < 5; i++) {
      expect((await call(server, anonymous, 'POST', path('verify'), { email, code: wrongCode })).status).toBe(
        400,
      );
    }
    const burnt = await call(server, anonymous, 'POST', path('verify'), { email, code: first.code });
    expect(burnt.status).toBe(400);

    const resend = await call(server, anonymous, 'POST', path('verify/resend'), { email });
    expect(resend.status).toBe(202);
    const second = await waitForMail(server, email, 2);
    expect((await call(server, anonymous, 'POST', path('verify'), { email, code: second.code })).status).toBe(
      200,
    );
    // Resend for unknown or verified addresses answers the same and sends nothing.
    const unknown = newEmail('ghost');
    expect((await call(server, anonymous, 'POST', path('verify/resend'), { email: unknown })).status).toBe(
      202,
    );
    expect((await call(server, anonymous, 'POST', path('verify/resend'), { email })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    expect(mailsTo(server, unknown)).toHaveLength(0);
    expect(mailsTo(server, email)).toHaveLength(2);
  });

  it('refuses an expired code', async () => {
    const email = newEmail('cat');
    await call(server, anonymous, 'POST', path('register'), { email, password: newPassword() });
    const mail = await waitForMail(server, email);
    await server.deps.database.query(`UPDATE shopper_codes SET expires_at = now() - interval '1 second'`);
    const res = await call(server, anonymous, 'POST', path('verify'), { email, code: mail.code });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_CODE');
  });

  it('stores neither the code nor the password in the clear', async () => {
    const email = newEmail('dan');
    const password = newPassword();
    await call(server, anonymous, 'POST', path('register'), { email, password });
    const mail = await waitForMail(server, email);
    const { rows } = await server.deps.database.query<Record<string, unknown>>(
      `SELECT s.password_hash, c.code_hash FROM shoppers s JOIN shopper_codes c ON c.shopper_id = s.id
        WHERE s.email = $1`,
      [email],
    );
    expect(String(rows[0].password_hash)).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(rows)).not.toContain(password);
    expect(JSON.stringify(rows)).not.toContain(`"${mail.code}"`);
  });
});

describe('login, refresh and logout', () => {
  it('gives a short-lived access token and an HttpOnly refresh cookie scoped to the storefront API', async () => {
    const shopper = await createShopper(server, tenant);
    const res = await call(server, anonymous, 'POST', path('login'), {
      email: shopper.email,
      password: shopper.password,
    });
    expect(res.body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 900,
      shopper: { email: shopper.email },
    });
    rememberSecret(res.body.accessToken);
    const line = res.headers.getSetCookie().find((c) => c.startsWith(`${refreshCookieName()}=`))!;
    rememberSecret(line.split(';')[0].split('=')[1]);
    expect(line).toMatch(/HttpOnly/i);
    expect(line).toMatch(/Path=\/api\/v1\/stores\//);
    expect(line).toMatch(/SameSite=Lax/i);
    const [, payload] = res.body.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims).toMatchObject({ tid: tenant.id, aud: 'storeops:shopper', iss: 'storeops' });
    expect(claims.exp - claims.iat).toBe(900);
  });

  it('uses the same 401 for unknown shoppers and wrong passwords', async () => {
    const shopper = await createShopper(server, tenant);
    const unknown = await call(server, anonymous, 'POST', path('login'), {
      email: newEmail(),
      password: shopper.password,
    });
    const wrong = await call(server, anonymous, 'POST', path('login'), {
      email: shopper.email,
      password: `${shopper.password}x`,
    });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({
      code: unknown.body.error.code,
      message: unknown.body.error.message,
    });
  });

  it('rotates the refresh token on every use', async () => {
    const shopper = await createShopper(server, tenant);
    const first = await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken);
    expect(first.status).toBe(200);
    const next = cookieFrom(first.headers, refreshCookieName())!;
    rememberSecret(next.split('=')[1]);
    rememberSecret(first.body.accessToken);
    expect(next).not.toBe(shopper.refreshCookie);
    expect(first.body.csrfToken).toBe(shopper.csrfToken);
    const me = await call(server, { kind: 'bearer', token: first.body.accessToken }, 'GET', path('me'));
    expect(me.status).toBe(200);
    const second = await withCookie('refresh', next, shopper.csrfToken);
    expect(second.status).toBe(200);
    rememberSecret(cookieFrom(second.headers, refreshCookieName())?.split('=')[1]);
    rememberSecret(second.body.accessToken);
  });

  it('detects reuse of a refresh token and revokes the whole family', async () => {
    const shopper = await createShopper(server, tenant);
    const rotated = await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken);
    const current = cookieFrom(rotated.headers, refreshCookieName())!;
    rememberSecret(current.split('=')[1]);
    rememberSecret(rotated.body.accessToken);
    // The old token comes back (stolen copy): refused, and the legitimate current one dies with it.
    const replay = await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken);
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('REFRESH_TOKEN_REUSED');
    const victim = await withCookie('refresh', current, shopper.csrfToken);
    expect(victim.status).toBe(401);
    expect(victim.body.error.code).toBe('REFRESH_TOKEN_REVOKED');
    const operator = await createOperatorSession(server);
    const log = await call(
      server,
      operator,
      'GET',
      `/api/v1/tenants/${tenant.id}/audit-log?action=shopper.refresh_reused`,
    );
    expect(log.body.items).toHaveLength(1);
  });

  it('refuses expired refresh tokens', async () => {
    const shopper = await createShopper(server, tenant);
    await server.deps.database.query(
      `UPDATE shopper_refresh_tokens SET expires_at = now() - interval '1 second'
        WHERE shopper_id = (SELECT id FROM shoppers WHERE email = $1)`,
      [shopper.email],
    );
    const res = await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('REFRESH_TOKEN_EXPIRED');
    expect(res.headers.getSetCookie().some((c) => c.startsWith(`${refreshCookieName()}=;`))).toBe(true);
  });

  it('refuses expired and tampered access tokens', async () => {
    const shopper = await createShopper(server, tenant);
    const tampered = `${shopper.accessToken.slice(0, -3)}abc`;
    const bad = await call(server, { kind: 'bearer', token: tampered }, 'GET', path('me'));
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('INVALID_TOKEN');
    const { SignJWT } = await import('jose');
    const forged = await new SignJWT({ tid: tenant.id, ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('00000000-0000-0000-0000-000000000000')
      .setIssuer('storeops')
      .setAudience('storeops:shopper')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('not-the-server-key-not-the-server-key'));
    expect((await call(server, { kind: 'bearer', token: forged }, 'GET', path('me'))).status).toBe(401);
    const noAuth = await call(server, anonymous, 'GET', path('me'));
    expect(noAuth.status).toBe(401);
  });

  it('needs the CSRF token to refresh or log out with the cookie', async () => {
    const shopper = await createShopper(server, tenant);
    const noCsrf = await withCookie('refresh', shopper.refreshCookie);
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.error.code).toBe('CSRF_TOKEN_INVALID');
    const logoutNoCsrf = await withCookie('logout', shopper.refreshCookie, 'forged');
    expect(logoutNoCsrf.status).toBe(403);
    // Still usable: a failed CSRF check does not burn the token.
    expect((await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken)).status).toBe(200);
  });

  it('refreshes even when a stale access token is attached', async () => {
    const shopper = await createShopper(server, tenant);
    const res = await call(
      server,
      { kind: 'bearer', token: 'expired.or.garbage' },
      'POST',
      path('refresh'),
      undefined,
      {
        cookie: shopper.refreshCookie,
        'x-csrf-token': shopper.csrfToken,
      },
    );
    expect(res.status).toBe(200);
    rememberSecret(res.body.accessToken);
    rememberSecret(cookieFrom(res.headers, refreshCookieName())?.split('=')[1]);
  });

  it('logs out: the refresh token stops working and the cookies are cleared', async () => {
    const shopper = await createShopper(server, tenant);
    const out = await withCookie('logout', shopper.refreshCookie, shopper.csrfToken);
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().some((c) => c.startsWith(`${refreshCookieName()}=;`))).toBe(true);
    const after = await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken);
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('REFRESH_TOKEN_REVOKED');
    expect((await withCookie('logout', shopper.refreshCookie, shopper.csrfToken)).status).toBe(204);
  });

  it('locks a shopper account after repeated failures', async () => {
    const shopper = await createShopper(server, tenant);
    for (let i = 0; i < 5; i++) {
      await call(server, anonymous, 'POST', path('login'), {
        email: shopper.email,
        password: `Bad-${i}-Pass1`,
      });
    }
    const locked = await call(server, anonymous, 'POST', path('login'), {
      email: shopper.email,
      password: shopper.password,
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('password reset', () => {
  it('resets with the e-mailed code, signs out every device, and the old password stops working', async () => {
    const shopper = await createShopper(server, tenant);
    const mailsBefore = mailsTo(server, shopper.email).length;
    const asked = await call(server, anonymous, 'POST', path('password-reset'), { email: shopper.email });
    expect(asked.status).toBe(202);
    const mail = await waitForMail(server, shopper.email, mailsBefore + 1);
    expect(mail.subject).toMatch(/Reset/);
    const newPass = newPassword();
    const wrong = await call(server, anonymous, 'POST', path('password-reset/confirm'), {
      email: shopper.email,
      code: mail.code === '123456' ? '654321' : '123456',
      newPassword: newPass,
    });
    expect(wrong.status).toBe(400);
    const weak = await call(server, anonymous, 'POST', path('password-reset/confirm'), {
      email: shopper.email,
      code: mail.code,
      newPassword: 'password',
    });
    expect(weak.status).toBe(422);
    const done = await call(server, anonymous, 'POST', path('password-reset/confirm'), {
      email: shopper.email,
      code: mail.code,
      newPassword: newPass,
    });
    expect(done.status).toBe(200);
    // Old access token, old refresh token and old password are all dead.
    expect((await call(server, shopper.credentials, 'GET', path('me'))).status).toBe(401);
    expect((await withCookie('refresh', shopper.refreshCookie, shopper.csrfToken)).status).toBe(401);
    expect(
      (
        await call(server, anonymous, 'POST', path('login'), {
          email: shopper.email,
          password: shopper.password,
        })
      ).status,
    ).toBe(401);
    await shopperLogin(server, tenant, { email: shopper.email, password: newPass });
    // The code was single use.
    const reuse = await call(server, anonymous, 'POST', path('password-reset/confirm'), {
      email: shopper.email,
      code: mail.code,
      newPassword: newPassword(),
    });
    expect(reuse.status).toBe(400);
  });

  it('answers the same for unknown addresses and sends nothing', async () => {
    const ghost = newEmail('ghost');
    const res = await call(server, anonymous, 'POST', path('password-reset'), { email: ghost });
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 100));
    expect(mailsTo(server, ghost)).toHaveLength(0);
  });
});
