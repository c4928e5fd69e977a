-- Where lz4 is missing (PGlite's WASM build only has pglz), compressing each 2-10 KB payload costs
-- more than the rest of the insert: measured on PGlite, 370 us per delivery with pglz against
-- 190 us uncompressed. There payloads stay uncompressed in the row (toast_tuple_target at its
-- maximum); retention prunes them after WEBHOOK_PAYLOAD_RETENTION_HOURS and the space is reused.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = 'webhook_inbox'::regclass AND attname = 'payload' AND attcompression = 'l') THEN
    ALTER TABLE "webhook_inbox" SET (toast_tuple_target = 8160);
  END IF;
END $$;
