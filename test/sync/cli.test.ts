import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/process.ts';
import { handOverToCli, newShop, startSyncStack, type SyncStack } from '../support/sync.ts';

/** `storeops sync <shop>` against the same data the server used (the server is stopped first). */
describe('storeops sync', () => {
  let stack: SyncStack;
  let shop: string;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    stack = await startSyncStack();
    ({ shop } = await stack.installShop({ products: 5, customers: 8, orders: 120 }));
    env = await handOverToCli(stack);
  }, 120_000);
  afterAll(() => stack?.close());

  const runCli = async (args: string[]) => {
    const cli = spawnCli(['sync', ...args], env);
    const { code } = await cli.exited;
    return { code, output: cli.output.join('\n') };
  };

  it('runs a full backfill of one resource with a progress bar and a summary', async () => {
    const { code, output } = await runCli([shop, '--full', '--resource', 'orders']);
    expect(code, output).toBe(0);
    expect(output).toMatch(/orders: full — 120 written/);
    expect(output).toContain('120/120');
  }, 60_000);

  it('runs an incremental sync of every resource and reconciles', async () => {
    const incremental = await runCli([shop]);
    expect(incremental.code, incremental.output).toBe(0);
    for (const resource of ['products', 'customers', 'orders']) {
      expect(incremental.output).toMatch(new RegExp(`${resource}: incremental`));
    }
    const reconcile = await runCli([shop, '--reconcile']);
    expect(reconcile.code, reconcile.output).toBe(0);
    expect(reconcile.output).toMatch(/orders: reconcile — .*repaired 0 missing \+ 0 stale, 0 deleted/);
  }, 60_000);

  it('refuses bad input', async () => {
    const bad = await runCli(['not a shop']);
    expect(bad.code).toBe(2);
    expect(bad.output).toContain('myshopify.com');
    const unknown = await runCli([newShop('unknown')]);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toContain('no tenant holds');
    const both = await runCli([shop, '--full', '--reconcile']);
    expect(both.code).toBe(2);
  }, 60_000);
});
