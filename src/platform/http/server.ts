import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Config } from '../config.ts';
import { AppError, isAppError } from '../errors.ts';
import { type Logger, redactUrl } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { ScopeDefinition } from './auth.ts';
import { installRequestBudget } from './budget.ts';
import { installTextGuard } from './hardening.ts';
import {
  capConnectionsPerAddress,
  computeSecurityHeaders,
  createClientErrorHandler,
  frameworkError,
  MAX_PARAM_LENGTH,
  timeoutOptions,
} from './transport.ts';
import { errorEnvelopeSchema } from './schemas.ts';

/** The Fastify instance type every module registers routes on (Zod schemas end to end). */
export type App = FastifyInstance<any, any, any, Logger, ZodTypeProvider>;

/** Which parts a process runs: `all` (default), `api` (HTTP only) or `worker` (jobs + health). */
export type Role = 'all' | 'api' | 'worker';

/**
 * What `buildApp` needs of a module's door: its routes (registered on roles that serve the API;
 * a module with background loops also starts them here on roles that work) and the API-key scopes
 * its routes name. `app.ts` calls doors only.
 */
export type Door = {
  routes(app: App, role: Role): void;
  scopes?: readonly ScopeDefinition[];
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Security headers (helmet's), the same on every answer; the docs page and dashboard load their own scripts and styles only. */
const HELMET_OPTIONS = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:', 'https:'],
      connectSrc: ["'self'"],
    },
  },
};

/** Shape of the one error envelope. */
export type ErrorBody = {
  error: { code: string; message: string; details?: Record<string, unknown>; requestId: string };
};

/**
 * Builds the Fastify app with every cross-cutting concern (ids, logs, errors, OpenAPI, security
 * headers, CORS, rate limits, metrics). It never listens: callers (CLI, tests) decide that.
 */
export async function createHttpServer(deps: {
  config: Config;
  logger: Logger;
  metrics: Metrics;
}): Promise<App> {
  const { config, logger, metrics } = deps;
  const securityHeaders = computeSecurityHeaders(HELMET_OPTIONS);
  const app = Fastify({
    loggerInstance: logger,
    // One line per request is written by the onResponse hook below (with secrets stripped).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Slow clients are dropped: head, whole request, keep-alive and idle timeouts (transport.ts).
    ...timeoutOptions(config),
    trustProxy: config.HOST === '0.0.0.0',
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Shopify shop domains and slugs are case-insensitive in practice; ids are UUIDs.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // Bad URLs and over-long parameters are refused before routing: same envelope, same headers.
    frameworkErrors: (error, request, reply) => {
      reply.headers(securityHeaders).header('x-request-id', request.id);
      return sendError(frameworkError(error), request, reply);
    },
    // What Node's HTTP parser refuses never becomes a request: answered on the socket, enveloped.
    clientErrorHandler: createClientErrorHandler({ headers: securityHeaders, logger }),
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  capConnectionsPerAddress(app.server, {
    perAddress: config.HTTP_MAX_CONNECTIONS_PER_IP,
    headers: securityHeaders,
    logger,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.addHook('onRequest', async (request, reply) => {
    reply.headers(securityHeaders).header('x-request-id', request.id);
  });
  // Text PostgreSQL cannot store (NUL, lone surrogates) is refused here, once, for every route.
  installTextGuard(app);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    // Routes logging at warn (the webhook intake) skip building the line at all.
    if (!(request.log as Logger).isLevelEnabled('info')) return;
    request.log.info(
      {
        method: request.method,
        url: redactUrl(request.url),
        statusCode: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      // The path is not echoed back (it is the caller's own input).
      new AppError(404, 'ROUTE_NOT_FOUND', `No ${request.method} route at this path`),
      request,
      reply,
    ),
  );

  await app.register(cors, {
    origin: config.CORS_ORIGINS.length > 0 ? config.CORS_ORIGINS : false,
    credentials: true,
  });
  await app.register(cookie, { secret: config.STOREOPS_SESSION_SECRET });
  // `RATE_LIMIT_PER_MINUTE` per caller on /api, refused requests included (budget.ts).
  await installRequestBudget(app, { perMinute: config.RATE_LIMIT_PER_MINUTE });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'StoreOps API',
        version: '1',
        description:
          'Self-hosted operations backend for commerce. Every error is `{"error":{"code","message","details","requestId"}}`.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'storeops_session' },
          basic: { type: 'http', scheme: 'basic' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  return app;
}

/** Writes the one error envelope; internals of unexpected errors are logged, never sent. */
function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  if (appError.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.debug({ code: appError.code }, 'request rejected');
  for (const [name, value] of Object.entries(appError.headers ?? {})) reply.header(name, value);
  const body: ErrorBody = {
    error: {
      code: appError.code,
      message: appError.message,
      ...(appError.details ? { details: appError.details } : {}),
      requestId: request.id,
    },
  };
  return reply.status(appError.status).type('application/json').send(body);
}

function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    return new AppError(422, 'VALIDATION_FAILED', 'The request is invalid', {
      details: {
        issues: error.validation.map((issue) => ({
          in: error.validationContext ?? 'request',
          path: issue.instancePath.replace(/^\//, '').replaceAll('/', '.'),
          message: issue.message,
        })),
      },
    });
  }
  const e = error as FastifyError;
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError(413, 'PAYLOAD_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Unsupported content type; send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError(400, 'MALFORMED_JSON', 'The request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError(400, 'BAD_CONTENT_LENGTH', 'Content-Length does not match the body');
  }
  if (error instanceof SyntaxError && e?.statusCode === 400) {
    return new AppError(400, 'MALFORMED_JSON', 'The request body is not valid JSON');
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError(e.statusCode, 'BAD_REQUEST', e.message);
  }
  return new AppError(
    500,
    'INTERNAL_ERROR',
    'Something went wrong on our side; the request id identifies it',
  );
}

export { errorEnvelopeSchema };
