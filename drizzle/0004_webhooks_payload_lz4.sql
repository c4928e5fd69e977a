-- Webhook payloads are 2-10 KB of JSON written at up to ~10,000/s: lz4 compresses them for about
-- half the CPU of the default pglz (measured in the intake benchmark, issue 6). Builds without lz4
-- (PGlite) keep pglz.
DO $$ BEGIN
  ALTER TABLE "webhook_inbox" ALTER COLUMN "payload" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
END $$;
