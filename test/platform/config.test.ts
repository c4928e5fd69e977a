import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/platform/config.ts';

const dataDir = () => mkdtempSync(path.join(tmpdir(), 'storeops-config-'));
const key = (id: string, byte: number) => `${id}:${Buffer.alloc(32, byte).toString('base64')}`;

describe('loadConfig', () => {
  it('works with no configuration at all and sensible defaults', () => {
    const config = loadConfig({ STOREOPS_DATA_DIR: dataDir() });
    expect(config.PORT).toBe(3000);
    expect(config.HOST).toBe('127.0.0.1');
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.STOREOPS_PUBLIC_URL).toBe('http://127.0.0.1:3000');
    expect(config.SHOPIFY_ADMIN_URL_TEMPLATE).toBe('https://{shop}');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('generates missing secrets once into the data dir with mode 0600 and reuses them', () => {
    const dir = dataDir();
    const first = loadConfig({ STOREOPS_DATA_DIR: dir });
    expect(first.generatedSecrets).toEqual([
      'STOREOPS_ENCRYPTION_KEYS',
      'STOREOPS_SESSION_SECRET',
      'STOREOPS_API_KEY_PEPPER',
    ]);
    const file = path.join(dir, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const second = loadConfig({ STOREOPS_DATA_DIR: dir });
    expect(second.STOREOPS_SESSION_SECRET).toBe(first.STOREOPS_SESSION_SECRET);
    expect(second.STOREOPS_ENCRYPTION_KEYS[0].key.equals(first.STOREOPS_ENCRYPTION_KEYS[0].key)).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8')).sessionSecret).toBe(first.STOREOPS_SESSION_SECRET);
  });

  it('refuses to start in production without explicit secrets', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', STOREOPS_DATA_DIR: dataDir() })).toThrow(ConfigError);
    try {
      loadConfig({ NODE_ENV: 'production', STOREOPS_DATA_DIR: dataDir() });
    } catch (error) {
      expect((error as ConfigError).issues).toEqual([
        'STOREOPS_ENCRYPTION_KEYS: required when NODE_ENV=production',
        'STOREOPS_SESSION_SECRET: required when NODE_ENV=production',
        'STOREOPS_API_KEY_PEPPER: required when NODE_ENV=production',
      ]);
    }
  });

  it('accepts explicit production secrets and a key ring, newest first', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      STOREOPS_DATA_DIR: dataDir(),
      STOREOPS_ENCRYPTION_KEYS: `${key('k2', 2)},${key('k1', 1)}`,
      STOREOPS_SESSION_SECRET: 's'.repeat(40),
      STOREOPS_API_KEY_PEPPER: 'p'.repeat(40),
    });
    expect(config.STOREOPS_ENCRYPTION_KEYS.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(config.generatedSecrets).toEqual([]);
  });

  it('names every bad variable in one error and never echoes values', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        STOREOPS_DATA_DIR: dataDir(),
        PORT: 'eighty',
        DATABASE_URL: 'mysql://x',
        STOREOPS_SESSION_SECRET: 'short-secret-value',
        STOREOPS_ENCRYPTION_KEYS: 'k1:not-32-bytes',
        SHOPIFY_ADMIN_URL_TEMPLATE: 'https://example.com',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = error!.issues.map((i) => i.split(':')[0]).sort();
    expect(names).toEqual([
      'DATABASE_URL',
      'PORT',
      'SHOPIFY_ADMIN_URL_TEMPLATE',
      'STOREOPS_ENCRYPTION_KEYS',
      'STOREOPS_SESSION_SECRET',
    ]);
    expect(error!.message).not.toContain('short-secret-value');
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({ STOREOPS_DATA_DIR: dataDir(), PORT: '', DATABASE_URL: '' });
    expect(config.PORT).toBe(3000);
    expect(config.DATABASE_URL).toBeUndefined();
  });
});
