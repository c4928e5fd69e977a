import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  cookieFrom,
  createOperatorSession,
  createShopper,
  createStaff,
  createTenant,
  expectNoSecretsInLogs,
  login,
  rememberSecret,
} from '../support/identity.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

// Security checks on sessions and browser-facing headers (issue 16): a session id never survives a
// login (fixation), the cookie flags (HttpOnly, SameSite, Path, Secure in production), and a
// Content-Security-Policy fit for the dashboard and the docs page — on a test-mode server and on
// one in production mode.

let server: TestServer;
let production: TestServer;

/** The attributes of one Set-Cookie line, lower-cased names (`{ httponly: true, path: '/' }`). */
function attributesOf(headers: Headers, name: string): Record<string, string | true> | undefined {
  for (const line of headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    if (pair.slice(0, pair.indexOf('=')) !== name) continue;
    const out: Record<string, string | true> = { value: pair.slice(pair.indexOf('=') + 1) };
    for (const attr of attrs) {
      const eq = attr.indexOf('=');
      out[(eq < 0 ? attr : attr.slice(0, eq)).toLowerCase()] = eq < 0 ? true : attr.slice(eq + 1);
    }
    return out;
  }
  return undefined;
}

const secret = () => randomBytes(32).toString('base64url');

beforeAll(async () => {
  server = await startTestServer();
  production = await startTestServer({
    env: {
      NODE_ENV: 'production',
      STOREOPS_SESSION_SECRET: secret(),
      STOREOPS_API_KEY_PEPPER: secret(),
      STOREOPS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    },
  });
});
afterAll(async () => {
  for (const s of [server, production]) if (s) expectNoSecretsInLogs(s);
  await server?.close();
  await production?.close();
});

describe('session fixation', () => {
  it('never adopts a session id the browser brings to the login', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    const staff = await createStaff(server, tenant, { role: 'owner' }, operator);
    // An id the attacker chose and planted in the victim's browser.
    const planted = `storeops_session=${randomBytes(32).toString('base64url')}`;
    const res = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', staff, { cookie: planted });
    expect(res.status, res.text).toBe(201);
    const issued = cookieFrom(res.headers, 'storeops_session');
    expect(issued).toBeDefined();
    rememberSecret(issued!.split('=')[1]);
    expect(issued).not.toBe(planted);
    expect(
      (await call(server, { kind: 'none' }, 'GET', '/api/v1/me', undefined, { cookie: planted })).status,
    ).toBe(401);
    expect(
      (await call(server, { kind: 'none' }, 'GET', '/api/v1/me', undefined, { cookie: issued! })).status,
    ).toBe(200);
  });

  it('ends the session the browser carried when someone logs in over it', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    const attacker = await createStaff(server, tenant, { role: 'staff' }, operator);
    const victim = await createStaff(server, tenant, { role: 'owner' }, operator);
    // The attacker's own live session, planted in the victim's browser.
    const before = await login(server, attacker);
    const res = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', victim, {
      cookie: before.cookie,
    });
    expect(res.status, res.text).toBe(201);
    const after = cookieFrom(res.headers, 'storeops_session')!;
    rememberSecret(after.split('=')[1]);
    expect(after).not.toBe(before.cookie);
    // The old id is dead: the attacker does not share the victim's browser session afterwards…
    expect((await call(server, before, 'GET', '/api/v1/me')).status).toBe(401);
    // …and the new one is the victim's.
    const me = await call(server, { kind: 'none' }, 'GET', '/api/v1/me', undefined, { cookie: after });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(victim.id);
    // A failed login over a live session leaves it alone (nobody proved anything).
    const mine = await login(server, attacker);
    const wrong = await call(
      server,
      { kind: 'none' },
      'POST',
      '/api/v1/sessions',
      { email: attacker.email, password: 'Wrong-Pass-42' },
      { cookie: mine.cookie },
    );
    expect(wrong.status).toBe(401);
    expect((await call(server, mine, 'GET', '/api/v1/me')).status).toBe(200);
  });

  it('gives every login its own id, even for the same account', async () => {
    const operator = await createOperatorSession(server);
    const tenant = await createTenant(server, {}, operator);
    const staff = await createStaff(server, tenant, { role: 'staff' }, operator);
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await login(server, staff)).cookie);
    expect(ids.size).toBe(3);
  });
});

describe('cookie flags', () => {
  for (const mode of ['test', 'production'] as const) {
    it(`sets HttpOnly, SameSite=Lax and Path on every credential cookie (${mode} mode${mode === 'production' ? ', plus Secure' : ''})`, async () => {
      const target = mode === 'test' ? server : production;
      const operator = await createOperatorSession(target);
      const tenant = await createTenant(target, {}, operator);
      const staff = await createStaff(target, tenant, { role: 'owner' }, operator);
      const res = await call(target, { kind: 'none' }, 'POST', '/api/v1/sessions', staff);
      expect(res.status, res.text).toBe(201);
      const session = attributesOf(res.headers, 'storeops_session');
      const csrf = attributesOf(res.headers, 'storeops_csrf');
      rememberSecret(String(session?.value));
      const secure = mode === 'production';
      expect(session).toMatchObject({ httponly: true, samesite: 'Lax', path: '/' });
      expect(session?.secure === true).toBe(secure);
      // The CSRF copy is readable by the dashboard's scripts on purpose; the rest is the same.
      expect(csrf?.httponly).toBeUndefined();
      expect(csrf).toMatchObject({ samesite: 'Lax', path: '/' });
      expect(csrf?.secure === true).toBe(secure);
      expect(session?.expires).toBeDefined();

      // Logout clears both with the same attributes.
      const cookie = `storeops_session=${session?.value}`;
      const out = await call(target, { kind: 'none' }, 'DELETE', '/api/v1/sessions/current', undefined, {
        cookie,
        'x-csrf-token': res.body.csrfToken,
      });
      expect(out.status, out.text).toBe(204);
      const cleared = attributesOf(out.headers, 'storeops_session');
      expect(cleared).toMatchObject({ httponly: true, samesite: 'Lax', path: '/', value: '' });
      expect(cleared?.secure === true).toBe(secure);

      // The shopper's refresh cookie: HttpOnly, only sent to the storefront API.
      if (mode === 'test') {
        const shopper = await createShopper(target, tenant);
        const again = await call(
          target,
          { kind: 'none' },
          'POST',
          `/api/v1/stores/${tenant.id}/shoppers/login`,
          {
            email: shopper.email,
            password: shopper.password,
          },
        );
        const refresh = attributesOf(again.headers, `storeops_refresh_${tenant.id}`);
        rememberSecret(String(refresh?.value));
        expect(refresh).toMatchObject({ httponly: true, samesite: 'Lax', path: '/api/v1/stores/' });
        expect(refresh?.secure).toBeUndefined();
        const shopperCsrf = attributesOf(again.headers, `storeops_shopper_csrf_${tenant.id}`);
        expect(shopperCsrf).toMatchObject({ samesite: 'Lax', path: '/' });
      }
    });
  }
});

describe('Content-Security-Policy', () => {
  const directives = (header: string | null) =>
    Object.fromEntries(
      (header ?? '')
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((parts) => parts[0])
        .map(([name, ...values]) => [name, values]),
    );

  it('is strict enough for the dashboard on every kind of response', async () => {
    for (const path of [
      '/api/v1/me',
      '/health',
      '/app?shop=csp-shop.myshopify.com',
      '/api/v1/nothing-here',
    ]) {
      const res = await server.fetch(path);
      const csp = directives(res.headers.get('content-security-policy'));
      expect(csp['default-src'], path).toEqual(["'self'"]);
      // Scripts only from this origin: no inline script, no eval, no attribute handlers.
      expect(csp['script-src'], path).toEqual(["'self'"]);
      expect(csp['script-src-attr'], path).toEqual(["'none'"]);
      expect(csp['object-src'], path).toEqual(["'none'"]);
      expect(csp['base-uri'], path).toEqual(["'self'"]);
      expect(csp['form-action'], path).toEqual(["'self'"]);
      // Framed only by our own pages (clickjacking); the app is not embedded in Shopify's admin.
      expect(csp['frame-ancestors'], path).toEqual(["'self'"]);
      expect(csp['connect-src'], path).toEqual(["'self'"]);
      // Product images may come from an object store or CDN over https; styles may be inline.
      expect(csp['img-src'], path).toEqual(["'self'", 'data:', 'https:']);
      expect(csp['style-src'], path).toEqual(["'self'", "'unsafe-inline'"]);
      expect(res.headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      await res.body?.cancel();
    }
  });

  it('keeps scripts to this origin on the API docs page too', async () => {
    const res = await server.fetch('/docs/');
    expect(res.status).toBe(200);
    const csp = directives(res.headers.get('content-security-policy'));
    for (const value of csp['script-src'] ?? [])
      expect(["'self'"].includes(value) || value.startsWith("'sha256-")).toBe(true);
    expect(csp['script-src'] ?? []).not.toContain("'unsafe-inline'");
    expect(csp['script-src'] ?? []).not.toContain("'unsafe-eval'");
    await res.body?.cancel();
  });
});
