import { createApiHandler } from './runtime.ts';

/** AWS Lambda entry point for the API (API Gateway REST or HTTP API): `deploy/lambda/api.handler`. */
export const handler = createApiHandler();
