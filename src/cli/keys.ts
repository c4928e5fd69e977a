import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { createDeps } from '../deps.ts';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import type { SecretStore } from '../platform/crypto/vault.ts';
import { parseCommandArgs, UsageError } from './args.ts';

const help = `Usage: storeops keys <status|rotate|generate> [options]

Secrets at rest (Shopify tokens, refresh tokens) are sealed with AES-256-GCM under the key ring in
STOREOPS_ENCRYPTION_KEYS ("id:base64key,…", newest first). To rotate:
  1. storeops keys generate --id k2          prints a new entry
  2. put it FIRST in STOREOPS_ENCRYPTION_KEYS, keep the old key after it, restart/redeploy
  3. storeops keys rotate                    re-seals every stored secret under the newest key
  4. storeops keys status                    confirms the old key protects nothing; remove it

  status               how many stored secrets each key protects
  rotate               re-encrypt every secret under the newest key (online, resumable)
    --batch-size N     secrets re-sealed per transaction (default 100)
    --dry-run          only report what would be re-encrypted
  generate             print a fresh key entry
    --id ID            key id (default k<timestamp>)`;

/** Key usage over every store, plus what is stale relative to the current key. */
async function usage(stores: SecretStore[], current: string) {
  const perStore: { name: string; keys: Record<string, number> }[] = [];
  const totals: Record<string, number> = {};
  for (const store of stores) {
    const keys = await store.keyUsage();
    perStore.push({ name: store.name, keys });
    for (const [id, n] of Object.entries(keys)) totals[id] = (totals[id] ?? 0) + n;
  }
  const stale = Object.entries(totals)
    .filter(([id]) => id !== current)
    .reduce((sum, [, n]) => sum + n, 0);
  return { perStore, totals, stale };
}

function describe(totals: Record<string, number>, ring: readonly string[], current: string): string[] {
  const lines = ring.map((id) => {
    const n = totals[id] ?? 0;
    return `  ${id}${id === current ? ' (current)' : ''}: ${n} secret(s)${id !== current && n === 0 ? ' — unused, can be removed' : ''}`;
  });
  for (const [id, n] of Object.entries(totals)) {
    if (!ring.includes(id))
      lines.push(`  ${id}: ${n} secret(s) — NOT IN STOREOPS_ENCRYPTION_KEYS, these cannot be decrypted`);
  }
  return lines;
}

/** `storeops keys …`: key ring status, online re-encryption under the newest key, key generation. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help,
    positionals: true,
    options: { 'batch-size': { type: 'string' }, 'dry-run': { type: 'boolean' }, id: { type: 'string' } },
    schema: z.object({
      positionals: z.tuple([z.enum(['status', 'rotate', 'generate'])]),
      'batch-size': z.coerce.number().int().min(1).max(10_000).default(100),
      'dry-run': z.boolean().default(false),
      id: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, - and _ (at most 32)')
        .optional(),
    }),
  });
  if (!args) return 0;
  const [action] = args.positionals;

  if (action === 'generate') {
    const id = args.id ?? `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
    console.log(`${id}:${randomBytes(32).toString('base64')}`);
    console.error(
      'Put this entry first in STOREOPS_ENCRYPTION_KEYS, keep the old key after it, then run `storeops keys rotate`.',
    );
    return 0;
  }

  loadDotEnv();
  const config = loadConfig();
  if (config.generatedSecrets.includes('STOREOPS_ENCRYPTION_KEYS')) {
    throw new UsageError(
      'STOREOPS_ENCRYPTION_KEYS is not set (a generated development key is in use); set it to rotate keys',
    );
  }
  const deps = await createDeps(config);
  try {
    const stores = deps.secretStores;
    const ring = config.STOREOPS_ENCRYPTION_KEYS.map((k) => k.id);
    const current = ring[0];
    const before = await usage(stores, current);
    const unknown = Object.keys(before.totals).filter((id) => !ring.includes(id));
    if (action === 'status' || args['dry-run']) {
      console.log(`Key ring (newest first): ${ring.join(', ')}`);
      for (const line of describe(before.totals, ring, current)) console.log(line);
      for (const s of before.perStore) {
        const parts = Object.entries(s.keys).map(([id, n]) => `${id}=${n}`);
        console.log(`  in ${s.name}: ${parts.length > 0 ? parts.join(', ') : 'nothing stored'}`);
      }
      console.log(
        before.stale === 0
          ? 'Every stored secret is under the current key.'
          : `${before.stale} secret(s) would be re-encrypted under "${current}" by \`storeops keys rotate\`.`,
      );
      return unknown.length > 0 ? 1 : 0;
    }
    if (unknown.length > 0) {
      console.error(
        `storeops: cannot rotate: secrets are sealed with key(s) ${unknown.join(', ')}, which are not in STOREOPS_ENCRYPTION_KEYS; add them back (after the new key) and run again`,
      );
      return 1;
    }
    if (before.stale === 0) {
      console.log(`Nothing to do: every stored secret is already under "${current}".`);
      return 0;
    }

    const bar = new cliProgress.SingleBar(
      {
        format: 'Re-encrypting {bar} {value}/{total} secrets ({store})',
        stream: process.stderr,
        hideCursor: true,
        noTTYOutput: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(before.stale, 0, { store: '' });
    let done = 0;
    try {
      for (const store of stores) {
        let idle = 0;
        for (;;) {
          const n = await store.rotateBatch(args['batch-size']);
          done += n;
          bar.update(Math.min(done, before.stale), { store: store.name });
          if (n > 0) {
            idle = 0;
            continue;
          }
          // Nothing picked: either finished, or the remaining rows are locked by a live refresh.
          const left = Object.entries(await store.keyUsage())
            .filter(([id]) => id !== current)
            .reduce((sum, [, count]) => sum + count, 0);
          if (left === 0) break;
          if (++idle > 50)
            throw new Error(`${left} secret(s) in ${store.name} stayed locked; run the command again`);
          await sleep(200);
        }
      }
    } finally {
      bar.stop();
    }
    const after = await usage(stores, current);
    console.log(`Re-encrypted ${done} secret(s) under "${current}".`);
    for (const line of describe(after.totals, ring, current)) console.log(line);
    const removable = ring.filter((id) => id !== current && !after.totals[id]);
    if (after.stale === 0 && removable.length > 0) {
      console.log(
        `Key(s) ${removable.join(', ')} protect nothing now and can be removed from STOREOPS_ENCRYPTION_KEYS.`,
      );
    }
    return after.stale === 0 ? 0 : 1;
  } finally {
    await deps.database.close();
  }
}
