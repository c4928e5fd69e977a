import { describe, expect, it } from 'vitest';
import { shopifySimCommand } from '../../../src/devtools/shopify-sim/cli.ts';

describe('storeops shopify-sim arguments', () => {
  it('validates the plan and port', async () => {
    await expect(
      shopifySimCommand(['--plan', 'gold', '--api-key', 'k', '--api-secret', 's']),
    ).rejects.toThrow(/--plan/);
    await expect(shopifySimCommand(['--port', 'x', '--api-key', 'k', '--api-secret', 's'])).rejects.toThrow(
      /--port/,
    );
  });

  it('requires credentials from flags or SHOPIFY_API_KEY / SHOPIFY_API_SECRET', async () => {
    const saved = { key: process.env.SHOPIFY_API_KEY, secret: process.env.SHOPIFY_API_SECRET };
    delete process.env.SHOPIFY_API_KEY;
    delete process.env.SHOPIFY_API_SECRET;
    try {
      await expect(shopifySimCommand([])).rejects.toThrow(/SHOPIFY_API_KEY/);
    } finally {
      if (saved.key !== undefined) process.env.SHOPIFY_API_KEY = saved.key;
      if (saved.secret !== undefined) process.env.SHOPIFY_API_SECRET = saved.secret;
    }
  });
});
