import { setTimeout as sleep } from 'node:timers/promises';
import cliProgress from 'cli-progress';
import { z } from 'zod';
import { createDeps } from '../deps.ts';
import { loadConfig, loadDotEnv } from '../platform/config.ts';
import { isAppError } from '../platform/errors.ts';
import type { Progress, SyncMode, SyncReport } from '../sync/engine.ts';
import { RESOURCES, type Resource } from '../mirror/index.ts';
import { parseCommandArgs, UsageError } from './args.ts';

const help = `Usage: storeops sync <shop> [--full | --reconcile] [--resource products|customers|orders]...

Mirrors a connected shop's products, customers and orders (issue 7). Without options it runs an
incremental sync (a full backfill for resources never backfilled). When a sync of a resource is
already running (for example in a worker), it shows that run's progress instead of starting one.
Ctrl-C stops at the next batch; the next run resumes from the checkpoint.

  <shop>         the shop domain (my-store.myshopify.com)
  --full         full backfill through Bulk Operations
  --reconcile    compare counts and update times with Shopify and repair differences
  --resource R   only this resource (repeatable; default: all three)`;

const shopDomain = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i, 'must be a <name>.myshopify.com domain');

/** `storeops sync <shop>`: runs (or watches) a sync with a progress bar per resource. */
export async function run(argv: string[]): Promise<number> {
  const args = parseCommandArgs(argv, {
    help,
    positionals: true,
    options: {
      full: { type: 'boolean' },
      reconcile: { type: 'boolean' },
      resource: { type: 'string', multiple: true },
    },
    schema: z
      .object({
        positionals: z.tuple([shopDomain]),
        full: z.boolean().optional(),
        reconcile: z.boolean().optional(),
        resource: z.array(z.enum(RESOURCES)).optional(),
      })
      .refine((a) => !(a.full && a.reconcile), { message: '--full and --reconcile exclude each other' }),
  });
  if (!args) return 0;
  const shop = args.positionals[0].toLowerCase();
  const mode: SyncMode = args.full ? 'full' : args.reconcile ? 'reconcile' : 'incremental';
  const resources: Resource[] = args.resource ? [...new Set(args.resource)] : [...RESOURCES];

  loadDotEnv();
  const deps = await createDeps(loadConfig(process.env));
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error('stopped by the user (the next run resumes)'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const bars = new cliProgress.MultiBar(
    {
      format: '{resource} {bar} {value}/{total} {phase} {rate}/s ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: false,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  try {
    const held = await deps.shopify.resolveShop(shop);
    if (!held) throw new UsageError(`no tenant holds ${shop}: install the app or set a token first`);
    const { tenantId } = held;
    const reports: SyncReport[] = [];
    let failed = 0;
    for (const resource of resources) {
      const bar = bars.create(1, 0, { resource: resource.padEnd(9), phase: mode, rate: '-' });
      const show = (p: Progress) => {
        bar.setTotal(Math.max(1, p.total ?? p.done));
        bar.update(p.done, { phase: p.phase, rate: p.rate === null ? '-' : Math.round(p.rate) });
      };
      try {
        reports.push(
          await deps.sync.run(tenantId, resource, {
            mode,
            trigger: 'cli',
            signal: controller.signal,
            onProgress: show,
          }),
        );
      } catch (error) {
        if (isAppError(error) && error.code === 'SYNC_IN_PROGRESS') {
          await watch(deps.sync.status, tenantId, resource, show, controller.signal);
          continue;
        }
        if (controller.signal.aborted) throw controller.signal.reason;
        failed++;
        bars.log(`${resource}: ${(error as Error).message}\n`);
      }
    }
    bars.stop();
    for (const r of reports) {
      const fixed = r.reconcile
        ? `, repaired ${r.reconcile.missing} missing + ${r.reconcile.stale} stale, ${r.reconcile.deleted} deleted`
        : '';
      console.log(
        `${r.resource}: ${r.mode}${r.resumed ? ' (resumed)' : ''} — ${r.written} written, ${r.skipped} unchanged or newer, ${r.deleted} tombstoned${fixed} in ${(r.durationMs / 1000).toFixed(1)} s`,
      );
    }
    return failed > 0 ? 1 : 0;
  } catch (error) {
    bars.stop();
    if (controller.signal.aborted) {
      console.error(`storeops: ${(controller.signal.reason as Error).message}`);
      return 130;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await deps.database.close();
  }
}

/** Follows a run another process holds until it ends. */
async function watch(
  status: (tenantId: string) => Promise<{ resources: { resource: string; status: string; progress: any }[] }>,
  tenantId: string,
  resource: Resource,
  show: (p: Progress) => void,
  signal: AbortSignal,
) {
  for (;;) {
    const state = (await status(tenantId)).resources.find((r) => r.resource === resource);
    if (!state) return;
    show({
      done: state.progress.done,
      total: state.progress.total,
      rate: state.progress.ratePerSecond,
      phase: `${state.status} (elsewhere)`,
    });
    if (state.status !== 'running') return;
    await sleep(500, undefined, { signal });
  }
}
