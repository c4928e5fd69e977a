/** Everything one running simulator holds, and the operation context its handlers run in. */
import { recordEvent } from './events.ts';
import { createFaults, type Faults } from './faults.ts';
import type { IdempotencyStore } from './idempotency.ts';
import { type Ctx, createState, nextId, type RequestContext, type SimState } from './state.ts';
import { createWebhookEngine, endpointsFor, enqueueEvent, type WebhookEngine } from './webhooks.ts';

export type Runtime = {
  state: SimState;
  engine: WebhookEngine;
  faults: Faults;
  idempotency: IdempotencyStore;
};

export function createRuntime(options: {
  seed: number;
  secretKey: string;
  clock: () => number;
  allowRemoteWebhooks: boolean;
}): Runtime {
  return {
    state: createState(options),
    engine: createWebhookEngine(options.seed, options.allowRemoteWebhooks),
    faults: createFaults(),
    idempotency: new Map(),
  };
}

/** The context of one operation: events it emits are recorded and queued for delivery. */
export function contextFor(rt: Runtime, request: RequestContext | null): Ctx {
  return {
    state: rt.state,
    request: request ?? { requestId: nextId(rt.state, 'req'), idempotencyKey: null, apiVersion: '' },
    emit(type, object, previous) {
      const event = recordEvent(rt.state, request, type, object, endpointsFor(rt.engine, type), previous);
      enqueueEvent(rt.state, rt.engine, event);
    },
  };
}
