import { z } from 'zod';
import { createDeps } from '../deps.ts';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import { migrate } from '../platform/db/migrate.ts';
import { parseCommandArgs, UsageError } from './args.ts';

const help = `Usage: storeops catalog seed --tenant <slug or id>

Loads a demo catalog into a tenant's native catalog (issue 11): the categories Electronics,
Clothing, Books and Home, 32 products with variants (sizes, colours, formats), prices in the
tenant's currency, stock at the default location and a generated picture per product (stored and
resized like an upload). The same catalog every time; running it again adds nothing that is
already there (products are matched by handle).

With the embedded database (no DATABASE_URL), stop the server using the same data dir first.

  --tenant T     the tenant's slug or id`;

/** `storeops catalog seed --tenant <slug>`: the demo catalog, with a line per product. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help,
    positionals: true,
    options: { tenant: { type: 'string' } },
    schema: z.object({
      positionals: z.tuple([z.enum(['seed'])]),
      tenant: z
        .string({ error: 'is required' })
        .min(1)
        .max(100)
        .regex(/^[A-Za-z0-9-]+$/, 'must be a tenant slug or id'),
    }),
  });
  if (!args) return 0;

  loadDotEnv();
  const config = loadConfig(process.env);
  const deps = await createDeps(config);
  try {
    if (config.STOREOPS_AUTO_MIGRATE) await migrate(deps.database);
    const tenant = await deps.identity.authenticator.findTenant(args.tenant);
    if (!tenant) throw new UsageError(`no tenant with the slug or id "${args.tenant}"`);
    // Queues only (no workers): the products' events are written with them.
    await deps.jobs.start({ work: false });
    console.log(`Seeding the demo catalog into ${tenant.slug} (${tenant.id})…`);
    const result = await deps.catalog.seedDemo(tenant.id, {
      onProgress: (p) =>
        console.log(
          `  [${String(p.done).padStart(2)}/${p.total}] ${p.action === 'created' ? 'created' : 'already there'}  ${p.handle}`,
        ),
    });
    const { categories, products, images } = result;
    if (products.created === 0 && categories.created === 0 && images.created === 0)
      console.log(
        `The demo catalog is already loaded: ${products.kept} products and ${categories.kept} categories were there; nothing added.`,
      );
    else
      console.log(
        `Done: ${products.created} products created (${products.kept} already there), ` +
          `${categories.created} categories created (${categories.kept} already there), ${images.created} pictures stored.`,
      );
    return 0;
  } finally {
    await deps.jobs.stop(1000).catch(() => {});
    await deps.database.close();
  }
}
