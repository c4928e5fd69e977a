/**
 * Events (https://docs.stripe.com/api/events/object): every state change the simulator makes is
 * recorded as the Event Stripe would create — `data.object` is a snapshot of the object at that
 * moment (so a late delivery carries stale data, as on Stripe), `request` names the API request
 * and its idempotency key — then queued for the webhook endpoints. `GET /v1/events/:id` and
 * `GET /v1/events` (https://docs.stripe.com/api/events/list) read them back.
 */
import { z } from 'zod';
import { noSuch } from './errors.ts';
import { validate } from './form.ts';
import {
  DEFAULT_API_VERSION,
  nextId,
  nowSeconds,
  type RequestContext,
  type SimState,
  type StripeEvent,
} from './state.ts';

const EVENT_LIMIT = 100_000;

export function recordEvent(
  state: SimState,
  request: RequestContext | null,
  type: string,
  object: Record<string, unknown>,
  pendingWebhooks: number,
  previous?: Record<string, unknown>,
): StripeEvent {
  const event: StripeEvent = {
    id: nextId(state, 'evt'),
    object: 'event',
    api_version: request?.apiVersion ?? DEFAULT_API_VERSION,
    created: nowSeconds(state),
    data: previous ? { object, previous_attributes: previous } : { object },
    livemode: false,
    pending_webhooks: pendingWebhooks,
    request: { id: request?.requestId ?? null, idempotency_key: request?.idempotencyKey ?? null },
    type,
  };
  state.events.push(event);
  state.eventsById.set(event.id, event);
  if (state.events.length > EVENT_LIMIT) {
    for (const old of state.events.splice(0, state.events.length - EVENT_LIMIT))
      state.eventsById.delete(old.id);
  }
  return event;
}

export function retrieveEvent(state: SimState, id: string): StripeEvent {
  const event = state.eventsById.get(id);
  if (!event) throw noSuch('event', id, 'id');
  return event;
}

const listSchema = z
  .object({
    limit: z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(100)).optional(),
    type: z.string().max(128).optional(),
    starting_after: z.string().optional(),
    expand: z.array(z.string()).optional(),
  })
  .strict();

/** Newest first; `type` may end in `.*` (`payment_intent.*`), as on Stripe. */
export function listEvents(state: SimState, params: unknown): Record<string, unknown> {
  const p = validate(listSchema, params);
  const limit = p.limit ?? 10;
  const prefix = p.type?.endsWith('.*') ? p.type.slice(0, -1) : null;
  const wanted = (e: StripeEvent) => !p.type || (prefix ? e.type.startsWith(prefix) : e.type === p.type);
  let end = state.events.length;
  if (p.starting_after) {
    const index = state.events.findIndex((e) => e.id === p.starting_after);
    if (index === -1) throw noSuch('event', p.starting_after, 'starting_after');
    end = index;
  }
  const data: StripeEvent[] = [];
  let more = false;
  for (let i = end - 1; i >= 0; i--) {
    if (!wanted(state.events[i])) continue;
    if (data.length === limit) {
      more = true;
      break;
    }
    data.push(state.events[i]);
  }
  return { object: 'list', data, has_more: more, url: '/v1/events' };
}
