import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError } from '../config.ts';

/**
 * Secrets at rest (issue 5): AES-256-GCM with a fresh random 96-bit IV per value and the key id
 * written into the ciphertext, so the key ring in `STOREOPS_ENCRYPTION_KEYS` can rotate: new values
 * use the first (newest) key, old values still decrypt with the key they name, and
 * `storeops keys rotate` re-encrypts them. There is no plaintext fallback anywhere: a value that
 * does not decrypt is an error, never returned as is (seed 001's fallback is the defect we avoid).
 *
 * Format (ASCII, safe in a text column): `v1.<keyId>.<iv>.<ciphertext>.<tag>`, base64url parts.
 * Key ids are `[A-Za-z0-9_-]{1,32}` (see config.ts), so they never contain the `.` separator.
 */

/** One key of the ring: an id and 32 bytes. */
export type VaultKey = { readonly id: string; readonly key: Buffer };

/** Why a value could not be sealed or opened; `code` is stable, the message is for people. */
export class VaultError extends Error {
  readonly code: 'UNKNOWN_KEY' | 'MALFORMED' | 'UNDECRYPTABLE' | 'NO_KEYS';
  readonly keyId?: string;
  constructor(code: VaultError['code'], message: string, keyId?: string) {
    super(message);
    this.name = 'VaultError';
    this.code = code;
    this.keyId = keyId;
  }
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const B64URL = /^[A-Za-z0-9_-]*$/;

/** The parts of a sealed value (no secret material beyond what is stored anyway). */
function parse(sealed: string): { keyId: string; iv: Buffer; data: Buffer; tag: Buffer } {
  const parts = typeof sealed === 'string' ? sealed.split('.') : [];
  if (parts.length !== 5 || parts[0] !== VERSION || !KEY_ID.test(parts[1])) {
    throw new VaultError(
      'MALFORMED',
      'stored secret is not a vault value (expected v1.<key>.<iv>.<data>.<tag>)',
    );
  }
  if (!parts.slice(2).every((p) => B64URL.test(p))) {
    throw new VaultError('MALFORMED', 'stored secret has invalid base64url parts');
  }
  const iv = Buffer.from(parts[2], 'base64url');
  const tag = Buffer.from(parts[4], 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new VaultError('MALFORMED', 'stored secret has a wrong IV or tag length');
  }
  return { keyId: parts[1], iv, data: Buffer.from(parts[3], 'base64url'), tag };
}

/** The key id a sealed value was encrypted with (for rotation and start-up checks). */
export function sealedKeyId(sealed: string): string {
  return parse(sealed).keyId;
}

/**
 * A vault over a key ring (newest key first). `context` is authenticated but not stored: a value
 * sealed for one row/column (e.g. `shopify_connections:<id>:access_token`) does not open for
 * another, so ciphertexts cannot be swapped between rows.
 */
export function createVault(keys: readonly VaultKey[]) {
  if (keys.length === 0) throw new VaultError('NO_KEYS', 'STOREOPS_ENCRYPTION_KEYS has no keys');
  for (const k of keys) {
    if (!KEY_ID.test(k.id) || k.key.length !== 32) {
      throw new VaultError('MALFORMED', `encryption key "${k.id}" must be 32 bytes with a simple id`);
    }
  }
  const byId = new Map(keys.map((k) => [k.id, k.key]));
  const current = keys[0];

  return {
    /** Id of the key new values are sealed with (the first in the ring). */
    currentKeyId: current.id,
    /** Every key id this process can open. */
    keyIds: keys.map((k) => k.id) as readonly string[],
    /** Encrypts `plaintext` under the current key with a fresh random IV. */
    seal(plaintext: string, context: string): string {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [
        VERSION,
        current.id,
        iv.toString('base64url'),
        data.toString('base64url'),
        tag.toString('base64url'),
      ].join('.');
    },
    /** Decrypts a value sealed by any key in the ring; throws `VaultError`, never returns garbage. */
    open(sealed: string, context: string): string {
      const { keyId, iv, data, tag } = parse(sealed);
      const key = byId.get(keyId);
      if (!key) {
        throw new VaultError(
          'UNKNOWN_KEY',
          `stored secret was encrypted with key "${keyId}", which is not in STOREOPS_ENCRYPTION_KEYS (${[...byId.keys()].join(', ')}); put that key back in the ring`,
          keyId,
        );
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
      } catch {
        throw new VaultError(
          'UNDECRYPTABLE',
          `stored secret does not decrypt with key "${keyId}": the key material differs from the one used to encrypt it, or the value was altered`,
          keyId,
        );
      }
    },
    /** True when the value is sealed with an older key and `storeops keys rotate` should re-seal it. */
    isStale(sealed: string): boolean {
      return parse(sealed).keyId !== current.id;
    },
  };
}

/** A vault built from the configured key ring. */
export type Vault = ReturnType<typeof createVault>;

/**
 * A table (or column set) of vault values, as `storeops keys rotate` and the start-up key check
 * see it. Each module that stores secrets exposes one; src/deps.ts lists them.
 */
export type SecretStore = {
  /** Shown in progress output, e.g. `shopify_connections`. */
  name: string;
  /** How many stored values each key id protects. */
  keyUsage(): Promise<Record<string, number>>;
  /** Opens one stored value sealed with `keyId` (throws `VaultError` when it does not decrypt). */
  probe(keyId: string): Promise<void>;
  /**
   * Re-seals up to `limit` values that are not under the current key, each batch in its own
   * transaction, skipping rows another process holds. Returns how many values were re-sealed.
   */
  rotateBatch(limit: number): Promise<number>;
};

/**
 * Start-up check: every key id that protects stored secrets must be in the ring and open a sample.
 * Throws a ConfigError naming each missing or wrong key, so a process never starts and then fails
 * on every token (and never falls back to anything). Stores whose table does not exist yet (before
 * migrations) are skipped.
 */
export async function assertKeyRing(vault: Vault, stores: readonly SecretStore[]): Promise<void> {
  const problems: string[] = [];
  for (const store of stores) {
    let usage: Record<string, number>;
    try {
      usage = await store.keyUsage();
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') continue;
      throw error;
    }
    for (const [keyId, count] of Object.entries(usage)) {
      if (!vault.keyIds.includes(keyId)) {
        problems.push(
          `STOREOPS_ENCRYPTION_KEYS: key "${keyId}" is missing but protects ${count} stored secret(s) in ${store.name}; add it back (and run \`storeops keys rotate\` before removing a key)`,
        );
        continue;
      }
      try {
        await store.probe(keyId);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        problems.push(
          `STOREOPS_ENCRYPTION_KEYS: key "${keyId}" cannot open the secrets in ${store.name}: ${error.message}`,
        );
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
