import type { WebhookHandler, WebhookSource } from './handler-types.ts';

/** A handler as the processor runs it: for one source's topics. */
export type RegisteredHandler = WebhookHandler & { source: WebhookSource; topics: ReadonlySet<string> };

/**
 * The handlers of one process, in registration order (the order they run in within a batch):
 * `subscribe(source, topics, handler)` is the only way in, at wiring time.
 */
export function createHandlerRegistry() {
  const handlers: RegisteredHandler[] = [];
  return {
    subscribe(source: WebhookSource, topics: readonly string[], handler: WebhookHandler): void {
      handlers.push({ ...handler, source, topics: new Set(topics) });
    },
    handlers: (): readonly RegisteredHandler[] => handlers,
  };
}

/** True when `handler` takes `event`. */
export const takes = (handler: RegisteredHandler, event: { source: string; topic: string }) =>
  handler.source === event.source && handler.topics.has(event.topic);
