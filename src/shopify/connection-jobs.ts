import { z } from 'zod';
import type { Jobs } from '../platform/jobs.ts';
import { REFRESH_AHEAD_MS, type RedactJob } from './connection-rows.ts';
import type { Connections } from './connections.ts';
import type { InstallFlow } from './install.ts';

/**
 * The Shopify module's queues: the redaction 48 h after an uninstall, and the token refresh (a
 * per-minute sweep that queues one refresh per expiring connection, and prunes OAuth states).
 */
export function defineShopifyJobs(deps: {
  jobs: Jobs;
  connections: Connections;
  install: InstallFlow;
  /** False while SHOPIFY_API_KEY / SECRET are unset: nothing to refresh with. */
  configured: () => boolean;
}) {
  const { jobs, connections, install, configured } = deps;
  const redact = jobs.define<RedactJob>({
    name: 'shopify.redact-shop',
    schema: z.object({ connectionId: z.uuid(), uninstalledAt: z.iso.datetime() }),
    retryLimit: 10,
    handler: async ({ data }) => ({ redacted: await connections.redact(data, 'scheduled') }),
  });

  const refreshQueue = jobs.define<{ connectionId: string }>({
    name: 'shopify.refresh-token',
    schema: z.object({ connectionId: z.uuid() }),
    // One queued and one running refresh per connection (singletonKey = connection id).
    policy: 'stately',
    retryLimit: 4,
    retryDelaySeconds: 15,
    handler: async ({ data }) => {
      if (!configured()) return { skipped: 'not configured' };
      return { usable: await connections.refresh(data.connectionId, { dueWithinMs: REFRESH_AHEAD_MS }) };
    },
  });

  const refreshDue = jobs.define<Record<string, never>>({
    name: 'shopify.refresh-due',
    schema: z.object({}).strict() as z.ZodType<Record<string, never>>,
    policy: 'singleton',
    retryLimit: 1,
    cron: [{ schedule: '* * * * *', data: {} }],
    handler: async () => {
      await install.pruneStates();
      if (!configured()) return { queued: 0 };
      const ids = await connections.dueForRefresh();
      for (const connectionId of ids)
        await refreshQueue.send({ connectionId }, { singletonKey: connectionId });
      return { queued: ids.length };
    },
  });

  return { redact, refreshToken: refreshQueue, refreshDue };
}
