// See api.mjs: the job worker's entry point for EventBridge schedules, SQS and {"storeops":"migrate"}.
export { handler } from '../../src/lambda/worker-handler.ts';
