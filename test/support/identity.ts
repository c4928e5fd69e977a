import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { TestServer } from './server.ts';

// Helpers for anything that needs principals (issue 4): operators, tenants, staff, API keys and
// shoppers, each created through the real HTTP API. Every secret they see (passwords, cookies,
// tokens, keys, codes) is remembered, so `expectNoSecretsInLogs` can prove none reached the logs.

/** Every secret the helpers handled in this test file. */
export const secretsSeen = new Set<string>();

/** Remembers a secret for the log scan (ignored when too short to be meaningful). */
export function rememberSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secretsSeen.add(value);
}

/** Fails when any remembered secret (or its base64 / URL-encoded form) appears in the server's logs. */
export function expectNoSecretsInLogs(server: TestServer, extra: string[] = []): void {
  const logs = server.logs.text();
  const leaked: string[] = [];
  for (const secret of [...secretsSeen, ...extra]) {
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
    // A six-digit code turns up inside any long number (every log line's epoch-ms time) by chance:
    // digits-only secrets count only where they stand alone.
    const found = /^\d+$/.test(secret)
      ? new RegExp(`(?<!\\d)${secret}(?!\\d)`).test(logs) || logs.includes(forms[2])
      : forms.some((form) => logs.includes(form));
    if (found) leaked.push(`${secret.slice(0, 4)}… (${secret.length} chars)`);
  }
  expect(leaked, 'secrets found in the server logs').toEqual([]);
}

/** How a request authenticates. */
export type Credentials =
  | { kind: 'session'; cookie: string; csrfToken: string }
  | { kind: 'basic'; email: string; password: string }
  | { kind: 'apiKey'; key: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'none' };

/** A JSON response. */
export type ApiResponse<T = any> = { status: number; body: T; headers: Headers; text: string };

/** Headers for a set of credentials (the CSRF header goes with sessions). */
export function authHeaders(credentials: Credentials): Record<string, string> {
  switch (credentials.kind) {
    case 'session':
      return { cookie: credentials.cookie, 'x-csrf-token': credentials.csrfToken };
    case 'basic': {
      const encoded = Buffer.from(`${credentials.email}:${credentials.password}`).toString('base64');
      rememberSecret(encoded);
      return { authorization: `Basic ${encoded}` };
    }
    case 'apiKey':
      return { 'x-api-key': credentials.key };
    case 'bearer':
      return { authorization: `Bearer ${credentials.token}` };
    default:
      return {};
  }
}

/** One JSON request: `call(server, creds, 'POST', '/api/v1/tenants', { … })`. */
export async function call<T = any>(
  server: TestServer,
  credentials: Credentials,
  method: string,
  pathname: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse<T>> {
  const res = await server.fetch(pathname, {
    method,
    headers: {
      ...authHeaders(credentials),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers, text };
}

/** `name=value` of one Set-Cookie header of a response (undefined when absent). */
export function cookieFrom(headers: Headers, name: string): string | undefined {
  for (const line of headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return pair.trim();
  }
  return undefined;
}

/** A unique, policy-compliant password. */
export function newPassword(): string {
  const password = `Vx${randomBytes(9).toString('base64url')}9q`;
  rememberSecret(password);
  return password;
}

/** A unique e-mail address. */
export function newEmail(prefix = 'user'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}@example.test`;
}

/** Logs in to the dashboard; returns session credentials (cookie + CSRF token). */
export async function login(
  server: TestServer,
  input: { email: string; password: string; tenant?: string },
): Promise<Credentials & { kind: 'session' }> {
  const res = await call(server, { kind: 'none' }, 'POST', '/api/v1/sessions', input);
  expect(res.status, res.text).toBe(201);
  const cookie = cookieFrom(res.headers, 'storeops_session');
  expect(cookie).toBeDefined();
  rememberSecret(cookie!.split('=')[1]);
  rememberSecret(res.body.csrfToken);
  return { kind: 'session', cookie: cookie!, csrfToken: res.body.csrfToken };
}

const operatorsByServer = new WeakMap<TestServer, { email: string; password: string }>();

/** The first operator of the server (bootstrapped on first use), logged in. */
export async function createOperatorSession(server: TestServer): Promise<Credentials & { kind: 'session' }> {
  let operator = operatorsByServer.get(server);
  if (!operator) {
    operator = { email: newEmail('operator'), password: newPassword() };
    const res = await call(server, { kind: 'none' }, 'POST', '/api/v1/operators/bootstrap', operator);
    expect(res.status, res.text).toBe(201);
    operatorsByServer.set(server, operator);
  }
  return login(server, operator);
}

/** A tenant created by an operator. */
export type TestTenant = { id: string; slug: string; name: string; status: string };

/** Creates a tenant (as `operator`, by default the server's first operator). */
export async function createTenant(
  server: TestServer,
  input: { slug?: string; name?: string; currency?: string; timezone?: string } = {},
  operator?: Credentials,
): Promise<TestTenant> {
  const slug = input.slug ?? `store-${randomBytes(4).toString('hex')}`;
  const res = await call(
    server,
    operator ?? (await createOperatorSession(server)),
    'POST',
    '/api/v1/tenants',
    {
      name: input.name ?? `Store ${slug}`,
      slug,
      ...(input.currency ? { currency: input.currency } : {}),
      ...(input.timezone ? { timezone: input.timezone } : {}),
    },
  );
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** A staff member with the password to log in (session or Basic). */
export type TestStaff = {
  id: string;
  email: string;
  password: string;
  role: 'owner' | 'staff';
  name: string;
};

/** Adds a staff member to `tenant` (as `by`, by default the server's first operator). */
export async function createStaff(
  server: TestServer,
  tenant: { id: string },
  input: { role?: 'owner' | 'staff'; email?: string; password?: string; name?: string } = {},
  by?: Credentials,
): Promise<TestStaff> {
  const body = {
    email: input.email ?? newEmail(input.role ?? 'staff'),
    password: input.password ?? newPassword(),
    role: input.role ?? 'staff',
    name: input.name ?? 'Test Staff',
  };
  rememberSecret(body.password);
  const res = await call(
    server,
    by ?? (await createOperatorSession(server)),
    'POST',
    `/api/v1/tenants/${tenant.id}/users`,
    body,
  );
  expect(res.status, res.text).toBe(201);
  return { id: res.body.id, email: body.email, password: body.password, role: body.role, name: body.name };
}

/** Basic credentials of a staff member. */
export const basic = (staff: { email: string; password: string }): Credentials => ({
  kind: 'basic',
  email: staff.email,
  password: staff.password,
});

/** Every API-key scope the server's modules declare. */
export const allScopes = (server: TestServer): string[] => server.deps.scopes.list().map((s) => s.name);

/** Issues an API key for `tenant` (as `by`, by default the server's first operator). */
export async function createApiKey(
  server: TestServer,
  tenant: { id: string },
  input: { scopes?: readonly string[]; name?: string } = {},
  by?: Credentials,
): Promise<{ id: string; key: string; prefix: string; credentials: Credentials }> {
  const res = await call(
    server,
    by ?? (await createOperatorSession(server)),
    'POST',
    `/api/v1/tenants/${tenant.id}/api-keys`,
    { name: input.name ?? 'test key', scopes: input.scopes ?? allScopes(server) },
  );
  expect(res.status, res.text).toBe(201);
  rememberSecret(res.body.key);
  return {
    id: res.body.id,
    key: res.body.key,
    prefix: res.body.prefix,
    credentials: { kind: 'apiKey', key: res.body.key },
  };
}

/** An e-mail the file transport wrote. */
export type Mail = { file: string; to: string; subject: string; text: string; code?: string };

function parseMail(file: string): Mail {
  const raw = readFileSync(file, 'utf8');
  const [head, ...rest] = raw.split(/\n\n/);
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  let text = rest.join('\n\n');
  if (/quoted-printable/i.test(head))
    text = text
      .replace(/=\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_m, h) => String.fromCharCode(parseInt(h, 16)));
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  return { file, to: header('To'), subject: header('Subject'), text, code };
}

/** Every mail sent to `to` so far, oldest first. */
export function mailsTo(server: TestServer, to: string): Mail[] {
  const dir = path.join(server.dataDir, 'mail');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .map((f) => parseMail(path.join(dir, f)))
    .filter((m) => m.to.toLowerCase().includes(to.toLowerCase()));
}

/** Waits for the `count`-th mail to `to` (mail is sent just after the response) and returns it. */
export async function waitForMail(server: TestServer, to: string, count = 1): Promise<Mail> {
  for (let i = 0; i < 200; i++) {
    const mails = mailsTo(server, to);
    if (mails.length >= count) {
      const mail = mails[count - 1];
      rememberSecret(mail.code);
      return mail;
    }
    await sleep(25);
  }
  throw new Error(`no mail #${count} to ${to}`);
}

/** A verified, logged-in shopper of one tenant. */
export type TestShopper = {
  email: string;
  password: string;
  accessToken: string;
  /** `name=value` of the refresh cookie. */
  refreshCookie: string;
  csrfToken: string;
  credentials: Credentials;
};

/** Registers, verifies (code from the mail) and logs in a shopper of `tenant`. */
export async function createShopper(
  server: TestServer,
  tenant: { id: string },
  input: { email?: string; password?: string; name?: string } = {},
): Promise<TestShopper> {
  const email = input.email ?? newEmail('shopper');
  const password = input.password ?? newPassword();
  rememberSecret(password);
  const base = `/api/v1/stores/${tenant.id}/shoppers`;
  const before = mailsTo(server, email).length;
  const reg = await call(server, { kind: 'none' }, 'POST', `${base}/register`, {
    email,
    password,
    name: input.name ?? 'Test Shopper',
  });
  expect(reg.status, reg.text).toBe(202);
  const mail = await waitForMail(server, email, before + 1);
  const verified = await call(server, { kind: 'none' }, 'POST', `${base}/verify`, { email, code: mail.code });
  expect(verified.status, verified.text).toBe(200);
  return shopperLogin(server, tenant, { email, password });
}

/** Logs a shopper in; returns tokens and cookie. */
export async function shopperLogin(
  server: TestServer,
  tenant: { id: string },
  input: { email: string; password: string },
): Promise<TestShopper> {
  const res = await call(
    server,
    { kind: 'none' },
    'POST',
    `/api/v1/stores/${tenant.id}/shoppers/login`,
    input,
  );
  expect(res.status, res.text).toBe(200);
  const refreshCookie = cookieFrom(res.headers, `storeops_refresh_${tenant.id}`)!;
  expect(refreshCookie).toBeDefined();
  rememberSecret(res.body.accessToken);
  rememberSecret(refreshCookie.split('=')[1]);
  rememberSecret(res.body.csrfToken);
  return {
    ...input,
    accessToken: res.body.accessToken,
    refreshCookie,
    csrfToken: res.body.csrfToken,
    credentials: { kind: 'bearer', token: res.body.accessToken },
  };
}
