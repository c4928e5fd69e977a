import { z } from 'zod';
import type { Tx } from '../platform/db/client.ts';

/*
 * What a module needs to react to webhook events, without importing the pipeline: the event, the
 * handler shape, `PermanentError`, and the `subscribe` function the webhooks door hands out.
 * (The mirror, sync and, later, commerce and analytics import this file; it has no state.)
 */

/** Who sent an event: `shopify`, `stripe`; `pixel` arrives with its intake adapter. */
export type WebhookSource = string;

/** One stored delivery being applied by a worker. */
export type WebhookEvent = {
  /** Inbox row id (the event id of the event log API). */
  id: number;
  source: WebhookSource;
  tenantId: string;
  shopDomain: string;
  topic: string;
  webhookId: string;
  /** Shopify's X-Shopify-Event-Id, shared by every subscription's copy of one event. */
  eventId: string | null;
  triggeredAt: Date | null;
  apiVersion: string | null;
  /** The JSON body as the source sent it. */
  payload: unknown;
  /** 1 for the first attempt. */
  attempt: number;
  /** Why it is being applied: first delivery (and its retries), an explicit replay, or a redrive. */
  trigger: 'delivery' | 'replay' | 'redrive';
  receivedAt: Date;
  /** What the handler's `prepare` returned, if it has one. */
  prepared?: unknown;
};

/**
 * How events are applied. The processor calls, for one tenant's batch of events:
 *  1. `prepare(event)` outside any transaction — for calls into modules that run their own
 *     transactions (uninstall, redact); it must be idempotent, since a failure later repeats it;
 *  2. `apply(tx, events)` inside the tenant's transaction, which also marks the events processed,
 *     so the effect and the "applied" mark commit together (exactly once in effect);
 *  3. `failed(tx, event, error, final)` when an attempt fails, in the transaction recording it.
 * A handler that throws fails the batch; the processor then retries the events one by one so only
 * the bad ones fail. Throw `PermanentError` (or let a ZodError through) for input that can never
 * succeed: it skips the retries and goes to the dead-letter queue at once.
 */
export type WebhookHandler = {
  /** Short name for logs and errors. */
  name: string;
  prepare?(event: WebhookEvent): Promise<unknown>;
  apply?(tx: Tx, events: WebhookEvent[]): Promise<void>;
  failed?(tx: Tx, event: WebhookEvent, error: string, final: boolean): Promise<void>;
};

/** A handler with the topics it takes: what modules define and pass to `subscribe`. */
export type TopicHandler = WebhookHandler & { topics: readonly string[] };

/**
 * The one way to react to events: `subscribe(source, topics, handler)`, at wiring time. Handlers
 * run in registration order (each on its topics' events of the batch), inside the tenant
 * transaction, with the pipeline's retries, dead letters and replay.
 */
export type Subscribe = (source: WebhookSource, topics: readonly string[], handler: WebhookHandler) => void;

/** An error retrying cannot fix (an invalid payload): the event is dead-lettered at once. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** True for errors that retries cannot fix. */
export function isPermanent(error: unknown): boolean {
  return error instanceof PermanentError || error instanceof z.ZodError;
}
