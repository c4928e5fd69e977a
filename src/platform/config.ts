import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Thrown when the environment is invalid; the message lists every offending variable. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const list = z.string().transform((v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const secret = z.string().min(32, 'must be at least 32 characters');

/** A key ring entry: `id:base64` where the key decodes to exactly 32 bytes (AES-256). */
const keyRing = z.string().transform((value, ctx) => {
  const keys: { id: string; key: Buffer }[] = [];
  for (const entry of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(entry);
    const key = match ? Buffer.from(match[2], 'base64') : undefined;
    if (!match || key?.length !== 32) {
      ctx.addIssue({ code: 'custom', message: 'each entry must be <id>:<base64 of 32 bytes>' });
      return z.NEVER;
    }
    if (keys.some((k) => k.id === match[1])) {
      ctx.addIssue({ code: 'custom', message: `duplicate key id "${match[1]}"` });
      return z.NEVER;
    }
    keys.push({ id: match[1], key });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one key' });
    return z.NEVER;
  }
  return keys;
});

// Every variable StoreOps reads. Empty strings count as unset so `FOO=` in a .env file does not
// silently become a value.
const envSchema = z.object({
  /** development | test | production; production refuses generated secrets. */
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** HTTP port (0 picks a free one). */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Interface to listen on; 0.0.0.0 in containers. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where PGlite, generated dev secrets and outgoing mail (.eml) live. */
  STOREOPS_DATA_DIR: z.string().min(1).default('./data'),
  /** postgres://… to use a PostgreSQL server; unset means embedded PGlite in the data dir. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  /** Connections per process in the PostgreSQL pool. */
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(10),
  /** Apply pending migrations at start (switch off when a deploy step runs `storeops migrate`). */
  STOREOPS_AUTO_MIGRATE: bool.default(true),
  /** Base URL the outside world reaches this server at (OAuth redirects, webhook addresses). */
  STOREOPS_PUBLIC_URL: z.url().optional(),
  /** Key ring for secrets at rest: `id:base64key[,id:base64key…]`, newest first. */
  STOREOPS_ENCRYPTION_KEYS: keyRing.optional(),
  /** Signs session-related values (JWTs, CSRF tokens). */
  STOREOPS_SESSION_SECRET: secret.optional(),
  /** Pepper mixed into API key hashes. */
  STOREOPS_API_KEY_PEPPER: secret.optional(),
  /** Browser origins allowed by CORS (comma-separated); empty means same-origin only. */
  CORS_ORIGINS: list.default([]),
  /** Requests per minute per client IP on /api (login and sign-up have tighter limits of their own). */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** A client must send the whole request head (line and headers) within this; else 408 and closed. */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** …and the whole request, body included, within this (uploads count: size it for the largest). */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
  /** An idle keep-alive connection is closed after this (keep it above a load balancer's idle timeout). */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(72_000),
  /** A connection with no traffic either way for this long is closed (event streams ping every 15 s). */
  HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(120_000),
  /** Open connections one client address may hold (0: no cap). Behind a proxy the proxy is one address. */
  HTTP_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(0).max(1_000_000).default(256),
  /** Bearer token `/metrics` requires (`Authorization: Bearer <token>`); with it, metrics are on the public port. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').max(512).optional(),
  /** Serve `/metrics` on a listener of its own at this port (0 picks a free one), off the public port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Interface of the metrics listener (loopback by default: scrape from the same host or a sidecar). */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** How long SIGTERM waits for HTTP requests and running jobs before closing. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** Largest request body accepted, in bytes. */
  BODY_LIMIT_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  SHOPIFY_API_KEY: z.string().min(1).optional(),
  SHOPIFY_API_SECRET: z.string().min(1).optional(),
  /** The previous app secret, accepted for webhooks and OAuth while a rotation is under way. */
  SHOPIFY_API_SECRET_PREVIOUS: z.string().min(1).optional(),
  SHOPIFY_SCOPES: list.default(['read_products', 'read_orders', 'read_customers']),
  SHOPIFY_API_VERSION: z
    .string()
    .regex(/^\d{4}-\d{2}$/, 'must look like 2025-10')
    .default('2025-10'),
  /** Where a shop's Admin API lives; `{shop}` is replaced by the shop domain (simulator: http://127.0.0.1:4100/{shop}). */
  SHOPIFY_ADMIN_URL_TEMPLATE: z
    .string()
    .refine((v) => v.includes('{shop}'), 'must contain {shop}')
    .default('https://{shop}'),
  /** sk_… ; unset means the offline `test` payment provider (issue 12). */
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  /** Where the Stripe API lives; unset means api.stripe.com (the simulator: 127.0.0.1, its port, http). */
  STRIPE_API_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$|^\[[0-9A-Fa-f:.]+\]$/, 'must be a host name or address')
    .optional(),
  STRIPE_API_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  STRIPE_API_PROTOCOL: z.enum(['https', 'http']).optional(),
  /** How long one Stripe API call may take before it counts as a (transient) failure. */
  STRIPE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
  /** stripe-node's own retries (same idempotency key); the capture outbox retries on top of these. */
  STRIPE_MAX_NETWORK_RETRIES: z.coerce.number().int().min(0).max(5).default(0),
  /** The webhook endpoint's signing secret (whsec_…). */
  STRIPE_WEBHOOK_SECRET: z.string().min(1).optional(),
  /** The previous signing secret, accepted while a rotation is under way. */
  STRIPE_WEBHOOK_SECRET_PREVIOUS: z.string().min(1).optional(),
  /** smtp://… ; unset writes .eml files under <data dir>/mail. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://')
    .optional(),
  MAIL_FROM: z.string().min(3).default('StoreOps <no-reply@storeops.localhost>'),
  /** Attempts to apply a webhook event before it is dead-lettered (issue 6). */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  /** First retry delay of a failed webhook event in ms; doubled per attempt, capped at one hour. */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
  /** How long a worker's claim on an event lasts: a crashed worker's events come back after it. */
  WEBHOOK_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Payloads of applied webhook events are deleted after this many hours (the rows stay). */
  WEBHOOK_PAYLOAD_RETENTION_HOURS: z.coerce.number().min(0).default(168),
  /** Webhook event rows are deleted after this many days; daily counts are kept. */
  WEBHOOK_EVENT_RETENTION_DAYS: z.coerce.number().min(1).default(90),
  /** Sync runs (backfills, incremental, reconcile) one worker process carries out at once. */
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /**
   * How long a sync run's lease lasts without a heartbeat (renewed every third of it): a run whose
   * process died is resumed once it expires.
   */
  SYNC_LEASE_SECONDS: z.coerce.number().int().min(3).max(3600).default(60),
  /** When the daily inventory check runs (cron, UTC; seed 002: 02:00). */
  CATALOG_LOW_STOCK_CRON: z
    .string()
    .regex(/^\S+( \S+){4}$/, 'must be a five-field cron expression such as "0 2 * * *"')
    .default('0 2 * * *'),
  /** Largest product image accepted by an upload, in bytes (bigger ones are 413). */
  CATALOG_IMAGE_MAX_BYTES: z.coerce.number().int().min(1024).max(1_073_741_824).default(10_485_760),
  /** Largest product CSV an import accepts, in bytes (bigger ones are 413); 100,000 products are ~45 MB. */
  CATALOG_IMPORT_MAX_BYTES: z.coerce.number().int().min(1024).max(4_294_967_296).default(268_435_456),
  /** Set to store objects (product images) in this S3 bucket instead of the data dir. */
  STOREOPS_S3_BUCKET: z.string().min(3).max(63).optional(),
  /** An S3-compatible endpoint (MinIO, s3rver, R2…); path-style addressing is used with it. */
  STOREOPS_S3_ENDPOINT: z.url().optional(),
  /** The bucket's region; unset means the AWS SDK's own lookup (AWS_REGION, profile). */
  STOREOPS_S3_REGION: z.string().min(1).optional(),
  /** Public base URL of the bucket (or a CDN in front of it); unset means objects are served through /media. */
  STOREOPS_S3_PUBLIC_URL: z.url().optional(),
});

type Env = z.infer<typeof envSchema>;

/** The validated, frozen settings of one StoreOps process. */
export type Config = Readonly<
  Omit<Env, 'STOREOPS_ENCRYPTION_KEYS' | 'STOREOPS_SESSION_SECRET' | 'STOREOPS_API_KEY_PEPPER'> & {
    STOREOPS_PUBLIC_URL: string;
    STOREOPS_ENCRYPTION_KEYS: readonly { id: string; key: Buffer }[];
    STOREOPS_SESSION_SECRET: string;
    STOREOPS_API_KEY_PEPPER: string;
    /** Names of secrets that were generated into the data dir (development only). */
    generatedSecrets: readonly string[];
  }
>;

const SECRET_NAMES = [
  'STOREOPS_ENCRYPTION_KEYS',
  'STOREOPS_SESSION_SECRET',
  'STOREOPS_API_KEY_PEPPER',
] as const;

/**
 * Parses the environment once. Every bad variable is reported together; in production missing
 * secrets are an error, elsewhere they are generated once into `<data dir>/secrets.json` (0600).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment');
        // Never echo the received value: it may be a secret.
        return `${name}: ${issue.message}`;
      }),
    );
  }
  const values = parsed.data;
  const missing = SECRET_NAMES.filter((name) => values[name] === undefined);
  if (missing.length > 0 && values.NODE_ENV === 'production') {
    throw new ConfigError(missing.map((name) => `${name}: required when NODE_ENV=production`));
  }
  if (values.SHOPIFY_API_KEY && !values.SHOPIFY_API_SECRET) {
    throw new ConfigError(['SHOPIFY_API_SECRET: required when SHOPIFY_API_KEY is set']);
  }
  if (values.STRIPE_WEBHOOK_SECRET_PREVIOUS && !values.STRIPE_WEBHOOK_SECRET) {
    throw new ConfigError([
      'STRIPE_WEBHOOK_SECRET_PREVIOUS: only used with STRIPE_WEBHOOK_SECRET, which is not set',
    ]);
  }
  if (values.HTTP_HEADERS_TIMEOUT_MS > values.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError(['HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS']);
  }
  const s3Only = (['STOREOPS_S3_ENDPOINT', 'STOREOPS_S3_REGION', 'STOREOPS_S3_PUBLIC_URL'] as const).filter(
    (name) => values[name] !== undefined,
  );
  if (s3Only.length > 0 && !values.STOREOPS_S3_BUCKET) {
    throw new ConfigError(
      s3Only.map((name) => `${name}: only used with STOREOPS_S3_BUCKET, which is not set`),
    );
  }
  const generated = missing.length > 0 ? loadOrCreateDevSecrets(values.STOREOPS_DATA_DIR) : undefined;
  const config: Config = {
    ...values,
    STOREOPS_PUBLIC_URL: (
      values.STOREOPS_PUBLIC_URL ?? `http://${displayHost(values.HOST)}:${values.PORT}`
    ).replace(/\/+$/, ''),
    STOREOPS_ENCRYPTION_KEYS: values.STOREOPS_ENCRYPTION_KEYS ?? generated!.encryptionKeys,
    STOREOPS_SESSION_SECRET: values.STOREOPS_SESSION_SECRET ?? generated!.sessionSecret,
    STOREOPS_API_KEY_PEPPER: values.STOREOPS_API_KEY_PEPPER ?? generated!.apiKeyPepper,
    generatedSecrets: missing,
  };
  return Object.freeze(config);
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

type DevSecrets = {
  encryptionKeys: { id: string; key: Buffer }[];
  sessionSecret: string;
  apiKeyPepper: string;
};

/** Development convenience: secrets made once and kept beside the data so restarts can decrypt. */
function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'secrets.json');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    const fresh = {
      encryptionKeys: `dev1:${randomBytes(32).toString('base64')}`,
      sessionSecret: randomBytes(48).toString('base64url'),
      apiKeyPepper: randomBytes(48).toString('base64url'),
    };
    writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  const stored = z
    .object({ encryptionKeys: keyRing, sessionSecret: secret, apiKeyPepper: secret })
    .safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!stored.success) {
    throw new ConfigError([`${file}: is corrupt; fix it or set the secrets in the environment`]);
  }
  return stored.data;
}

/** Loads `.env` from the working directory if present (real environment variables win). */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
