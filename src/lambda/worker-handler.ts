import { createWorkerHandler } from './runtime.ts';

/** AWS Lambda entry point for the job workers (EventBridge schedule or SQS): `deploy/lambda/worker.handler`. */
export const handler = createWorkerHandler();
