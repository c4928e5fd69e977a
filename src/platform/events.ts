import type { z } from 'zod';
import type { Tx } from './db/client.ts';
import type { Jobs, Queue, QueueDefinition } from './jobs.ts';
import type { Logger } from './logger.ts';

/**
 * Durable domain events between modules (a lower module publishes, a higher one subscribes;
 * STYLE.md). Each event is one job written in the same transaction as the state change, so it
 * exists exactly when the change committed. Its handler fans the event out to one queue per
 * subscriber, so each subscriber has its own retries and dead letters and one failing subscriber
 * never blocks another. Subscribers must be idempotent (a fan-out retried midway can deliver twice).
 *
 *   const events = createEventBus({ jobs, logger, prefix: 'catalog', schemas: { 'product-updated': … } });
 *   events.subscribe('product-updated', { name: 'analytics', handler: async ({ data }) => … });
 *   await events.publish(tx, 'product-updated', { tenantId, productId });
 *
 * Queues are `<prefix>.<event>` and `<prefix>.<event>.<subscriber>`. Subscribe at wiring time
 * (src/deps.ts), before the job system starts.
 */

/** A subscriber: its queue is `<prefix>.<event>.<name>`; queue options as in `jobs.define`. */
export type Subscriber<T> = Omit<QueueDefinition<T>, 'name' | 'schema' | 'cron'> & { name: string };

/** Payload types of an event map's schemas. */
export type EventPayloads<S extends Record<string, z.ZodType>> = { [E in keyof S]: z.infer<S[E]> };

/** Defines one module's event queues; `subscribe` adds subscribers, `publish` writes in a transaction. */
export function createEventBus<S extends Record<string, z.ZodType>>(deps: {
  jobs: Jobs;
  logger: Logger;
  /** The publishing module, first part of every queue name. */
  prefix: string;
  schemas: S;
}) {
  type Name = keyof S & string;
  type Payload<E extends Name> = z.infer<S[E]>;
  const { jobs, logger, prefix, schemas } = deps;
  const subscribers = new Map<Name, Queue<unknown>[]>();
  const eventQueues = new Map<Name, Queue<unknown>>();

  for (const event of Object.keys(schemas) as Name[]) {
    const fanOut: Queue<unknown>[] = [];
    subscribers.set(event, fanOut);
    eventQueues.set(
      event,
      jobs.define<unknown>({
        name: `${prefix}.${event}`,
        schema: schemas[event],
        retryLimit: 10,
        async handler({ data }) {
          for (const queue of fanOut) await queue.send(data);
          return { fannedOutTo: fanOut.map((q) => q.name) };
        },
      }),
    );
  }

  return {
    /** Registers a subscriber (wiring time only). */
    subscribe<E extends Name>(event: E, subscriber: Subscriber<Payload<E>>): void {
      const queue = jobs.define<Payload<E>>({
        ...subscriber,
        name: `${prefix}.${event}.${subscriber.name}`,
        schema: schemas[event] as z.ZodType<Payload<E>>,
      });
      subscribers.get(event)?.push(queue as Queue<unknown>);
    },
    /** Publishes `event` atomically with the caller's transaction. */
    async publish<E extends Name>(tx: Tx, event: E, data: Payload<E>): Promise<void> {
      await eventQueues.get(event)?.send(data, { tx });
      logger.debug({ event: `${prefix}.${event}` }, 'domain event queued');
    },
    /** Publishes many events of one kind in one statement, atomically with the caller's transaction. */
    async publishMany<E extends Name>(tx: Tx, event: E, data: readonly Payload<E>[]): Promise<void> {
      await eventQueues.get(event)?.sendMany(data, { tx });
      if (data.length)
        logger.debug({ event: `${prefix}.${event}`, count: data.length }, 'domain events queued');
    },
    /** Queue name of an event (for status pages and tests). */
    queueName: (event: Name) => `${prefix}.${event}`,
  };
}

/** One module's event bus. */
export type EventBus<S extends Record<string, z.ZodType>> = ReturnType<typeof createEventBus<S>>;
