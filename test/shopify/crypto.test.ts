import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  shopifySecrets,
  signOAuthQuery,
  signWebhook,
  verifyOAuthQuery,
  verifyWebhookHmac,
} from '../../src/shopify/signing.ts';
import { createVault, sealedKeyId, VaultError } from '../../src/platform/crypto/vault.ts';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('vault (AES-256-GCM key ring)', () => {
  it('round-trips, uses a fresh IV per value and names the key in the ciphertext', () => {
    const vault = createVault([key('k2'), key('k1')]);
    const a = vault.seal('shpat_secret', 'ctx');
    const b = vault.seal('shpat_secret', 'ctx');
    expect(a).not.toBe(b);
    expect(a).not.toContain('shpat_secret');
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(sealedKeyId(a)).toBe('k2');
    expect(vault.open(a, 'ctx')).toBe('shpat_secret');
    expect(vault.isStale(a)).toBe(false);
  });

  it('opens values sealed with an older key of the ring and flags them stale', () => {
    const k1 = key('k1');
    const old = createVault([k1]).seal('t', 'ctx');
    const ring = createVault([key('k2'), k1]);
    expect(ring.open(old, 'ctx')).toBe('t');
    expect(ring.isStale(old)).toBe(true);
  });

  it('refuses an unknown key id with a clear error, never a plaintext fallback', () => {
    const sealed = createVault([key('gone')]).seal('t', 'ctx');
    const vault = createVault([key('k2')]);
    expect(() => vault.open(sealed, 'ctx')).toThrowError(
      /key "gone", which is not in STOREOPS_ENCRYPTION_KEYS/,
    );
    try {
      vault.open(sealed, 'ctx');
    } catch (error) {
      expect(error).toBeInstanceOf(VaultError);
      expect((error as VaultError).code).toBe('UNKNOWN_KEY');
    }
    expect(() => vault.open('shpat_plaintext_token', 'ctx')).toThrowError(VaultError);
  });

  it('detects wrong key material, tampering and a foreign context', () => {
    const sealed = createVault([key('k1')]).seal('t', 'row-1');
    expect(() => createVault([key('k1')]).open(sealed, 'row-1')).toThrowError(
      /does not decrypt with key "k1"/,
    );
    const vault = createVault([{ id: 'k1', key: randomBytes(32) }]);
    const mine = vault.seal('token', 'row-1');
    expect(() => vault.open(mine, 'row-2')).toThrowError(VaultError);
    const parts = mine.split('.');
    parts[3] = Buffer.from('tokem').toString('base64url');
    expect(() => vault.open(parts.join('.'), 'row-1')).toThrowError(VaultError);
  });
});

describe('Shopify OAuth query HMAC', () => {
  // Example from Shopify's OAuth documentation ("Verification" section, secret "hush").
  const documented =
    'code=0907a61c0c8d55e99db179b68161bc00&hmac=4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20&shop=some-shop.myshopify.com&timestamp=1337178173';

  it("accepts Shopify's documented example", () => {
    expect(verifyOAuthQuery(documented, ['hush'])).toEqual({ ok: true, secretIndex: 0 });
    expect(verifyOAuthQuery(`?${documented}`, ['other', 'hush'])).toEqual({ ok: true, secretIndex: 1 });
  });

  it('rejects tampering, missing or malformed hmac, duplicates and a wrong secret', () => {
    expect(verifyOAuthQuery(documented.replace('some-shop', 'evil-shop'), ['hush'])).toMatchObject({
      ok: false,
    });
    expect(verifyOAuthQuery(documented, ['nope'])).toEqual({ ok: false, reason: 'hmac does not match' });
    expect(verifyOAuthQuery('shop=a.myshopify.com', ['hush'])).toEqual({
      ok: false,
      reason: 'missing hmac parameter',
    });
    expect(verifyOAuthQuery('hmac=zz&shop=a', ['hush'])).toMatchObject({ ok: false });
    expect(verifyOAuthQuery(`${documented}&shop=x.myshopify.com`, ['hush'])).toMatchObject({ ok: false });
    expect(verifyOAuthQuery(documented, [])).toMatchObject({ ok: false });
  });

  it('signs form-encoded, sorted parameters (host values with = survive)', () => {
    const params = {
      shop: 'a.myshopify.com',
      host: 'YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYQ==',
      timestamp: '1',
      code: 'c',
      state: 's',
    };
    const hmac = signOAuthQuery(params, 'secret');
    const query = new URLSearchParams({ ...params, hmac }).toString();
    expect(verifyOAuthQuery(query, ['secret'])).toEqual({ ok: true, secretIndex: 0 });
  });
});

describe('Shopify OAuth query HMAC over every parameter', () => {
  const base = { code: 'c0de', shop: 'a.myshopify.com', state: 's', timestamp: '1337178173' };
  const hex = (message: string) => createHmac('sha256', 'hush').update(message).digest('hex');

  it('accepts unknown signed parameters, the space form-encoded (+) or percent-encoded (%20)', () => {
    const params = { ...base, custom: 'hello world', embedded: '1', locale: 'fr' };
    const form = signOAuthQuery(params, 'hush');
    expect(verifyOAuthQuery(new URLSearchParams({ ...params, hmac: form }), ['hush'])).toMatchObject({
      ok: true,
    });
    const percent = Object.entries(params)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    expect(percent).toContain('custom=hello%20world');
    expect(verifyOAuthQuery(`${percent}&hmac=${hex(percent)}`, ['hush'])).toMatchObject({ ok: true });
  });

  it('refuses a parameter added after signing, and an upper-case digest', () => {
    const hmac = signOAuthQuery(base, 'hush');
    const query = new URLSearchParams({ ...base, hmac });
    expect(verifyOAuthQuery(query, ['hush'])).toMatchObject({ ok: true });
    query.set('custom', 'x');
    expect(verifyOAuthQuery(query, ['hush'])).toEqual({ ok: false, reason: 'hmac does not match' });
    const upper = new URLSearchParams({ ...base, hmac: hmac.toUpperCase() });
    expect(verifyOAuthQuery(upper, ['hush'])).toMatchObject({ ok: false });
  });
});

describe('Shopify webhook HMAC', () => {
  const body = Buffer.from('{"id":1,"title":"Snowboard"}');

  it('verifies base64 HMAC over the raw bytes with current or previous secret', () => {
    expect(verifyWebhookHmac(body, signWebhook(body, 'new'), ['new', 'old'])).toEqual({
      ok: true,
      secretIndex: 0,
    });
    expect(verifyWebhookHmac(body, signWebhook(body, 'old'), ['new', 'old'])).toEqual({
      ok: true,
      secretIndex: 1,
    });
  });

  it('rejects a wrong secret, changed bytes, missing and malformed headers', () => {
    const good = signWebhook(body, 'new');
    expect(verifyWebhookHmac(body, signWebhook(body, 'x'), ['new'])).toMatchObject({ ok: false });
    expect(verifyWebhookHmac(Buffer.from('{"id":1, "title":"Snowboard"}'), good, ['new'])).toMatchObject({
      ok: false,
    });
    expect(verifyWebhookHmac(body, undefined, ['new'])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('missing'),
    });
    expect(verifyWebhookHmac(body, 'not base64!', ['new'])).toMatchObject({ ok: false });
  });

  it('collects the configured secrets, current first', () => {
    expect(shopifySecrets({ SHOPIFY_API_SECRET: 'a', SHOPIFY_API_SECRET_PREVIOUS: 'b' })).toEqual(['a', 'b']);
    expect(shopifySecrets({})).toEqual([]);
  });
});
