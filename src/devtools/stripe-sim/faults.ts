/**
 * Fault injection and call counters (issue 12). A fault applies to the next matching call(s):
 *  - `http_500`: the call is refused with Stripe's 500 `api_error` before it runs — nothing
 *    happens and nothing is saved under its idempotency key, so a retry with the same key runs it;
 *  - `timeout`: the call runs (its effect happens and its result is saved under its key) but the
 *    response never comes: the connection is held open until the client gives up or `holdMs`
 *    passes, then closed without an answer;
 *  - `reset`: the call runs, then the connection is closed at once without an answer (stripe-node
 *    retries a reset connection once by itself, with the same idempotency key).
 * `endpoint` narrows a fault to one route, written as the counters name it:
 * `POST /v1/payment_intents/:id/capture`.
 */
import { z } from 'zod';

export const FAULT_KINDS = ['http_500', 'timeout', 'reset'] as const;

export const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    endpoint: z
      .string()
      .regex(/^(GET|POST|DELETE) \/v1\/[a-z_/:]+$/, 'must look like "POST /v1/payment_intents/:id/capture"')
      .optional(),
    /** How many matching calls it hits. */
    count: z.number().int().min(1).max(1000).default(1),
    /** `timeout`: how long the connection is held before it is closed. */
    holdMs: z.number().int().min(0).max(600_000).default(30_000),
  })
  .strict();

export type FaultInput = z.input<typeof faultSchema>;
export type Fault = z.infer<typeof faultSchema> & { id: number };

export type EndpointCounters = {
  /** Every request that reached the route (authenticated or not, replayed or not). */
  requests: number;
  /** Answered from the idempotency layer's saved response. */
  replays: number;
  /** Hit by an injected fault. */
  faults: number;
  /** Answered with a 4xx or 5xx status. */
  errors: number;
};

export type Faults = {
  list: Fault[];
  nextId: number;
  counters: Map<string, EndpointCounters>;
};

export const createFaults = (): Faults => ({ list: [], nextId: 1, counters: new Map() });

export function addFault(faults: Faults, input: FaultInput): Fault {
  const fault = { ...faultSchema.parse(input), id: faults.nextId++ };
  faults.list.push(fault);
  return fault;
}

/** Takes the first fault matching `endpoint` (decrementing its count), if any. */
export function takeFault(faults: Faults, endpoint: string): Fault | null {
  const index = faults.list.findIndex((f) => f.endpoint === undefined || f.endpoint === endpoint);
  if (index === -1) return null;
  const fault = faults.list[index];
  fault.count -= 1;
  if (fault.count <= 0) faults.list.splice(index, 1);
  return fault;
}

export function countersOf(faults: Faults, endpoint: string): EndpointCounters {
  let counters = faults.counters.get(endpoint);
  if (!counters) {
    counters = { requests: 0, replays: 0, faults: 0, errors: 0 };
    faults.counters.set(endpoint, counters);
  }
  return counters;
}

/** The counters as the control API shows them, endpoints sorted. */
export function countersSnapshot(faults: Faults): Record<string, EndpointCounters> {
  return Object.fromEntries([...faults.counters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
