import type { App } from '../../platform/http/server.ts';
import type { LiveStream } from '../stream.ts';
import type { Subscriptions } from '../subscriptions.ts';
import { registerComplianceRoutes } from './compliance.ts';
import { registerEventLogRoutes } from './event-log.ts';
import { type Requeued, registerRequeueRoutes } from './requeue.ts';
import { registerStreamRoute } from './stream.ts';
import { registerSubscriptionRoutes } from './subscriptions.ts';

/** HTTP API of the event log, replay, dead letters, live stream, subscriptions and compliance log. */
export function registerWebhookRoutes(
  app: App,
  deps: { stream: LiveStream; subscriptions: Subscriptions; requeued: Requeued },
): void {
  registerEventLogRoutes(app);
  registerStreamRoute(app, deps);
  registerRequeueRoutes(app, deps);
  registerSubscriptionRoutes(app, deps);
  registerComplianceRoutes(app);
}
